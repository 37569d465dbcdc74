"""Public loss functions: validate -> dispatch to a tier's kernel -> reduce.

Every function here follows the same three steps so that all tiers share one
validation path (the only place that raises on bad input) and one place where
the mean and the regularisation are applied.
"""
import numpy as np

from . import _chunked, _registry, _validate


# Rows of W per step of the regularisation: bounds its temporaries to ~1 MiB, which
# matters when W itself is large (C = 32000: 65 MB).
_REG_BLOCK_BYTES = 1 << 20
# Up to this many weights the sum of squares is one float64 dot product: ~2.5 us less than
# the pairwise np.sum(np.square(...)) at D=64 C=10 (a third of a small call's overhead), and
# OpenBLAS runs a dot this short on the calling thread (it threads dots above 10000 entries
# only), so no BLAS worker wakes up to spin beside the compiled tiers' threads.
_REG_SMALL = 8192


def _appended_doc(text):
    """Decorator: append the shared ``text`` to a function's docstring. (A docstring
    written as ``"..." + TEXT`` is an expression, not a docstring: ``__doc__`` would be None.)"""
    def decorate(func):
        func.__doc__ = (func.__doc__ or "") + text
        return func
    return decorate


def _add_l2(loss_sum, scale, dW, W, reg, penalty=None):
    """Mean loss plus ``reg * sum(W**2)``; adds ``2 reg W`` to dW in place, through the
    tier's one-pass ``penalty`` where it has one (``_registry.l2_penalty``)."""
    loss = loss_sum * scale
    if reg and penalty is not None:
        return float(loss + reg * penalty(W, reg, dW)), dW
    if reg:
        # float64 accumulation also for float32 weights. np.dot only for small W: a longer
        # BLAS dot wakes OpenBLAS's threads, which then spin and take the cores from the
        # compiled tiers' threads (measured: softmax N=500 went from 0.9 ms to 8 ms per call;
        # 200 dots of 20000 entries left 0.1 s of worker CPU time, of 8192 entries none).
        if W.size <= _REG_SMALL:
            w = W.reshape(-1).astype(np.float64, copy=False)
            dW += (2.0 * reg) * W
            return float(loss + reg * float(np.dot(w, w))), dW
        step = max(1, _REG_BLOCK_BYTES // max(1, W.shape[1] * W.itemsize))
        sq = 0.0
        for r in range(0, W.shape[0], step):
            Wb = W[r:r + step]
            sq += float(np.sum(np.square(Wb, dtype=np.float64)))
            dW[r:r + step] += (2.0 * reg) * Wb
        loss += reg * sq
    return float(loss), dW


def _linear(name, W, X, y, reg, options, backend, chunk_size, grad_out):
    raw = {"W": W, "X": X, "y": y} if grad_out is not None else None
    W, X, y, reg = _validate.linear_inputs(W, X, y, reg)
    chunk_size = _validate.optional_positive_int("chunk_size", chunk_size)
    dW = _validate.grad_out(grad_out, W.shape, W.dtype, raw)
    scale = 1.0 / X.shape[0]
    if _chunked.use_chunks(backend, W, chunk_size):
        total = _chunked.linear_loss(name, W, X, y, options, scale, dW, backend, chunk_size)
    else:
        fused = _registry.fused_l2(name, backend, W.dtype) if reg else None
        if fused is not None:  # the L2 term inside the kernel's last pass over dW
            total, sq = fused(W, X, y, *options, scale, reg, dW)
            return float(total * scale + reg * sq), dW
        total = _registry.kernel(name, backend, dtype=W.dtype)(W, X, y, *options, scale, dW)
    penalty = _registry.l2_penalty(backend, W.dtype) if reg else None  # no lookup for reg=0
    return _add_l2(total, scale, dW, W, reg, penalty)


_LINEAR_DOC = """
    Parameters
    ----------
    W : array (D, C) of weights.  X : array (N, D) of samples, N >= 1.
    y : int array (N,) of labels in [0, C).  reg : float >= 0 (L2 strength).
    backend : "loop" | "numpy" | "numba" | "cython" | None (default: fastest available,
        or the environment variable FASTLOSS_BACKEND).
    chunk_size : int >= 1 or None. Rows of X per chunk on the chunked path: scores of a
        chunk by one BLAS product into a reused (chunk_size, C) buffer, the gradient
        coefficients computed in place over it, ``dW += Xc^T G`` by BLAS; no N x C array
        exists. None: the numpy tier computes unchunked (its N x C temporaries), the
        numba and cython tiers use their fused kernels while W fits in 1 MiB and chunks
        of 384 rows beyond. The loop tier ignores it (it holds one row of scores).
    grad_out : None, or a C-contiguous writeable array of the gradient's shape and dtype
        (the computed dtype below) that receives the gradient and is returned: a training
        loop that reuses its gradient buffer saves an allocation per call (at 10^7
        elements the fresh pages cost as much as the loss itself). It must not overlap
        any input (inputs are never modified).

    Returns
    -------
    (loss, dW): loss a Python float; dW with W's shape and the common float dtype of W
    and X (float32 stays float32, float64 wins when mixed; float16 computes in float32;
    integer inputs in float64). Long sums accumulate in float64. Any layout works; inputs
    are never modified. NaN: a NaN in W or X makes the loss NaN.

    Raises
    ------
    ValueError for wrong ndim, mismatched N or D, an empty batch (N=0), C=0, a label
    outside [0, C), a negative or non-finite reg/option, a chunk_size < 1, an unknown
    backend, a grad_out of the wrong shape, dtype or layout or overlapping an input.
    TypeError for non-numeric arrays, non-integer labels or chunk_size, a grad_out that
    is not an ndarray.
"""


@_appended_doc(_LINEAR_DOC)
def svm_loss(W, X, y, reg=0.0, *, delta=1.0, backend=None, chunk_size=None, grad_out=None):
    """Multiclass SVM (Weston-Watkins / CS231n) loss of a linear classifier and its gradient.

    Formula, with scores ``S = X W``::

        L  = 1/N sum_i sum_{j != y_i} max(0, S_ij - S_{i,y_i} + delta) + reg * sum(W**2)
        dW = 1/N X^T G + 2 reg W,  G_ij = [m_ij > 0] for j != y_i,  G_{i,y_i} = -sum_j [m_ij > 0]

    where ``m_ij = S_ij - S_{i,y_i} + delta``, ``delta`` >= 0. A margin of exactly 0
    contributes a zero subgradient (strict ``>``); a NaN margin counts as active.
    """
    delta = _validate.nonnegative_finite("delta", delta)
    return _linear("svm", W, X, y, reg, (delta,), backend, chunk_size, grad_out)


@_appended_doc(_LINEAR_DOC)
def softmax_loss(W, X, y, reg=0.0, *, backend=None, chunk_size=None, grad_out=None):
    """Softmax (cross-entropy) loss of a linear classifier and its gradient.

    Formula, with scores ``S = X W`` and ``P = softmax(S)`` row-wise::

        L  = 1/N sum_i -log P_{i,y_i} + reg * sum(W**2)
        dW = 1/N X^T (P - onehot(y)) + 2 reg W

    Every tier computes ``-log P_{i,y_i}`` as ``logsumexp(S_i) - S_{i,y_i}`` with the row
    maximum subtracted first, so scores in the thousands neither overflow nor give log(0).
    """
    return _linear("softmax", W, X, y, reg, (), backend, chunk_size, grad_out)


# ---------------------------------------------------------------------------
# Prediction-level losses: reduction "mean" | "sum" | "none".

_REDUCTION_DOC = """
    reduction : "mean" (default; divide by the number of elements), "sum", or "none"
        (return the per-element loss array; the gradient is then that of their sum).
    backend : "loop" | "numpy" | "numba" | "cython" | None (default: fastest available,
        or the environment variable FASTLOSS_BACKEND).
    grad_out : None, or a C-contiguous writeable array of the gradient's shape and dtype
        (the computed dtype below) that receives the gradient and is returned: a training
        loop that reuses its gradient buffer saves an allocation per call (at 10^7
        elements the fresh pages cost as much as the loss itself). It must not overlap
        any input (inputs are never modified).

    Returns ``(loss, grad)``: loss a Python float (an array of the input's shape for
    "none"), grad of the first argument's shape. Both use the common float dtype of the
    inputs (float32 stays float32, float64 wins when mixed, integer targets take the
    prediction's dtype, float16 computes in float32); long sums accumulate in float64.
    Shapes must be exactly equal (no broadcasting). NaN: a NaN in an input makes the loss
    NaN (a hinge-type margin that is NaN counts as active). Inputs are never modified.

    Raises ValueError for mismatched shapes, an empty input (N=0), a bad option value or
    reduction, an unknown backend, a grad_out of the wrong shape, dtype or layout or
    overlapping an input; TypeError for non-numeric input or a grad_out not an ndarray.
"""


def _reduced(total, scale, reduction, loss_out, grad, loss_shape, grad_shape, grad_out):
    if grad_out is not None:
        grad = grad_out
    elif grad.shape != grad_shape:  # a reshape makes a new view even of the same shape
        grad = grad.reshape(grad_shape)
    if reduction == "none":
        return loss_out.reshape(loss_shape), grad
    return float(total * scale), grad


def _elementwise(name, pred, target, options, reduction, backend, grad_out, names=("pred", "target"),
                 check_target=None, weights=()):
    raw = {names[0]: pred, names[1]: target, **dict(weights)} if grad_out is not None else None
    pred, target, shape = _validate.pair(names[0], pred, names[1], target)
    reduction = _validate.reduction(reduction)
    weights = tuple(_validate.broadcast_weight(wname, w, shape, pred.dtype) for wname, w in weights)
    kern = _registry.kernel(name, backend, dtype=pred.dtype)
    n = pred.shape[0]
    scale = 1.0 / n if reduction == "mean" else 1.0
    loss_out = np.empty(n, pred.dtype) if reduction == "none" else _validate.empty(pred.dtype)
    grad = _validate.grad_out(grad_out, shape, pred.dtype, raw).reshape(-1)
    total = kern(pred, target, *weights, *options, scale, loss_out, grad)
    if check_target is not None:
        # The kernel counted the targets that fail the check in the pass that reads them
        # (a pass of its own cost a quarter of a memory-bound call); only then does the
        # check run, to name the first bad value. grad_out may have been written by then.
        total, off = total
        if off:
            check_target(names[1], target)
            raise RuntimeError(f"{name} kernel counted {off} bad {names[1]} values that "
                               f"the check did not find")
    return _reduced(total, scale, reduction, loss_out, grad, shape, shape, grad_out)


@_appended_doc(_REDUCTION_DOC)
def hinge_loss(pred, target, *, margin=1.0, reduction="mean", backend=None, grad_out=None):
    """Binary hinge loss on raw predictions with targets in {-1, +1}.

    l_k = max(0, margin - t_k p_k);  dl_k/dp_k = -t_k where t_k p_k < margin, else 0
    (strict: exactly at the margin the subgradient is 0). Under "mean" grad = -t/N on the
    active elements. ``margin`` >= 0; target values other than -1/+1 (NaN included) raise
    ValueError. The kernel counts them in its one pass over the data, so when it raises,
    grad_out (if given) may already hold partial results.
    """
    margin = _validate.nonnegative_finite("margin", margin)
    return _elementwise("hinge", pred, target, (margin,), reduction, backend, grad_out,
                        check_target=_validate.signs)


@_appended_doc(_REDUCTION_DOC)
def squared_hinge_loss(pred, target, *, margin=1.0, reduction="mean", backend=None, grad_out=None):
    """Squared binary hinge loss, targets in {-1, +1}.

    l_k = max(0, margin - t_k p_k)^2;  dl_k/dp_k = -2 t_k max(0, margin - t_k p_k).
    Targets are checked as in ``hinge_loss``.
    """
    margin = _validate.nonnegative_finite("margin", margin)
    return _elementwise("squared_hinge", pred, target, (margin,), reduction, backend, grad_out,
                        check_target=_validate.signs)


@_appended_doc(_REDUCTION_DOC)
def mse_loss(pred, target, *, reduction="mean", backend=None, grad_out=None):
    """Mean squared error, as torch.nn.functional.mse_loss.

    l_k = (p_k - t_k)^2;  dl_k/dp_k = 2 (p_k - t_k) (so 2(x - t)/N under "mean").
    """
    return _elementwise("mse", pred, target, (), reduction, backend, grad_out)


@_appended_doc(_REDUCTION_DOC)
def l1_loss(pred, target, *, reduction="mean", backend=None, grad_out=None):
    """Mean absolute error, as torch.nn.functional.l1_loss.

    l_k = |p_k - t_k|;  dl_k/dp_k = sign(p_k - t_k) with sign(0) = 0.
    """
    return _elementwise("l1", pred, target, (), reduction, backend, grad_out)


@_appended_doc(_REDUCTION_DOC)
def huber_loss(pred, target, *, delta=1.0, reduction="mean", backend=None, grad_out=None):
    """Huber loss, as torch.nn.functional.huber_loss.

    d = p - t;  l = d^2 / 2 if |d| < delta else delta (|d| - delta / 2);
    dl/dp = d if |d| <= delta else delta sign(d). ``delta`` > 0.
    """
    delta = _validate.positive_finite("delta", delta)
    return _elementwise("huber", pred, target, (delta,), reduction, backend, grad_out)


@_appended_doc(_REDUCTION_DOC)
def bce_with_logits_loss(logits, target, *, weight=None, pos_weight=None, reduction="mean",
                         backend=None, grad_out=None):
    """Binary cross-entropy on logits, as torch.nn.functional.binary_cross_entropy_with_logits.

    With sigma the logistic function, w = weight and q = pos_weight (each broadcast to the
    input's shape, 1 when None):
        l = w (q t (-log sigma(x)) + (1 - t) (-log(1 - sigma(x))))
          = w (q t softplus(-x) + (1 - t) softplus(x)),
        dl/dx = w ((1 - t) sigma(x) - q t (1 - sigma(x))).
    softplus(x) = max(x, 0) + log1p(exp(-|x|)): finite for logits of +-1e3 and beyond.
    "mean" divides by the number of elements (not by the weights). Targets are not
    range-checked (soft labels allowed), as torch.
    """
    return _elementwise("bce_with_logits", logits, target, (), reduction, backend, grad_out,
                        names=("logits", "target"),
                        weights=(("weight", weight), ("pos_weight", pos_weight)))


@_appended_doc(_REDUCTION_DOC)
def multiclass_hinge_loss(scores, y, *, delta=1.0, reduction="mean", backend=None, grad_out=None):
    """Multiclass hinge (Weston-Watkins / CS231n) on a score matrix.

    scores (N, C), y (N,) integer labels in [0, C):
        l_i = sum_{j != y_i} max(0, s_ij - s_{i,y_i} + delta)    (= C x torch's multi_margin_loss)
        dl_i/ds_ij = [m_ij > 0] (j != y_i),  dl_i/ds_{i,y_i} = -sum_{j != y_i} [m_ij > 0]
    with m_ij the margin inside the max; exactly 0 contributes nothing (strict >).
    "mean" divides by N; "none" returns the (N,) per-sample losses.
    """
    raw = {"scores": scores, "y": y} if grad_out is not None else None
    s = _validate.scores("scores", scores)
    dtype = _validate.promote([("scores", s)])
    y = _validate.labels("y", y, s.shape[0], s.shape[1])
    delta = _validate.nonnegative_finite("delta", delta)
    reduction = _validate.reduction(reduction)
    s = _validate.contiguous(s, dtype)
    return _scores_call("multiclass_hinge", s, y, (delta,), reduction, backend,
                        1.0 / s.shape[0], grad_out, raw)


@_appended_doc(_REDUCTION_DOC)
def cross_entropy_loss(logits, target, *, weight=None, ignore_index=-100, label_smoothing=0.0,
                       reduction="mean", backend=None, grad_out=None):
    """Cross-entropy on logits, as torch.nn.functional.cross_entropy (2-D input).

    logits (N, C). target either integer class indices (N,) or class probabilities (N, C)
    (one-hot included; float dtype). With logp = log_softmax(z_i), w the class weight
    (1 when None), e = label_smoothing:
      index targets:  l_i = (1 - e) w_{y_i} (-logp_{y_i}) + (e / C) sum_c w_c (-logp_c);
                      samples with y_i == ignore_index contribute 0 (loss and gradient);
                      "mean" divides by sum of w_{y_i} over the non-ignored samples (the
                      number of them without weights) - NaN when that sum is 0, as torch.
      probabilities:  t' = (1 - e) t + e / C;  l_i = -sum_c w_c t'_ic logp_ic;
                      "mean" divides by N.
    dl/dz = p * (sum of the weighted targets) - weighted targets (p = softmax(z)), i.e.
    (p - y)/N for one-hot targets without weights. log_softmax is max-shifted, so logits
    of +-1e4 give exact finite values (never log(0), no clipping).
    Labels outside [0, C) other than ignore_index raise ValueError; label_smoothing must
    be in [0, 1]; weight must be (C,); probability targets must have the logits' shape.
    """
    raw = {"logits": logits, "target": target, "weight": weight} if grad_out is not None else None
    z = _validate.scores("logits", logits)
    ignore_index = _validate.integer("ignore_index", ignore_index)
    eps = _validate.unit_interval("label_smoothing", label_smoothing)
    reduction = _validate.reduction(reduction)
    t = _validate.as_array("target", target)
    n, c = z.shape
    if t.dtype.kind in "iu":
        dtype = (_validate.promote([("logits", z), ("weight", _validate.as_array("weight", weight))])
                 if weight is not None else _validate.float_dtype_of("logits", z))
        y, kept = _validate.class_labels("target", t, n, c, ignore_index=ignore_index)
        w = _validate.class_weight(weight, c, dtype)
        denom = float(np.sum(w[y[y != ignore_index]], dtype=np.float64)) if w.shape[0] else float(kept)
        scale_mean = 1.0 / denom if denom else float("nan")
        return _scores_call("cross_entropy", _validate.contiguous(z, dtype), y,
                            (w, ignore_index, eps), reduction, backend, scale_mean, grad_out, raw)
    if t.dtype.kind != "f":
        raise TypeError(f"target must be integer class indices or float class probabilities, "
                        f"got dtype {t.dtype}")
    if t.shape != z.shape:
        raise ValueError(f"target probabilities must have the logits' shape {z.shape}, got {t.shape}")
    dtype = _validate.promote([("logits", z), ("target", t)])
    w = _validate.class_weight(weight, c, dtype)
    return _scores_call("cross_entropy", _validate.contiguous(z, dtype), _validate.contiguous(t, dtype),
                        (w, eps), reduction, backend, 1.0 / n, grad_out, raw, variant="_probs")


def _scores_call(name, s, target, options, reduction, backend, scale_mean, grad_out, raw, variant=""):
    kern = _registry.kernel(name, backend, variant, s.dtype)
    n = s.shape[0]
    scale = scale_mean if reduction == "mean" else 1.0
    loss_out = np.empty(n, s.dtype) if reduction == "none" else _validate.empty(s.dtype)
    grad = _validate.grad_out(grad_out, s.shape, s.dtype, raw)
    total = kern(s, target, *options, scale, loss_out, grad)
    return _reduced(total, scale, reduction, loss_out, grad, (n,), s.shape, grad_out)
