"""Small statistics helpers (no numpy on the benchmark's path)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from typing import Any


def percentile(sorted_values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of an already sorted sequence; None when empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


def summary_ms(values_s: Iterable[float]) -> dict[str, Any]:
    """p50/p95/p99/max in milliseconds of durations given in seconds."""
    v = sorted(values_s)
    out: dict[str, Any] = {"count": len(v)}
    for name, p in (("p50", 50), ("p95", 95), ("p99", 99)):
        q = percentile(v, p)
        out[name] = None if q is None else round(q * 1000, 2)
    out["max"] = round(v[-1] * 1000, 2) if v else None
    return out


def median_of(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def dig(d: dict[str, Any], path: str) -> Any:
    cur: Any = d
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur
