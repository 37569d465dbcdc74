"""Tier "loop": elementwise losses on predictions, one Python loop over the elements.

Kernel contract (all tiers; see also ``fastloss._registry``)::

    kernel(pred, target, [options...,] scale, loss_out, grad) -> float

* ``pred``, ``target``: 1-D C-contiguous arrays of one float dtype (the API layer
  flattens any shape). Length N >= 1.
* ``loss_out``: either length 0 (per-element losses not wanted) or length N, where the
  kernel writes the unscaled per-element loss l_k (reduction="none").
* ``grad``: length N, overwritten with ``scale * dl_k/dpred_k``.
* returns sum_k l_k as a Python float accumulated in float64.
* Exception, the losses on targets in {-1, +1} (hinge, squared hinge; ``LossSpec.
  sign_targets``): they return ``(sum_k l_k, off)`` where ``off`` counts the targets
  that are neither -1 nor +1. The API layer raises when ``off`` is not 0, so the
  compiled tiers check the targets in the pass that reads them anyway instead of in a
  pass of their own (at N = 10^7 the separate pass cost a quarter of the call).

Comparisons at kinks are strict and written so that NaN propagates: a NaN input gives
a NaN loss (and a NaN gradient where the formula reaches it), never a silent 0.
"""
import math


def _sign(x):
    """sign(x) with sign(0) = 0 and sign(NaN) = NaN."""
    if x > 0:
        return 1.0
    if x < 0:
        return -1.0
    return x * 0.0  # 0 for 0, NaN for NaN


def hinge(pred, target, margin, scale, loss_out, grad):
    """l = max(0, margin - t p);  dl/dp = -t where t p < margin, else 0.
    Returns (sum of l, number of targets not -1 or +1)."""
    total, off = 0.0, 0
    for k in range(pred.shape[0]):
        p, t = float(pred[k]), float(target[k])
        if t != 1.0 and t != -1.0:
            off += 1
        gap = margin - t * p
        if gap > 0:
            loss, g = gap, -t
        elif gap <= 0:
            loss, g = 0.0, 0.0
        else:  # NaN
            loss, g = gap, gap
        total += loss
        if loss_out.shape[0]:
            loss_out[k] = loss
        grad[k] = g * scale
    return total, off


def squared_hinge(pred, target, margin, scale, loss_out, grad):
    """l = max(0, margin - t p)^2;  dl/dp = -2 t max(0, margin - t p).
    Returns (sum of l, number of targets not -1 or +1)."""
    total, off = 0.0, 0
    for k in range(pred.shape[0]):
        p, t = float(pred[k]), float(target[k])
        if t != 1.0 and t != -1.0:
            off += 1
        gap = margin - t * p
        if gap <= 0:
            gap = 0.0  # NaN fails both tests and stays NaN
        loss = gap * gap
        total += loss
        if loss_out.shape[0]:
            loss_out[k] = loss
        grad[k] = -2.0 * t * gap * scale
    return total, off


def mse(pred, target, scale, loss_out, grad):
    """l = (p - t)^2;  dl/dp = 2 (p - t)."""
    total = 0.0
    for k in range(pred.shape[0]):
        d = float(pred[k]) - float(target[k])
        total += d * d
        if loss_out.shape[0]:
            loss_out[k] = d * d
        grad[k] = 2.0 * d * scale
    return total


def l1(pred, target, scale, loss_out, grad):
    """l = |p - t|;  dl/dp = sign(p - t), with sign(0) = 0."""
    total = 0.0
    for k in range(pred.shape[0]):
        d = float(pred[k]) - float(target[k])
        total += abs(d)
        if loss_out.shape[0]:
            loss_out[k] = abs(d)
        grad[k] = _sign(d) * scale
    return total


def huber(pred, target, delta, scale, loss_out, grad):
    """d = p - t;  l = d^2 / 2 if |d| < delta else delta (|d| - delta / 2);
    dl/dp = d if |d| <= delta else delta sign(d)  (as torch.nn.functional.huber_loss)."""
    total = 0.0
    for k in range(pred.shape[0]):
        d = float(pred[k]) - float(target[k])
        a = abs(d)
        if a < delta:
            loss = 0.5 * d * d
        else:
            loss = delta * (a - 0.5 * delta)  # NaN lands here and stays NaN
        g = d if a <= delta else delta * _sign(d)
        total += loss
        if loss_out.shape[0]:
            loss_out[k] = loss
        grad[k] = g * scale
    return total


def _softplus(x):
    """log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|))."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))  # NaN in, NaN out


def _sigmoid(x):
    """1 / (1 + exp(-x)) without overflow: branch on the sign so exp never sees a large
    positive argument (the form scikit-learn's _loss module uses)."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)  # NaN in, NaN out


def bce_with_logits(logits, target, weight, pos_weight, scale, loss_out, grad):
    """x = logit, t = target, w = weight (1 if absent), q = pos_weight (1 if absent):
    l = w (q t softplus(-x) + (1 - t) softplus(x))
      = w (q t (-log sigmoid(x)) + (1 - t) (-log(1 - sigmoid(x))));
    dl/dx = w ((1 - t) sigmoid(x) - q t (1 - sigmoid(x))).
    ``weight`` and ``pos_weight`` are length 0 (absent) or N (broadcast by the API)."""
    total = 0.0
    for k in range(logits.shape[0]):
        x, t = float(logits[k]), float(target[k])
        w = float(weight[k]) if weight.shape[0] else 1.0
        q = float(pos_weight[k]) if pos_weight.shape[0] else 1.0
        loss = w * (q * t * _softplus(-x) + (1.0 - t) * _softplus(x))
        s = _sigmoid(x)
        total += loss
        if loss_out.shape[0]:
            loss_out[k] = loss
        grad[k] = w * ((1.0 - t) * s - q * t * (1.0 - s)) * scale
    return total
