"""Every loss x every backend x both dtypes x awkward shapes agrees with the loop tier."""
import numpy as np
import pytest

from fastloss._cases import make_case

from conftest import DTYPES, LOSS_NAMES, assert_agree

# (N, D, C): single sample, two classes, odd sizes, sizes that leave remainders after
# the compiled kernels' 4-row blocks and row chunks, more classes than features.
SHAPES = [(1, 1, 2), (1, 7, 2), (2, 3, 3), (3, 5, 2), (5, 1, 7), (13, 17, 5),
          (50, 31, 10), (97, 3, 12), (1003, 37, 3), (4099, 11, 10)]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_backend_agrees_with_loop(loss, shape, dtype, backend):
    n, d, c = shape
    case = make_case(loss, rng=hash(shape) % 1000, dtype=dtype, n=n, d=d, c=c)
    assert_agree(case(backend=backend), case(backend="loop"), dtype, f"{loss} {backend}")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_large_scores_stay_finite(loss, dtype, backend):
    # Scores in the thousands: a naive exp overflows, max-shifted log-sum-exp does not.
    case = make_case(loss, rng=3, dtype=dtype, n=40, d=9, c=6)
    W = case.args[0] * (4000 / np.abs(case.args[0]).max())
    case.args = (W.astype(dtype),) + case.args[1:]
    loss_value, grad = case(backend=backend)
    assert np.isfinite(loss_value) and loss_value > 100
    assert np.all(np.isfinite(grad))
    assert_agree((loss_value, grad), case(backend="loop"), dtype, f"{loss} {backend}")


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_nan_propagates_to_loss(loss, backend):
    case = make_case(loss, rng=4, n=9, d=5, c=3)
    X = case.args[1].copy()
    X[4, 2] = np.nan
    case.args = (case.args[0], X) + case.args[2:]
    assert np.isnan(case(backend=backend)[0])


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_mixed_float_dtypes_promote_to_wider(loss, backend):
    case = make_case(loss, rng=5, dtype=np.float32, n=11, d=6, c=4)
    W64 = case.args[0].astype(np.float64)
    out = case.func(W64, *case.args[1:], backend=backend, **case.kwargs)
    assert out[1].dtype == np.float64
    ref = case.func(W64, case.args[1].astype(np.float64), *case.args[2:], backend="loop", **case.kwargs)
    assert_agree(out, ref, np.float64)
