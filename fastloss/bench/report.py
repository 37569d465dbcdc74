"""Render harness cells as text: the terminal table and its header."""
import datetime
import os
import platform
import sys

import numpy as np

import fastloss


def machine_info():
    """Facts a published table needs: machine, CPU, cores, versions, date, command."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {"fastloss": fastloss.__version__, "python": platform.python_version(),
                "numpy": np.__version__}
    for mod in ("numba", "Cython"):
        try:
            versions[mod] = __import__(mod).__version__
        except ImportError:
            pass
    try:
        import numba
        threads = numba.get_num_threads()
    except ImportError:
        threads = os.cpu_count()
    return {"machine": platform.node(), "platform": platform.platform(), "cpu": cpu,
            "cores": os.cpu_count(), "threads": threads, "versions": versions,
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "command": " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:])}


def _fmt_time(s):
    if s is None:
        return "-"
    for unit, f in (("s", 1.0), ("ms", 1e3), ("us", 1e6)):
        if s * f >= 1:
            return f"{s * f:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def _fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}x"


def header(info):
    v = ", ".join(f"{k} {val}" for k, val in info["versions"].items())
    return (f"fastloss bench | {info['date']} | {info['cpu']} | {info['cores']} cores, "
            f"{info['threads']} threads\n{v}\ncommand: {info['command']}\n"
            "time = median per call (p20-p80 spread); xnumpy / xloop = that tier's time divided "
            "by this one's, same run (higher is faster);\nmax|dgrad| = max abs difference of the "
            "gradient from the float64 reference named in the title.")


def table(cells):
    """Terminal table, one block per (loss, size)."""
    lines = []
    cols = ("backend", "dtype", "time", "p20-p80", "xnumpy", "xloop", "max|dgrad|", "|dloss|", "1st call")
    widths = (8, 8, 10, 19, 8, 8, 10, 9, 10)
    key = None
    for c in cells:
        k = (c["loss"], c["size"])
        if k != key:
            key = k
            dims = f"N={c['n']} D={c['d']} C={c['c']}" if "d" in c else f"N={c['n']}"
            lines.append(f"\n{c['loss']} [{c['size']}: {dims}] reference: {c['reference']}")
            lines.append("  ".join(h.ljust(w) for h, w in zip(cols, widths)))
        if "skipped" in c:
            vals = (c["backend"], c["dtype"], "skipped: " + c["skipped"])
        else:
            vals = (c["backend"], c["dtype"], _fmt_time(c["median"]),
                    f"{_fmt_time(c['p20'])}-{_fmt_time(c['p80'])}",
                    _fmt_ratio(c.get("speedup_vs_numpy")), _fmt_ratio(c.get("speedup_vs_loop")),
                    f"{c['grad_max_abs_diff']:.2e}", f"{c['loss_abs_diff']:.1e}",
                    _fmt_time(c["first_call_s"]))
        lines.append("  ".join(str(v).ljust(w) for v, w in zip(vals, widths)).rstrip())
    return "\n".join(lines)
