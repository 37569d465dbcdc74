"""Registry: which losses exist, which tiers exist, and the kernel for each pair.

Both axes are cheap to extend:

* add a loss  = one ``LossSpec`` in ``LOSSES`` + one kernel named after the loss in
  every tier package (``fastloss.loop``, ``fastloss.vectorized``, ``fastloss._numba``,
  ``fastloss._cython``);
* add a tier  = one line in ``TIERS`` + a package exposing one kernel per loss.

Tests, ``fastloss check`` and ``fastloss bench`` iterate over this registry, so
neither change needs new test or harness code.

Kernel contract (every tier, same signature per loss): a kernel receives arrays
already validated and normalised by ``fastloss._validate`` (C-contiguous, one float
dtype, labels in range), overwrites every element of the caller-allocated gradient
array with the gradient already multiplied by ``scale`` (1/N for a mean), and
returns the *unscaled* loss sum as a Python float accumulated in float64. The API
layer (``fastloss._api``) applies the scale to the loss and adds regularisation: through
the tier's ``l2_penalty(W, reg, dW)`` where the tier has one (the compiled tiers: one pass
over W instead of NumPy's two temporaries), else with NumPy; the compiled tiers' linear
kernels also come as ``svm_l2`` / ``softmax_l2``, which add it inside the kernel
(``fused_l2``).
One exception: the kernels of the losses on targets in {-1, +1} (hinge, squared hinge)
return ``(sum, off)``, ``off`` the number of targets that are neither; they count them
in their pass over the data and the API raises when ``off`` is not 0.
"""
import importlib
import os
from dataclasses import dataclass, field

# Tier name -> package exposing one kernel per loss name. Order = available_backends() order.
TIERS = {
    "loop": "fastloss.loop",
    "numpy": "fastloss.vectorized",
    "numba": "fastloss._numba",
    "cython": "fastloss._cython",
}
# backend=None picks the first of these that imports.
DEFAULT_PREFERENCE = ("cython", "numba", "numpy")
ENV_BACKEND = "FASTLOSS_BACKEND"


@dataclass(frozen=True)
class LossSpec:
    """One loss: its name (= kernel name in every tier), public function name, family
    and the facts generic tests and the harness need to build inputs for it."""

    name: str
    public: str
    family: str  # "linear" (W, X, y) | "scores" (N, C) | "elementwise" (pred, target)
    formula: str
    has_kinks: bool = False
    options: dict = field(default_factory=dict)
    # Kernel names in every tier are name + variant (cross_entropy has "_probs" for
    # class-probability targets).
    variants: tuple = ("",)


LOSSES = {
    spec.name: spec
    for spec in (
        LossSpec(
            "svm", "svm_loss", "linear",
            "S = X W; L = 1/N sum_i sum_{j != y_i} max(0, S_ij - S_iy_i + delta) + reg sum W^2",
            has_kinks=True, options={"delta": 1.0},
        ),
        LossSpec(
            "softmax", "softmax_loss", "linear",
            "S = X W; L = 1/N sum_i -log softmax(S_i)[y_i] + reg sum W^2",
        ),
        LossSpec("hinge", "hinge_loss", "elementwise", "l = max(0, margin - t p), t in {-1, +1}",
                 has_kinks=True, options={"margin": 1.0}),
        LossSpec("squared_hinge", "squared_hinge_loss", "elementwise",
                 "l = max(0, margin - t p)^2, t in {-1, +1}", has_kinks=True, options={"margin": 1.0}),
        LossSpec("multiclass_hinge", "multiclass_hinge_loss", "scores",
                 "l_i = sum_{j != y_i} max(0, s_ij - s_iy_i + delta)", has_kinks=True,
                 options={"delta": 1.0}),
        LossSpec("cross_entropy", "cross_entropy_loss", "scores",
                 "l_i = (1-e) w_y (-log p_y) + e/C sum_c w_c (-log p_c); p = softmax(z_i)",
                 variants=("", "_probs")),
        LossSpec("bce_with_logits", "bce_with_logits_loss", "elementwise",
                 "l = w (q t softplus(-x) + (1 - t) softplus(x))"),
        LossSpec("mse", "mse_loss", "elementwise", "l = (p - t)^2"),
        LossSpec("l1", "l1_loss", "elementwise", "l = |p - t|", has_kinks=True),
        LossSpec("huber", "huber_loss", "elementwise",
                 "l = d^2/2 if |d| < delta else delta (|d| - delta/2), d = p - t",
                 options={"delta": 1.0}),  # gradient continuous: no kink for centered differences
    )
}

_tier_modules = {}
_tier_errors = {}


def _load_tier(tier):
    if tier not in _tier_modules and tier not in _tier_errors:
        try:
            _tier_modules[tier] = importlib.import_module(TIERS[tier])
        except ImportError as exc:  # e.g. numba missing or the Cython build absent
            _tier_errors[tier] = f"{type(exc).__name__}: {exc}"
    return _tier_modules.get(tier)


def available_backends():
    """Names of the tiers that import on this machine, in the order loop, numpy, numba, cython."""
    return tuple(t for t in TIERS if _load_tier(t) is not None)


def unavailable_reason(tier):
    _load_tier(tier)
    return _tier_errors.get(tier)


_ENV_KEY = os.fsencode(ENV_BACKEND)


def _env_backend():
    """The environment variable's value, or None. os.environ.get costs ~0.7 us per call
    when the variable is unset (it raises and catches a KeyError inside), as much as a
    small loss kernel; on POSIX the mapping's own dict of encoded bytes answers at once."""
    data = getattr(os.environ, "_data", None)
    if os.name == "posix" and isinstance(data, dict):
        raw = data.get(_ENV_KEY)
        return os.fsdecode(raw) if raw is not None else None
    return os.environ.get(ENV_BACKEND)


def default_backend():
    env = _env_backend()
    if env:
        return check_backend(env, origin=f"environment variable {ENV_BACKEND}")
    for tier in DEFAULT_PREFERENCE:
        if _load_tier(tier) is not None:
            return tier
    raise RuntimeError("no compiled or numpy backend could be imported")


def check_backend(backend, origin="backend"):
    """Return ``backend`` if it names a usable tier, else raise ValueError listing valid names."""
    if not isinstance(backend, str) or backend not in TIERS:
        raise ValueError(f"{origin}={backend!r} is not a fastloss backend; "
                         f"valid names: {', '.join(TIERS)}")
    if _load_tier(backend) is None:
        raise ValueError(f"{origin}={backend!r} is not available on this installation "
                         f"({_tier_errors[backend]}); available: {', '.join(available_backends())}")
    return backend


_resolved = {}  # (backend, environment value) -> tier module
_specialised = {}  # (fused kernel, dtype) -> its specialisation
_C_TYPES = {"float32": "float", "float64": "double"}


def _for_dtype(fn, dtype):
    """A Cython fused-type kernel's specialisation for ``dtype``: calling it skips the
    fused function's run-time dispatch on the argument types (~0.2 us of a ~7 us call at
    N=64). Other kernels are returned as they are."""
    if dtype is None or not hasattr(fn, "__signatures__"):
        return fn
    key = (fn, dtype)
    found = _specialised.get(key)
    if found is None:
        found = _specialised[key] = fn[_C_TYPES[dtype.name]]
    return found


def _module(backend):
    """The tier module of ``backend`` (None = default backend)."""
    # Cached by what decides it (the environment variable is read on every call, so
    # changing it takes effect at once): this runs on every loss call. Kernels are looked
    # up afresh in the module, so a replaced module attribute is seen.
    if backend is not None and not isinstance(backend, str):
        check_backend(backend)  # raises: not a name
    key = (backend, _env_backend() if backend is None else None)
    module = _resolved.get(key)
    if module is None:
        tier = default_backend() if backend is None else check_backend(backend)
        module = _resolved[key] = _tier_modules[tier]
    return module


def kernel(loss_name, backend=None, variant="", dtype=None):
    """The kernel of ``loss_name`` (optionally a named variant, e.g. ``_probs``) in ``backend``
    (None = default backend); with ``dtype``, specialised for it where the tier can."""
    return _for_dtype(getattr(_module(backend), loss_name + variant), dtype)


def fused_l2(loss_name, backend=None, dtype=None):
    """The tier's ``<loss>_l2`` kernel of a linear loss, or None: the compiled tiers add
    the L2 term inside the kernel's last pass over dW, ``(W, X, y, *options, scale, reg,
    dW) -> (loss sum, sum(W**2))`` with ``2 reg W`` added to dW; the loop and numpy tiers
    have none (``fastloss._api`` adds the term after the kernel)."""
    fn = getattr(_module(backend), loss_name + "_l2", None)
    return None if fn is None else _for_dtype(fn, dtype)


def l2_penalty(backend=None, dtype=None):
    """The tier's own one-pass L2 term ``l2_penalty(W, reg, dW) -> sum(W**2)`` (adds
    2 reg W to dW), or None: the compiled tiers have one, the loop and numpy tiers use
    NumPy's in ``fastloss._api``."""
    fn = getattr(_module(backend), "l2_penalty", None)
    return None if fn is None else _for_dtype(fn, dtype)
