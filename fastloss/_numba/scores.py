"""Tier "numba": losses on a score matrix (N, C), compiled with ``@njit``.

Kernel contract and formulas: exactly those of ``fastloss.loop.scores`` (same names,
signatures, NaN rules; ignored cross-entropy rows written as exact zeros).

Design (see ``fastloss._numba.elementwise`` for the shared helpers and the reasons
behind them: no fastmath, ``_acc`` reductions, slices that start at 0)
------
* Chunking over rows: ``nch = min(MAX_CHUNKS, N // rows_grain)`` contiguous row chunks
  with ``rows_grain = max(1, GRAIN // C)`` rows, i.e. ~GRAIN (32768) scores per chunk.
  The chunk count depends on N and C only; each chunk returns a float64 partial sum
  kept in its own slot and the slots are added in chunk order after the ``prange`` loop,
  so the result does not depend on the number of threads. One chunk (small N * C, e.g.
  N=64 calls) runs directly without entering the parallel region. The chunks are handed
  out one at a time (``_dynamic_schedule``).
* Cross-entropy is exp-bound; ``_exp_nonpos`` (elementwise.py) is a branch-free exp
  that LLVM vectorizes, so the work is arranged to keep its loop long and the memory
  traffic at one read of the logits and one write of the gradient (no (N, C)
  temporaries). Two row layouts, picked by C (WIDE = 48; measured on one thread: C=16
  blocked faster by 10-20 %, C=32 to 48 even, C >= 64 per row faster by 15-30 %):
  - C < WIDE: rows go through a block buffer of ~BLOCK (2048) scores (16 KB in float64,
    stays in L1): (1) per row the max and ``z - max`` into the buffer; (2) one flat exp
    loop over the whole block, vectorized although a row of 10 is too short to
    vectorize by itself; then the row sums, and their logs in one vectorized loop
    (``_log_ge1``); (3) per row the loss and the gradient row written once. The buffer
    has the logits' dtype: for float32 logits, (1) and (2) run in float32 arithmetic
    (``_expf_nonpos``, 16 lanes instead of 8; measured on one
    thread, N*C = 1e7: C=10 3.7 -> 3.2 ns per score, C=16 to 47 1.2x to 1.4x faster).
    The sums, the loss and the gradient stay float64; the loss takes z - max from the
    logits, in float64. What float32 costs: z - max is rounded to float32 before exp, so
    p_k of a class far below the max (z_k - max = d) carries a relative error of
    ~|d| 2^-24 besides exp's 1 ulp (measured: gradients within 1.2e-7 max|g| of the
    float64 computation).
  - C >= WIDE: one row at a time: the max (a vectorized NaN-propagating
    ``llvm.maximum`` reduction, in the logits' dtype), exp(z - max) into a row buffer of
    the logits' dtype (float32 rows: float32 arithmetic as in the blocks above; one
    thread, N=1e5 C=1000: 111 -> 67 ms), its float64 sum, then the gradient row
    written once.
  As in elementwise.py, every sum is taken in a loop that stores nothing (row sums of
  the buffer; the loss and weight sums; the multiclass-hinge margins are summed in one
  loop and the gradient row written in a second), so that summation order never depends
  on where arrays lie in memory.
  -logp_k is ``log(sum) - (z_k - max)``, never log(0): the max entry contributes
  exp(0) = 1. Without label smoothing the smoothing loop is compiled out (``None``
  argument), which matters for C=10.
* A NaN in a row stays in the shifted row (the max of a short row may skip it), so its
  exp, the row sum and the whole row (loss and gradient) are NaN, as in the loop tier.
  Logits of +-1e4 give exact finite values: the max entry has shifted value 0, nothing
  overflows, far-off entries underflow to 0.
* Class weights are widened once to a float64 (C,) vector (ones when absent), so the
  inner loops never test for their presence; ``loss_out`` of length 0 is tested once
  per row, outside the per-class loops.
* numba's on-disk cache (``cache=True``) checks only this file's time stamp: after
  editing a helper in elementwise.py, delete ``fastloss/_numba/__pycache__/scores.*.nb*``
  (an installed package gets new time stamps for both files).
"""
import math

import numpy as np
from numba import njit, prange

from .elementwise import (GRAIN, _JIT, _KERNEL, _acc, _chunking, _dynamic_schedule,
                          _exp_nonpos_any, _fmaximum, _log_ge1, _ordered_sum, _set_chunksize,
                          _sum, _wide_vectors)

# Scores per block of rows in the cross-entropy kernels (buffer of 16 KB in float64, 8 KB
# in float32), and the number of classes from which rows are processed one at a time instead.
BLOCK = 2048
WIDE = 48


@njit(**_JIT)
def _rows_grain(c):
    """Rows per chunk at least: ~GRAIN scores."""
    return max(1, GRAIN // c)


@njit(**_JIT)
def _class_weights(weight, c):
    """Class weights as float64 (C,), ones when ``weight`` has length 0."""
    w = np.ones(c)
    if weight.shape[0] != 0:
        for k in range(c):
            w[k] = weight[k]
    return w


# ---------------------------------------------------------------------------
# Multiclass hinge.

@njit(**_JIT)
def _multiclass_hinge_part(scores, y, delta, scale, loss_out, grad, lo, hi):
    c = scores.shape[1]
    want_loss = loss_out.shape[0] != 0
    total = 0.0
    for i in range(lo, hi):
        si = scores[i]
        gi = grad[i]
        yi = y[i]
        correct = np.float64(si[yi])
        loss = 0.0
        active = 0.0  # a count, kept in float64 so that the loop vectorizes
        for j in range(c):  # sums in a loop without stores (see elementwise: Reductions)
            margin = np.float64(si[j]) - correct + delta
            on = (not margin <= 0.0) and j != yi  # NaN counts as active (propagates)
            f = 1.0 if on else 0.0
            loss = _acc(loss, margin if on else 0.0)
            active = _acc(active, f)
        for j in range(c):
            margin = np.float64(si[j]) - correct + delta
            f = 1.0 if (not margin <= 0.0) and j != yi else 0.0
            gi[j] = f * scale  # a product: selects between invariants stop the vectorizer
        gi[yi] = -active * scale
        if want_loss:
            loss_out[i] = loss
        total += loss
    return total


@njit(**_KERNEL)
def multiclass_hinge(scores, y, delta, scale, loss_out, grad):
    """l_i = sum_{j != y_i} max(0, s_ij - s_{i,y_i} + delta) (CS231n; = C x torch's
    multi_margin_loss); dl_i/ds_ij = [m_ij > 0] for j != y_i, dl_i/ds_{i,y_i} =
    -sum_j [m_ij > 0]. A NaN margin counts as active ("not <= 0") so it reaches the loss.
    Per row: one vectorized loop sums the active margins and counts them (the y_i column
    excluded by a mask, not a branch), a second writes the gradient row."""
    n, c = scores.shape
    nch, size = _chunking(n, _rows_grain(c))
    if nch == 1:
        return _multiclass_hinge_part(scores, y, delta, scale, loss_out, grad, 0, n)
    partial = np.empty(nch)
    old = _dynamic_schedule()
    for ch in prange(nch):
        partial[ch] = _multiclass_hinge_part(scores, y, delta, scale, loss_out, grad,
                                             min(n, ch * size), min(n, (ch + 1) * size))
    _set_chunksize(old)
    return _ordered_sum(partial)


# ---------------------------------------------------------------------------
# Cross-entropy (layouts: see the module docstring).

@njit(inline='always', **_JIT)
def _row_max(zi):
    """max of a row, in the row's dtype, for the shift. Long rows: NaN if the row holds a
    NaN. Short rows skip a NaN after the first entry (see below). Either way the shifted
    row holds every NaN of the row, so its loss and gradient come out NaN."""
    c = zi.shape[0]
    m = zi[0]
    if c < 16:  # short rows never reach the vector loop: a plain max is cheaper
        for k in range(1, c):
            v = zi[k]
            # A NaN after the first entry is skipped here: a plain select, which compiles
            # to a max instruction (the NaN-sticky ``v > m or v != v`` compiled to branches
            # that random logits mispredict; measured on one thread, N=1e6 C=10: 22.9 ->
            # 18.4 ms for the max, shift and exp passes). The row still comes out NaN: the
            # NaN entry's exp(NaN) makes the row sum, hence loss and gradient, NaN.
            m = v if v > m else m
    else:
        for k in range(c):
            m = _fmaximum(m, zi[k])
    return m


@njit(**_JIT)
def _max_shift(logits, b0, b1, buf, shift):
    """Pass (1) for rows b0..b1-1 (r = row - b0): shift[r] = max of the row,
    buf[r*C + k] = z_k - max in buf's (= the logits') dtype."""
    _wide_vectors()  # compute-bound: 512-bit vectors (see elementwise._wide_vectors)
    c = logits.shape[1]
    for i in range(b0, b1):
        zi = logits[i]
        m = _row_max(zi)
        r = i - b0
        shift[r] = m
        row = buf[r * c:(r + 1) * c]
        for k in range(c):
            row[k] = zi[k] - m


@njit(**_JIT)
def _exp_flat(block):
    """Pass (2): block[j] = exp(block[j]) (arguments <= 0), one long loop: vectorized also
    for small C."""
    _wide_vectors()
    for j in range(block.shape[0]):
        block[j] = _exp_nonpos_any(block[j])


@njit(**_JIT)
def _sums_logs(buf, c, nr, sums, lse):
    """sums[r] = the float64 sum_k buf[r*C + k] (r < nr), lse[r] = log(sums[r])."""
    _wide_vectors()
    for r in range(nr):  # row sums in their own loop: independent chains overlap
        row = buf[r * c:(r + 1) * c]
        s = 0.0
        for k in range(c):
            s = _acc(s, np.float64(row[k]))
        sums[r] = s
    for r in range(nr):  # the logs of the block in one vectorized loop
        lse[r] = _log_ge1(sums[r])


@njit(**_JIT)
def _shift_exp_block(logits, b0, b1, buf, shift, sums, lse):
    """Passes (1) and (2) for rows b0..b1-1, then the row sums and their logs: shift[r],
    buf[r*C + k] = exp(z_k - max), sums[r], lse[r] (r = row - b0).

    Three functions, not three loops in one: LLVM compiled the single function's loops
    worse (one process, shuffled rounds, N=1e6 C=10, the whole kernel: one thread
    float64 38.9 -> 34.8 ms, float32 36.7 -> 32.8 ms; two threads 19.7 -> 17.2 ms,
    17.4 -> 16.4 ms; same bits)."""
    c = logits.shape[1]
    _max_shift(logits, b0, b1, buf, shift)
    _exp_flat(buf[:(b1 - b0) * c])
    _sums_logs(buf, c, b1 - b0, sums, lse)


@njit(inline='always', **_JIT)
def _exp_row(zi, m, e):
    """e[k] = exp(z_k - m) in the row's dtype (m is the row's max, in that dtype too);
    returns the float64 sum_k e[k] (summed after the stores)."""
    for k in range(zi.shape[0]):
        e[k] = _exp_nonpos_any(zi[k] - m)
    return _sum(e)


@njit(inline='always', **_JIT)
def _index_row(zi, yi, m, s, lse, e, w, w_sum, eps, smooth, scale, gi):
    """Loss of one row with label yi and its gradient written to gi, from the float64
    e_k = exp(z_k - m), s = sum_k e_k and lse = log(s); -logp_k = lse - (z_k - m).
    ``smooth`` is eps / C, or None when eps == 0: the smoothing loop is then compiled out
    (it slowed C=10 rows by 20 %)."""
    c = zi.shape[0]
    eps_c = eps / c
    wy = w[yi]
    loss = (1 - eps) * wy * (lse - (np.float64(zi[yi]) - m))
    if smooth is not None:
        acc = 0.0
        for k in range(c):
            acc = _acc(acc, w[k] * (lse - (np.float64(zi[k]) - m)))
        loss += smooth * acc
    a = ((1 - eps) * wy + eps_c * w_sum) / s  # p_k * mass = e_k * a
    if smooth is None:
        # e_k (a scale): one multiply per entry, as the Cython tier (with the smoothing
        # term's weight load and multiplies, float32 rows of 10 took 2.3x as long here)
        a_scale = a * scale
        for k in range(c):
            gi[k] = e[k] * a_scale
    else:
        for k in range(c):
            gi[k] = (e[k] * a - eps_c * w[k]) * scale
    gi[yi] = ((e[yi] * a - eps_c * wy) - (1 - eps) * wy) * scale
    return loss


@njit(inline='always', **_JIT)
def _ignored_row(gi):
    for k in range(gi.shape[0]):
        gi[k] = 0.0  # exact zeros, also when scale is NaN
    return 0.0


@njit(**_JIT)
def _cross_entropy_part(logits, y, w, ignore_index, eps, scale, loss_out, grad, lo, hi):
    if eps == 0.0:
        return _cross_entropy_rows(logits, y, w, ignore_index, eps, None, scale, loss_out, grad,
                                   lo, hi)
    return _cross_entropy_rows(logits, y, w, ignore_index, eps, eps / logits.shape[1], scale,
                               loss_out, grad, lo, hi)


@njit(**_JIT)
def _cross_entropy_rows(logits, y, w, ignore_index, eps, smooth, scale, loss_out, grad, lo, hi):
    _wide_vectors()  # compute-bound: 512-bit vectors (see elementwise._wide_vectors)
    n_rows = hi - lo
    if n_rows <= 0:
        return 0.0
    c = logits.shape[1]
    want_loss = loss_out.shape[0] != 0
    w_sum = 0.0
    for k in range(c):
        w_sum += w[k]
    total = 0.0
    if c >= WIDE:
        e = np.empty(c, logits.dtype)
        for i in range(lo, hi):
            yi = y[i]
            if yi == ignore_index:
                loss = _ignored_row(grad[i])
            else:
                zi = logits[i]
                m = _row_max(zi)
                s = _exp_row(zi, m, e)
                loss = _index_row(zi, yi, m, s, math.log(s), e, w, w_sum, eps, smooth, scale,
                                  grad[i])
            if want_loss:
                loss_out[i] = loss
            total += loss
        return total
    rows_per_block = max(1, BLOCK // c)
    nb = min(rows_per_block, n_rows)
    buf = np.empty(nb * c, logits.dtype)
    shift = np.empty(nb)
    sums = np.empty(nb)
    lse = np.empty(nb)
    for b0 in range(lo, hi, rows_per_block):
        b1 = min(hi, b0 + rows_per_block)
        _shift_exp_block(logits, b0, b1, buf, shift, sums, lse)
        for i in range(b0, b1):
            yi = y[i]
            if yi == ignore_index:
                loss = _ignored_row(grad[i])
            else:
                r = i - b0
                loss = _index_row(logits[i], yi, shift[r], sums[r], lse[r],
                                  buf[r * c:(r + 1) * c], w, w_sum, eps, smooth, scale, grad[i])
            if want_loss:
                loss_out[i] = loss
            total += loss
    return total


@njit(**_KERNEL)
def cross_entropy(logits, y, weight, ignore_index, label_smoothing, scale, loss_out, grad):
    """Cross-entropy with class-index targets, as torch.nn.functional.cross_entropy.

    With logp = log_softmax(z_i), p = exp(logp), w_c the class weight (1 when absent),
    e = label_smoothing, C classes:
        l_i = (1 - e) w_{y_i} (-logp_{y_i}) + (e / C) sum_c w_c (-logp_c)
        dl_i/dz_k = p_k ((1 - e) w_{y_i} + (e / C) sum_c w_c) - (1 - e) w_{y_i} [k = y_i] - (e / C) w_k
    Samples with y_i == ignore_index have l_i = 0 and a gradient row of exact zeros
    (not 0 * scale: scale is NaN for a mean over zero total weight).
    -logp_k is computed as log(sum_c exp(z_c - max)) - (z_k - max): max-shifted, so
    logits of +-1e4 give exact finite values.
    """
    n, c = logits.shape
    w = _class_weights(weight, c)
    eps = label_smoothing
    nch, size = _chunking(n, _rows_grain(c))
    if nch == 1:
        return _cross_entropy_part(logits, y, w, ignore_index, eps, scale, loss_out, grad, 0, n)
    partial = np.empty(nch)
    old = _dynamic_schedule()
    for ch in prange(nch):
        partial[ch] = _cross_entropy_part(logits, y, w, ignore_index, eps, scale, loss_out, grad,
                                          min(n, ch * size), min(n, (ch + 1) * size))
    _set_chunksize(old)
    return _ordered_sum(partial)


@njit(inline='always', **_JIT)
def _probs_row(zi, ti, m, s, lse, e, w, eps, scale, gi):
    """Loss of one row and its gradient written to gi, from e_k = exp(z_k - m),
    s = sum_k e_k and lse = log(s)."""
    c = zi.shape[0]
    keep = 1 - eps
    eps_c = eps / c
    mass = 0.0
    loss = 0.0
    for k in range(c):  # sums in a loop without stores
        wt = w[k] * (keep * np.float64(ti[k]) + eps_c)  # w_k t'_ik
        mass = _acc(mass, wt)
        loss = _acc(loss, wt * (lse - (np.float64(zi[k]) - m)))  # -w_k t'_ik logp_ik
    a = mass / s
    for k in range(c):
        gi[k] = (e[k] * a - w[k] * (keep * np.float64(ti[k]) + eps_c)) * scale
    return loss


@njit(**_JIT)
def _cross_entropy_probs_part(logits, target, w, eps, scale, loss_out, grad, lo, hi):
    _wide_vectors()  # compute-bound: 512-bit vectors (see elementwise._wide_vectors)
    n_rows = hi - lo
    if n_rows <= 0:
        return 0.0
    c = logits.shape[1]
    want_loss = loss_out.shape[0] != 0
    total = 0.0
    if c >= WIDE:
        e = np.empty(c, logits.dtype)
        for i in range(lo, hi):
            zi = logits[i]
            m = _row_max(zi)
            s = _exp_row(zi, m, e)
            loss = _probs_row(zi, target[i], m, s, math.log(s), e, w, eps, scale, grad[i])
            if want_loss:
                loss_out[i] = loss
            total += loss
        return total
    rows_per_block = max(1, BLOCK // c)
    nb = min(rows_per_block, n_rows)
    buf = np.empty(nb * c, logits.dtype)
    shift = np.empty(nb)
    sums = np.empty(nb)
    lse = np.empty(nb)
    for b0 in range(lo, hi, rows_per_block):
        b1 = min(hi, b0 + rows_per_block)
        _shift_exp_block(logits, b0, b1, buf, shift, sums, lse)
        for i in range(b0, b1):
            r = i - b0
            loss = _probs_row(logits[i], target[i], shift[r], sums[r], lse[r],
                              buf[r * c:(r + 1) * c], w, eps, scale, grad[i])
            if want_loss:
                loss_out[i] = loss
            total += loss
    return total


@njit(**_KERNEL)
def cross_entropy_probs(logits, target, weight, label_smoothing, scale, loss_out, grad):
    """Cross-entropy with class-probability targets (one-hot included), as torch:
    t'_ic = (1 - e) t_ic + e / C;  l_i = -sum_c w_c t'_ic logp_ic;
    dl_i/dz_k = p_k sum_c w_c t'_ic - w_k t'_ik.  Same blocked, max-shifted passes as
    :func:`cross_entropy`."""
    n, c = logits.shape
    w = _class_weights(weight, c)
    nch, size = _chunking(n, _rows_grain(c))
    if nch == 1:
        return _cross_entropy_probs_part(logits, target, w, label_smoothing, scale, loss_out,
                                         grad, 0, n)
    partial = np.empty(nch)
    old = _dynamic_schedule()
    for ch in prange(nch):
        partial[ch] = _cross_entropy_probs_part(logits, target, w, label_smoothing, scale,
                                                loss_out, grad, min(n, ch * size),
                                                min(n, (ch + 1) * size))
    _set_chunksize(old)
    return _ordered_sum(partial)
