"""Public loss functions: validate -> dispatch to a tier's kernel -> reduce.

Every function here follows the same three steps so that all tiers share one
validation path (the only place that raises on bad input) and one place where
the mean and the regularisation are applied.
"""
import numpy as np

from . import _registry, _validate


def _add_l2(loss_sum, scale, dW, W, reg):
    """Mean loss plus ``reg * sum(W**2)``; adds ``2 reg W`` to dW in place."""
    loss = loss_sum * scale
    if reg:
        w = W.ravel()
        # float64 accumulation also for float32 weights: sum of D*C squares.
        loss += reg * float(np.dot(w.astype(np.float64, copy=False), w.astype(np.float64, copy=False)))
        dW += (2.0 * reg) * W
    return float(loss), dW


def svm_loss(W, X, y, reg=0.0, *, delta=1.0, backend=None):
    """Multiclass SVM (Weston-Watkins / CS231n) loss of a linear classifier and its gradient.

    Formula, with scores ``S = X W``::

        L  = 1/N sum_i sum_{j != y_i} max(0, S_ij - S_{i,y_i} + delta) + reg * sum(W**2)
        dW = 1/N X^T G + 2 reg W,  G_ij = [m_ij > 0] for j != y_i,  G_{i,y_i} = -sum_j [m_ij > 0]

    where ``m_ij = S_ij - S_{i,y_i} + delta``. A margin of exactly 0 contributes a zero
    subgradient (strict ``>``).

    Parameters
    ----------
    W : array (D, C) of weights.  X : array (N, D) of samples, N >= 1.
    y : int array (N,) of labels in [0, C).  reg : float >= 0.  delta : float >= 0.
    backend : "loop" | "numpy" | "numba" | "cython" | None (default: fastest available,
        or the environment variable FASTLOSS_BACKEND).

    Returns
    -------
    (loss, dW): loss a Python float; dW with W's shape and the common float dtype of W
    and X (float32 stays float32, float64 wins when mixed; float16 computes in float32;
    integer inputs in float64). Any layout works; inputs are never modified. NaN in W or
    X propagates to the loss.

    Raises
    ------
    ValueError for wrong ndim, mismatched N or D, empty batch, a label outside [0, C),
    negative or non-finite reg/delta, an unknown backend. TypeError for non-numeric
    arrays or non-integer labels.
    """
    W, X, y, reg = _validate.linear_inputs(W, X, y, reg)
    delta = _validate.nonnegative_finite("delta", delta)
    kern = _registry.kernel("svm", backend)
    dW = np.empty_like(W)
    scale = 1.0 / X.shape[0]
    return _add_l2(kern(W, X, y, delta, scale, dW), scale, dW, W, reg)


def softmax_loss(W, X, y, reg=0.0, *, backend=None):
    """Softmax (cross-entropy) loss of a linear classifier and its gradient.

    Formula, with scores ``S = X W`` and ``P = softmax(S)`` row-wise::

        L  = 1/N sum_i -log P_{i,y_i} + reg * sum(W**2)
        dW = 1/N X^T (P - onehot(y)) + 2 reg W

    Every tier computes ``-log P_{i,y_i}`` as ``logsumexp(S_i) - S_{i,y_i}`` with the row
    maximum subtracted first, so scores in the thousands neither overflow nor give log(0).

    Parameters, returns and errors as :func:`svm_loss` (without ``delta``).
    """
    W, X, y, reg = _validate.linear_inputs(W, X, y, reg)
    kern = _registry.kernel("softmax", backend)
    dW = np.empty_like(W)
    scale = 1.0 / X.shape[0]
    return _add_l2(kern(W, X, y, scale, dW), scale, dW, W, reg)
