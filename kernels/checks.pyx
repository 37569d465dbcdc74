# Input statistics that NumPy computes in several passes, in one C pass. At small batches
# (N = 64) each NumPy pass costs about a microsecond, as much as a whole loss kernel, so
# fastloss._validate uses these when the Cython tier is built (and NumPy otherwise). They
# only measure; fastloss._validate decides and raises.
#
# The loops are branch-free over blocks of BLOCK elements (selects and counts, which gcc
# vectorizes), and stop at the first block that holds what they look for: a loop that
# branches per element ran at 2-6 ns per element, slower than NumPy's passes.

from cpython.pyport cimport PY_SSIZE_T_MAX, PY_SSIZE_T_MIN

ctypedef fused real:
    float
    double

cdef enum:
    BLOCK = 1024


def label_range(const Py_ssize_t[::1] y, bint has_ignore, Py_ssize_t ignore):
    """``(lo, hi, kept)``: the smallest and largest label and the number of labels, not
    counting those equal to ``ignore`` when ``has_ignore``; ``(0, 0, 0)`` if none is left."""
    cdef Py_ssize_t n = y.shape[0]
    cdef const Py_ssize_t* p = &y[0] if n else NULL
    cdef Py_ssize_t i, v, kept = 0
    # Start values that any label beats; ignored labels are replaced by them.
    cdef Py_ssize_t lo = PY_SSIZE_T_MAX, hi = PY_SSIZE_T_MIN
    with nogil:
        if has_ignore:
            for i in range(n):
                v = p[i]
                kept += v != ignore
                lo = v if (v < lo and v != ignore) else lo
                hi = v if (v > hi and v != ignore) else hi
        else:
            kept = n
            for i in range(n):
                v = p[i]
                lo = v if v < lo else lo
                hi = v if v > hi else hi
    if kept == 0:
        return 0, 0, 0
    return lo, hi, kept


def first_non_sign(const real[::1] t):
    """Index of the first element of ``t`` that is neither -1 nor +1, or -1 if there is none."""
    cdef Py_ssize_t n = t.shape[0]
    cdef const real* p = &t[0] if n else NULL
    cdef Py_ssize_t b = 0, i, stop, bad = -1, count
    with nogil:
        while b < n and bad < 0:
            stop = b + BLOCK if b + BLOCK < n else n
            count = 0
            for i in range(b, stop):
                count += (p[i] != 1) & (p[i] != -1)
            if count:
                for i in range(b, stop):
                    if p[i] != 1 and p[i] != -1:
                        bad = i
                        break
            b = stop
    return bad
