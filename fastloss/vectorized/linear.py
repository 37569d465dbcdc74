"""Tier "numpy": the linear-classifier losses fully vectorized (no Python loop over samples).

Two BLAS products dominate: scores ``X @ W`` and the gradient ``X.T @ G``.
Kernel contract: see ``fastloss._registry``.
"""
import numpy as np


def svm(W, X, y, delta, scale, dW):
    """Multiclass SVM; returns the loss sum, writes scale * gradient into dW."""
    rows = np.arange(X.shape[0])
    scores = X @ W
    margins = scores - scores[rows, y][:, None] + np.asarray(delta, dtype=W.dtype)
    margins[rows, y] = 0
    # Strict: margin exactly 0 has subgradient 0; a NaN margin counts as active so the
    # NaN reaches the loss (same rule as every tier: active = not (margin <= 0)).
    positive = ~(margins <= 0)
    positive[rows, y] = False
    loss = float(np.sum(margins, where=positive, dtype=np.float64))
    coef = positive.astype(W.dtype)
    coef[rows, y] = -coef.sum(axis=1)
    coef *= scale
    np.matmul(X.T, coef, out=dW)
    return loss


def softmax(W, X, y, scale, dW):
    """Softmax cross-entropy; returns the loss sum, writes scale * gradient into dW."""
    rows = np.arange(X.shape[0])
    scores = X @ W
    scores -= scores.max(axis=1, keepdims=True)  # max shift: stable for scores in the thousands
    probs = np.exp(scores)
    sum_exp = probs.sum(axis=1, keepdims=True)
    loss = float(np.sum(np.log(sum_exp[:, 0]) - scores[rows, y], dtype=np.float64))
    probs /= sum_exp
    probs[rows, y] -= 1
    probs *= scale
    np.matmul(X.T, probs, out=dW)
    return loss
