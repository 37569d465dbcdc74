"""Markdown tables of issue 5's targets from one ``benchmarks/targets.sh`` output folder.

Usage: ``python benchmarks/targets_table.py OUT > OUT/targets.md`` (targets.sh does this
at its end). Each table holds the harness rows of one target with its ratios; a ratio or
percentage that meets the target is bold. Reads only the JSON files the script wrote.
"""
import json
import os
import sys

GOALS = {"dev": 2.5, "full": 3.0}  # target 1: x numpy at N=500 and N=49000
PCT_TRIAD = 75                     # target 2: % of the triad timed in the same rounds
SKLEARN, TORCH = 2.0, 4.0          # target 3
SMALL = 1.25                       # target 4
THREADS = 1.7                      # target 6


def _load(folder, name):
    with open(os.path.join(folder, name + ".json")) as f:
        return json.load(f)


def _by_cell(cells):
    """{(loss, size, dtype): {backend: cell}} in the file's order."""
    out = {}
    for c in cells:
        out.setdefault((c["loss"], c["size"], c["dtype"]), {})[c["backend"]] = c
    return out


def _time(s):
    if s is None:
        return "-"
    if s >= 1:
        return "%.2f s" % s
    if s >= 1e-3:
        return "%.3g ms" % (s * 1e3)
    return "%.3g µs" % (s * 1e6)


def _ratio(x, goal):
    if x is None:
        return "-"
    s = "%.2fx" % x
    return "**%s**" % s if x >= goal else s


def _size(b):
    return "%.3g GiB" % (b / 2**30) if b >= 2**30 else "%.3g MiB" % (b / 2**20)


def _table(title, header, rows):
    lines = ["### " + title, "", "| " + " | ".join(header) + " |",
             "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def linear(folder):
    d = _load(folder, "linear")
    rows = []
    for (loss, size, dt), b in _by_cell(d["cells"]).items():
        goal = GOALS.get(size, 3.0)
        rows.append([loss, size, dt] + [_time(b[k]["median"]) for k in ("numpy", "numba", "cython")]
                    + [_ratio(b[k]["speedup_vs_numpy"], goal) for k in ("numba", "cython")])
    return _table("1. svm/softmax D=3073 C=10 (`linear.json`, %s)" % d["info"]["date"],
                  ["loss", "size", "dtype", "numpy", "numba", "cython", "numba × numpy",
                   "cython × numpy"], rows)


def elementwise(folder, name):
    d = _load(folder, name)

    def pct(c):
        return ("**%.0f%%**" if c["pct_triad"] >= PCT_TRIAD else "%.0f%%") % c["pct_triad"]
    rows = []
    for (loss, size, dt), b in _by_cell(d["cells"]).items():
        nb, cy = b["numba"], b["cython"]
        rows.append([loss, dt, "%.1f GB/s" % nb.get("triad_gbps_local", float("nan")),
                     _time(b["numpy"]["median"]), "%s (%s)" % (_time(nb["median"]), pct(nb)),
                     "%s (%s)" % (_time(cy["median"]), pct(cy)),
                     _ratio(nb["speedup_vs_numpy"], 5), _ratio(cy["speedup_vs_numpy"], 5)])
    return _table("2. Elementwise N=1e7 (`%s.json`, %s, run triad %.1f GB/s)"
                  % (name, d["info"]["date"], d["info"]["triad_gbps"]),
                  ["loss", "dtype", "triad same rounds", "numpy", "numba (% triad)",
                   "cython (% triad)", "numba × numpy", "cython × numpy"], rows)


def cross_entropy(folder):
    d = _load(folder, "cross_entropy_peers")
    rows = []
    for (loss, size, dt), b in _by_cell(d["cells"]).items():
        nb, cy = b["numba"], b["cython"]
        rows.append([size, dt, _time(nb["median"]), _time(cy["median"]),
                     _time(b.get("sklearn", {}).get("median")), _time(b.get("torch", {}).get("median")),
                     _ratio(nb.get("speedup_vs_sklearn"), SKLEARN), _ratio(cy.get("speedup_vs_sklearn"), SKLEARN),
                     _ratio(nb.get("speedup_vs_torch"), TORCH), _ratio(cy.get("speedup_vs_torch"), TORCH)])
    return _table("3. cross_entropy vs peers (`cross_entropy_peers.json`, %s)" % d["info"]["date"],
                  ["size", "dtype", "numba", "cython", "sklearn", "torch", "numba × sklearn",
                   "cython × sklearn", "numba × torch", "cython × torch"], rows)


def small(folder):
    d = _load(folder, "small")
    rows = []
    for (loss, size, dt), b in _by_cell(d["cells"]).items():
        cy, nb = b["cython"], b["numba"]
        rows.append([loss, dt] + [_time(b.get(k, {}).get("median"))
                                  for k in ("numpy", "numba", "cython", "torch", "sklearn")]
                    + [_ratio(cy.get(k), SMALL) for k in ("speedup_vs_numpy", "speedup_vs_torch",
                                                          "speedup_vs_sklearn")]
                    + [_ratio(nb["speedup_vs_numpy"], SMALL)])
    return _table("4. N=64 whole call (`small.json`, %s; default backend = cython)" % d["info"]["date"],
                  ["loss", "dtype", "numpy", "numba", "cython", "torch", "sklearn", "cython × numpy",
                   "cython × torch", "cython × sklearn", "numba × numpy"], rows)


def large_c(folder):
    d = _load(folder, "large_c")
    rows = []
    for (loss, size, dt), b in _by_cell(d["cells"]).items():
        ref = b["numpy"]["peak_extra_bytes"]
        rows.append([loss, dt] + ["%s / %s" % (_time(b[k]["median"]), _size(b[k]["peak_extra_bytes"]))
                                  for k in ("numpy", "numba", "cython")]
                    + ["%.1f%%" % (100 * b[k]["peak_extra_bytes"] / ref) for k in ("numba", "cython")]
                    + [_ratio(b[k]["speedup_vs_numpy"], 1.0) for k in ("numba", "cython")])
    return _table("5. Large C N=8192 D=256 C=32000 (`large_c.json`, %s)" % d["info"]["date"],
                  ["loss", "dtype", "numpy time / peak", "numba time / peak", "cython time / peak",
                   "numba peak %", "cython peak %", "numba × numpy", "cython × numpy"], rows)


def threads(folder):
    d = _load(folder, "threads")

    def cell(s):
        return "%s (%s -> %s)" % (_ratio(s["speedup"], THREADS), _time(s["one_s"]), _time(s["max_s"]))
    rows = [[r["case"], r["backend"], cell(r["scaling"]), cell(r["scaling_reused"])] for r in d["rows"]]
    return _table("6. Threads (`threads.json`, %s)" % d["info"]["date"],
                  ["case", "backend", "2 vs 1 threads, fresh gradient", "2 vs 1, gradient reused"], rows)


def main(folder):
    parts = [linear(folder), elementwise(folder, "elementwise_reused"),
             elementwise(folder, "elementwise"), cross_entropy(folder), small(folder),
             large_c(folder), threads(folder)]
    print("\n".join(parts), end="")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/issue5/after")
