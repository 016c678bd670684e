"""Shared by the evaluations: precision and recall from a confusion table, and timings."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def confusion_scores(tp: int, fp: int, fn: int, tn: int, *, empty: float = 1.0) -> dict[str, float | int]:
    """The four counts with precision and recall; `empty` when nothing was reported or there was
    nothing to find."""
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": round(tp / (tp + fp), 3) if tp + fp else empty,
        "recall": round(tp / (tp + fn), 3) if tp + fn else empty,
    }


def median_ms(action: Callable[[], object], runs: int, *, digits: int = 2) -> float:
    """Median wall-clock milliseconds of `action` over `runs` calls, after one to warm up."""
    action()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), digits)
