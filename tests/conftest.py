import functools

import numpy as np
import pytest

import fastloss
from fastloss._cases import make_case, variants
from fastloss._registry import LOSSES, TIERS

ALL_BACKENDS = tuple(TIERS)
LOSS_NAMES = tuple(LOSSES)
# Every loss with every option variant it is exercised with: ids like "cross_entropy-weight".
LOSS_VARIANTS = [(loss, v) for loss in LOSS_NAMES for v in variants(loss)]
LOSS_VARIANT_IDS = [f"{loss}-{v}" if v else loss for loss, v in LOSS_VARIANTS]
DTYPES = (np.float32, np.float64)
# Agreement with the loop tier: float64 to summation-order noise, float32 to its epsilon
# times the condition of long sums. Gradients use an absolute floor of rtol*max|ref| so
# entries that cancel to ~0 are judged against the scale of the whole gradient.
RTOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-10}


def reductions(loss):
    """The reductions a loss takes; the linear classifier losses are always a mean (None)."""
    return (None,) if LOSSES[loss].family == "linear" else ("mean", "sum", "none")


def call(case, backend, reduction=None, **extra):
    if reduction is not None:
        extra["reduction"] = reduction
    return case(backend=backend, **extra)


def assert_agree(got, ref, dtype, what=""):
    loss, grad = got
    ref_loss, ref_grad = ref
    rtol = RTOL[np.dtype(dtype)]
    assert isinstance(loss, (float, np.ndarray)), type(loss)
    if isinstance(loss, np.ndarray):
        assert loss.dtype == np.dtype(dtype), f"loss dtype {loss.dtype} {what}"
        assert loss.shape == np.shape(ref_loss)
    loss_scale = float(np.max(np.abs(ref_loss))) if np.size(ref_loss) else 0.0
    np.testing.assert_allclose(loss, ref_loss, rtol=rtol, atol=rtol * 1e-3 * max(loss_scale, 1.0),
                               err_msg=f"loss {what}")
    assert grad.dtype == np.dtype(dtype), f"grad dtype {grad.dtype} != {np.dtype(dtype)} {what}"
    assert grad.shape == np.shape(ref_grad)
    scale = float(np.max(np.abs(ref_grad))) if np.size(ref_grad) else 0.0
    np.testing.assert_allclose(grad, ref_grad, rtol=rtol, atol=rtol * scale, err_msg=f"grad {what}")


@functools.lru_cache(maxsize=256)
def loop_reference(loss, variant, shape, dtype_name, reduction, seed):
    """The loop tier's answer, cached: it is the slow part and every backend compares to it."""
    n, d, c = shape
    case = make_case(loss, rng=seed, dtype=np.dtype(dtype_name), n=n, d=d, c=c, variant=variant)
    return case, call(case, "loop", reduction)


@pytest.fixture(params=fastloss.available_backends())
def backend(request):
    return request.param


def compiled_map(scalar_fn, dtype):
    """x -> [scalar_fn(x_k)] computed in a numba-compiled loop over ``np.asarray(x, dtype)``,
    for testing the numba tier's scalar helpers (inlined into such loops in the kernels)."""
    from numba import njit

    @njit
    def apply_all(x, out):
        for k in range(x.shape[0]):
            out[k] = scalar_fn(x[k])

    def apply(x):
        x = np.asarray(x, dtype)
        out = np.empty_like(x)
        apply_all(x, out)
        return out
    return apply
