"""The benchmark harness: every loss x backend x dtype x size, timed and checked.

One run produces a list of cells (dicts, long format): timing statistics, speed-ups
over the numpy and loop tiers measured in the same run, and the agreement of the
loss and gradient with a float64 reference (the loop tier where it ran within its
time budget, else the numpy tier in float64).
"""
import gc
import time

import numpy as np

from .. import _registry
from .._cases import as_dtype, make_case
from .timing import measure

# Sizes per family. "dev" and "full" are CS231n's CIFAR-10 development and training
# set shapes (N samples, D = 32*32*3 + 1 bias, C = 10 classes).
SIZES = {
    "linear": [("dev", dict(n=500, d=3073, c=10)), ("full", dict(n=49000, d=3073, c=10))],
}
DTYPES = ("float64", "float32")


def _result(out):
    loss, grad = out
    return np.asarray(loss, dtype=np.float64), np.asarray(grad, dtype=np.float64)


def _agreement(out, ref):
    loss, grad = _result(out)
    ref_loss, ref_grad = ref
    grad_abs = float(np.max(np.abs(grad - ref_grad))) if grad.size else 0.0
    scale = float(np.max(np.abs(ref_grad))) if grad.size else 0.0
    return {
        "loss_abs_diff": float(np.max(np.abs(loss - ref_loss))),
        "grad_max_abs_diff": grad_abs,
        "grad_max_rel_diff": grad_abs / scale if scale else grad_abs,
    }


def run(losses=None, backends=None, dtypes=DTYPES, sizes=None, repeat=5, min_time=0.05,
        loop_budget=15.0, seed=0, progress=None):
    """Run the benchmark grid and return a list of cell dicts.

    ``sizes`` maps family -> list of (label, dict(n=, d=, c=)); default ``SIZES``.
    The loop tier runs a size only if its time, extrapolated linearly in N from the
    previous size of the same loss, fits in ``loop_budget`` seconds per call.
    ``progress(message)`` is called before each cell.
    """
    losses = list(losses or _registry.LOSSES)
    backends = [b for b in (backends or _registry.available_backends())
                if b in _registry.available_backends()]
    sizes = sizes or SIZES
    cells = []
    for loss in losses:
        family = _registry.LOSSES[loss].family
        loop_per_sample = None  # seconds per sample of the loop tier at the last size it ran
        for size_label, dims in sizes[family]:
            base = make_case(loss, rng=seed, dtype=np.float64, **dims)
            loop_ok = "loop" in backends and (
                loop_per_sample is None or loop_per_sample * dims["n"] <= loop_budget)
            ref_name = "loop" if loop_ok else "numpy"
            t0 = time.perf_counter()
            ref_out = base(backend=ref_name)
            ref_seconds = time.perf_counter() - t0
            ref = _result(ref_out)
            for dtype in dtypes:
                case = base if dtype == "float64" else as_dtype(base, dtype)
                row_cells = []
                for backend in backends:
                    cell = {"loss": loss, "size": size_label, **dims, "dtype": dtype,
                            "backend": backend, "reference": f"{ref_name} float64",
                            "input_bytes": case.nbytes}
                    if progress:
                        progress(f"{loss} {size_label} {dtype} {backend}")
                    if backend == "loop" and not loop_ok:
                        cell["skipped"] = (f"loop tier estimated at {loop_per_sample * dims['n']:.0f} s "
                                           f"per call > budget {loop_budget:.0f} s")
                        row_cells.append(cell)
                        continue
                    t0 = time.perf_counter()
                    out = ref_out if (backend == ref_name and dtype == "float64") else case(backend=backend)
                    first = ref_seconds if out is ref_out else time.perf_counter() - t0
                    if backend == "loop":
                        # One call is the measurement: the loop tier is slow enough that
                        # timer resolution does not matter, and repeats would blow the budget.
                        stats = {"median": first, "p20": first, "p80": first, "number": 1, "repeat": 1}
                        loop_per_sample = first / dims["n"]
                    else:
                        stats = measure(lambda: case(backend=backend), repeat=repeat, min_time=min_time)
                    cell.update(stats)
                    # The first call includes JIT compilation / cache loading; report it
                    # apart so no timed figure contains it.
                    cell["first_call_s"] = first
                    cell.update(_agreement(out, ref))
                    row_cells.append(cell)
                _speedups(row_cells)
                cells.extend(row_cells)
                del case
                gc.collect()
    return cells


def _speedups(row_cells):
    times = {c["backend"]: c["median"] for c in row_cells if "median" in c}
    for c in row_cells:
        if "median" not in c:
            continue
        for base in ("numpy", "loop"):
            c[f"speedup_vs_{base}"] = times[base] / c["median"] if base in times else None
