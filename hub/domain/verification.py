"""Certificate verification codes: short, unguessable, easy to read aloud and type.

A code is 12 symbols of Crockford's base32 (digits and capital letters without I, L, O and U),
drawn from ``secrets``: 60 bits, so guessing one among a million issued codes takes about 10^12
tries on average. It is shown in groups of four (``7KQ2-M9XD-4HTR``) and read back leniently:
case, dashes and spaces do not matter, and the letters people confuse with digits are taken
for them (``O`` for ``0``, ``I`` and ``L`` for ``1``), as Crockford's decoding prescribes.

The canonical form (what is stored and compared) is the 12 symbols, upper case, no dashes.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 12
GROUP = 4

# What a person may type for each symbol, beyond the symbol itself.
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_IGNORED = str.maketrans("", "", "- \t")
_SYMBOLS = frozenset(ALPHABET)


def new_code() -> str:
    """A fresh code in canonical form (12 symbols, no dashes)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def format_code(code: str) -> str:
    """The canonical code in groups of four for print: ``7KQ2M9XD4HTR`` -> ``7KQ2-M9XD-4HTR``.

    Accepts a code in any form ``normalise_code`` reads; raises ValueError for anything else
    (a bug: only stored codes are formatted)."""
    canonical = normalise_code(code)
    if canonical is None:
        raise ValueError(f"not a verification code: {code!r}")
    return "-".join(canonical[i:i + GROUP] for i in range(0, LENGTH, GROUP))


def normalise_code(text: str) -> str | None:
    """The canonical form of a code as typed or scanned, or None when it cannot be one.

    Case, dashes and blanks are ignored; O reads as 0, I and L as 1. Anything else outside the
    alphabet (U, punctuation, other scripts), or the wrong length, gives None."""
    if not isinstance(text, str):
        return None
    symbols = text.translate(_IGNORED)
    if not symbols.isascii():  # "ı".upper() is "I": other scripts must not fold into codes
        return None
    symbols = symbols.upper().translate(_READ_AS)
    if len(symbols) != LENGTH or not _SYMBOLS.issuperset(symbols):
        return None
    return symbols
