"""Tier "numpy": losses on score matrices, vectorized. Contract: see ``fastloss.loop.scores``."""
import numpy as np


def multiclass_hinge(scores, y, delta, scale, loss_out, grad):
    rows = np.arange(scores.shape[0])
    margins = scores - scores[rows, y][:, None] + np.asarray(delta, scores.dtype)
    active = ~(margins <= 0)  # strict at 0; NaN counts as active so it propagates
    active[rows, y] = False
    loss = np.sum(margins, axis=1, where=active, dtype=np.float64)
    np.multiply(active, scale, out=grad)
    grad[rows, y] = -active.sum(axis=1) * scale
    if loss_out.shape[0]:
        loss_out[...] = loss
    return float(loss.sum())


def _log_softmax(z):
    m = np.max(z, axis=1, keepdims=True)
    m[np.isnan(m)] = 0  # NaN rows: any shift, the arithmetic carries the NaN
    shifted = z - m
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))


def cross_entropy(logits, y, weight, ignore_index, label_smoothing, scale, loss_out, grad):
    n, c = logits.shape
    keep = y != ignore_index
    yk = np.where(keep, y, 0)
    w = weight if weight.shape[0] else np.ones(c, logits.dtype)
    eps = label_smoothing
    logp = _log_softmax(logits)
    rows = np.arange(n)
    wy = w[yk] * keep
    loss = (1 - eps) * wy * -logp[rows, yk]
    if eps:
        loss = loss + eps / c * (-(logp * w) .sum(axis=1)) * keep
    mass = (1 - eps) * wy + eps / c * w.sum() * keep
    g = np.exp(logp) * mass[:, None] - (eps / c) * w[None, :] * keep[:, None]
    g[rows, yk] -= (1 - eps) * wy
    loss = np.where(keep, loss, 0)
    np.multiply(g, scale, out=grad)
    grad[~keep] = 0  # exactly 0, also when scale is NaN (mean over zero weight) or the row holds NaN
    if loss_out.shape[0]:
        loss_out[...] = loss
    return float(np.sum(loss, dtype=np.float64))


def cross_entropy_probs(logits, target, weight, label_smoothing, scale, loss_out, grad):
    n, c = logits.shape
    w = weight if weight.shape[0] else np.ones(c, logits.dtype)
    t = (1 - label_smoothing) * target + label_smoothing / c
    logp = _log_softmax(logits)
    wt = w * t
    loss = -np.sum(wt * logp, axis=1)
    g = np.exp(logp) * wt.sum(axis=1, keepdims=True) - wt
    np.multiply(g, scale, out=grad)
    if loss_out.shape[0]:
        loss_out[...] = loss
    return float(np.sum(loss, dtype=np.float64))
