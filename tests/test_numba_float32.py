"""The numba tier's float32 arithmetic for BCE with logits: its exp / log1p against float64
NumPy (in float32 ulps), the extreme arguments, and the kernel on float32 arrays."""
import numpy as np
import pytest

pytest.importorskip("numba")

import fastloss  # noqa: E402
from fastloss._numba import elementwise as nb  # noqa: E402

from conftest import compiled_map  # noqa: E402


_expf = compiled_map(nb._expf_nonpos, np.float32)
_log1pf = compiled_map(nb._log1pf_unit, np.float32)


def _ulps(got, ref):
    """|got - ref| in units of the float32 spacing at ref (2^-149 below the normal range)."""
    ref = np.asarray(ref, np.float64)
    _, ex = np.frexp(np.abs(ref))
    return np.abs(got.astype(np.float64) - ref) / np.maximum(np.ldexp(1.0, ex - 24), 2.0 ** -149)


def test_expf_nonpos_accuracy():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-104, 0, 1_000_000), -np.exp(rng.uniform(-30, 4.6, 200_000)),
                        np.linspace(-104, -85, 100_000)]).astype(np.float32)
    ref = np.exp(x.astype(np.float64))
    err = _ulps(_expf(x), ref)
    normal = ref >= 2.0 ** -126
    assert err[normal].max() <= 1.0  # measured 0.94
    assert err[~normal].max() <= 1.0  # subnormal results: within one 2^-149


def test_expf_nonpos_extremes():
    x = np.array([0.0, -0.0, -1e-30, -1.4e-45, -88.0, -103.97, -103.98, -104.0, -1e30, -np.inf])
    got = _expf(x)
    ref = np.exp(x.astype(np.float32).astype(np.float64)).astype(np.float32)
    np.testing.assert_array_equal(got, ref)
    assert got[5] == np.float32(2.0 ** -149) and got[6] == 0.0  # the last subnormal, then 0
    assert np.isnan(_expf([np.nan]))[0]


def test_log1pf_unit_accuracy():
    rng = np.random.default_rng(1)
    e = np.concatenate([rng.uniform(0, 1, 1_000_000), np.exp(rng.uniform(-87, 0, 200_000)),
                        [0.0, 0.41421357, 0.41421360, 0.5, 1.0]]).astype(np.float32)
    err = _ulps(_log1pf(e), np.log1p(e.astype(np.float64)))
    assert err.max() <= 2.0  # measured 1.91
    assert _log1pf([0.0])[0] == 0.0 and np.isnan(_log1pf([np.nan]))[0]


def _bce_float64(x, t, w, q):
    """The formulas in float64 (w, q may be 1.0); the sigmoid complement without 1 - s."""
    x, t = x.astype(np.float64), t.astype(np.float64)
    e = np.exp(-np.abs(x))
    lp = np.log1p(e)
    sp_pos, sp_neg = np.maximum(x, 0) + lp, np.maximum(-x, 0) + lp
    s = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    s_c = np.where(x >= 0, e / (1 + e), 1 / (1 + e))
    return w * (q * t * sp_neg + (1 - t) * sp_pos), w * ((1 - t) * s - q * t * s_c)


@pytest.mark.parametrize("weights", ["none", "weight", "pos_weight", "both"])
def test_bce_float32_against_float64(weights):
    rng = np.random.default_rng(2)
    n = 200_000  # several parallel chunks
    x = (rng.standard_normal(n) * rng.choice([0.3, 3.0, 30.0], n)).astype(np.float32)
    t = rng.uniform(0, 1, n).astype(np.float32)
    t[::3] = 1.0
    w = rng.uniform(0.5, 2, n).astype(np.float32) if weights in ("weight", "both") else None
    q = rng.uniform(0.5, 3, n).astype(np.float32) if weights in ("pos_weight", "both") else None
    loss, grad = fastloss.bce_with_logits_loss(x, t, weight=w, pos_weight=q, reduction="none",
                                               backend="numba")
    assert loss.dtype == grad.dtype == np.float32
    ref_loss, ref_grad = _bce_float64(x, t, 1.0 if w is None else w.astype(np.float64),
                                      1.0 if q is None else q.astype(np.float64))
    assert _ulps(loss, ref_loss).max() <= 12  # measured 3 (9 with both weights)
    assert np.abs(grad - ref_grad).max() <= 3e-7 * np.abs(ref_grad).max()  # s - t cancels
    total = fastloss.bce_with_logits_loss(x, t, weight=w, pos_weight=q, reduction="sum",
                                          backend="numba")[0]
    assert total == pytest.approx(ref_loss.sum(), rel=1e-6)  # float64 sum of float32 losses


def test_bce_float32_saturated_gradient_keeps_its_size():
    # t = 1, x >> 0: dl/dx = -(1 - sigmoid(x)) = -e^-x / (1 + e^-x), far below float32's
    # epsilon; taken as e/(1+e), not 1 - s (which would round to 0).
    x = np.array([20.0, 40.0, 80.0], np.float32)  # e^-x still a normal float32
    loss, grad = fastloss.bce_with_logits_loss(x, np.ones(3, np.float32), reduction="none",
                                               backend="numba")
    ref = -np.exp(-x.astype(np.float64))
    np.testing.assert_allclose(grad, ref, rtol=1e-5)
    np.testing.assert_allclose(loss, -ref, rtol=1e-5)  # softplus(-x) = log1p(e^-x)


def test_bce_float32_extremes_match_loop_tier():
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-30, -1e-30, 88, -88, 104, -104, 1e30,
                  -1e30, 1e-45, -1e-45, 1e-40, -1e-40], np.float32)
    for tv in (0.0, 1.0, 0.25):
        t = np.full(x.size, tv, np.float32)
        got = fastloss.bce_with_logits_loss(x, t, reduction="none", backend="numba")
        ref = fastloss.bce_with_logits_loss(x, t, reduction="none", backend="loop")
        for a, b in zip(got, ref):
            np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-37)


@pytest.mark.parametrize("c", [3, 10, 33])
def test_cross_entropy_float32_blocks_against_float64(c):
    # C < WIDE: z - max and exp in float32 (the buffer has the logits' dtype), sums float64
    rng = np.random.default_rng(3)
    n = 20_000
    z = (rng.standard_normal((n, c)) * 4).astype(np.float32)
    z[:, 0] -= 60  # classes far below the max: their p_k carry ~|d| 2^-24
    y = rng.integers(0, c, n)
    loss, grad = fastloss.cross_entropy_loss(z, y, reduction="none", backend="numba")
    assert loss.dtype == grad.dtype == np.float32
    ref_loss, ref_grad = fastloss.cross_entropy_loss(z.astype(np.float64), y, reduction="none",
                                                     backend="numba")
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-6, atol=1e-7)
    assert np.abs(grad - ref_grad).max() <= 2e-7 * np.abs(ref_grad).max()
    np.testing.assert_allclose(grad[:, 0], ref_grad[:, 0], rtol=2e-5)  # p_k of e^-60 or so
