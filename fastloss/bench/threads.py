"""Thread behaviour of the compiled tiers, measured (``fastloss threads``).

1. GIL release: 2K calls split over two Python threads (one compiled thread each) against
   the same 2K calls from one thread. A kernel that held the GIL cannot beat 1.0x.
2. Compiled scaling: one call with ``num_threads(1)`` against ``num_threads(max_threads())``,
   with a fresh gradient per call and with the gradient buffer reused (``grad_out=``). The
   fresh one includes the page faults of a new N x C array (800 MB at N=1e5 C=1000 float64:
   ~55 ms of a ~200 ms one-thread call, measured), work of the operating system that two
   threads do not halve; the reused one is the compiled threads' own scaling.
3. Oversubscription: the 2K calls from a pool of two Python threads that leave the default
   thread count (each call wants every core): peak OS threads, time, and no deadlock.

Every speed-up is serial (or one-thread) time / threaded time: above 1 is faster.
"""
import concurrent.futures
import json
import os
import statistics
import sys
import threading
import time

import numpy as np

import fastloss
from fastloss._cases import make_case
from fastloss._registry import check_backend
from fastloss._threads import max_threads

from . import memory, report, timing
from .run import reusing_grad

COMPILED = ("numba", "cython")
# label -> (loss, N, C)
SIZES = {"cross_entropy N=1e5 C=1000": ("cross_entropy", 10 ** 5, 1000),
         "hinge N=1e7": ("hinge", 10 ** 7, 1)}
QUICK_SIZES = {"cross_entropy N=2000 C=100": ("cross_entropy", 2000, 100),
               "hinge N=1e5": ("hinge", 10 ** 5, 1)}


def os_threads():
    """OS threads of this process now. numba's and OpenMP's workers are native threads that
    ``threading`` cannot see, so Linux's own count is read; elsewhere a Python-only fallback."""
    try:
        return memory.status_value("Threads")
    except (OSError, AttributeError):  # no /proc, or no Threads line
        return threading.active_count()


class _PeakThreads:
    """Samples os_threads() from a watcher thread (counted in the peak, +1)."""

    def __init__(self, interval=0.002):
        self.interval, self.before = interval, os_threads()
        self.peak, self._stop = self.before, threading.Event()
        self._watcher = threading.Thread(target=self._watch, daemon=True)

    def _watch(self):
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, os_threads())

    def __enter__(self):
        self._watcher.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._watcher.join()


def _identical(a, b):
    return np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def _serial_vs_pool(case, backend, threads, calls, repeat, workers, timeout):
    """2K calls from this thread, then from ``workers`` pool threads (K each), alternating
    so that drift of a shared machine hits both sides alike. ``threads=None``: the workers
    keep the default count and the serial side uses max_threads()."""
    barrier = threading.Barrier(workers)

    def batch(k, n, keep=False):
        # The thread count is per calling thread: a worker must set its own (None: keep the
        # default a fresh thread gets). Timed batches keep losses only: 2K full results would
        # hold 2K gradients, 800 MB each at full size.
        with fastloss.num_threads(n or fastloss.get_num_threads()):
            used = fastloss.get_num_threads()
            out = [case(backend=backend) if keep else case(backend=backend)[0] for _ in range(k)]
        return threading.get_ident(), used, out

    def task(k, keep):
        barrier.wait(timeout)  # workers start together, and no worker runs two batches
        return batch(k, threads, keep)

    def pooled(k, keep=False):
        start = time.perf_counter()
        futures = [pool.submit(task, k, keep) for _ in range(workers)]
        out = [f.result(timeout=max(0.0, start + timeout - time.perf_counter())) for f in futures]
        return time.perf_counter() - start, out

    def serial(k):
        start = time.perf_counter()
        batch(k, threads or max_threads())
        return time.perf_counter() - start

    reference = batch(1, threads or max_threads(), keep=True)[2][0]
    pool = concurrent.futures.ThreadPoolExecutor(workers)
    result = {"completed": False, "timeout_s": timeout, "workers": workers, "calls": workers * calls}
    try:
        _, checked = pooled(1, keep=True)  # also warms the workers' thread teams
        result["identical"] = all(_identical(r, reference) for _, _, rs in checked for r in rs)
        result["threads_per_call"] = min(n for _, n, _ in checked)
        result["distinct_workers"] = len({ident for ident, _, _ in checked})
        serial_s, pool_s = [], []
        for _ in range(repeat):
            serial_s.append(serial(workers * calls))
            pool_s.append(pooled(calls)[0])
        result.update(serial_s=statistics.median(serial_s), pool_s=statistics.median(pool_s),
                      completed=True)
        result["speedup"] = result["serial_s"] / result["pool_s"]
    except (concurrent.futures.TimeoutError, threading.BrokenBarrierError):
        pass  # a stuck worker cannot be killed: report it, do not wait for it
    finally:
        pool.shutdown(wait=result["completed"], cancel_futures=True)
    return result


def gil_release(case, backend, calls=2, repeat=5, workers=2, timeout=60.0):
    """Serial time of ``workers * calls`` calls with one compiled thread, against the same calls
    split over ``workers`` Python threads that each set one compiled thread. Returns a dict:
    serial_s, pool_s (medians over ``repeat``), speedup, identical (every threaded result
    equals the serial one bit for bit), threads_per_call, distinct_workers, completed."""
    return _serial_vs_pool(case, backend, 1, calls, repeat, workers, timeout)


def oversubscription(case, backend, calls=2, repeat=5, workers=2, timeout=60.0):
    """As gil_release, but the pool's threads leave the default thread count, so every call
    asks for max_threads() compiled threads at once (the serial side uses max_threads() too).
    Adds os_threads_before and os_threads_peak (sampled by a watcher thread, itself counted);
    completed is False if a call did not return within ``timeout`` seconds (a deadlock)."""
    with _PeakThreads() as watch:
        result = _serial_vs_pool(case, backend, None, calls, repeat, workers, timeout)
    return {**result, "os_threads_before": watch.before, "os_threads_peak": watch.peak}


def thread_scaling(case, backend, repeat=5, min_time=0.05, reuse_grad=False):
    """Median per-call time with one compiled thread and with max_threads(), measured in
    interleaved rounds (``timing.measure_interleaved``: the one-thread and the
    many-thread calls alternate, so a drift of the shared machine's speed hits both);
    speedup = one-thread time / max-thread time. ``reuse_grad``: every call after the
    first writes into the first call's gradient (``grad_out=``)."""
    fn = reusing_grad(case, backend) if reuse_grad else (lambda: case(backend=backend))
    if reuse_grad:
        fn()  # allocates the buffer outside the timed calls

    def with_threads(n):
        def call():
            with fastloss.num_threads(n):
                return fn()
        return call

    many = max_threads()
    stats = timing.measure_interleaved({1: with_threads(1), many: with_threads(many)},
                                       repeat, min_time)
    return {"threads": many, "one_s": stats[1]["median"], "max_s": stats[many]["median"],
            "speedup": stats[1]["median"] / stats[many]["median"]}


def run(sizes=None, backends=None, calls=2, repeat=5, min_time=0.05, timeout=60.0):
    """All three measurements for every size label -> (loss, N, C) and compiled backend;
    one dict per (size, backend) with keys case, loss, n, c, backend, gil, scaling, oversubscription."""
    backends = backends or [b for b in COMPILED if b in fastloss.available_backends()]
    rows = []
    for label, (loss, n, c) in (sizes or SIZES).items():
        case = make_case(loss, rng=0, n=n, c=c)
        for backend in backends:
            case(backend=backend)  # JIT compilation / cache loading stays out of every figure
            rows.append({"case": label, "loss": loss, "n": n, "c": c, "backend": backend,
                         "gil": gil_release(case, backend, calls, repeat, timeout=timeout),
                         "scaling": thread_scaling(case, backend, repeat, min_time),
                         "scaling_reused": thread_scaling(case, backend, repeat, min_time,
                                                          reuse_grad=True),
                         "oversubscription": oversubscription(case, backend, calls, repeat,
                                                              timeout=timeout)})
    return rows


def _cell(d, key="speedup", a="serial_s", b="pool_s"):
    if not d.get("completed", True):
        return f"no result within {d['timeout_s']:g} s"
    return f"{d[key]:.2f}x ({report._fmt_time(d[a])} -> {report._fmt_time(d[b])})"


def table(rows):
    """Markdown table of run()'s rows."""
    n = max_threads()
    lines = ["| case | backend | GIL: 2 Python threads vs 1 (1 compiled thread each) | "
             f"{n} compiled threads vs 1 | {n} vs 1, gradient buffer reused | "
             f"pool of 2, default {n} threads each, vs serial | "
             "OS threads (before -> peak) | no deadlock |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        g, s, o = r["gil"], r["scaling"], r["oversubscription"]
        sr = r.get("scaling_reused")
        reused = _cell(sr, a="one_s", b="max_s") if sr else "-"
        lines.append(f"| {r['case']} | {r['backend']} | {_cell(g)} | {_cell(s, a='one_s', b='max_s')} | "
                     f"{reused} | "
                     f"{_cell(o)} | {o['os_threads_before']} -> {o['os_threads_peak']} | "
                     f"{'yes' if o['completed'] and g['completed'] else 'NO'} |")
    return "\n".join(lines)


def _layers():  # the Cython tier's OpenMP is in report.machine_info()
    try:
        import numba
        layer = numba.threading_layer()
    except (ImportError, ValueError):  # ValueError: no parallel call yet
        layer = None
    return {"numba_threading_layer": layer, "max_threads": max_threads()}


def main(backends=None, quick=False, out="bench-results", repeat=5):
    """``fastloss threads``: run, print the table, write OUT/threads.json. Exit status 1 if a
    pool did not finish in time. ``repeat``: timed rounds per measurement (medians)."""
    for b in backends or ():
        if b not in COMPILED:
            raise ValueError(f"--backend {b!r}: thread measurements need a compiled tier {COMPILED}")
        check_backend(b)
    rows = run(QUICK_SIZES if quick else SIZES, backends, repeat=repeat)
    info = {**report.machine_info(), **_layers()}
    print(f"fastloss threads | {info['date']} | {info['cpu']} | {info['cores']} cores | numba layer "
          f"{info['numba_threading_layer']} | cython OpenMP {info['cython_openmp']}\n")
    print(table(rows))
    print("\nspeed-up = serial (or 1-thread) time / threaded time, medians; times in brackets "
          "are for all 2K calls (per call for compiled threads).")
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "threads.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"format": "fastloss-threads", "version": 1, "info": info, "rows": rows}, f, indent=1)
        f.write("\n")
    print(f"wrote {path}")
    if all(r["gil"]["completed"] and r["oversubscription"]["completed"] for r in rows):
        return 0
    sys.stdout.flush()
    os._exit(1)  # a deadlocked worker would keep the interpreter from ever exiting
