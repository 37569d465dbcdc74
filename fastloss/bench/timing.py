"""Timing primitives: auto-calibrated loop counts and robust statistics.

Like ``timeit.Timer.autorange``: the number of calls per measurement grows (1, 2, 5,
10, 20, ...) until one measurement takes at least ``min_time``, so fast calls are not
dominated by timer resolution. Each of ``repeat`` measurements then gives one
per-call time; the median is reported with the 20th/80th percentiles as spread,
which a noisy shared 2-core machine needs more than a mean and a standard deviation.
"""
import time

import numpy as np


def calibrate(fn, min_time=0.05):
    """Smallest call count in 1, 2, 5, 10, 20, 50, ... whose total time is >= min_time.
    Returns ``(number, seconds_for_number_calls)``."""
    base = 1
    while True:
        for step in (1, 2, 5):
            number = base * step
            elapsed = time_calls(fn, number)
            if elapsed >= min_time:
                return number, elapsed
        base *= 10


def time_calls(fn, number):
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return time.perf_counter() - start


def measure(fn, repeat=5, min_time=0.05):
    """Per-call seconds of ``fn()``: dict with median, p20, p80, number and repeat."""
    number, first = calibrate(fn, min_time)
    samples = [first / number] + [time_calls(fn, number) / number for _ in range(repeat - 1)]
    p20, med, p80 = np.percentile(samples, [20, 50, 80])
    return {"median": float(med), "p20": float(p20), "p80": float(p80),
            "number": number, "repeat": len(samples)}
