"""Criterion classes for people writing their own small neural-network framework.

Each class wraps one loss with its options fixed in the constructor::

    crit = fastloss.nn.CrossEntropy(reduction="mean", label_smoothing=0.1)
    loss = crit.forward(logits, target)     # loss and gradient in one fused call
    dlogits = crit.backward(logits, target) # reuses the gradient computed by forward

``forward`` computes loss and gradient together (one kernel call) and keeps the
gradient; ``backward`` called with the same array objects as the last ``forward``
(or with no arguments) returns that gradient without computing again, and with other
inputs computes afresh. It tells "the same inputs" by object identity, so do not modify
the arrays in place between forward and backward.
"""
from . import _api

__all__ = ["Criterion", "MSE", "L1", "Huber", "Hinge", "SquaredHinge", "MulticlassHinge",
           "CrossEntropy", "BCEWithLogits"]


class Criterion:
    """Base class: ``forward(input, target) -> loss``, ``backward(input, target) -> grad``.

    ``options`` are the keyword arguments of the wrapped fastloss function (``reduction``,
    ``backend``, ``weight``, ...); they are validated on the first call, like the function's.
    """

    function = None  # the fastloss loss function, set by subclasses

    def __init__(self, **options):
        self.options = options
        self._last = None  # (input, target, loss, grad) of the last forward

    def __call__(self, input, target):
        return self.forward(input, target)

    def forward(self, input, target):
        loss, grad = type(self).function(input, target, **self.options)
        self._last = (input, target, loss, grad)
        return loss

    def backward(self, input=None, target=None):
        """d loss / d input. Without arguments: the gradient of the last forward."""
        last = self._last
        if input is None and target is None:
            if last is None:
                raise RuntimeError("backward() without arguments needs a forward() first")
            return last[3]
        if last is not None and input is last[0] and target is last[1]:
            return last[3]
        self.forward(input, target)
        return self._last[3]

    def __repr__(self):
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({opts})"


def _criterion(name, func, doc):
    return type(name, (Criterion,), {"function": staticmethod(func), "__doc__": doc})


MSE = _criterion("MSE", _api.mse_loss, "Mean squared error; options of fastloss.mse_loss.")
L1 = _criterion("L1", _api.l1_loss, "Mean absolute error; options of fastloss.l1_loss.")
Huber = _criterion("Huber", _api.huber_loss, "Huber loss; options of fastloss.huber_loss (delta, ...).")
Hinge = _criterion("Hinge", _api.hinge_loss, "Binary hinge, targets +-1; options of fastloss.hinge_loss.")
SquaredHinge = _criterion("SquaredHinge", _api.squared_hinge_loss,
                          "Squared binary hinge; options of fastloss.squared_hinge_loss.")
MulticlassHinge = _criterion("MulticlassHinge", _api.multiclass_hinge_loss,
                             "Multiclass hinge on scores (N, C); options of fastloss.multiclass_hinge_loss.")
CrossEntropy = _criterion("CrossEntropy", _api.cross_entropy_loss,
                          "Softmax cross-entropy on logits (N, C) with index or probability targets; "
                          "options of fastloss.cross_entropy_loss (weight, ignore_index, label_smoothing, ...).")
BCEWithLogits = _criterion("BCEWithLogits", _api.bce_with_logits_loss,
                           "Binary cross-entropy on logits; options of fastloss.bce_with_logits_loss.")
