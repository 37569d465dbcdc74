# Input statistics that NumPy computes in several passes, in one C pass. At small batches
# (N = 64) each NumPy pass costs about a microsecond, as much as a whole loss kernel, so
# fastloss._validate uses these when the Cython tier is built (and NumPy otherwise). They
# only measure; fastloss._validate decides and raises.

ctypedef fused real:
    float
    double


def label_range(const Py_ssize_t[::1] y, bint has_ignore, Py_ssize_t ignore):
    """``(lo, hi, kept)``: the smallest and largest label and the number of labels, not
    counting those equal to ``ignore`` when ``has_ignore``; ``(0, 0, 0)`` if none is left."""
    cdef Py_ssize_t i, v, kept = 0, n = y.shape[0]
    cdef Py_ssize_t lo = 0, hi = 0
    with nogil:
        for i in range(n):
            v = y[i]
            if has_ignore and v == ignore:
                continue
            if kept == 0:
                lo = v
                hi = v
            elif v < lo:
                lo = v
            elif v > hi:
                hi = v
            kept += 1
    return lo, hi, kept


def first_non_sign(const real[::1] t):
    """Index of the first element of ``t`` that is neither -1 nor +1, or -1 if there is none."""
    cdef Py_ssize_t i, n = t.shape[0], bad = -1
    with nogil:
        for i in range(n):
            if t[i] != 1 and t[i] != -1:
                bad = i
                break
    return bad
