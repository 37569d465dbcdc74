"""``fastloss check``: the correctness report to run after installing on a new machine.

For every loss (with each option variant) x backend x dtype, two checks on small data
drawn away from the losses' kinks:

* **vs loop**: loss and gradient against the loop tier at the same dtype, as the largest
  difference relative to the reference's scale (max|g - g_ref| / max|g_ref|);
* **vs numerical**: the gradient against centered differences of the same backend's own
  loss in float64 (a float32 row compares its float32 gradient with that).

Each row passes when both errors are within the tolerance of its dtype.
"""
import numpy as np

from .. import _registry
from .._cases import as_dtype, make_case, variants
from ..gradcheck import numerical_gradient

# vs-loop tolerances match the test suite's; vs-numerical ones allow for the O(h^2)
# truncation and O(eps/h) rounding of centered differences (h = 1e-5 in float64), and
# for float32 the rounding of the analytic gradient itself.
TOL_LOOP = {"float64": 1e-10, "float32": 1e-4}
TOL_NUMERIC = {"float64": 1e-6, "float32": 1e-3}


def _rel(a, ref):
    a = np.asarray(a, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    diff = float(np.max(np.abs(a - ref))) if ref.size else 0.0
    return diff / scale if scale else diff


def _numeric_grad(case, backend):
    x = case.args[case.grad_arg].copy()
    args = list(case.args)
    args[case.grad_arg] = x
    return numerical_gradient(lambda: case.func(*args, backend=backend, **case.kwargs)[0], x)


def check_rows(losses=None, backends=None, dtypes=("float64", "float32"), seed=0):
    """One dict per loss/variant x backend x dtype: errors, tolerances and ``passed``."""
    rows = []
    backends = backends or _registry.available_backends()
    for loss in losses or _registry.LOSSES:
        for variant in variants(loss):
            base = make_case(loss, rng=seed, n=9, d=5, c=4, away_from_kinks=True, variant=variant)
            for backend in backends:
                numeric = _numeric_grad(base, backend)
                for dtype in dtypes:
                    rows.append(_row(loss, variant, backend, dtype, as_dtype(base, dtype), numeric))
    return rows


def _row(loss, variant, backend, dtype, case, numeric):
    row = {"loss": loss + (f"[{variant}]" if variant else ""), "backend": backend, "dtype": dtype,
           "tol_loop": TOL_LOOP[dtype], "tol_numeric": TOL_NUMERIC[dtype]}
    try:
        value, grad = case(backend=backend)
        ref_value, ref_grad = case(backend="loop")
        row["err_loop"] = max(_rel(value, ref_value), _rel(grad, ref_grad))
        row["err_numeric"] = _rel(grad, numeric)
        row["passed"] = bool(row["err_loop"] <= row["tol_loop"] and row["err_numeric"] <= row["tol_numeric"])
    except Exception as exc:  # a crash is a failure with its reason, not an abort of the report
        row.update(err_loop=None, err_numeric=None, passed=False, error=f"{type(exc).__name__}: {exc}")
    return row


def format_rows(rows):
    lines = ["result  loss                           backend  dtype     vs loop (tol)         vs numerical (tol)"]
    for r in rows:
        status = "PASS" if r["passed"] else "FAIL"
        if "error" in r:
            detail = r["error"]
        else:
            detail = (f"{r['err_loop']:.1e} ({r['tol_loop']:.0e})".ljust(22)
                      + f"{r['err_numeric']:.1e} ({r['tol_numeric']:.0e})")
        lines.append(f"{status}    {r['loss']:<30} {r['backend']:<8} {r['dtype']:<9} {detail}")
    failed = sum(not r["passed"] for r in rows)
    lines.append(f"{len(rows) - failed} passed, {failed} failed")
    return "\n".join(lines)
