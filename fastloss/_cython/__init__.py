"""Tier "cython": compiled kernels built by setup.py from kernels/*.pyx.

Importing raises ImportError when the extension modules have not been built; the
registry then reports this tier as unavailable.
"""
from .elementwise import bce_with_logits, hinge, huber, l1, mse, squared_hinge
from .linear import l2_penalty, softmax, svm
from .scores import cross_entropy, cross_entropy_probs, multiclass_hinge

__all__ = ["svm", "softmax", "l2_penalty", "hinge", "squared_hinge", "mse", "l1", "huber", "bce_with_logits",
           "multiclass_hinge", "cross_entropy", "cross_entropy_probs"]
