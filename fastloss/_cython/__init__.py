"""Tier "cython": compiled kernels built by setup.py from kernels/*.pyx.

Importing raises ImportError when the extension modules have not been built; the
registry then reports this tier as unavailable.

The elementwise losses exist in two builds of the same source (see
kernels/elementwise_wide.pyx): ``elementwise`` with 256-bit vectors and
``elementwise_wide`` with 512-bit vectors (where the compiler takes the width flags: see
setup.py's NARROW_VECTOR_MODULES and WIDE_VECTOR_MODULES). The kernels exported here call the wide
build for float32 arrays and for BCE, the default build for the other float64 losses.
"""
import numpy as np

from . import elementwise as _default, elementwise_wide as _wide
from .linear import l2_penalty, softmax, softmax_l2, svm, svm_l2
from .scores import cross_entropy, cross_entropy_probs, multiclass_hinge

__all__ = ["svm", "softmax", "svm_l2", "softmax_l2", "l2_penalty", "hinge", "squared_hinge", "mse", "l1", "huber", "bce_with_logits",
           "multiclass_hinge", "cross_entropy", "cross_entropy_probs"]

_F32 = np.dtype(np.float32)


def _by_dtype(name):
    default, wide = getattr(_default, name), getattr(_wide, name)

    def kernel(pred, target, *args):
        return (wide if pred.dtype == _F32 else default)(pred, target, *args)
    kernel.__name__ = kernel.__qualname__ = name
    kernel.__doc__ = (default.__doc__ or "") + (
        "\n\nfloat32 arrays run the 512-bit build (fastloss._cython.elementwise_wide).")
    return kernel


hinge = _by_dtype("hinge")
squared_hinge = _by_dtype("squared_hinge")
mse = _by_dtype("mse")
l1 = _by_dtype("l1")
huber = _by_dtype("huber")
bce_with_logits = _wide.bce_with_logits  # compute-bound in both dtypes
