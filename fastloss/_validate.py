"""The one place that checks inputs.

Every public function runs its arguments through these helpers before any kernel
sees them. After validation the kernels may assume:

* float arrays are C-contiguous float32 or float64, all of one dtype;
* label arrays are C-contiguous ``np.intp`` with every value in range
  (compiled kernels run without bounds checks, so this is what keeps them from
  reading out of bounds);
* shapes are mutually consistent and the batch is not empty.

Normalisation never modifies an input: it returns the same array when it already
has the right dtype and layout, otherwise a converted copy.
"""
import math
import numbers

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_F32, _F64 = FLOAT_DTYPES
_INTP = np.dtype(np.intp)

try:  # one C pass instead of several NumPy passes (see kernels/checks.pyx)
    from fastloss._cython import checks as _checks
except ImportError:
    _checks = None


def float_dtype_of(name, a):
    """The float dtype an array computes in: float32/float64 as given, float16 -> float32,
    bool/integers -> float64. Anything else (complex, object, strings) is a TypeError."""
    dt = a.dtype
    if dt is _F64 or dt is _F32:  # the common case, first: this runs on every call
        return dt
    if dt.kind == "f":
        if dt.itemsize > 8:
            raise TypeError(f"{name} has dtype {dt}; fastloss computes in float32 or float64")
        return np.dtype(np.float32) if dt.itemsize <= 4 else np.dtype(np.float64)
    if dt.kind in "biu":
        return np.dtype(np.float64)
    raise TypeError(f"{name} must be a real numeric array, got dtype {dt}")


def as_array(name, a):
    """``np.asarray`` with a clear error for things that are not arrays of numbers."""
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} could not be converted to an array: {exc}") from None
    return arr


def check_ndim(name, a, ndim, shape_doc):
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D {shape_doc}, got shape {a.shape}")


def promote(named_arrays):
    """Common float dtype of several ``(name, array)`` pairs: the widest float dtype among
    the float arrays (float32 with float64 -> float64, never an error). Integer and bool
    arrays take the float dtype of the others (integer targets do not widen float32
    predictions); only when no array is float is the result float64."""
    result = None
    for name, a in named_arrays:
        dt = float_dtype_of(name, a)
        if a.dtype.kind == "f" and result is not _F64:
            result = dt
    return result or _F64


def contiguous(a, dtype):
    """C-contiguous view/copy with ``dtype`` and native byte order."""
    return np.ascontiguousarray(a, dtype=dtype)


def labels(name, y, n, num_classes, ignore_index=None):
    """Validate integer class labels of length ``n`` with values in ``[0, num_classes)``
    (``ignore_index`` also allowed when given). Returns a C-contiguous ``np.intp`` array."""
    return class_labels(name, y, n, num_classes, ignore_index)[0]


def class_labels(name, y, n, num_classes, ignore_index=None):
    """:func:`labels`, also returning the number of labels that are not ``ignore_index``."""
    y = as_array(name, y)
    if y.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    check_ndim(name, y, 1, f"(N,) = ({n},)")
    if y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} labels but there are N={n} samples")
    if y.dtype.kind == "u" and y.dtype.itemsize >= _INTP.itemsize:
        # Range first, on the original dtype: a uint64 label >= 2**63 must not wrap to a
        # small number when cast to intp.
        lo, hi, kept = _label_range_numpy(y, ignore_index)
        _check_range(name, lo, hi, kept, num_classes, ignore_index)
        return np.ascontiguousarray(y, dtype=np.intp), kept
    y = np.ascontiguousarray(y, dtype=np.intp)
    if _checks is not None:
        has_ignore = ignore_index is not None and -2**63 <= ignore_index < 2**63
        lo, hi, kept = _checks.label_range(y, has_ignore, ignore_index if has_ignore else 0)
    else:
        lo, hi, kept = _label_range_numpy(y, ignore_index)
    _check_range(name, lo, hi, kept, num_classes, ignore_index)
    return y, kept


def _label_range_numpy(y, ignore_index):
    if ignore_index is not None:
        y = y[y != ignore_index]
    return (y.min(), y.max(), y.shape[0]) if y.shape[0] else (0, 0, 0)


def _check_range(name, lo, hi, kept, num_classes, ignore_index):
    if kept and (lo < 0 or hi >= num_classes):
        bad = lo if lo < 0 else hi
        allowed = f"[0, {num_classes})"
        if ignore_index is not None:
            allowed += f" or ignore_index={ignore_index}"
        raise ValueError(f"{name} contains label {int(bad)} outside {allowed}")


def nonnegative_finite(name, value):
    """A real, finite, non-negative scalar (``reg``, ``delta``, ``margin`` ...) as float."""
    if type(value) is float or type(value) is int:  # fast path, skips the ABC checks below
        if value >= 0 and value != math.inf:
            return float(value)
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return v


def nonempty(name, n):
    # Policy: an empty batch is an error in every tier (a mean over zero samples has no value).
    if n == 0:
        raise ValueError(f"{name} is empty (N=0); fastloss needs at least one sample")


def linear_inputs(W, X, y, reg):
    """Validate and normalise the linear-classifier arguments.

    Returns ``(W, X, y, reg)`` with W (D, C) and X (N, D) C-contiguous in their common
    float dtype, y (N,) intp with labels in [0, C), reg a finite float >= 0.
    """
    W = as_array("W", W)
    X = as_array("X", X)
    dtype = promote([("W", W), ("X", X)])
    check_ndim("W", W, 2, "(D, C)")
    check_ndim("X", X, 2, "(N, D)")
    n, d = X.shape
    if W.shape[0] != d:
        raise ValueError(f"X has D={d} features (shape {X.shape}) but W has {W.shape[0]} rows "
                         f"(shape {W.shape}); W must be (D, C)")
    if W.shape[1] == 0:
        raise ValueError(f"W must have at least one class column, got shape {W.shape}")
    nonempty("X", n)
    y = labels("y", y, n, W.shape[1])
    reg = nonnegative_finite("reg", reg)
    return contiguous(W, dtype), contiguous(X, dtype), y, reg


REDUCTIONS = ("mean", "sum", "none")


def reduction(value):
    if not isinstance(value, str) or value not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {', '.join(map(repr, REDUCTIONS))}, got {value!r}")
    return value


def positive_finite(name, value):
    v = nonnegative_finite(name, value)
    if v == 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return v


def unit_interval(name, value):
    v = nonnegative_finite(name, value)
    if v > 1:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return v


def integer(name, value):
    if type(value) is int:
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    return int(value)


def optional_positive_int(name, value):
    """None, or an integer >= 1 (``chunk_size``)."""
    if value is None:
        return None
    value = integer(name, value)
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def grad_out(out, shape, dtype, inputs):
    """The array the gradient is written to: a fresh one when ``out`` is None, else ``out``
    after checking it is a C-contiguous writeable ndarray of ``shape`` and ``dtype`` that
    shares no memory with any array in ``inputs`` (name -> the caller's argument; the
    callers build it only when ``out`` is given, as it is not needed otherwise)."""
    if out is None:
        return np.empty(shape, dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"grad_out must be a numpy array, got {type(out).__name__}")
    if out.shape != tuple(shape):
        raise ValueError(f"grad_out has shape {out.shape}; the gradient's shape is {tuple(shape)}")
    if out.dtype != dtype:
        raise ValueError(f"grad_out has dtype {out.dtype}; this call computes in {dtype}")
    if not (out.flags.c_contiguous and out.flags.writeable):
        raise ValueError("grad_out must be C-contiguous and writeable")
    for name, a in inputs.items():
        # may_share_memory compares address ranges only: cheap, and an interleaved view
        # that does not really overlap is refused too (inputs are never modified).
        if isinstance(a, np.ndarray) and np.may_share_memory(out, a):
            raise ValueError(f"grad_out shares memory with {name}; inputs are never modified")
    return out


def pair(pred_name, pred, target_name, target):
    """Validate an elementwise (prediction, target) pair of exactly equal shapes.

    Returns ``(pred, target, shape)`` with both flattened to 1-D C-contiguous arrays of
    their common float dtype, and the original shape for reshaping the results.
    """
    pred = as_array(pred_name, pred)
    target = as_array(target_name, target)
    dtype = promote([(pred_name, pred), (target_name, target)])
    if pred.shape != target.shape:
        raise ValueError(f"{pred_name} has shape {pred.shape} but {target_name} has shape "
                         f"{target.shape}; they must be equal (no broadcasting)")
    nonempty(pred_name, pred.size)
    return contiguous(pred, dtype).reshape(-1), contiguous(target, dtype).reshape(-1), pred.shape


def signs(name, t):
    """Binary targets must be exactly -1 or +1 (after conversion to the float dtype)."""
    if _checks is not None:
        i = _checks.first_non_sign(t)
        if i >= 0:
            raise ValueError(f"{name} must contain only -1 and +1, found {t[i]!r}")
        return
    ok = (t == 1) | (t == -1)
    if not ok.all():
        bad = t[~ok][0]
        raise ValueError(f"{name} must contain only -1 and +1, found {bad!r}")


def broadcast_weight(name, weight, shape, dtype):
    """``weight`` broadcast to ``shape`` and flattened (length 0 when ``weight`` is None)."""
    if weight is None:
        return empty(dtype)
    w = as_array(name, weight)
    float_dtype_of(name, w)
    try:
        w = np.broadcast_to(w, shape)
    except ValueError:
        raise ValueError(f"{name} of shape {w.shape} does not broadcast to the input shape {shape}") from None
    return np.ascontiguousarray(w, dtype=dtype).reshape(-1)


def scores(name, s, y_name=None):
    """A 2-D (N, C) score/logit matrix with N >= 1 and C >= 1, as its float dtype."""
    s = as_array(name, s)
    check_ndim(name, s, 2, "(N, C)")
    nonempty(name, s.shape[0])
    if s.shape[1] == 0:
        raise ValueError(f"{name} must have at least one class column, got shape {s.shape}")
    return s


# Length-0 arrays stand for "no weights" / "no per-sample losses" in the kernel calls;
# shared ones save an allocation per call (nothing can be written into length 0).
EMPTY = {_F32: np.empty(0, _F32), _F64: np.empty(0, _F64)}


def empty(dtype):
    """The shared length-0 array of ``dtype``."""
    return EMPTY[dtype]


def class_weight(weight, num_classes, dtype):
    """Per-class weight (C,) or length 0 when None."""
    if weight is None:
        return empty(dtype)
    w = as_array("weight", weight)
    float_dtype_of("weight", w)
    if w.shape != (num_classes,):
        raise ValueError(f"weight must have shape (C,) = ({num_classes},), got {w.shape}")
    return contiguous(w, dtype)
