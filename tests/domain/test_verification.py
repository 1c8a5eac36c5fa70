"""Verification codes: printed in groups, typed back however a person types them."""

from __future__ import annotations

import pytest

from hub.domain.verification import ALPHABET, LENGTH, format_code, new_code, normalise_code


def test_new_codes_are_twelve_unambiguous_symbols() -> None:
    codes = [new_code() for _ in range(20_000)]
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert len(code) == LENGTH == 12
        assert set(code) <= set(ALPHABET)
    assert not set("ILOU") & set("".join(codes))
    assert set("".join(codes)) == set(ALPHABET)  # every symbol is drawn


def test_printed_in_groups_of_four() -> None:
    assert format_code("7KQ2M9XD4HTR") == "7KQ2-M9XD-4HTR"
    assert format_code("7kq2-m9xd-4htr") == "7KQ2-M9XD-4HTR"
    with pytest.raises(ValueError):
        format_code("not a code")


@pytest.mark.parametrize("typed", [
    "7KQ2M9XD4HTR", "7KQ2-M9XD-4HTR", "7kq2-m9xd-4htr", " 7KQ2 M9XD 4HTR ", "7-K-Q-2M9XD4HTR",
    "7KQ2\tM9XD\t4HTR",
])
def test_case_dashes_and_blanks_do_not_matter(typed: str) -> None:
    assert normalise_code(typed) == "7KQ2M9XD4HTR"


def test_letters_read_as_the_digits_they_look_like() -> None:
    assert normalise_code("O1LI-oilx-0000") == "0111011X0000"


@pytest.mark.parametrize("typed", [
    "", "7KQ2M9XD4HT", "7KQ2M9XD4HTRR", "7KQ2M9XD4HTU", "7KQ2M9XD4HT!", "7KQ2M9XD4HTΩ",
    "7KQ2M9XD4HTı", "７KQ2M9XD4HTR", "7KQ2_M9XD_4HTR", "/verify/7KQ2M9XD4HTR",
])
def test_anything_else_is_not_a_code(typed: str) -> None:
    assert normalise_code(typed) is None


def test_round_trip() -> None:
    for _ in range(100):
        code = new_code()
        assert normalise_code(format_code(code).lower()) == code
