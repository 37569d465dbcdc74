"""Tier "numpy": elementwise losses, vectorized. Contract: see ``fastloss.loop.elementwise``."""
import numpy as np


def _finish(loss, grad_values, scale, loss_out, grad):
    np.multiply(grad_values, scale, out=grad)
    if loss_out.shape[0]:
        loss_out[...] = loss
    return float(np.sum(loss, dtype=np.float64))


def _off_sign(target):
    """Number of targets that are neither -1 nor +1 (NaN included)."""
    return int(np.count_nonzero((target != 1) & (target != -1)))


def _gap(margin, tp):
    """margin - tp in tp's dtype, rounded once even where the two nearly cancel. A margin
    the dtype cannot hold (0.1 in float32) is split as hi + lo: near the margin hi - tp is
    exact (Sterbenz) and adding lo rounds once. ``margin - tp`` alone rounds the margin to
    float32 first: near t p = 0.1 such gaps were off by up to 23%, and t p = float32(0.1)
    fell on the wrong side of the kink (tests/test_numerics.py)."""
    hi = tp.dtype.type(margin)
    gap = hi - tp
    if np.isfinite(hi) and float(hi) != margin:
        gap += tp.dtype.type(margin - float(hi))  # margin - hi is exact in float64
    return gap


def hinge(pred, target, margin, scale, loss_out, grad):
    gap = _gap(margin, target * pred)
    active = ~(gap <= 0)  # NaN counts as active so it propagates
    loss = np.where(active, gap, 0)
    grad_values = np.where(gap > 0, -target, np.where(active, gap, 0))
    return _finish(loss, grad_values, scale, loss_out, grad), _off_sign(target)


def squared_hinge(pred, target, margin, scale, loss_out, grad):
    gap = _gap(margin, target * pred)
    gap = np.where(gap <= 0, 0, gap)  # NaN fails the test and stays NaN
    return _finish(gap * gap, -2 * target * gap, scale, loss_out, grad), _off_sign(target)


def mse(pred, target, scale, loss_out, grad):
    d = pred - target
    return _finish(d * d, 2 * d, scale, loss_out, grad)


def l1(pred, target, scale, loss_out, grad):
    d = pred - target
    return _finish(np.abs(d), np.sign(d), scale, loss_out, grad)  # np.sign(0) = 0, sign(NaN) = NaN


def huber(pred, target, delta, scale, loss_out, grad):
    d = pred - target
    a = np.abs(d)
    loss = np.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))
    return _finish(loss, np.where(a <= delta, d, delta * np.sign(d)), scale, loss_out, grad)


def _softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _sigmoid(x):
    # exp of -|x| only: never overflows for either sign
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def bce_with_logits(logits, target, weight, pos_weight, scale, loss_out, grad):
    x, t = logits, target
    q = pos_weight if pos_weight.shape[0] else 1
    loss = q * t * _softplus(-x) + (1 - t) * _softplus(x)
    s = _sigmoid(x)
    g = (1 - t) * s - q * t * (1 - s)
    if weight.shape[0]:
        loss = loss * weight
        g = g * weight
    return _finish(loss, g, scale, loss_out, grad)
