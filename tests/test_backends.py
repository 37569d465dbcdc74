import numpy as np
import pytest

import fastloss
from fastloss import _registry
from fastloss._cases import make_case

from conftest import ALL_BACKENDS, LOSS_NAMES


def test_all_four_backends_are_available():
    # A broken Cython build or a missing numba must fail CI, not silently fall back.
    missing = {t: _registry.unavailable_reason(t) for t in ALL_BACKENDS
               if t not in fastloss.available_backends()}
    assert not missing, missing
    assert fastloss.available_backends() == ("loop", "numpy", "numba", "cython")


def test_every_tier_has_every_loss():
    for tier in fastloss.available_backends():
        for loss in LOSS_NAMES:
            assert callable(_registry.kernel(loss, tier)), (tier, loss)


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_unknown_backend_lists_valid_names(loss):
    case = make_case(loss, rng=0)
    with pytest.raises(ValueError, match="backend.*'fortran'.*loop, numpy, numba, cython"):
        case(backend="fortran")


def test_default_backend_is_fastest_compiled(monkeypatch):
    monkeypatch.delenv(_registry.ENV_BACKEND, raising=False)
    assert _registry.default_backend() == "cython"


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_environment_variable_selects_backend(monkeypatch, loss):
    case = make_case(loss, rng=1)
    monkeypatch.setenv(_registry.ENV_BACKEND, "loop")
    assert _registry.default_backend() == "loop"
    # The default call then computes exactly what the loop tier computes.
    got, ref = case(), case(backend="loop")
    assert got[0] == ref[0]
    np.testing.assert_array_equal(got[1], ref[1])
    monkeypatch.setenv(_registry.ENV_BACKEND, "nonsense")
    with pytest.raises(ValueError, match="FASTLOSS_BACKEND"):
        case()


@pytest.mark.parametrize("backend", ALL_BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_l2_penalty_matches_numpy(backend, dtype):
    """A tier's one-pass L2 term (compiled tiers; None elsewhere) gives NumPy's sum of
    squares in float64 and adds 2 reg W to dW, on sizes around its block lengths; a NaN
    in W reaches both; W is not modified."""
    pen = _registry.l2_penalty(backend, np.dtype(dtype))
    if backend in ("loop", "numpy"):
        assert pen is None
        return
    rng = np.random.default_rng(5)
    for shape in [(1, 1), (3, 1), (255, 1), (257, 3), (4096, 2), (4097, 1), (3073, 10)]:
        W = rng.standard_normal(shape).astype(dtype)
        W0 = W.copy()
        dW = rng.standard_normal(shape).astype(dtype)
        expect = dW + dtype(2 * 0.3) * W
        # one rounding or two (a fused multiply-add or not): within 2 ulp of the terms
        bound = 2 * np.finfo(dtype).eps * (np.abs(dW) + np.abs(dtype(2 * 0.3) * W))
        sq = pen(W, 0.3, dW)
        np.testing.assert_array_equal(W, W0)
        assert sq == pytest.approx(float(np.sum(W.astype(np.float64) ** 2)), rel=1e-13)
        assert np.all(np.abs(dW - expect) <= bound)
    W[5, 3] = np.nan
    dW = np.zeros_like(W)
    assert np.isnan(pen(W, 0.3, dW)) and np.isnan(dW[5, 3]) and np.isfinite(np.delete(dW.ravel(), 53)).all()


@pytest.mark.parametrize("backend", ALL_BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss", ["svm", "softmax"])
def test_fused_l2_kernel_is_kernel_plus_penalty(backend, dtype, loss):
    """A linear kernel with the L2 term fused in (compiled tiers; None elsewhere) returns the
    plain kernel's loss sum exactly, NumPy's float64 sum of squares, and the plain kernel's
    dW plus 2 reg W (rounded once instead of twice); one chunk and several, D around the
    reduction's block of 256, odd C; a NaN in W reaches the sum; inputs are not modified."""
    fused = _registry.fused_l2(loss, backend, np.dtype(dtype))
    if backend in ("loop", "numpy"):
        assert fused is None
        return
    plain = _registry.kernel(loss, backend, dtype=np.dtype(dtype))
    options = (1.0,) if loss == "svm" else ()
    rng = np.random.default_rng(7)
    eps = np.finfo(dtype).eps
    for N, D, C in [(5, 3, 2), (40, 255, 3), (300, 256, 7), (600, 257, 10), (130, 3073, 10)]:
        W = (rng.standard_normal((D, C)) * 0.1).astype(dtype)
        X = rng.standard_normal((N, D)).astype(dtype)
        y = rng.integers(0, C, N).astype(np.intp)
        W0, X0 = W.copy(), X.copy()
        ref = np.empty_like(W)
        ref_loss = plain(W, X, y, *options, 1.0 / N, ref)
        dW = np.full_like(W, np.nan)
        got_loss, sq = fused(W, X, y, *options, 1.0 / N, 0.3, dW)
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(X, X0)
        assert got_loss == ref_loss
        assert sq == pytest.approx(float(np.sum(W.astype(np.float64) ** 2)), rel=1e-13)
        expect = ref.astype(np.float64) + 0.6 * W.astype(np.float64)
        bound = 2 * eps * (np.abs(ref) + np.abs(0.6 * W.astype(np.float64)))
        assert np.all(np.abs(dW - expect) <= bound), (N, D, C)
    W[1, 1] = np.nan
    assert np.isnan(fused(W, X, y, *options, 1.0 / N, 0.3, np.empty_like(W))[1])
