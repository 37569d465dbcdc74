"""Tier "numba": compiled, parallel kernels (``@njit(parallel=True)``), same names and
contract as ``fastloss.loop``. Importing this package needs numba; nothing compiles until
a kernel is first called (then ``cache=True`` keeps the machine code on disk)."""
from .elementwise import bce_with_logits, hinge, huber, l1, mse, squared_hinge
from .linear import l2_penalty, softmax, softmax_l2, svm, svm_l2
from .scores import cross_entropy, cross_entropy_probs, multiclass_hinge
