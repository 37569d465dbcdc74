"""Tier "cython": compiled kernels built by setup.py from kernels/*.pyx.

Importing raises ImportError when the extension modules have not been built; the
registry then reports this tier as unavailable.
"""
from .linear import softmax, svm

__all__ = ["svm", "softmax"]
