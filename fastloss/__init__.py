"""fastloss: loss functions and their gradients in four tiers that compute the same numbers.

Tiers: "loop" (readable per-sample Python), "numpy" (vectorized), "numba" and
"cython" (compiled, parallel). Every public function takes ``backend=`` to pick one.
"""
from ._api import (bce_with_logits_loss, cross_entropy_loss, hinge_loss, huber_loss, l1_loss,
                   mse_loss, multiclass_hinge_loss, softmax_loss, squared_hinge_loss, svm_loss)
from ._registry import LOSSES, available_backends
from ._threads import get_num_threads, num_threads, set_num_threads
from . import gradcheck, nn

__version__ = "0.1.0"

__all__ = ["svm_loss", "softmax_loss", "hinge_loss", "squared_hinge_loss", "multiclass_hinge_loss",
           "cross_entropy_loss", "bce_with_logits_loss", "mse_loss", "l1_loss", "huber_loss",
           "available_backends", "LOSSES", "gradcheck", "nn", "set_num_threads", "get_num_threads", "num_threads", "__version__"]
