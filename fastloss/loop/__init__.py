"""Tier "loop": per-sample Python loops, the reference every other tier is checked against."""
from .linear import softmax, svm

__all__ = ["svm", "softmax"]
