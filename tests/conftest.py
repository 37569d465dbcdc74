import numpy as np
import pytest

import fastloss
from fastloss._registry import LOSSES, TIERS

ALL_BACKENDS = tuple(TIERS)
LOSS_NAMES = tuple(LOSSES)
DTYPES = (np.float32, np.float64)
# Agreement with the loop tier: float64 to summation-order noise, float32 to its epsilon
# times the condition of long sums. Gradients use an absolute floor of rtol*max|ref| so
# entries that cancel to ~0 are judged against the scale of the whole gradient.
RTOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-10}


def assert_agree(got, ref, dtype, what=""):
    loss, grad = got
    ref_loss, ref_grad = ref
    rtol = RTOL[np.dtype(dtype)]
    assert isinstance(loss, float) or isinstance(loss, np.ndarray), type(loss)
    np.testing.assert_allclose(loss, ref_loss, rtol=rtol, atol=rtol * 1e-3, err_msg=f"loss {what}")
    assert grad.dtype == np.dtype(dtype), f"grad dtype {grad.dtype} != {np.dtype(dtype)} {what}"
    assert grad.shape == np.shape(ref_grad)
    scale = float(np.max(np.abs(ref_grad))) if np.size(ref_grad) else 0.0
    np.testing.assert_allclose(grad, ref_grad, rtol=rtol, atol=rtol * scale, err_msg=f"grad {what}")


@pytest.fixture(params=fastloss.available_backends())
def backend(request):
    return request.param
