"""Bad input: a clear error naming the argument, in every backend, before any kernel runs."""
import numpy as np
import pytest

import fastloss

from conftest import LOSS_NAMES

rng = np.random.default_rng(0)
W = rng.standard_normal((4, 3))
X = rng.standard_normal((5, 4))
Y = np.array([0, 1, 2, 1, 0])

# name -> (W, X, y, kwargs, exception, message regex)
BAD_LINEAR = {
    "label == C": (W, X, np.array([0, 1, 3, 1, 0]), {}, ValueError, r"y .*label 3 outside \[0, 3\)"),
    "negative label": (W, X, np.array([0, -1, 2, 1, 0]), {}, ValueError, r"y .*label -1"),
    "label 2**40": (W, X, np.array([0, 2**40, 2, 1, 0]), {}, ValueError, r"y .*label 1099511627776"),
    "uint64 label past int64": (W, X, np.array([0, 2**63 + 5, 2, 1, 0], np.uint64), {}, ValueError, r"y .*label"),
    "float labels": (W, X, Y.astype(float), {}, TypeError, r"y must hold integer"),
    "bool labels": (W, X, Y.astype(bool), {}, TypeError, r"y must hold integer"),
    "2-D labels": (W, X, Y[:, None], {}, ValueError, r"y must be 1-D"),
    "label count": (W, X, Y[:4], {}, ValueError, r"y has 4 labels but there are N=5"),
    "W 1-D": (W[:, 0], X, Y, {}, ValueError, r"W must be 2-D"),
    "X 3-D": (W, X[None], Y, {}, ValueError, r"X must be 2-D"),
    "D mismatch": (W, X[:, :3], Y, {}, ValueError, r"X has D=3 .* W has 4 rows"),
    "empty batch": (W, X[:0], Y[:0], {}, ValueError, r"X is empty \(N=0\)"),
    "no classes": (W[:, :0], X, Y, {}, ValueError, r"W must have at least one class"),
    "negative reg": (W, X, Y, {"reg": -0.1}, ValueError, r"reg must be finite and >= 0"),
    "nan reg": (W, X, Y, {"reg": float("nan")}, ValueError, r"reg must be finite"),
    "inf reg": (W, X, Y, {"reg": float("inf")}, ValueError, r"reg must be finite"),
    "string reg": (W, X, Y, {"reg": "0.1"}, TypeError, r"reg must be a real number"),
    "complex W": (W.astype(complex), X, Y, {}, TypeError, r"W must be a real numeric array"),
    "string X": (W, X.astype(str), Y, {}, TypeError, r"X must be a real numeric array"),
    "ragged X": (W, [[1.0, 2.0], [3.0]], Y, {}, TypeError, r"X could not be converted"),
}


@pytest.mark.parametrize("case", list(BAD_LINEAR), ids=str)
@pytest.mark.parametrize("loss", [n for n in LOSS_NAMES if fastloss.LOSSES[n].family == "linear"])
def test_linear_bad_input(loss, case, backend):
    Wb, Xb, yb, kwargs, exc, msg = BAD_LINEAR[case]
    func = getattr(fastloss, fastloss.LOSSES[loss].public)
    with pytest.raises(exc, match=msg):
        func(Wb, Xb, yb, backend=backend, **kwargs)


@pytest.mark.parametrize("delta", [-1.0, float("nan"), None])
def test_svm_bad_delta(delta, backend):
    with pytest.raises((ValueError, TypeError), match="delta"):
        fastloss.svm_loss(W, X, Y, delta=delta, backend=backend)
