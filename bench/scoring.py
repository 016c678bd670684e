"""Shared by the evaluations and benchmarks: precision and recall from a confusion table, and
timings. Standard library only: bench/model_floor.py imports it from a venv without Django."""

from __future__ import annotations

import math
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


def wall_and_cpu_ms(action: Callable[[], object], runs: int, *, warmup: int = 5, digits: int = 2) -> dict:
    """Median and 95th-percentile wall-clock ms and mean CPU ms (this process, all its threads)
    of `action` over `runs` calls, after `warmup` calls."""
    for _ in range(warmup):
        action()
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(1000 * (time.perf_counter() - wall))
        cpus.append(1000 * (time.process_time() - cpu))
    return {
        "wall_median_ms": round(statistics.median(walls), digits),
        "wall_p95_ms": round(sorted(walls)[math.ceil(0.95 * runs) - 1], digits),
        "cpu_mean_ms": round(statistics.mean(cpus), digits),
    }
