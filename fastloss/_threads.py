"""One thread setting for both compiled tiers: numba's threading layer and the Cython
tier's OpenMP runtime. Both libraries keep the setting per calling thread, so it
applies to the calls made from the thread that sets it."""
import contextlib
import os


def _numba():
    try:
        import numba
        return numba
    except ImportError:
        return None


def _openmp():
    try:
        from fastloss._cython import openmp
        return openmp
    except ImportError:
        return None


def max_threads():
    """The most threads the compiled tiers may use: numba's NUMBA_NUM_THREADS (the CPU count
    by default)."""
    nb = _numba()
    return nb.config.NUMBA_NUM_THREADS if nb else (os.cpu_count() or 1)


def get_num_threads():
    """Threads the compiled tiers use for calls from this thread."""
    nb = _numba()
    return nb.get_num_threads() if nb else 1


def set_num_threads(n):
    """Use ``n`` threads (1 <= n <= max_threads()) in the numba and Cython tiers.
    Returns the previous count. ValueError for a count out of range."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= max_threads():
        raise ValueError(f"n must be an integer in [1, {max_threads()}], got {n!r}")
    previous = get_num_threads()
    nb = _numba()
    if nb:
        nb.set_num_threads(n)
    omp = _openmp()
    if omp:
        omp.set_num_threads(n)
    return previous


@contextlib.contextmanager
def num_threads(n):
    """Context manager: ``with fastloss.num_threads(1): ...`` restores the count after."""
    previous = set_num_threads(n)
    try:
        yield
    finally:
        set_num_threads(previous)
