"""Generated inputs for every registered loss: one source for tests, ``fastloss check``
and ``fastloss bench``, so a new loss is exercised everywhere by adding its family here
once (or nothing, when its family already exists).

A ``Case`` holds the positional and keyword arguments of the public function and
which positional argument the returned gradient belongs to.
"""
from dataclasses import dataclass, field

import numpy as np

import fastloss

from ._registry import LOSSES


@dataclass
class Case:
    loss: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    grad_arg: int = 0  # the gradient returned is d loss / d args[grad_arg]

    @property
    def func(self):
        return getattr(fastloss, LOSSES[self.loss].public)

    def __call__(self, backend=None, **extra):
        return self.func(*self.args, backend=backend, **{**self.kwargs, **extra})

    @property
    def nbytes(self):
        """Bytes of input the call must read (the arrays among its arguments)."""
        return sum(a.nbytes for a in self.args if isinstance(a, np.ndarray))


def _linear(spec, rng, dtype, n, d, c, away_from_kinks):
    for _ in range(200):
        W = (0.01 * rng.standard_normal((d, c))).astype(dtype)
        X = rng.standard_normal((n, d)).astype(dtype)
        y = rng.integers(0, c, n)
        if not (away_from_kinks and spec.has_kinks and _near_svm_kink(W, X, y, spec.options["delta"])):
            break
    else:
        raise RuntimeError("could not draw SVM data away from the hinge kinks")
    return Case(spec.name, (W, X, y), {"reg": 0.1}, grad_arg=0)


def _near_svm_kink(W, X, y, delta, gap=1e-3):
    """True if some margin s_j - s_y + delta lies within ``gap`` of the kink at 0: there the
    centered difference straddles the kink and disagrees with the (sub)gradient."""
    s = X.astype(np.float64) @ W.astype(np.float64)
    m = s - s[np.arange(len(y)), y][:, None] + delta
    m[np.arange(len(y)), y] = 1.0
    return bool(np.any(np.abs(m) < gap))


FAMILIES = {"linear": _linear}


def make_case(loss, rng=None, dtype=np.float64, n=20, d=15, c=4, away_from_kinks=False):
    """Inputs for the public function of ``loss``: N samples, D features, C classes.

    ``away_from_kinks`` redraws until no non-smooth point is within numerical-gradient
    reach, so a centered difference is a valid check of the analytic (sub)gradient.
    """
    rng = np.random.default_rng(rng)
    spec = LOSSES[loss]
    return FAMILIES[spec.family](spec, rng, np.dtype(dtype), n, d, c, away_from_kinks)


def as_dtype(case, dtype):
    """The same case with its float arrays converted to ``dtype`` (labels untouched)."""
    args = tuple(a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
                 for a in case.args)
    return Case(case.loss, args, dict(case.kwargs), case.grad_arg)
