"""fastloss: loss functions and their gradients in four tiers that compute the same numbers.

Tiers: "loop" (readable per-sample Python), "numpy" (vectorized), "numba" and
"cython" (compiled, parallel). Every public function takes ``backend=`` to pick one.
"""
from ._api import softmax_loss, svm_loss
from ._registry import LOSSES, available_backends
from . import gradcheck

__version__ = "0.1.0"

__all__ = ["svm_loss", "softmax_loss", "available_backends", "LOSSES", "gradcheck", "__version__"]
