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

    def with_arg(self, i, value):
        """The same case with positional argument ``i`` replaced by ``value``."""
        args = list(self.args)
        args[i] = value
        return Case(self.loss, tuple(args), dict(self.kwargs), self.grad_arg)

    @property
    def nbytes(self):
        """Bytes of input the call must read (the arrays among its arguments)."""
        return sum(a.nbytes for a in self.args if isinstance(a, np.ndarray))


def _linear(spec, rng, dtype, n, d, c, away_from_kinks, variant):
    for _ in range(200):
        W = (0.01 * rng.standard_normal((d, c))).astype(dtype)
        X = rng.standard_normal((n, d)).astype(dtype)
        y = rng.integers(0, c, n)
        if not (away_from_kinks and spec.has_kinks and _near_margin_kink(
                X.astype(np.float64) @ W.astype(np.float64), y, spec.options["delta"])):
            break
    else:
        raise RuntimeError("could not draw SVM data away from the hinge kinks")
    return Case(spec.name, (W, X, y), {"reg": 0.1}, grad_arg=0)


def _elementwise(spec, rng, dtype, n, d, c, away_from_kinks, variant):
    shape = (n, c)  # 2-D on purpose: the API must flatten and restore any shape
    for _ in range(200):
        pred = rng.standard_normal(shape) * 2
        if spec.name in ("hinge", "squared_hinge"):
            target = rng.choice([-1.0, 1.0], size=shape)
            kink = np.abs(spec.options["margin"] - target * pred)
        elif spec.name == "bce_with_logits":
            target = rng.uniform(0, 1, shape)
            kink = np.inf
        else:
            target = rng.standard_normal(shape)
            kink = np.abs(pred - target)
        if not away_from_kinks or not spec.has_kinks or np.min(kink) > 1e-3:
            break
    kwargs = {}
    if variant == "weight":
        kwargs["weight"] = rng.uniform(0.5, 2.0, shape).astype(dtype)
    elif variant == "pos_weight":
        kwargs["pos_weight"] = rng.uniform(0.5, 3.0, (c,)).astype(dtype)  # broadcast over rows
    elif variant == "both_weights":
        kwargs["weight"] = rng.uniform(0.5, 2.0, (1, c)).astype(dtype)
        kwargs["pos_weight"] = rng.uniform(0.5, 3.0, (c,)).astype(dtype)
    elif variant == "delta":
        kwargs["delta" if spec.name == "huber" else "margin"] = 0.5
    return Case(spec.name, (pred.astype(dtype), target.astype(dtype)), kwargs)


def _scores(spec, rng, dtype, n, d, c, away_from_kinks, variant):
    for _ in range(200):
        s = rng.standard_normal((n, c)) * 2
        y = rng.integers(0, c, n)
        if not (away_from_kinks and spec.has_kinks and _near_margin_kink(s, y, spec.options["delta"])):
            break
    kwargs = {}
    target = y
    if variant == "probs":
        p = rng.uniform(0, 1, (n, c))
        target = (p / p.sum(axis=1, keepdims=True)).astype(dtype)
    elif variant == "onehot":
        target = np.eye(c, dtype=dtype)[y]
    elif variant == "ignore":
        kwargs["ignore_index"] = -1
        target = np.where(rng.uniform(size=n) < 0.3, -1, y)
        target[0] = y[0]  # at least one counted sample
    if variant in ("weight", "all"):
        kwargs["weight"] = rng.uniform(0.2, 2.0, c).astype(dtype)
    if variant in ("smoothing", "all", "probs"):
        kwargs["label_smoothing"] = 0.1
    if variant == "all":
        kwargs["ignore_index"] = 0 if c > 1 else -100
    if variant == "delta":
        kwargs["delta"] = 0.5
    return Case(spec.name, (s.astype(dtype), target), kwargs)


def _near_margin_kink(s, y, delta, gap=1e-3):
    """True if some margin s_j - s_y + delta lies within ``gap`` of the kink at 0: there the
    centered difference straddles the kink and disagrees with the (sub)gradient."""
    m = s - s[np.arange(len(y)), y][:, None] + delta
    m[np.arange(len(y)), y] = 1.0
    return bool(np.any(np.abs(m) < gap))


FAMILIES = {"linear": _linear, "elementwise": _elementwise, "scores": _scores}

# Option variants each loss is exercised with, beyond its defaults ("").
VARIANTS = {
    "hinge": ("", "delta"),
    "squared_hinge": ("", "delta"),
    "huber": ("", "delta"),
    "bce_with_logits": ("", "weight", "pos_weight", "both_weights"),
    "multiclass_hinge": ("", "delta"),
    "cross_entropy": ("", "weight", "smoothing", "ignore", "all", "probs", "onehot"),
}


def variants(loss):
    return VARIANTS.get(loss, ("",))


def make_case(loss, rng=None, dtype=np.float64, n=20, d=15, c=4, away_from_kinks=False, variant=""):
    """Inputs for the public function of ``loss``: N samples, D features, C classes
    (columns, for elementwise losses), with one of its option ``variants``.

    ``away_from_kinks`` redraws until no non-smooth point is within numerical-gradient
    reach, so a centered difference is a valid check of the analytic (sub)gradient.
    """
    rng = np.random.default_rng(rng)
    spec = LOSSES[loss]
    dtype = np.dtype(dtype)
    return FAMILIES[spec.family](spec, rng, dtype, n, d, c, away_from_kinks, variant)


def as_dtype(case, dtype):
    """The same case with its float arrays converted to ``dtype`` (labels untouched)."""
    args = tuple(a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
                 for a in case.args)
    return Case(case.loss, args, dict(case.kwargs), case.grad_arg)
