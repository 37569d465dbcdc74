# cython: language_level=3
"""Tier "cython": losses on a score / logit matrix (N, C) - multiclass hinge, cross-entropy with
class-index targets, cross-entropy with class-probability targets - as compiled kernels.

Kernel contract and formulas: ``fastloss.loop.scores`` (matched sample for sample: same
signatures, NaN rules, ignore_index rows of exact zeros, loss_out of length 0 = not wanted).

Design
======
Rows are independent; each row is read once from memory and its gradient row written once.

* Cross-entropy is exp-bound (N x C exps), so its row loop is split into short passes that are
  each straight-line, vectorizable code on data that stays in L1:
    1. row max m (an ``omp simd`` max reduction for long rows: gcc vectorizes no floating
       max reduction otherwise without -ffast-math) and the shifted row z - m written to a
       per-chunk scratch buffer;
    2. one flat loop e = exp(z - m) over the scratch of a GROUP of rows (R = GROUP // C rows,
       at least one): for small C (10) a per-row exp loop would be mostly remainder, the flat
       loop runs full vectors. Rows of ROW_EXP_MIN (64) classes and more take passes 1 and 2
       in one loop per row instead (no store and reload of z - m) and sum their row in four
       independent chains (``lane_sum_long``): N=1e5 C=1000, two threads, one process,
       shuffled rounds: float64 112-118 -> 99-106 ms, float32 55-62 -> 53-58 ms. exp is
       ``_numerics.vexp`` (branch-free, vectorized: ~0.8 ns per double / 0.3 ns per float
       against ~5 ns for libm's, which cannot vectorize without -ffast-math);
    3. per row s = sum e (float64), then log s for the whole group in one vectorized loop
       (``_numerics.fl_log``; a libm log per row cost as much as the rest of a C = 10 row);
    4. per row: log-sum-exp = m + log s, the loss in float64 and the gradient row written
       once: p_k * mass - targets, times ``scale``. The label's own entry is computed in the
       loop tier's operation order with FMA contraction blocked (``fl_rounded``), so where
       the exact gradient cancels to 0 (C = 1) both tiers give the same exact 0.
  Measured single-threaded on this 2-core machine: 2.4 ns (float64) / 1.7 ns (float32) per
  logit at C = 10, where per-row work dominates; 1.6 / 0.8 ns at C = 1000.
  Max shift: exp never overflows, log never sees 0 (s >= 1), logits of +-1e4 are exact. A NaN
  in a row reaches the sum through exp(NaN) whether or not the max skipped it, so loss and
  gradient row are NaN as in the loop tier; a +inf logit gives inf - inf = NaN there too. Label
  smoothing adds sum_c w_c (m - z_c) (non-negative terms, no cancellation). Ignored rows are
  written as exact zeros (not 0 * scale: scale is NaN for a mean over zero weight).
  float32 logits: exp in float32 (16 lanes; relative error ~1e-7), all sums, logs and the
  loss in float64.
* Multiclass hinge: one pass per row computes margins in float64, the 0/scale gradient entries
  (the label's column masked by index, no branch), the active count and the per-margin
  losses into a scratch row that LANES partial sums add up. "not margin <= 0" counts a NaN
  margin as active, so NaN reaches the loss.
* Parallelism as in elementwise.pyx: a fixed number (at most 16) of row chunks under an
  OpenMP ``prange`` (dynamic schedule), one float64 partial sum and one scratch buffer per
  chunk (allocated once per call, before the parallel region), partial sums added in chunk
  order afterwards: deterministic for any thread count. Matrices smaller than two chunks'
  worth of elements run serially without touching OpenMP. Without OpenMP, prange is serial.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport INFINITY
from libc.stdlib cimport free, malloc

from _numerics cimport (LANES, CHUNKS_MAX, chunk_size, fl_log, fl_max_d, fl_max_f, fl_rounded,
                        lane_sum, lane_sum_f, lane_sum_long, vexp)

cdef enum:
    ROW_EXP_MIN = 64    # classes from which a row's exp runs in a loop of its own (_exp_rows)
    GROUP = 1024        # scratch elements per row group: shifted logits of R = GROUP // C rows
                        # (8 KiB float64) stay in L1 with their logits and gradient rows
    MIN_CHUNK_CE = 8192        # elements per parallel chunk at least (~10 us of exp work)
    MIN_CHUNK_HINGE = 32768    # the hinge does ~5x less work per element


cdef inline double _rowmax(const floating* a, Py_ssize_t n) noexcept nogil:
    """max(a[:n]) (-inf for n == 0). Long rows: one ``omp simd`` max reduction
    (``_numerics.fl_max_*``; NaN may or may not win there, see below). Short rows: a plain
    loop, which skips NaN. Either is right for the shift: a row holding NaN gets NaN
    loss and gradient through exp(NaN) whatever m is, and otherwise m is the exact max."""
    cdef floating v, m = -INFINITY
    cdef Py_ssize_t j
    if n >= 2 * LANES:
        if floating is float:
            return fl_max_f(a, n)
        else:
            return fl_max_d(a, n)
    for j in range(n):
        v = a[j]
        m = v if v > m else m
    return m


cdef inline double _shift_dot(const floating* z, const floating* w, double m,
                              Py_ssize_t n) noexcept nogil:
    """sum_c w_c (m - z_c) in float64 (w NULL: all ones); every term >= 0 (m is the max)."""
    cdef double acc[LANES]
    cdef double total = 0.0
    cdef Py_ssize_t j, k, nv = n - n % LANES
    for k in range(LANES):
        acc[k] = 0.0
    if w == NULL:
        for j in range(nv // LANES):
            for k in range(LANES):
                acc[k] += m - <double>z[j * LANES + k]
        for j in range(nv, n):
            acc[j - nv] += m - <double>z[j]
    else:
        for j in range(nv // LANES):
            for k in range(LANES):
                acc[k] += <double>w[j * LANES + k] * (m - <double>z[j * LANES + k])
        for j in range(nv, n):
            acc[j - nv] += <double>w[j] * (m - <double>z[j])
    for k in range(LANES):
        total += acc[k]
    return total


cdef inline void _probs_sums(const floating* z, const floating* t, const floating* w, double m,
                             double keep, double add, Py_ssize_t n, double* wt_sum,
                             double* dot) noexcept nogil:
    """With t'_c = keep t_c + add (label smoothing): wt_sum = sum_c w_c t'_c and
    dot = sum_c w_c t'_c (m - z_c), float64 (w NULL: all ones)."""
    cdef double a[LANES]
    cdef double b[LANES]
    cdef double tw, sa = 0.0, sb = 0.0
    cdef Py_ssize_t j, k, i, nv = n - n % LANES
    for k in range(LANES):
        a[k] = 0.0
        b[k] = 0.0
    for j in range(nv // LANES):
        for k in range(LANES):
            i = j * LANES + k
            tw = keep * <double>t[i] + add
            if w != NULL:
                tw = <double>w[i] * tw
            a[k] += tw
            b[k] += tw * (m - <double>z[i])
    for i in range(nv, n):
        tw = keep * <double>t[i] + add
        if w != NULL:
            tw = <double>w[i] * tw
        a[i - nv] += tw
        b[i - nv] += tw * (m - <double>z[i])
    for k in range(LANES):
        sa += a[k]
        sb += b[k]
    wt_sum[0] = sa
    dot[0] = sb


cdef inline Py_ssize_t _group_rows(Py_ssize_t C) noexcept nogil:
    return GROUP // C if GROUP // C > 1 else 1


cdef inline void _exp_rows(const floating* z, const Py_ssize_t* y, Py_ssize_t ignore,
                           floating* sb, double* mrow, Py_ssize_t r0, Py_ssize_t rows,
                           Py_ssize_t C, bint per_row) noexcept nogil:
    """Rows r0 .. r0 + rows of a group: mrow[i] = max of row i, sb[i * C + k] = exp(z - m)
    (ignored rows: zeros, skipped later). Short rows (C = 10) are shifted first and then
    exponentiated in one flat loop over the group (a per-row exp loop of 10 would be mostly
    remainder); long rows (per_row, C >= ROW_EXP_MIN) in one loop per row, which saves a
    store and a reload per logit (see the module doc, pass 2)."""
    cdef Py_ssize_t i, k
    cdef const floating* zr
    cdef floating* er
    cdef floating mf
    for i in range(rows):
        zr = z + (r0 + i) * C
        er = sb + i * C
        if y != NULL and y[r0 + i] == ignore:
            for k in range(C):
                er[k] = 0  # defined values for the flat exp; the row is skipped later
            continue
        mrow[i] = _rowmax(zr, C)
        mf = <floating>mrow[i]  # exact: m is one of the row's values (or -inf / NaN)
        if per_row:
            for k in range(C):
                er[k] = vexp(zr[k] - mf)
        else:
            for k in range(C):
                er[k] = zr[k] - mf
    if not per_row:
        for k in range(rows * C):
            sb[k] = vexp(sb[k])


cdef double _ce_rows(const floating* z, const Py_ssize_t* y, const floating* t,
                     const floating* w, double w_sum, Py_ssize_t ignore, double eps,
                     double scale, floating* lo, floating* g, Py_ssize_t n, Py_ssize_t C,
                     floating* sb, double* mrow) noexcept nogil:
    """Rows [0, n) of one chunk; class-index targets ``y`` (t NULL) or probabilities ``t``
    (y NULL). sb: scratch of R * C entries, mrow: of 3 R (R = _group_rows(C)). Returns
    the chunk's float64 loss sum."""
    cdef Py_ssize_t R = _group_rows(C)
    cdef Py_ssize_t gi, r0, rows, i, k, row, yi
    cdef const floating* zr
    cdef floating* gr
    cdef floating* er
    cdef double total = 0.0, m, ssum, log_s, wy, loss, coef, c2, wt_sum, dot, a1, p1, g1
    cdef double* srow = mrow + R
    cdef double* lrow = mrow + 2 * R
    cdef double keep = 1.0 - eps
    cdef double epsC = eps / C
    for gi in range((n + R - 1) // R):
        r0 = gi * R
        rows = n - r0 if n - r0 < R else R
        # Passes 1 and 2: row maxima and e = exp(z - m) into the scratch (see _exp_rows).
        if C >= ROW_EXP_MIN:
            _exp_rows(z, y, ignore, sb, mrow, r0, rows, C, True)
        else:
            _exp_rows(z, y, ignore, sb, mrow, r0, rows, C, False)
        # Pass 3: row sums of exp, then their logs in one vectorized loop (a libm log per
        # row costs as much as the rest of a C = 10 row).
        for i in range(rows):
            if y != NULL and y[r0 + i] == ignore:
                srow[i] = 1.0
            else:
                srow[i] = (lane_sum_long(sb + i * C, C) if C >= ROW_EXP_MIN
                           else lane_sum_f(sb + i * C, C))
        for i in range(rows):
            lrow[i] = fl_log(srow[i])
        # Pass 4: per row, loss and gradient row.
        for i in range(rows):
            row = r0 + i
            zr = z + row * C
            gr = g + row * C
            er = sb + i * C
            m = mrow[i]
            if y != NULL:
                yi = y[row]
                if yi == ignore:
                    for k in range(C):
                        gr[k] = 0
                    if lo != NULL:
                        lo[row] = 0
                    continue
                ssum = srow[i]
                log_s = lrow[i]
                wy = <double>w[yi] if w != NULL else 1.0
                # -logp_y = log_s - (z_y - m)
                loss = keep * wy * (log_s - (<double>zr[yi] - m))
                if eps != 0:
                    loss += epsC * (w_sum * log_s + _shift_dot(zr, w, m, C))
                coef = (keep * wy + epsC * w_sum) / ssum * scale
                c2 = epsC * scale
                if eps == 0:
                    for k in range(C):
                        gr[k] = <floating>(<double>er[k] * coef)
                elif w == NULL:
                    for k in range(C):
                        gr[k] = <floating>(<double>er[k] * coef - c2)
                else:
                    for k in range(C):
                        gr[k] = <floating>(<double>er[k] * coef - c2 * <double>w[k])
                # The label's entry, rounding step for step as the loop tier
                # (p mass - (e/C) w_y - (1 - e) w_y) * scale: where the row's entries cancel
                # exactly there (C = 1, p = 1), they cancel exactly here too.
                a1 = fl_rounded(keep * wy)
                p1 = fl_rounded(<double>er[yi] / ssum)
                g1 = fl_rounded(p1 * (a1 + fl_rounded(epsC * w_sum)))
                g1 = g1 - fl_rounded(epsC * (<double>w[yi] if w != NULL else 1.0))
                gr[yi] = <floating>((g1 - a1) * scale)
            else:
                ssum = srow[i]
                log_s = lrow[i]
                _probs_sums(zr, t + row * C, w, m, keep, epsC, C, &wt_sum, &dot)
                # -sum_c w_c t'_c logp_c = log_s sum_c w_c t'_c + sum_c w_c t'_c (m - z_c)
                loss = log_s * wt_sum + dot
                coef = wt_sum / ssum * scale
                if C == 1:
                    # p = 1 (or NaN), and dl/dz = p m - m with m = w t': exactly 0 as the loop
                    # tier's, which a recomputed w t' (fused differently) might miss by an ulp.
                    gr[0] = <floating>((<double>er[0] / ssum * wt_sum - wt_sum) * scale)
                elif w == NULL:
                    for k in range(C):
                        gr[k] = <floating>(<double>er[k] * coef
                                           - (keep * <double>t[row * C + k] + epsC) * scale)
                else:
                    for k in range(C):
                        gr[k] = <floating>(<double>er[k] * coef - <double>w[k]
                                           * (keep * <double>t[row * C + k] + epsC) * scale)
            total += loss
            if lo != NULL:
                lo[row] = <floating>loss
    return total


cdef double _hinge_rows(const floating* s, const Py_ssize_t* y, double delta, double scale,
                        floating* lo, floating* g, Py_ssize_t n, Py_ssize_t C,
                        double* mb) noexcept nogil:
    """Multiclass hinge on rows [0, n) of one chunk; mb: scratch of C doubles."""
    cdef Py_ssize_t i, j, yi, cnt
    cdef const floating* sr
    cdef floating* gr
    cdef double corr, mg, loss, total = 0.0
    cdef floating fs = <floating>scale
    cdef bint act
    for i in range(n):
        sr = s + i * C
        gr = g + i * C
        yi = y[i]
        corr = sr[yi]
        cnt = 0
        for j in range(C):
            mg = <double>sr[j] - corr + delta
            act = (j != yi) & (not (mg <= 0))  # NaN margin: active
            mb[j] = mg if act else 0.0
            gr[j] = fs if act else 0
            cnt += act
        gr[yi] = <floating>(-cnt * scale)
        loss = lane_sum(mb, C)
        total += loss
        if lo != NULL:
            lo[i] = <floating>loss
    return total


cdef double _run(int hinge, const floating* z, const Py_ssize_t* y, const floating* t,
                 const floating* w, double w_sum, Py_ssize_t ignore, double eps, double a,
                 double scale, floating* lo, floating* g, Py_ssize_t n, Py_ssize_t C,
                 Py_ssize_t cs, floating* sb, double* mrow) noexcept nogil:
    """All rows, in chunks of cs rows (serial when cs >= n); chunk c uses scratch
    sb[c R C: ...] and mrow[3 c R: ...] (hinge: mrow[c C: ...])."""
    cdef double part[CHUNKS_MAX]
    cdef double total = 0.0
    cdef Py_ssize_t R = _group_rows(C)
    cdef Py_ssize_t nch, c, r0, m
    if cs >= n:
        if hinge:
            return _hinge_rows(z, y, a, scale, lo, g, n, C, mrow)
        return _ce_rows(z, y, t, w, w_sum, ignore, eps, scale, lo, g, n, C, sb, mrow)
    nch = (n + cs - 1) // cs
    for c in prange(nch, schedule="dynamic", chunksize=1):
        r0 = c * cs
        m = n - r0 if n - r0 < cs else cs
        if hinge:
            part[c] = _hinge_rows(z + r0 * C, y + r0, a, scale,
                                  (lo + r0) if lo != NULL else NULL, g + r0 * C, m, C,
                                  mrow + c * C)
        else:
            part[c] = _ce_rows(z + r0 * C, (y + r0) if y != NULL else NULL,
                               (t + r0 * C) if t != NULL else NULL, w, w_sum, ignore, eps,
                               scale, (lo + r0) if lo != NULL else NULL, g + r0 * C, m, C,
                               sb + c * R * C, mrow + 3 * c * R)
    for c in range(nch):
        total += part[c]
    return total


cdef double _call(int hinge, const floating* z, const Py_ssize_t* y, const floating* t,
                  const floating* w, double w_sum, Py_ssize_t ignore, double eps, double a,
                  double scale, floating* lo, floating* g, Py_ssize_t n, Py_ssize_t C) except? -1:
    """Chunking and scratch allocation (with the GIL, so that a failed malloc raises
    MemoryError), then the row loops without the GIL."""
    cdef Py_ssize_t cs = chunk_size(n, (MIN_CHUNK_HINGE if hinge else MIN_CHUNK_CE) // C + 1, 1)
    cdef Py_ssize_t nch = (n + cs - 1) // cs
    cdef Py_ssize_t R = _group_rows(C)
    cdef floating* sb = NULL
    cdef double* mrow
    cdef double total
    if hinge:
        mrow = <double*>malloc(nch * C * sizeof(double))
    else:
        sb = <floating*>malloc(nch * R * C * sizeof(floating))
        mrow = <double*>malloc(3 * nch * R * sizeof(double))
    try:
        if mrow == NULL or (not hinge and sb == NULL):
            raise MemoryError()
        with nogil:
            total = _run(hinge, z, y, t, w, w_sum, ignore, eps, a, scale, lo, g, n, C, cs, sb, mrow)
    finally:
        free(sb)
        free(mrow)
    return total


def multiclass_hinge(const floating[:, ::1] scores, const Py_ssize_t[::1] y, double delta,
                     double scale, floating[::1] loss_out, floating[:, ::1] grad):
    """l_i = sum_{j != y_i} max(0, s_ij - s_{i,y_i} + delta);  dl_i/ds_ij = [m_ij > 0]
    (j != y_i), dl_i/ds_{i,y_i} = -sum_j [m_ij > 0]; a NaN margin counts as active.
    Writes grad = scale * dl/ds and, when len(loss_out) == N, the per-sample losses;
    returns the unscaled loss sum (float64)."""
    return _call(1, &scores[0, 0], &y[0], <const floating*>NULL, <const floating*>NULL, 0.0,
                 0, 0.0, delta, scale, &loss_out[0] if loss_out.shape[0] else NULL,
                 &grad[0, 0], scores.shape[0], scores.shape[1])


def cross_entropy(const floating[:, ::1] logits, const Py_ssize_t[::1] y,
                  const floating[::1] weight, ignore_index, double label_smoothing,
                  double scale, floating[::1] loss_out, floating[:, ::1] grad):
    """Cross-entropy with class-index targets (as torch.nn.functional.cross_entropy):
    l_i = (1 - e) w_{y_i} (-logp_{y_i}) + (e / C) sum_c w_c (-logp_c), logp = log_softmax(z_i);
    dl_i/dz_k = p_k ((1 - e) w_{y_i} + (e / C) sum_c w_c) - (1 - e) w_{y_i} [k = y_i] - (e / C) w_k.
    weight: length 0 (all ones) or C. Rows with y_i == ignore_index: loss 0 and a gradient row
    of exact zeros. Outputs and return value as multiclass_hinge."""
    cdef Py_ssize_t C = logits.shape[1]
    cdef Py_ssize_t ignore, k
    cdef double w_sum = 0.0
    cdef const floating* w = &weight[0] if weight.shape[0] else NULL
    try:
        ignore = ignore_index
    except OverflowError:
        ignore = -1  # labels are intp in [0, C) here: no row can equal such an ignore_index
    if w != NULL:
        for k in range(C):
            w_sum += w[k]
    else:
        w_sum = C
    return _call(0, &logits[0, 0], &y[0], <const floating*>NULL, w, w_sum, ignore,
                 label_smoothing, 0.0, scale, &loss_out[0] if loss_out.shape[0] else NULL,
                 &grad[0, 0], logits.shape[0], C)


def cross_entropy_probs(const floating[:, ::1] logits, const floating[:, ::1] target,
                        const floating[::1] weight, double label_smoothing, double scale,
                        floating[::1] loss_out, floating[:, ::1] grad):
    """Cross-entropy with class-probability targets (as torch): t'_ic = (1 - e) t_ic + e / C;
    l_i = -sum_c w_c t'_ic logp_ic;  dl_i/dz_k = p_k sum_c w_c t'_ic - w_k t'_ik.
    Outputs and return value as multiclass_hinge."""
    return _call(0, &logits[0, 0], <const Py_ssize_t*>NULL, &target[0, 0],
                 &weight[0] if weight.shape[0] else NULL, 0.0, 0, label_smoothing, 0.0, scale,
                 &loss_out[0] if loss_out.shape[0] else NULL, &grad[0, 0], logits.shape[0],
                 logits.shape[1])
