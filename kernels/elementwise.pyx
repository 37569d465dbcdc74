# cython: language_level=3
"""Tier "cython": elementwise losses on predictions (hinge, squared hinge, MSE, L1, Huber,
BCE with logits) as compiled kernels.

Kernel contract and formulas: ``fastloss.loop.elementwise`` (this module matches it element
for element: same signatures, same NaN rules, same subgradients at the kinks).

Design
======
These losses read two (or up to four) arrays and write one or two: at N = 10^7 they are
bound by memory bandwidth, so the kernel makes exactly one pass over memory and never
allocates a temporary of size N.

* One fused pass: every element's loss and gradient come out of the same few arithmetic
  operations, the gradient is written already multiplied by ``scale``.
* Blocks of BLOCK = 256 elements. Per block one simple loop computes the gradient (to memory)
  and the float64 per-element losses into a 2 KiB stack buffer (L1). Except for float32
  MSE, L1 and Huber: there the gradient loop stores the gradient only, and a loop of its own
  over the same block, its inputs now in L1, recomputes the losses into the buffer (as the
  numba tier does: the buffer's stores, L1 hits, otherwise sit between the gradient's
  stores, which miss, and stores leave the core in order). Measured on the model-207 Xeon,
  N=1e7, two threads, gradient reused, shuffled A/B rounds in one process (triad ~17
  GB/s): float32 MSE 8.3-9.6 -> 7.3-7.7 ms, L1 7.9-8.8 -> 7.3-7.8, Huber 7.9-8.6 ->
  7.5-7.9. For float64 the same split was 7-10% slower at N=1e7 (faster in L3, N=1e6),
  and for hinge and squared hinge (their float32 gradient loop then free of float64) no
  faster, so those keep one loop. Then a loop adds the
  buffer into SUM_LANES = 32 float64 partial sums, four vector registers while a block is
  added, carried from block to block of a chunk (``_numerics.fl_lane_add``: a plain
  ``total += l`` would not vectorize without -ffast-math, which we do not use since NaN
  must propagate); when
  ``loss_out`` is wanted another loop copies the buffer out. So the ``loss_out`` test and the
  switch over the loss kind run once per block, never per element, and every inner loop is
  straight-line code that gcc vectorizes (comparisons become blends; exp / log1p are
  ``_numerics``' branch-free versions). An absent BCE weight / pos_weight points the inner
  loop at a block of ones instead of testing per element (multiplying by 1.0 is exact, as the
  loop tier's ``w = 1.0``).
* Precision: hinge and squared hinge give the loop tier's float64 losses also for float32
  input (a kink decision such as ``margin - t p > 0`` must not change with the dtype; the
  squared hinge's float32 gradient takes three roundings instead of one, <= 3 x 2^-24
  relative), but compute in float32 wherever that is exact (see ``_block``): each widening or
  narrowing of a float32 vector costs two conversions, and with them in every step the
  float32 loops were compute-bound (hinge 0.32 ns per element on one core in L2, against
  0.20 now; at N=1e7 two cores then moved ~40 GB/s, not the triad's ~55). MSE, L1, Huber
  and BCE compute in the input's precision, as the numpy tier does: on float32 input
  d = p - t is rounded to float32 (~6e-8 relative; BCE: errors ~1e-7 relative), while
  Huber's comparisons with delta stay exact (delta rounded up / down to float32). Widening
  p and t for an exact float64 d had kept these float32 loops under the 75%-of-triad target
  (N=1e7, two threads, gradient reused: MSE 78% -> 90%, Huber 68% -> 77%; BCE: twice the
  vector lanes for its exp / log1p). A float32 |p - t| beyond 3.4e38 is then inf, as in
  the numpy tier. Every loss sum accumulates in float64 (float32 losses widened exactly).
* Parallelism: a FIXED number of chunks (``_numerics.chunk_size``: at most 16, each at least
  MIN_CHUNK elements, block-aligned) run under an OpenMP ``prange`` (dynamic schedule: the
  other core may be busy). Each chunk returns its own float64 sum; the sums are added in
  chunk order after the parallel region, so the result is the same for any thread count.
  Inputs too small for two chunks (including the N = 64 calls of the small-input benchmarks)
  run serially without entering an OpenMP region at all. Without OpenMP the prange compiles
  to a serial loop.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport fabs, fabsf, nextafterf, INFINITY

from _numerics cimport SUM_LANES, CHUNKS_MAX, chunk_size, fl_lane_add, lane_fold, vexp, vlog1p01

cdef enum:
    BLOCK = 256         # elements per block: the float64 loss buffer (2 KiB) stays in L1
    HINGE = 0
    SQUARED_HINGE = 1
    MSE = 2
    L1 = 3
    HUBER = 4
    BCE = 5

# Elements per parallel chunk at least: below ~10 us of work per chunk the OpenMP fork/join
# (a few us on this machine) would eat the gain. BCE does ~10x more arithmetic per element.
cdef Py_ssize_t MIN_CHUNK = 32768
cdef Py_ssize_t MIN_CHUNK_BCE = 4096


cdef inline void _bce_elem(floating x, floating tt, floating e, floating lf, floating inv,
                           floating wk, floating qk, double scale, floating* lp,
                           floating* g) noexcept nogil:
    """Loss (lp) and scaled gradient (g) of one element from e = exp(-|x|), lf = log1p(e)
    and inv = 1 / (1 + e); wk, qk the weight and pos_weight (constant 1 when absent: the
    compiler then drops those loads and multiplies, x * 1 being exact)."""
    cdef floating one = 1, zero = 0
    cdef floating sp_pos, sp_neg, sg, sgc
    sp_pos = (x if x > zero else zero) + lf    # softplus(x) = max(x, 0) + log1p(exp(-|x|))
    sp_neg = (-x if x < zero else zero) + lf   # softplus(-x)
    lp[0] = wk * (qk * tt * sp_neg + (one - tt) * sp_pos)
    sg = inv if x >= zero else e * inv         # sigmoid(x), exp never sees +|x|
    if floating is float:
        # 1 - sigmoid(x) = sigmoid(-x) directly: 1 - sg in float32 cancels for x >> 0
        # (x = 10: 0.1% relative error), as the numba tier avoids too. Gradient scaled in
        # float32 (scale rounded once: <= 1 ulp instead of 0.5): a float64 product would
        # make the loop 8 lanes wide.
        sgc = e * inv if x >= zero else inv
        g[0] = wk * ((one - tt) * sg - qk * tt * sgc) * <float>scale
    else:
        sgc = one - sg                         # the loop tier's operations
        g[0] = wk * ((one - tt) * sg - qk * tt * sgc) * scale


cdef inline void _bce_block(const floating* p, const floating* t, const floating* w,
                            const floating* q, double scale, floating* g, double* lb,
                            Py_ssize_t n) noexcept nogil:
    """BCE with logits over one block (see _block); w and q both NULL when both are absent
    (one absent alone comes as a block of ones). In a function of its own so that its L1
    buffers stay out of _block's frame (with them there, gcc stopped vectorizing the float32
    L1 loop, 3.9 -> 35 ms at N=1e7)."""
    cdef Py_ssize_t k
    cdef floating one = 1
    cdef floating eb[BLOCK]
    cdef floating lfb[BLOCK]
    cdef floating ib[BLOCK]
    # Short loops instead of one: the exp -> log1p -> division chain of one element is
    # too long for the out-of-order window to overlap enough vectors of one fused loop.
    # Through L1 buffers: exp first, then (float64 only) log1p and 1 / (1 + e), then the
    # combine. Measured one thread, N=1e7: float64 4.0 -> 2.3 ns per element (C test:
    # three loops); float32 (cheaper log1p) is fastest with two, 1.2 -> 1.0 ns.
    # One exp(-|x|) serves softplus(+-x) and sigmoid; fabsf for float: a double fabs
    # widened the float32 loop to 8 lanes.
    if floating is float:
        for k in range(n):
            eb[k] = vexp(-fabsf(p[k]))
    else:
        for k in range(n):
            eb[k] = vexp(-fabs(p[k]))
        for k in range(n):
            lfb[k] = vlog1p01(eb[k])
            ib[k] = one / (one + eb[k])
    # The combine, without weights (the usual call) in a loop of its own.
    if floating is float:
        # Loss kept in float32 in lfb (unused by this path so far) and widened exactly
        # afterwards: a float64 store would make the loop 8 lanes wide.
        if w == NULL:
            for k in range(n):
                _bce_elem(p[k], t[k], eb[k], vlog1p01(eb[k]), one / (one + eb[k]), one, one,
                          scale, &lfb[k], &g[k])
        else:
            for k in range(n):
                _bce_elem(p[k], t[k], eb[k], vlog1p01(eb[k]), one / (one + eb[k]), w[k], q[k],
                          scale, &lfb[k], &g[k])
        for k in range(n):  # widened exactly, in a loop of its own
            lb[k] = <double>lfb[k]
    else:
        if w == NULL:
            for k in range(n):
                _bce_elem(p[k], t[k], eb[k], lfb[k], ib[k], one, one, scale, &lb[k], &g[k])
        else:
            for k in range(n):
                _bce_elem(p[k], t[k], eb[k], lfb[k], ib[k], w[k], q[k], scale, &lb[k], &g[k])


cdef inline floating _huber_elem(floating d, floating am, floating dl) noexcept nogil:
    """Huber loss of d = p - t in the input's precision: d^2 / 2 if |d| < delta (am: delta
    rounded up to the dtype), else delta (|d| - delta / 2) (dl: delta rounded); a NaN d
    lands in the linear branch and stays NaN."""
    cdef floating ak = fabsf(d) if floating is float else fabs(d)
    cdef floating half = 0.5
    return half * d * d if ak < am else dl * (ak - half * dl)


cdef inline Py_ssize_t _block(int kind, const floating* p, const floating* t,
                              const floating* w, const floating* q, double a, double scale,
                              floating* g, double* lb, Py_ssize_t n) noexcept nogil:
    """One block of n <= BLOCK elements: g[k] = scale * dl_k/dp_k, lb[k] = l_k (float64).
    ``a`` is the option (margin or delta); w, q only for BCE (both NULL: unweighted).
    Returns the number of targets that are neither -1 nor +1 for hinge and squared hinge
    (counted in the loop that reads them: no pass of its own), 0 for the others."""
    cdef Py_ssize_t k
    cdef double gap
    cdef bint f32_grad
    # Work in the input's precision where that is exact, so float32 loops stay 16 lanes
    # wide (each widening or narrowing of a float32 vector costs two conversions; with them
    # the float32 hinge loop was compute-bound, ~0.3 ns per element on one core):
    # * with t = +-1, tp = t p is exact in float32 too, and (double)tp = t p;
    # * t p < margin (a float64) <=> tp < am, am the float32 ceiling of margin (no float32
    #   lies in [margin, am)); am = margin for float64;
    # * the hinge gradient -t scale in float64 rounded to float32 is -t (float)scale;
    # * the squared hinge gradient, when the margin is a float32 (the default 1.0), from
    #   dl - tp in float32: one rounding of the exact gap, then two products (2 scale
    #   rounded, the product rounded), <= 3 x 2^-24 relative instead of 2^-24. N=1e7
    #   float32, two threads, gradient reused, one process, shuffled rounds: 3.64-3.79 ->
    #   3.40-3.56 ms. Any other margin takes the float64 gap (in float32, margin - tp
    #   cancels near the kink);
    # * sign(p - t) is decided by comparing p with t (a difference rounded to 0 or inf
    #   keeps its sign anyway);
    # * MSE, L1 and Huber compute in the input's precision (module doc, "Precision"); the
    #   float64 gradients 2 d scale = d (2 scale) and d scale keep their former bits;
    # * |d| < delta <=> |d| < am, d > delta <=> d > down, down the float32 floor of delta;
    # * the off-sign count is an int (32-bit: narrow lanes, as the float32 data's; a block
    #   holds BLOCK elements at most).
    cdef int off = 0
    cdef floating tk, tp, gk, dk, zero = 0
    cdef floating sc = <floating>scale, sc2 = <floating>(2.0 * scale)
    cdef floating am = <floating>a, down = <floating>a, dl = <floating>a
    if floating is float:
        if <double>am < a:
            am = nextafterf(am, INFINITY)
        if <double>down > a:
            down = nextafterf(down, -INFINITY)
    if kind == HINGE:
        for k in range(n):
            tk = t[k]
            off += (tk != 1) & (tk != -1)
            tp = tk * p[k]
            # "not gap <= 0": a NaN gap is active, so loss and gradient are NaN.
            gap = a - <double>tp
            lb[k] = 0.0 if gap <= 0 else gap
            gk = -tk * sc if tp < am else zero
            g[k] = tp if tp != tp else gk  # NaN: NaN
    elif kind == SQUARED_HINGE:
        # margin a float32 (the default 1.0): the float32 gradient from gk = dl - tp, one
        # rounding of the exact gap (float32 subtraction is 0 only for equal operands, so
        # gk <= 0 decides as gap <= 0 does; NaN stays NaN). The test is loop-invariant:
        # gcc (-O3 unswitches loops) compiles one vector loop per outcome.
        f32_grad = floating is float and <double>dl == a
        for k in range(n):
            tk = t[k]
            off += (tk != 1) & (tk != -1)
            tp = tk * p[k]
            gap = a - <double>tp
            gap = 0.0 if gap <= 0 else gap  # NaN stays NaN
            lb[k] = gap * gap
            if f32_grad:
                gk = dl - tp
                gk = zero if gk <= zero else gk
                g[k] = -tk * (gk * sc2)
            else:
                # -2 t gap scale rounded once: its magnitude rounded, then the sign of -t.
                g[k] = -tk * <floating>(2.0 * gap * scale)
    # MSE, L1 and Huber: float64 losses in the gradient loop, float32 losses recomputed in
    # a loop of their own after it (module doc, "Blocks").
    elif kind == MSE:
        for k in range(n):
            dk = p[k] - t[k]
            if floating is double:
                lb[k] = dk * dk
            g[k] = dk * sc2
        if floating is float:
            for k in range(n):
                dk = p[k] - t[k]
                lb[k] = dk * dk
    elif kind == L1:
        for k in range(n):
            dk = p[k] - t[k]
            if floating is double:
                lb[k] = fabs(dk)
            # sign(p - t) scale: sign(0) = 0 (its sign bit kept), sign(NaN) = NaN.
            g[k] = sc if p[k] > t[k] else (-sc if p[k] < t[k] else dk * zero)
        if floating is float:
            for k in range(n):
                lb[k] = fabsf(p[k] - t[k])
    elif kind == HUBER:
        for k in range(n):
            dk = p[k] - t[k]
            if floating is double:
                lb[k] = _huber_elem(dk, am, dl)
            # d if |d| <= delta else delta sign(d), as a clamp: two compares and blends
            # instead of a sign's three (NaN fails both tests and stays; -0 stays -0).
            dk = dl if dk > down else dk
            dk = -dl if dk < -down else dk
            g[k] = dk * sc
        if floating is float:
            for k in range(n):
                lb[k] = _huber_elem(p[k] - t[k], am, dl)
    elif kind == BCE:
        _bce_block(p, t, w, q, scale, g, lb, n)
    return off


cdef double _chunk(int kind, const floating* p, const floating* t, const floating* w,
                   const floating* q, double a, double scale, floating* lo, floating* g,
                   Py_ssize_t n, Py_ssize_t* off) noexcept nogil:
    """Elements [0, n) of one chunk; returns their float64 loss sum and stores the off-sign
    target count in ``off`` (see _block). lo may be NULL (loss_out not wanted); w / q may be
    NULL (BCE weight / pos_weight absent: a block of ones)."""
    cdef double lb[BLOCK]
    cdef floating ones[BLOCK]
    cdef double acc[SUM_LANES]
    cdef Py_ssize_t b, base, m, k, nbad = 0
    # BCE with one of weight / pos_weight: the absent one as a block of ones. With neither,
    # both stay NULL and _bce_block runs its unweighted loop.
    cdef bint fill = kind == BCE and (w == NULL) != (q == NULL)
    if fill:
        for k in range(BLOCK):
            ones[k] = 1
    for k in range(SUM_LANES):
        acc[k] = 0.0
    for b in range((n + BLOCK - 1) // BLOCK):
        base = b * BLOCK
        m = n - base if n - base < BLOCK else BLOCK
        nbad += _block(kind, p + base, t + base,
                       (w + base) if w != NULL else (ones if fill else NULL),
                       (q + base) if q != NULL else (ones if fill else NULL),
                       a, scale, g + base, lb, m)
        fl_lane_add(acc, lb, m)
        if lo != NULL:
            for k in range(m):
                lo[base + k] = <floating>lb[k]
    off[0] = nbad
    return lane_fold(acc)


cdef double _run(int kind, const floating* p, const floating* t, const floating* w,
                 const floating* q, double a, double scale, floating* lo, floating* g,
                 Py_ssize_t n, Py_ssize_t min_chunk, Py_ssize_t* off) noexcept nogil:
    """All N elements: serially below two chunks' worth, else a prange over fixed chunks.
    Returns the loss sum; the off-sign target count goes to ``off`` (see _block)."""
    cdef double part[CHUNKS_MAX]
    cdef Py_ssize_t offs[CHUNKS_MAX]
    cdef double total = 0.0
    cdef Py_ssize_t cs = chunk_size(n, min_chunk, BLOCK)
    cdef Py_ssize_t nch, c, start, m
    if cs >= n:
        return _chunk(kind, p, t, w, q, a, scale, lo, g, n, off)
    nch = (n + cs - 1) // cs
    for c in prange(nch, schedule="dynamic", chunksize=1):
        start = c * cs
        m = n - start if n - start < cs else cs
        part[c] = _chunk(kind, p + start, t + start,
                         (w + start) if w != NULL else NULL, (q + start) if q != NULL else NULL,
                         a, scale, (lo + start) if lo != NULL else NULL, g + start, m,
                         &offs[c])
    off[0] = 0
    for c in range(nch):
        total += part[c]
        off[0] += offs[c]
    return total


def hinge(const floating[::1] pred, const floating[::1] target, double margin, double scale,
          floating[::1] loss_out, floating[::1] grad):
    """l = max(0, margin - t p);  dl/dp = -t where t p < margin, else 0 (NaN: NaN).
    Writes grad = scale * dl/dp and, when len(loss_out) == N, the per-element losses;
    returns the unscaled loss sum (float64) and the number of targets neither -1 nor +1."""
    cdef floating* lo = &loss_out[0] if loss_out.shape[0] else NULL
    cdef Py_ssize_t off
    with nogil:
        total = _run(HINGE, &pred[0], &target[0], <const floating*>NULL, <const floating*>NULL,
                     margin, scale, lo, &grad[0], pred.shape[0], MIN_CHUNK, &off)
    return total, off


def squared_hinge(const floating[::1] pred, const floating[::1] target, double margin,
                  double scale, floating[::1] loss_out, floating[::1] grad):
    """l = max(0, margin - t p)^2;  dl/dp = -2 t max(0, margin - t p). Outputs and
    returns as hinge."""
    cdef floating* lo = &loss_out[0] if loss_out.shape[0] else NULL
    cdef Py_ssize_t off
    with nogil:
        total = _run(SQUARED_HINGE, &pred[0], &target[0], <const floating*>NULL,
                     <const floating*>NULL, margin, scale, lo, &grad[0], pred.shape[0], MIN_CHUNK,
                     &off)
    return total, off


def mse(const floating[::1] pred, const floating[::1] target, double scale,
        floating[::1] loss_out, floating[::1] grad):
    """l = (p - t)^2;  dl/dp = 2 (p - t). Outputs as hinge; returns the loss sum."""
    cdef floating* lo = &loss_out[0] if loss_out.shape[0] else NULL
    cdef Py_ssize_t off
    with nogil:
        total = _run(MSE, &pred[0], &target[0], <const floating*>NULL, <const floating*>NULL,
                     0.0, scale, lo, &grad[0], pred.shape[0], MIN_CHUNK, &off)
    return total


def l1(const floating[::1] pred, const floating[::1] target, double scale,
       floating[::1] loss_out, floating[::1] grad):
    """l = |p - t|;  dl/dp = sign(p - t) with sign(0) = 0. Outputs as hinge;
    returns the loss sum."""
    cdef floating* lo = &loss_out[0] if loss_out.shape[0] else NULL
    cdef Py_ssize_t off
    with nogil:
        total = _run(L1, &pred[0], &target[0], <const floating*>NULL, <const floating*>NULL,
                     0.0, scale, lo, &grad[0], pred.shape[0], MIN_CHUNK, &off)
    return total


def huber(const floating[::1] pred, const floating[::1] target, double delta, double scale,
          floating[::1] loss_out, floating[::1] grad):
    """d = p - t;  l = d^2 / 2 if |d| < delta else delta (|d| - delta / 2);
    dl/dp = d if |d| <= delta else delta sign(d). Outputs as hinge; returns the loss sum."""
    cdef floating* lo = &loss_out[0] if loss_out.shape[0] else NULL
    cdef Py_ssize_t off
    with nogil:
        total = _run(HUBER, &pred[0], &target[0], <const floating*>NULL, <const floating*>NULL,
                     delta, scale, lo, &grad[0], pred.shape[0], MIN_CHUNK, &off)
    return total


def bce_with_logits(const floating[::1] logits, const floating[::1] target,
                    const floating[::1] weight, const floating[::1] pos_weight, double scale,
                    floating[::1] loss_out, floating[::1] grad):
    """l = w (q t softplus(-x) + (1 - t) softplus(x));
    dl/dx = w ((1 - t) sigmoid(x) - q t (1 - sigmoid(x))); weight w and pos_weight q of
    length 0 (absent: 1) or N. softplus / sigmoid stable for any |x|. Outputs as hinge;
    returns the loss sum."""
    cdef floating* lo = &loss_out[0] if loss_out.shape[0] else NULL
    cdef Py_ssize_t off
    cdef const floating* w = &weight[0] if weight.shape[0] else NULL
    cdef const floating* q = &pos_weight[0] if pos_weight.shape[0] else NULL
    with nogil:
        total = _run(BCE, &logits[0], &target[0], w, q, 0.0, scale, lo, &grad[0],
                     logits.shape[0], MIN_CHUNK_BCE, &off)
    return total
