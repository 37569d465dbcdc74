"""Extreme values stay finite and exact, NaN propagates, dtypes promote - every loss, every tier."""
import numpy as np
import fastloss
import pytest

from fastloss._cases import as_dtype, make_case
from fastloss._registry import LOSSES

from conftest import DTYPES, LOSS_NAMES, assert_agree, call, reductions

# Magnitude of the first argument in the extreme test: linear-classifier scores in the
# thousands, logits of +-1e4 for the score losses, +-1e3 for BCE (the bounds).
EXTREME = {"linear": 4000.0, "scores": 1e4, "elementwise": 1e3}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_extreme_values_stay_finite(loss, dtype, backend):
    case = make_case(loss, rng=3, dtype=np.float64, n=40, d=9, c=6)
    first = case.args[0]
    first = (first * (EXTREME[LOSSES[loss].family] / np.abs(first).max())).astype(dtype)
    case = make_case(loss, rng=3, dtype=dtype, n=40, d=9, c=6).with_arg(0, first)
    value, grad = call(case, backend, reductions(loss)[0])
    assert np.isfinite(value) and value > 1.0
    assert np.all(np.isfinite(grad))
    assert_agree((value, grad), call(case, "loop", reductions(loss)[0]), dtype, f"{loss} {backend}")


# n=700 (2100 elements on predictions): the NaN sits in a whole block of the compiled
# elementwise kernels (256 or 1024 elements), whose MSE and L1 sums take another path there.
@pytest.mark.parametrize("n", [9, 700])
@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_nan_propagates_to_loss(loss, reduction, n, backend):
    if LOSSES[loss].family == "linear" and reduction == "none":
        pytest.skip("linear losses have no reduction option")
    case = make_case(loss, rng=4, n=n, d=5, c=3)
    first = case.args[0].copy()
    first.flat[7] = np.nan
    value, _ = call(case.with_arg(0, first), backend, reductions(loss)[0] and reduction)
    assert np.isnan(value).any()
    if reduction == "none":  # only the sample holding the NaN is NaN
        assert np.isnan(value).sum() == 1 and np.isnan(value.flat[7 // (first.size // value.size)])


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_mixed_float_dtypes_promote_to_wider(loss, backend):
    case32 = make_case(loss, rng=5, dtype=np.float32, n=11, d=6, c=4)
    mixed = case32.with_arg(0, case32.args[0].astype(np.float64))
    out = call(mixed, backend)
    assert out[1].dtype == np.float64
    all64 = as_dtype(case32, np.float64)
    assert_agree(out, call(all64, "loop"), np.float64)


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_float16_computes_in_float32(loss, backend):
    case = make_case(loss, rng=6, dtype=np.float16, n=8, d=5, c=3)
    value, grad = call(case, backend)
    assert grad.dtype == np.float32 and np.isfinite(value)


@pytest.mark.parametrize("margin", [1.0, 0.1], ids=["margin-float32", "margin-inexact"])
@pytest.mark.parametrize("loss", ["hinge", "squared_hinge"])
def test_float32_hinge_near_the_margin_matches_loop_tier(loss, margin, backend):
    # The compiled tiers take float32 shortcuts on float32 input (t p < margin against
    # margin rounded up; the squared hinge's gradient from margin - t p in float32 when the
    # margin is a float32). Near the margin, where margin - t p cancels, every element must
    # still be the loop tier's float64 value rounded once (a few float32 ulps at most): a
    # margin rounded to float32 (0.1 -> 0.100000001) would be off by far more there.
    rng = np.random.default_rng(12)
    n = 4096
    t = rng.choice([-1.0, 1.0], n).astype(np.float32)
    tp = margin * (1 + rng.choice([-1, 1], n) * 10.0 ** rng.uniform(-7, -1, n))
    p = (t * tp).astype(np.float32)
    fn = getattr(fastloss, f"{loss}_loss")
    got_l, got_g = fn(p, t, margin=margin, reduction="none", backend=backend)
    ref_l, ref_g = fn(p, t, margin=margin, reduction="none", backend="loop")
    for got, ref in ((got_l, ref_l), (got_g, ref_g)):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, ref, rtol=4 * 2.0 ** -24, atol=0)
