"""Render harness cells as text: the terminal table and its header."""
import datetime
import os
import platform
import sys

import numpy as np

import fastloss


def _cpu_name(cpuinfo="/proc/cpuinfo", cache_dir="/sys/devices/system/cpu/cpu0/cache"):
    """The CPU's model name, with its family / model / stepping and cache sizes where
    Linux tells them: cloud machines often report only "Intel(R) Xeon(R) Processor", and
    two such machines of different generations (different memory bandwidth and caches)
    give different tables, so a table has to say which one it ran on."""
    name = platform.processor() or platform.machine()
    ident = {}
    try:
        with open(cpuinfo) as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "cpu family", "model", "stepping"):
                    ident[key] = value.strip()
                elif not key:  # the first processor's block ends: its keys are unique
                    break
    except OSError:
        pass
    name = ident.get("model name", name)
    details = []
    if all(k in ident for k in ("cpu family", "model", "stepping")):
        details.append(f"family {ident['cpu family']} model {ident['model']} "
                       f"stepping {ident['stepping']}")
    sizes = {}  # cache level -> size of cpu0's cache of that level ("2048K")
    indexes = sorted(os.listdir(cache_dir)) if os.path.isdir(cache_dir) else []
    for index in indexes:
        try:
            with open(os.path.join(cache_dir, index, "level")) as f:
                level = f.read().strip()
            with open(os.path.join(cache_dir, index, "size")) as f:
                size = f.read().strip()
        except OSError:
            continue
        if level in ("2", "3"):
            sizes.setdefault(level, size)
    if sizes:
        details.append(", ".join(f"L{level} {sizes[level]}" for level in sorted(sizes)))
    return f"{name} ({'; '.join(details)})" if details else name


def machine_info(threads=None):
    """Facts a published table needs: machine, CPU (``_cpu_name``), cores, versions, date,
    command."""
    cpu = _cpu_name()
    versions = {"fastloss": fastloss.__version__, "python": platform.python_version(),
                "numpy": np.__version__}
    for mod in ("numba", "Cython"):
        try:
            versions[mod] = __import__(mod).__version__
        except ImportError:
            pass
    threads = threads or fastloss.get_num_threads()
    try:  # a Cython tier built without OpenMP runs serially: a table must say so
        from fastloss._cython import openmp
        cython_openmp = bool(openmp.have_openmp())
        built = openmp.cython_version()
        if built:  # the Cython that compiled the tier, not whichever one is importable now
            versions["Cython"] = built
    except ImportError:
        cython_openmp = None
    return {"machine": platform.node(), "platform": platform.platform(), "cpu": cpu,
            "cores": os.cpu_count(), "threads": threads, "versions": versions,
            "cython_openmp": cython_openmp,
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "command": " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:])}


def _fmt_time(s):
    if s is None:
        return "-"
    for unit, f in (("s", 1.0), ("ms", 1e3), ("us", 1e6)):
        if s * f >= 1:
            return f"{s * f:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def _fmt_bytes(n):
    """Bytes in binary units (the terminal table and report.md share it)."""
    if n is None:
        return "-"
    for unit, scale in (("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if abs(n) >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} B"


def _fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}x"


def header(info):
    v = ", ".join(f"{k} {val}" for k, val in info["versions"].items())
    triad = info.get("triad_gbps")
    bw = f" | triad {triad:.1f} GB/s" if triad else ""
    reuse = " | gradient buffer reused (grad_out=)" if info.get("grad_out") == "reused" else ""
    if info.get("cython_openmp") is False:
        reuse += " | Cython tier built WITHOUT OpenMP (serial)"
    return (f"fastloss bench | {info['date']} | {info['cpu']} | {info['cores']} cores, "
            f"{info['threads']} threads{bw}{reuse}\n{v}\ncommand: {info['command']}\n"
            "time = median per call (p20-p80 spread); xnumpy / xloop / xtorch / xsklearn = that "
            "backend's time divided by this one's, same run (higher is faster);\n"
            "GB/s = bytes that must move (inputs read once, gradient written once) per second, "
            "with its % of the triad bandwidth (the triad timed in the same rounds where a title gives\n"
            "one, else the run's); tiers and peers of a size and dtype are timed in interleaved rounds;\npeak = extra resident memory at the call's peak; "
            "dgrad = max abs (and relative) gradient difference from the float64 reference named "
            "in each title.")


def _peers_in(cells):
    return [p for p in ("torch", "sklearn") if any(c["backend"] == p for c in cells)]


def table(cells):
    """Terminal table, one block per (loss, size)."""
    peers = _peers_in(cells)
    cols = ["backend", "dtype", "time", "p20-p80", "xnumpy", "xloop"] + [f"x{p}" for p in peers] + [
        "GB/s (%triad)", "peak", "max|dgrad| (rel)", "1st call"]
    widths = [8, 8, 9, 19, 8, 8] + [9] * len(peers) + [15, 10, 20, 9]
    lines = []
    key = None
    for c in cells:
        k = (c["loss"], c["size"])
        if k != key:
            key = k
            dims = f"N={c['n']}" + (f" D={c['d']}" if c.get("d") else "") + (f" C={c['c']}" if c["c"] > 1 else "")
            # One block holds both dtypes, each timed in rounds (and with a triad) of its own.
            local = {x["dtype"]: x["triad_gbps_local"] for x in cells
                     if (x["loss"], x["size"]) == k and "triad_gbps_local" in x}
            bw = (" | triad in the same rounds " + ", ".join(
                f"{gbps:.1f} GB/s ({dt})" for dt, gbps in local.items())) if local else ""
            lines.append(f"\n{c['loss']} [{c['size']}: {dims}] reference: {c['reference']}{bw}")
            lines.append("  ".join(h.ljust(w) for h, w in zip(cols, widths)).rstrip())
        if "skipped" in c:
            vals = [c["backend"], c["dtype"], "skipped: " + c["skipped"]]
        else:
            pct = c.get("pct_triad")
            vals = [c["backend"], c["dtype"], _fmt_time(c["median"]),
                    f"{_fmt_time(c['p20'])}-{_fmt_time(c['p80'])}",
                    _fmt_ratio(c.get("speedup_vs_numpy")), _fmt_ratio(c.get("speedup_vs_loop"))]
            vals += [_fmt_ratio(c.get(f"speedup_vs_{p}")) for p in peers]
            vals += [f"{c['gbps']:.1f}" + (f" ({pct:.0f}%)" if pct is not None else ""),
                     _fmt_bytes(c.get("peak_extra_bytes")),
                     f"{c['grad_max_abs_diff']:.1e} ({c['grad_max_rel_diff']:.0e})",
                     _fmt_time(c["first_call_s"])]
        lines.append("  ".join(str(v).ljust(w) for v, w in zip(vals, widths)).rstrip())
    return "\n".join(lines)
