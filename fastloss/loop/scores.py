"""Tier "loop": losses on a score matrix (N, C) with integer labels or class probabilities.

Kernel contract (all tiers; see also ``fastloss._registry``): ``scores``/``logits``
(N, C) and ``target`` (N, C) C-contiguous of one float dtype; labels ``y`` (N,) intp,
already validated (in [0, C), or equal to ``ignore_index`` for cross-entropy);
``weight`` length 0 (absent) or C; ``loss_out`` length 0 (not wanted) or N, receiving
the unscaled per-sample loss; ``grad`` (N, C) overwritten with ``scale * dl/dscores``;
the return value is sum_i l_i as a Python float accumulated in float64.
"""
import math

import numpy as np


def multiclass_hinge(scores, y, delta, scale, loss_out, grad):
    """l_i = sum_{j != y_i} max(0, s_ij - s_{i,y_i} + delta) (CS231n; = C x torch's
    multi_margin_loss); dl_i/ds_ij = [m_ij > 0] for j != y_i, dl_i/ds_{i,y_i} = -sum_j [m_ij > 0].
    A NaN margin counts as active (written "not <= 0") so the NaN reaches the loss."""
    n, c = scores.shape
    total = 0.0
    for i in range(n):
        correct = float(scores[i, y[i]])
        loss, active = 0.0, 0
        for j in range(c):
            if j == y[i]:
                continue
            margin = float(scores[i, j]) - correct + delta
            if not margin <= 0:
                loss += margin
                active += 1
                grad[i, j] = scale
            else:
                grad[i, j] = 0.0
        grad[i, y[i]] = -active * scale
        total += loss
        if loss_out.shape[0]:
            loss_out[i] = loss
    return total


def _log_softmax(row):
    """log softmax of one row, max-shifted: exp never overflows and log never sees 0."""
    values = [float(v) for v in row]
    if any(v != v for v in values):  # a NaN logit makes the whole row NaN (max() would skip it)
        return [math.nan] * len(values)
    m = max(values)
    shifted = [v - m for v in values]
    log_sum_exp = math.log(sum(math.exp(s) for s in shifted))
    return [s - log_sum_exp for s in shifted]


def cross_entropy(logits, y, weight, ignore_index, label_smoothing, scale, loss_out, grad):
    """Cross-entropy with class-index targets, as torch.nn.functional.cross_entropy.

    With logp = log_softmax(z_i), p = exp(logp), w_c the class weight (1 when absent),
    e = label_smoothing, C classes:
        l_i = (1 - e) w_{y_i} (-logp_{y_i}) + (e / C) sum_c w_c (-logp_c)
        dl_i/dz_k = p_k ((1 - e) w_{y_i} + (e / C) sum_c w_c) - (1 - e) w_{y_i} [k = y_i] - (e / C) w_k
    Samples with y_i == ignore_index have l_i = 0 and a gradient row of exact zeros
    (not 0 * scale: scale is NaN for a mean over zero total weight).
    """
    n, c = logits.shape
    w = [float(weight[k]) if weight.shape[0] else 1.0 for k in range(c)]
    w_sum = sum(w)
    eps = label_smoothing
    total = 0.0
    for i in range(n):
        if y[i] == ignore_index:
            grad[i, :] = 0.0
            if loss_out.shape[0]:
                loss_out[i] = 0.0
            continue
        logp = _log_softmax(logits[i])
        wy = w[y[i]]
        loss = (1 - eps) * wy * -logp[y[i]]
        if eps:
            loss += eps / c * sum(w[k] * -logp[k] for k in range(c))
        total += loss
        if loss_out.shape[0]:
            loss_out[i] = loss
        mass = (1 - eps) * wy + eps / c * w_sum
        for k in range(c):
            g = math.exp(logp[k]) * mass - eps / c * w[k]
            if k == y[i]:
                g -= (1 - eps) * wy
            grad[i, k] = g * scale
    return total


def cross_entropy_probs(logits, target, weight, label_smoothing, scale, loss_out, grad):
    """Cross-entropy with class-probability targets (one-hot included), as torch:
    t'_ic = (1 - e) t_ic + e / C;  l_i = -sum_c w_c t'_ic logp_ic;
    dl_i/dz_k = p_k sum_c w_c t'_ic - w_k t'_ik."""
    n, c = logits.shape
    w = [float(weight[k]) if weight.shape[0] else 1.0 for k in range(c)]
    eps = label_smoothing
    total = 0.0
    for i in range(n):
        logp = _log_softmax(logits[i])
        t = [(1 - eps) * float(target[i, k]) + eps / c for k in range(c)]
        loss = -sum(w[k] * t[k] * logp[k] for k in range(c))
        mass = sum(w[k] * t[k] for k in range(c))
        total += loss
        if loss_out.shape[0]:
            loss_out[i] = loss
        for k in range(c):
            grad[i, k] = (math.exp(logp[k]) * mass - w[k] * t[k]) * scale
    return total
