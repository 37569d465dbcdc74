"""The benchmark harness: every loss x backend x dtype x size, timed and checked.

One run produces a list of cells (dicts, long format; the schema is in
``fastloss.bench.outputs``): timing statistics, speed-ups over the numpy and loop tiers
measured in the same run, memory throughput, peak extra memory, and the agreement of
the loss and gradient with a float64 reference (the loop tier where it ran within its
time budget, else the numpy tier in float64).
"""
import gc
import time

import numpy as np

from .. import _registry, _threads
from .._cases import as_dtype, make_case
from . import memory, peers as peers_mod
from .timing import measure_interleaved
from .triad import triad_call

# Size sweeps per series. CS231n's CIFAR-10 shapes for the linear classifier (D = 32*32*3
# + 1 bias, C = 10; "dev" is its development subset, 49000 its training set); elementwise
# up to 10^7 elements; cross-entropy at few and at many classes.
_LINEAR = [("dev", dict(n=500, d=3073, c=10)), ("full", dict(n=49000, d=3073, c=10))]
_ELEMENTWISE = [(f"N=1e{k}", dict(n=10 ** k, d=None, c=1)) for k in (4, 5, 6, 7)]
_SCORES_C10 = [(f"N=1e{k} C=10", dict(n=10 ** k, d=None, c=10)) for k in (4, 5, 6)]
_SCORES_C1000 = [(f"N=1e{k} C=1000", dict(n=10 ** k, d=None, c=1000)) for k in (3, 4, 5)]
SIZES = {
    "linear": _LINEAR,
    "elementwise": _ELEMENTWISE,
    "scores": _SCORES_C10,
    "cross_entropy": _SCORES_C10 + _SCORES_C1000,  # a loss name overrides its family
}
# --quick: the smallest size of each series (and CIFAR dev for the linear losses).
QUICK_SIZES = {
    "linear": _LINEAR[:1],
    "elementwise": _ELEMENTWISE[:2],
    "scores": _SCORES_C10[:1],
    "cross_entropy": _SCORES_C10[:1] + _SCORES_C1000[:1],
}
# Sizes run only when named with --size (the performance targets of issue 5): small
# batches, where the per-call overhead dominates, and the large-C linear classifier,
# where an N x C score matrix (2 GiB in float64) would not be acceptable.
EXTRA_SIZES = {
    "linear": [("N=64", dict(n=64, d=64, c=10)), ("N=8192 C=32000", dict(n=8192, d=256, c=32000))],
    "elementwise": [("N=64", dict(n=64, d=None, c=1))],
    "scores": [("N=64", dict(n=64, d=None, c=10))],
    "cross_entropy": [("N=64", dict(n=64, d=None, c=10))],
}
DTYPES = ("float64", "float32")


def select_sizes(labels):
    """The series restricted to the size ``labels`` (from SIZES and EXTRA_SIZES)."""
    out = {}
    for key in SIZES:
        series = SIZES[key] + EXTRA_SIZES.get(key, [])
        out[key] = [s for s in series if s[0] in labels]
    return out


def all_size_labels():
    return sorted({s[0] for series in (*SIZES.values(), *EXTRA_SIZES.values()) for s in series})


def sizes_for(loss, sizes):
    return sizes.get(loss) or sizes[_registry.LOSSES[loss].family]


def _work(dims):
    """Elements of work for extrapolating the loop tier's time from one size to the next."""
    return dims["n"] * (dims.get("d") or 1) * dims["c"]


def _as_f64(out):
    loss, grad = out
    return np.asarray(loss, dtype=np.float64), np.asarray(grad, dtype=np.float64)


def agreement(out, ref):
    """Max absolute differences of loss and gradient from the reference, and the gradient's
    relative difference (max abs diff / max abs reference). A NaN anywhere gives NaN."""
    loss, grad = out
    ref_loss, ref_grad = ref
    grad_abs = _max_abs(grad, ref_grad)
    scale = _max_abs(ref_grad)
    return {
        "loss_abs_diff": float(np.max(np.abs(np.asarray(loss, dtype=np.float64) - ref_loss))),
        "grad_max_abs_diff": grad_abs,
        "grad_max_rel_diff": grad_abs / scale if scale else grad_abs,
    }


_AGREE_BLOCK = 1 << 16  # elements per block: the float64 difference stays in L2


def _max_abs(a, b=None):
    """max |a - b| (max |a| without b) in float64, over blocks: whole-array temporaries at
    10^8 gradient entries (cross_entropy N=1e5 C=1000) cost 0.8 GB each and ~10 s of a
    default run. NaN propagates (np.maximum), as it would through np.max."""
    a = np.asarray(a).reshape(-1)
    b = None if b is None else np.asarray(b).reshape(-1)
    m = np.float64(0.0)
    for i in range(0, a.size, _AGREE_BLOCK):
        if b is None:
            d = np.abs(a[i:i + _AGREE_BLOCK], dtype=np.float64)
        else:
            d = np.subtract(a[i:i + _AGREE_BLOCK], b[i:i + _AGREE_BLOCK], dtype=np.float64)
            np.abs(d, out=d)
        m = np.maximum(m, d.max())
    return float(m)


def _bytes_moved(case):
    """Bytes a call cannot avoid moving: every input array read once, the gradient written once."""
    grad_bytes = case.args[case.grad_arg].size * np.dtype(case.args[case.grad_arg].dtype).itemsize
    return case.nbytes + grad_bytes


def run(losses=None, backends=None, dtypes=DTYPES, sizes=None, repeat=5, min_time=0.05,
        loop_budget=2.0, seed=0, peers=(), threads=None, triad_gbps=None, progress=None,
        reuse_grad=False):
    """Run the benchmark grid and return a list of cell dicts.

    ``sizes`` maps family (or loss name) -> list of (label, dict(n=, d=, c=)); default
    ``SIZES``. The loop tier runs a size only if its time, extrapolated linearly in the
    work from the previous size of the same loss, fits in ``loop_budget`` seconds.
    ``peers`` names optional peers ("torch", "sklearn") timed on the same inputs.
    ``threads`` sets the compiled tiers' (and peers') thread count for the run.
    ``progress(message)`` is called before each cell. ``reuse_grad``: the numpy and
    compiled tiers write into one gradient buffer per cell (``grad_out=``, as a training
    loop that keeps its buffer) instead of a fresh array per call, whose new pages cost
    about as much as a memory-bound loss at 10^7 elements.
    """
    losses = list(losses or _registry.LOSSES)
    available = _registry.available_backends()
    backends = [b for b in (backends or available) if b in available]
    peers = [p for p in peers if p in peers_mod.available_peers()]
    sizes = sizes or SIZES
    threads = threads or _threads.get_num_threads()
    cells = []
    with _threads.num_threads(threads):
        for loss in losses:
            loop_per_work = None  # seconds per unit of work of the loop tier at its last size
            for size_label, dims in sizes_for(loss, sizes):
                if loop_per_work is None and "loop" in backends and dims["n"] > _LOOP_PROBE_ROWS:
                    loop_per_work = _probe_loop(loss, dims, seed)
                est = loop_per_work * _work(dims) if loop_per_work is not None else None
                loop_ok = "loop" in backends and (est is None or est <= loop_budget)
                base = _float64_case(loss, dims, seed)
                ref_name = "loop" if loop_ok else "numpy"
                t0 = time.perf_counter()
                ref_out = base(backend=ref_name)
                # The reference call doubles as the loop tier's float64 measurement.
                ref_call = (ref_name, time.perf_counter() - t0, ref_out)
                for dtype in dtypes:
                    case = base if dtype == "float64" else as_dtype(base, dtype)
                    new = _size_cells(case, size_label, dims, backends, peers, loop_ok, est, ref_call,
                                      loop_budget, repeat, min_time, threads, progress, reuse_grad,
                                      local_triad=bool(triad_gbps))
                    for c in new:
                        if c["backend"] == "loop" and "median" in c:
                            loop_per_work = c["median"] / _work(dims)
                        if triad_gbps and "gbps" in c:
                            c["pct_triad"] = 100.0 * c["gbps"] / c.get("triad_gbps_local", triad_gbps)
                    cells.extend(new)
                    gc.collect()
    return cells


_LOOP_PROBE_ROWS = 64


def _float64_case(loss, dims, seed):
    return make_case(loss, rng=seed, dtype=np.float64, n=dims["n"], d=dims.get("d") or 1, c=dims["c"])


def _probe_loop(loss, dims, seed):
    """Seconds per unit of work of the loop tier, from one call on a 64-row case with the
    same D and C: the first size of a series may be far too large to run blind."""
    probe = dict(dims, n=_LOOP_PROBE_ROWS)
    case = _float64_case(loss, probe, seed)
    t0 = time.perf_counter()
    case(backend="loop")
    return (time.perf_counter() - t0) / _work(probe)


def _size_cells(case, size_label, dims, backends, peers, loop_ok, est, ref_call, loop_budget,
                repeat, min_time, threads, progress, reuse_grad=False, local_triad=False):
    loss, dtype = case.loss, case.args[case.grad_arg].dtype.name
    ref_name, ref_seconds, ref_out = ref_call
    ref = _as_f64(ref_out)
    common = {"loss": loss, "size": size_label, "n": dims["n"], "d": dims.get("d"), "c": dims["c"],
              "dtype": dtype, "reference": f"{ref_name} float64", "threads": threads,
              "input_bytes": case.nbytes, "bytes_moved": _bytes_moved(case),
              "grad_out": "reused" if reuse_grad else "fresh"}
    cells = []
    timed = {}  # name -> (call, converter of its output, cell), timed together below
    for backend in backends:
        if progress:
            progress(f"{loss} {size_label} {dtype} {backend}")
        cell = dict(common, backend=backend, kind="tier")
        if backend == "loop" and not loop_ok:
            cell["skipped"] = (f"loop tier estimated at {est:.0f} s per call "
                               f"> budget {loop_budget:.0f} s")
        elif backend == "loop":
            cell.update(_time_loop(case, ref_call if dtype == "float64" else None, ref))
        else:
            fn = reusing_grad(case, backend) if reuse_grad else (lambda b=backend: case(backend=b))
            timed[backend] = (fn, lambda out: out, cell)
        cells.append(cell)
    for name in peers:
        if progress:
            progress(f"{loss} {size_label} {dtype} peer {name}")
        made = peers_mod.peer(name, case, threads)
        if made is None:
            continue
        fn, result = made
        cell = dict(common, backend=name, kind="peer")
        timed[name] = (fn, result, cell)
        cells.append(cell)
    triad_bytes = (min(common["bytes_moved"], LOCAL_TRIAD_MAX_BYTES)
                   if local_triad and common["bytes_moved"] >= LOCAL_TRIAD_MIN_BYTES else None)
    _time_group(timed, repeat, min_time, ref, triad_bytes)
    _speedups(cells)
    return cells


# Cells that move at least this much (beyond the 32 MiB L3 of the 2-core machine) are
# memory-bound candidates: a triad moving the same bytes (capped: 3 x 160 MB is far
# beyond any cache) is timed in the same rounds as the cell, and its % of triad is taken
# against that. The run's single triad, measured before the first cell, moved by up to
# 2x between runs minutes apart on the shared machine (25.7-54.5 GB/s, one evening).
LOCAL_TRIAD_MIN_BYTES = 64 * 2 ** 20
LOCAL_TRIAD_MAX_BYTES = 480 * 10 ** 6


def _time_group(timed, repeat, min_time, ref, triad_bytes=None):
    """Time the callables of one size and dtype together (``measure_interleaved``): the
    speed-ups between them are ratios of medians from the same rounds. Each callable's
    first call (JIT compilation, cache loading, peer warm-up) is reported on its own
    (first_call_s) and is never inside a timed figure; its output gives the agreement
    columns, and is dropped before the next callable runs (at N=1e5 C=1000 one gradient
    is 800 MB)."""
    fns = {}
    for name, (fn, result, cell) in timed.items():
        t0 = time.perf_counter()
        out = fn()
        cell["first_call_s"] = time.perf_counter() - t0
        cell.update(agreement(result(out), ref))
        del out
        fns[name] = fn
    if triad_bytes:
        fns[_TRIAD], moved = triad_call(triad_bytes)
    # Calls of a quarter second and more are long against timer and scheduler noise:
    # three rounds give a stable median and keep the default run short (5.4 min on the
    # 2-core machine with the lead-ins; it would be longer with five).
    slow = any(cell["first_call_s"] > 0.25 for _, _, cell in timed.values())
    stats = measure_interleaved(fns, repeat=min(repeat, 3) if slow else repeat, min_time=min_time)
    for name, (fn, _, cell) in timed.items():
        cell.update(stats[name])
        cell["peak_extra_bytes"] = memory.peak_extra_bytes(fn)
        if triad_bytes:
            cell["triad_gbps_local"] = moved / stats[_TRIAD]["median"] / 1e9


_TRIAD = "(triad)"  # not a backend name


def reusing_grad(case, backend):
    """A call that passes the gradient of its first call back as ``grad_out`` from then on."""
    buf = []

    def fn():
        if not buf:
            out = case(backend=backend)
            buf.append(out[1])
            return out
        return case(backend=backend, grad_out=buf[0])
    return fn


def _time_loop(case, ref_call, ref):
    """The loop tier: one call is the measurement (no JIT to warm up, and it is slow
    enough that timer resolution does not matter; repeats would blow the budget). Its
    float64 call is the reference call already made."""
    if ref_call is not None and ref_call[0] == "loop":
        _, t, out = ref_call
    else:
        t0 = time.perf_counter()
        out = case(backend="loop")
        t = time.perf_counter() - t0
    stats = {"median": t, "p20": t, "p80": t, "number": 1, "repeat": 1, "first_call_s": t,
             "peak_extra_bytes": None}
    stats.update(agreement(out, ref))
    return stats


def _speedups(cells):
    """Speed-up of each cell over the numpy and loop tiers and over each peer of its group."""
    times = {c["backend"]: c["median"] for c in cells if "median" in c}
    for c in cells:
        if "median" not in c:
            continue
        c["gbps"] = c["bytes_moved"] / c["median"] / 1e9
        for base in ("numpy", "loop") + peers_mod.PEERS:
            if base in times or base in ("numpy", "loop"):
                c[f"speedup_vs_{base}"] = times[base] / c["median"] if base in times else None
