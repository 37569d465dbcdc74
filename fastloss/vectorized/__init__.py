"""Tier "numpy": vectorized NumPy versions of every loss."""
from .elementwise import bce_with_logits, hinge, huber, l1, mse, squared_hinge
from .linear import softmax, svm
from .scores import cross_entropy, cross_entropy_probs, multiclass_hinge
