"""Tier "numpy": vectorized NumPy versions of every loss."""
from .linear import softmax, svm

__all__ = ["svm", "softmax"]
