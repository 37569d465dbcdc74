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


def stats(samples):
    """Median, 20th and 80th percentiles (seconds per call) of per-call samples."""
    p20, med, p80 = np.percentile(samples, [20, 50, 80])
    return {"median": float(med), "p20": float(p20), "p80": float(p80), "repeat": len(samples)}


# Untimed calls before each interleaved sample: at least one, and at least this long.
# The previous callable's thread pool (OpenBLAS, numba's, an OpenMP runtime of the
# Cython tier or of a peer) goes on spinning after its call, on the cores the next
# call needs. OpenBLAS's workers spin for 2^28 TSC cycles after their last job (its
# THREAD_TIMEOUT default): ~0.1 s at this machine's 2.6 GHz TSC. Measured on the Intel
# machine (2026-12-06), numba's svm at N=500 float32 right after the numpy tier: with a
# 50 ms lead-in, 5 of 9 rounds took 4.4-5.6 ms instead of 0.52-0.56 ms (the harness's
# numba N=500 cells read 0.37-1.3x numpy while the tier ran 2.1x on its own); slow calls
# were seen up to 0.1-0.2 s after NumPy's last call; with a 0.2 s lead-in, or with
# OPENBLAS_NUM_THREADS=1, every round took 0.52-0.56 ms. Earlier, on the Zen 5 machine:
# numba's svm took 4.6 ms on its first call after NumPy's tier, ~1.0-1.2 ms over the next
# ~40 ms; scikit-learn's cross-entropy at N=1e6 C=10 98-159 ms right after the Cython
# tier against 38 ms on its own.
LEAD_IN_SECONDS = 0.2


def lead_in(fn, seconds=None):
    """Call ``fn`` untimed until ``seconds`` (default LEAD_IN_SECONDS) have passed, at
    least once."""
    seconds = LEAD_IN_SECONDS if seconds is None else seconds
    start = time.perf_counter()
    fn()
    while time.perf_counter() - start < seconds:
        fn()


def measure_interleaved(fns, repeat=5, min_time=0.05, calibrated=None):
    """Per-call seconds of each of ``fns`` (a dict name -> callable), measured in rounds:
    every round takes one sample of each callable (``number`` calls, calibrated as in
    :func:`measure`), in an order rotated from round to round. On a shared machine whose
    speed drifts over seconds (other tenants, memory bandwidth, clock), interleaving puts
    every callable under the same conditions, so their ratios hold even where the
    absolute times move. ``calibrated`` may hold already known ``(number, seconds)``
    per name. Returns name -> dict as :func:`measure`.

    Each sample follows an untimed lead-in of the same callable (:func:`lead_in`), so
    that it sees the state a repeated call sees, not the state the previous callable
    left."""
    names = list(fns)
    calibrated = dict(calibrated or {})
    for name in names:
        if name not in calibrated:
            calibrated[name] = calibrate(fns[name], min_time)
    samples = {name: [] for name in names}
    for r in range(repeat):
        for name in names[r % len(names):] + names[:r % len(names)]:
            number = calibrated[name][0]
            lead_in(fns[name])
            samples[name].append(time_calls(fns[name], number) / number)
    return {name: dict(stats(samples[name]), number=calibrated[name][0]) for name in names}


def measure(fn, repeat=5, min_time=0.05):
    """Per-call seconds of ``fn()``: dict with median, p20, p80, number and repeat."""
    number, first = calibrate(fn, min_time)
    samples = [first / number] + [time_calls(fn, number) / number for _ in range(repeat - 1)]
    return dict(stats(samples), number=number)
