"""Numerical gradients by centered differences, for checking analytic gradients.

``numerical_gradient`` perturbs every entry; ``grad_check_sparse`` samples a few,
the way CS231n's notebooks check a loss: near a kink of a non-smooth loss (SVM
margin exactly 0) the two may legitimately disagree, so check away from kinks.
"""
import numpy as np

_TINY = 1e-300


def numerical_gradient(f, x, h=1e-5):
    """Centered-difference gradient of scalar ``f()`` with respect to array ``x``.

    df/dx[k] ~ (f(x + h e_k) - f(x - h e_k)) / (2 h) for every index k. ``f`` takes no
    arguments and reads ``x`` (modified in place during the call, restored after each
    index, also when ``f`` raises). Returns a float64 array of x's shape.
    ``x`` must be a writable float array; TypeError/ValueError otherwise.
    """
    _check_x(x)
    grad = np.zeros(x.shape, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        idx = it.multi_index
        grad[idx] = _centered(f, x, idx, h)
    return grad


def rel_error(a, b):
    """CS231n's relative error |a - b| / max(|a| + |b|, tiny), elementwise."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), _TINY)


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=None):
    """Compare ``analytic_grad`` with centered differences at ``num_checks`` random indices.

    Returns a float64 array of the relative errors (see :func:`rel_error`), one per
    checked index. ``analytic_grad`` must have x's shape (ValueError otherwise).
    """
    _check_x(x)
    analytic_grad = np.asarray(analytic_grad)
    if analytic_grad.shape != x.shape:
        raise ValueError(f"analytic_grad has shape {analytic_grad.shape}, x has {x.shape}")
    if int(num_checks) < 1:
        raise ValueError(f"num_checks must be >= 1, got {num_checks}")
    rng = np.random.default_rng(seed)
    errors = np.empty(int(num_checks))
    for k in range(int(num_checks)):
        idx = tuple(int(rng.integers(m)) for m in x.shape)
        errors[k] = rel_error(analytic_grad[idx], _centered(f, x, idx, h))
    return errors


def _check_x(x):
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError("x must be a float numpy array (it is perturbed in place)")
    if not x.flags.writeable:
        raise ValueError("x must be writable (it is perturbed in place and restored)")
    if x.size == 0:
        raise ValueError("x is empty")


def _centered(f, x, idx, h):
    old = x[idx]
    try:
        x[idx] = old + h
        fplus = float(f())
        x[idx] = old - h
        fminus = float(f())
    finally:
        x[idx] = old
    return (fplus - fminus) / (2 * h)
