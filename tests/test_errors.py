"""Bad input: a clear error naming the argument, in every backend, before any kernel runs
(except the -1/+1 check of hinge targets, which the kernels count in their own pass)."""
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
    "chunk_size 0": (W, X, Y, {"chunk_size": 0}, ValueError, r"chunk_size must be >= 1"),
    "float chunk_size": (W, X, Y, {"chunk_size": 2.5}, TypeError, r"chunk_size must be an integer"),
    "label 2**40 chunked": (W, X, np.array([0, 2**40, 2, 1, 0]), {"chunk_size": 2}, ValueError,
                            r"y .*label 1099511627776"),
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


P = rng.standard_normal((4, 3))
T = rng.standard_normal((4, 3))
S = np.sign(T)
Z = rng.standard_normal((5, 3))


def _bad(func, *args, exc=ValueError, match, **kwargs):
    return (func, args, kwargs, exc, match)


BAD_CATALOGUE = {
    "mse shape mismatch": _bad(fastloss.mse_loss, P, T[:, :2], match=r"pred has shape \(4, 3\) but target has shape \(4, 2\)"),
    "l1 no broadcasting": _bad(fastloss.l1_loss, P, T[:1], match=r"no broadcasting"),
    "huber empty": _bad(fastloss.huber_loss, P[:0], T[:0], match=r"pred is empty"),
    "huber delta 0": _bad(fastloss.huber_loss, P, T, delta=0.0, match=r"delta must be > 0"),
    "bad reduction": _bad(fastloss.mse_loss, P, T, reduction="avg", match=r"reduction must be one of"),
    "reduction None": _bad(fastloss.l1_loss, P, T, reduction=None, match=r"reduction must be one of"),
    "hinge target 0": _bad(fastloss.hinge_loss, P, np.where(S > 0, 1.0, 0.0), match=r"target must contain only -1 and \+1"),
    "squared hinge target 2": _bad(fastloss.squared_hinge_loss, P, 2 * S, match=r"target must contain only -1 and \+1"),
    "hinge negative margin": _bad(fastloss.hinge_loss, P, S, margin=-1.0, match=r"margin"),
    "bce weight shape": _bad(fastloss.bce_with_logits_loss, P, T, weight=np.ones(4), match=r"weight of shape \(4,\) does not broadcast"),
    "bce pos_weight shape": _bad(fastloss.bce_with_logits_loss, P, T, pos_weight=np.ones(2), match=r"pos_weight of shape"),
    "bce string target": _bad(fastloss.bce_with_logits_loss, P, T.astype(str), exc=TypeError, match=r"target must be a real numeric"),
    "ce label out of range": _bad(fastloss.cross_entropy_loss, Z, np.array([0, 1, 3, 0, 1]), match=r"target contains label 3 outside \[0, 3\) or ignore_index=-100"),
    "ce negative label": _bad(fastloss.cross_entropy_loss, Z, np.array([0, 1, -1, 0, 1]), match=r"label -1"),
    "ce huge label": _bad(fastloss.cross_entropy_loss, Z, np.array([0, 1, 2**40, 0, 1]), match=r"label 1099511627776"),
    "ce label count": _bad(fastloss.cross_entropy_loss, Z, np.array([0, 1]), match=r"target has 2 labels but there are N=5"),
    "ce negative smoothing": _bad(fastloss.cross_entropy_loss, Z, np.zeros(5, int), label_smoothing=-0.1, match=r"label_smoothing must be finite and >= 0"),
    "ce smoothing above 1": _bad(fastloss.cross_entropy_loss, Z, np.zeros(5, int), label_smoothing=1.5, match=r"label_smoothing must be in \[0, 1\]"),
    "ce probs wrong shape": _bad(fastloss.cross_entropy_loss, Z, np.ones((5, 2)) / 2, match=r"target probabilities must have the logits' shape \(5, 3\)"),
    "ce weight wrong shape": _bad(fastloss.cross_entropy_loss, Z, np.zeros(5, int), weight=np.ones(4), match=r"weight must have shape \(C,\) = \(3,\)"),
    "ce ignore_index float": _bad(fastloss.cross_entropy_loss, Z, np.zeros(5, int), ignore_index=1.5, exc=TypeError, match=r"ignore_index must be an integer"),
    "ce bool target": _bad(fastloss.cross_entropy_loss, Z, np.zeros(5, bool), exc=TypeError, match=r"target must be integer class indices"),
    "ce logits 1-D": _bad(fastloss.cross_entropy_loss, Z[0], np.zeros(1, int), match=r"logits must be 2-D"),
    "ce empty": _bad(fastloss.cross_entropy_loss, Z[:0], np.zeros(0, int), match=r"logits is empty"),
    "multiclass hinge label": _bad(fastloss.multiclass_hinge_loss, Z, np.array([0, 1, 5, 0, 1]), match=r"y contains label 5 outside \[0, 3\)"),
    "multiclass hinge 3-D": _bad(fastloss.multiclass_hinge_loss, Z[None], np.zeros(5, int), match=r"scores must be 2-D"),
    "multiclass hinge delta": _bad(fastloss.multiclass_hinge_loss, Z, np.zeros(5, int), delta=float("inf"), match=r"delta must be finite"),
}


@pytest.mark.parametrize("case", list(BAD_CATALOGUE), ids=str)
def test_catalogue_bad_input(case, backend):
    func, args, kwargs, exc, match = BAD_CATALOGUE[case]
    with pytest.raises(exc, match=match):
        func(*args, backend=backend, **kwargs)


def test_ignore_index_label_is_not_an_error(backend):
    y = np.array([0, -100, 2, 1, -100])
    loss, grad = fastloss.cross_entropy_loss(Z, y, backend=backend)
    assert np.isfinite(loss)
    np.testing.assert_array_equal(grad[[1, 4]], 0.0)


def test_all_targets_ignored_gives_nan_mean_like_torch(backend):
    loss, grad = fastloss.cross_entropy_loss(Z, np.full(5, -100), backend=backend)
    assert np.isnan(loss)
    np.testing.assert_array_equal(grad, 0.0)
    total, _ = fastloss.cross_entropy_loss(Z, np.full(5, -100), reduction="sum", backend=backend)
    assert total == 0.0


SIGN_LOSSES = [fastloss.hinge_loss, fastloss.squared_hinge_loss]


@pytest.mark.parametrize("n, pos", [(3000, 0), (3000, 1023), (3000, 1024), (3000, 2999),
                                    (70001, 32768), (70001, 70000)])
@pytest.mark.parametrize("bad", [0.5, float("nan"), 0.0, -np.inf])
@pytest.mark.parametrize("loss", SIGN_LOSSES, ids=lambda f: f.__name__)
def test_hinge_target_off_sign_anywhere_is_found(loss, n, pos, bad, backend):
    """The kernels count bad targets in blocks and parallel chunks (n = 70001: three of
    them): a bad value at a block's or chunk's edge or at the end is found, with or
    without grad_out and loss_out."""
    t = np.where(np.arange(n) % 3 == 0, -1.0, 1.0).astype(np.float32)
    t[pos] = bad
    p = np.zeros(n, np.float32)
    for kwargs in ({}, {"grad_out": np.empty(n, np.float32), "reduction": "none"}):
        with pytest.raises(ValueError, match=f"target must contain only -1 and \\+1, found .*{bad}"):
            loss(p, t, backend=backend, **kwargs)


@pytest.mark.parametrize("name", ["hinge", "squared_hinge"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sign_kernels_count_every_off_sign_target(name, dtype, backend):
    """Every tier's kernel returns the same loss sum with the exact count of targets that
    are neither -1 nor +1 (NaN, +-inf, 0, -0.0, values next to +-1), at sizes that take
    the serial and the chunked paths."""
    from fastloss import _registry

    kern = _registry.kernel(name, backend, dtype=np.dtype(dtype))
    one = dtype(1)
    odd = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 2.0, np.nextafter(one, 2),
                    np.nextafter(one, 0), -np.nextafter(one, 2), -np.nextafter(one, 0)], dtype)
    for n in (1, 1000, 100003):
        r = np.random.default_rng(n)
        t = np.where(r.random(n) < 0.5, -1, 1).astype(dtype)
        assert kern(r.standard_normal(n).astype(dtype), t, 1.0, 1.0, np.empty(0, dtype),
                    np.empty(n, dtype))[1] == 0
        where = r.choice(n, size=min(n, 25), replace=False)
        t[where] = r.choice(odd, size=where.size)
        total, off = kern(np.zeros(n, dtype), t, 1.0, 1.0, np.empty(0, dtype), np.empty(n, dtype))
        assert off == where.size, (n, off)
        assert isinstance(total, float)


@pytest.mark.parametrize("pos", [0, 1023, 2999])
def test_label_out_of_range_anywhere_is_found(pos, backend):
    y = np.zeros(3000, dtype=np.int32)
    y[pos] = 7
    with pytest.raises(ValueError, match="target contains label 7 outside"):
        fastloss.cross_entropy_loss(np.zeros((3000, 7)), y, backend=backend)
    y[pos] = -100  # ignore_index: allowed anywhere
    fastloss.cross_entropy_loss(np.zeros((3000, 7)), y, backend=backend)


@pytest.mark.parametrize("use_c", [True, False], ids=["c-checks", "numpy-fallback"])
def test_label_and_sign_checks_agree_with_and_without_the_c_pass(use_c, monkeypatch):
    """Without the Cython tier, _validate falls back to NumPy passes: same answers, same errors."""
    from fastloss import _validate

    if not use_c:
        monkeypatch.setattr(_validate, "_checks", None)
    y = np.array([0, 3, -100, 2], dtype=np.int64)
    got, kept = _validate.class_labels("target", y, 4, 4, ignore_index=-100)
    assert kept == 3 and got.dtype == np.intp
    assert _validate.class_labels("target", np.full(3, -100), 3, 4, ignore_index=-100)[1] == 0
    with pytest.raises(ValueError, match="target contains label 4 outside"):
        _validate.class_labels("target", np.array([0, 4]), 2, 4)
    with pytest.raises(ValueError, match="target contains label -1 outside"):
        _validate.class_labels("target", np.array([-1, 0], dtype=np.int8), 2, 4, ignore_index=-100)
    _validate.signs("target", np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="found"):
        _validate.signs("target", np.array([1.0, 0.25], dtype=np.float32))
