"""STREAM-style triad: the memory bandwidth a compiled loop reaches on this machine.

a[i] = b[i] + s * c[i] over arrays far larger than the caches, parallel over all
threads. STREAM counts 3 arrays x 8 bytes per element (two reads, one write, not
counting write-allocate traffic); the harness compares each cell's bytes-that-must-move
per second with this figure.
"""
import numpy as np
from numba import njit, prange

from .timing import measure


@njit(parallel=True, cache=True, nogil=True)
def _triad(a, b, c, s):
    for i in prange(a.shape[0]):
        a[i] = b[i] + s * c[i]


def triad_call(nbytes):
    """``(fn, bytes)``: a triad call over three float64 arrays that together hold about
    ``nbytes`` bytes (so it moves what a cell of that size moves), compiled (or loaded
    from the cache) already, outside any timing."""
    n = max(1, int(nbytes) // 24)
    a = np.empty(n)
    b = np.ones(n)
    c = np.full(n, 2.0)
    _triad(a, b, c, 3.0)
    return (lambda: _triad(a, b, c, 3.0)), 3 * 8 * n


def triad_gbps(n=20_000_000, repeat=5):
    """Best-of-median triad bandwidth in GB/s (1e9 bytes/s) with ``n`` float64 elements
    per array (3 x 160 MB by default)."""
    fn, moved = triad_call(3 * 8 * n)
    return moved / measure(fn, repeat=repeat, min_time=0.05)["median"] / 1e9
