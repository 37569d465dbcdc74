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
  and the float64 per-element losses into a 2 KiB stack buffer (L1); a second loop adds that
  buffer into SUM_LANES = 32 float64 partial sums, four vector registers while a block is
  added, carried from block to block of a chunk (``_numerics.fl_lane_add``: a plain
  ``total += l`` would not vectorize without -ffast-math, which we do not use since NaN
  must propagate); when ``loss_out`` is wanted a third loop copies the buffer out. So the
  ``loss_out`` test and the switch over the loss kind run once per block, never per element,
  and every inner loop is straight-line code that gcc vectorizes (comparisons become blends;
  exp / log1p are ``_numerics``' branch-free versions). An absent BCE weight / pos_weight
  points the inner loop at a block of ones instead of testing per element (multiplying by
  1.0 is exact, as the loop tier's ``w = 1.0``).
* Except for the cheap losses, where the buffer costs: its stores, L1 hits, sit between the
  gradient's stores, which miss the caches, and stores leave the core in order (as in the
  numba tier). MSE and L1: the gradient loop stores the gradient only, and on a whole block
  without ``loss_out`` the ``fl_lanes_*`` helpers recompute the losses from the inputs, now
  in L1, and add them straight into the 32 lane sums, in registers, in fl_lane_add's order
  (the same sums bit for bit; without AVX-512 they fall back to the buffer). Huber on float32
  recomputes its losses into the buffer in a loop of its own after the gradient loop.
  Measured on the model-207 Xeon, N=1e7, two threads, gradient reused, shuffled A/B rounds
  in one process against one fused loop: float64 MSE 11.2-12.3 -> 9.3-10.0 ms, L1 11.4 ->
  9.5 ms; float32 MSE 8.3-9.6 -> 7.3-7.7 ms, L1 7.9-8.8 -> 7.3-7.8, Huber 7.9-8.6 -> 7.5-7.9
  (a slow phase, triad ~17 GB/s). Not kept: float64 Huber's losses recomputed (into the
  buffer: 7-10% slower; into the lanes, its two branches blended in vector code: 15%
  slower), the same split for hinge and squared hinge (no faster), and lane loops written
  in Cython (gcc kept the lanes on the stack: float32 L1 25% slower).
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


cdef extern from *:
    """
    #include <string.h>
    /* acc[k] += loss(p[j] - t[j]) for every j < n with j mod 32 == k (n a multiple of 32),
       for the MSE and L1 losses, computed in registers and never stored: the lane order of
       _numerics' fl_lane_add, so the sums are the same bit for bit as through a loss
       buffer. In GCC vector types, four 8-wide chains, because gcc keeps a double[32] that a
       loop sums into on the stack (a store and a reload per step, see fl_lane_add). The loss
       is computed in the input's precision T, eight elements at a time, widened exactly and
       passed through an empty asm statement, so that the product d * d is never fused into
       the add (the loop tier rounds the loss, then adds). Only where AVX-512 holds a
       64-byte vector in one register (the asm's "v" constraint); elsewhere FL_LOSS_LANES is
       0 and the kernel keeps its loss buffer. */
    #if (defined(__GNUC__) || defined(__clang__)) && defined(__AVX512F__)
    #define FL_LOSS_LANES 1
    typedef double fl_ld8 __attribute__((vector_size(64)));
    typedef long long fl_lq8 __attribute__((vector_size(64)));
    typedef float fl_lf8 __attribute__((vector_size(32)));
    typedef int fl_li8 __attribute__((vector_size(32)));
    #define FL_LOSS_LANES_FN(NAME, T, VT, VI, LOSS)                                          \
    static inline void NAME(double* acc, const T* p, const T* t, Py_ssize_t n) {            \
        fl_ld8 s[4];                                                                         \
        const VT zero = {0};                                                                 \
        const VI absmask = ~(VI)(-zero);  /* every bit but the sign */                       \
        (void)absmask;                                                                       \
        memcpy(s, acc, sizeof s);                                                            \
        for (Py_ssize_t j = 0; j + 32 <= n; j += 32) {                                       \
            for (int r = 0; r < 4; r++) {                                                    \
                VT a, b, d, l;                                                               \
                memcpy(&a, p + j + 8 * r, sizeof a);                                         \
                memcpy(&b, t + j + 8 * r, sizeof b);                                         \
                d = a - b;                                                                   \
                l = LOSS;                                                                    \
                fl_ld8 w = __builtin_convertvector(l, fl_ld8);                               \
                __asm__("" : "+v"(w));                                                       \
                s[r] += w;                                                                   \
            }                                                                                \
        }                                                                                    \
        memcpy(acc, s, sizeof s);                                                            \
    }
    FL_LOSS_LANES_FN(fl_lanes_mse_d, double, fl_ld8, fl_lq8, d * d)
    FL_LOSS_LANES_FN(fl_lanes_mse_f, float, fl_lf8, fl_li8, d * d)
    FL_LOSS_LANES_FN(fl_lanes_l1_d, double, fl_ld8, fl_lq8, (fl_ld8)((fl_lq8)d & absmask))
    FL_LOSS_LANES_FN(fl_lanes_l1_f, float, fl_lf8, fl_li8, (fl_lf8)((fl_li8)d & absmask))
    #else
    #define FL_LOSS_LANES 0
    #define FL_NO_LANES(NAME, T)                                                             \
    static inline void NAME(double* acc, const T* p, const T* t, Py_ssize_t n) {            \
        (void)acc; (void)p; (void)t; (void)n;                                                \
    }
    FL_NO_LANES(fl_lanes_mse_d, double)
    FL_NO_LANES(fl_lanes_mse_f, float)
    FL_NO_LANES(fl_lanes_l1_d, double)
    FL_NO_LANES(fl_lanes_l1_f, float)
    #endif
    """
    bint FL_LOSS_LANES
    void fl_lanes_mse_d(double* acc, const double* p, const double* t, Py_ssize_t n) noexcept nogil
    void fl_lanes_mse_f(double* acc, const float* p, const float* t, Py_ssize_t n) noexcept nogil
    void fl_lanes_l1_d(double* acc, const double* p, const double* t, Py_ssize_t n) noexcept nogil
    void fl_lanes_l1_f(double* acc, const float* p, const float* t, Py_ssize_t n) noexcept nogil


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


cdef inline floating _l1_elem(floating d) noexcept nogil:
    """L1 loss of d = p - t (NaN stays NaN)."""
    return fabsf(d) if floating is float else fabs(d)


cdef inline floating _huber_elem(floating d, floating am, floating dl) noexcept nogil:
    """Huber loss of d = p - t in the input's precision: d^2 / 2 if |d| < delta (am: delta
    rounded up to the dtype), else delta (|d| - delta / 2) (dl: delta rounded); a NaN d
    lands in the linear branch and stays NaN."""
    cdef floating ak = _l1_elem(d)
    cdef floating half = 0.5
    return half * d * d if ak < am else dl * (ak - half * dl)


cdef inline Py_ssize_t _block(int kind, const floating* p, const floating* t,
                              const floating* w, const floating* q, double a, double scale,
                              floating* g, double* lb, double* acc,
                              Py_ssize_t n) noexcept nogil:
    """One block of n <= BLOCK elements: g[k] = scale * dl_k/dp_k, lb[k] = l_k (float64).
    ``a`` is the option (margin or delta); w, q only for BCE (both NULL: unweighted).
    ``acc``: NULL, or for MSE and L1 on a block of a multiple of SUM_LANES elements the
    SUM_LANES lane sums, which then get the losses directly instead of lb (_losses).
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
    # MSE and L1: the gradient loop stores the gradient only; _losses recomputes the
    # losses from the inputs, now in L1 (module doc, "Blocks").
    elif kind == MSE:
        for k in range(n):
            g[k] = (p[k] - t[k]) * sc2
    elif kind == L1:
        for k in range(n):
            dk = p[k] - t[k]
            # sign(p - t) scale: sign(0) = 0 (its sign bit kept), sign(NaN) = NaN.
            g[k] = sc if p[k] > t[k] else (-sc if p[k] < t[k] else dk * zero)
    elif kind == HUBER:
        # float64: the losses in the gradient loop (a loop of their own measured slower
        # there); float32: in a loop of their own after it (module doc, "Blocks").
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
    if kind == MSE or kind == L1:
        _losses(kind, p, t, lb, acc, n)
    return off


cdef inline void _losses(int kind, const floating* p, const floating* t, double* lb,
                         double* acc, Py_ssize_t n) noexcept nogil:
    """The MSE or L1 losses of a block (see _block), in a loop of their own after the
    gradient loop: into the lane sums acc, in registers (the fl_lanes_* helpers above), or,
    when acc is NULL, into lb."""
    cdef Py_ssize_t k
    if acc != NULL:
        if kind == MSE:
            if floating is float:
                fl_lanes_mse_f(acc, p, t, n)
            else:
                fl_lanes_mse_d(acc, p, t, n)
        elif floating is float:
            fl_lanes_l1_f(acc, p, t, n)
        else:
            fl_lanes_l1_d(acc, p, t, n)
    elif kind == MSE:
        for k in range(n):
            lb[k] = (p[k] - t[k]) * (p[k] - t[k])
    else:
        for k in range(n):
            lb[k] = _l1_elem(p[k] - t[k])


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
    cdef bint lanes
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
        # MSE and L1 on a whole block, no loss_out: the losses straight into the lanes.
        lanes = FL_LOSS_LANES and m == BLOCK and lo == NULL and (kind == MSE or kind == L1)
        nbad += _block(kind, p + base, t + base,
                       (w + base) if w != NULL else (ones if fill else NULL),
                       (q + base) if q != NULL else (ones if fill else NULL),
                       a, scale, g + base, lb, acc if lanes else NULL, m)
        if not lanes:
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
