"""Write a benchmark run to disk: results.json, results.csv, report.md and plots.

A run is an ``info`` dict (machine facts, see ``report.machine_info``) and a list of
cells (one dict per loss x size x dtype x backend, see ``run.run``). Every writer is
tolerant of cells that lack optional keys: a missing or None value prints as "-" in
the report and as an empty field in the CSV.
"""
import csv
import json
import math
import os

from .report import _fmt_bytes, _fmt_time

FORMAT = "fastloss-bench"
FORMAT_VERSION = 1
COMPILED = ("numba", "cython")

# Run facts repeated on every CSV row, then the cell columns in this order; any other
# key some cell carries is appended after these, sorted by name.
INFO_COLUMNS = ("machine", "platform", "cpu", "cores", "threads", "versions", "date",
                "command", "triad_gbps", "cython_openmp", "grad_out")
CELL_COLUMNS = ("loss", "size", "n", "d", "c", "dtype", "backend", "kind", "reference",
                "skipped", "median", "p20", "p80", "number", "repeat", "first_call_s",
                "speedup_vs_numpy", "speedup_vs_loop", "loss_abs_diff", "grad_max_abs_diff",
                "grad_max_rel_diff", "input_bytes", "bytes_moved", "gbps", "pct_triad",
                "triad_gbps_local", "peak_extra_bytes")

RATIO_SENTENCE = (
    "**How to read the ratios:** *x numpy* and *x loop* are the median time of the numpy "
    "(resp. loop) tier divided by the median time of the row, for the same loss, size and "
    "dtype in this same run, timed in interleaved rounds (one sample of each backend and "
    "peer per round, the order rotated), so a drift of the machine's speed hits all of "
    "them alike; above 1 the row is that many times faster, below 1 slower. "
    "*GB/s* is the bytes a call must move divided by its median time, and *% of triad* "
    "that bandwidth as a share of the STREAM-triad bandwidth: for cells that move 64 MiB "
    "or more, a triad moving the same bytes timed in the same rounds (`triad_gbps_local`), "
    "else the triad measured once at the start of the run. "
    "*max |dgrad|* is the largest difference of the gradient from the float64 reference "
    "named for each size: *abs* in the gradient's units, *rel* divided by the largest "
    "|reference gradient| entry. The first call (JIT compilation or cache loading "
    "included) is reported on its own and is not part of any timed figure.")


# --------------------------------------------------------------------------- JSON


def _json_default(obj):
    """Turn numpy scalars and arrays (which json cannot encode) into Python values."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def write_json(path, info, cells):
    """Write the run as ``{"format", "version", "info", "cells"}`` to ``path``.

    Non-finite floats (a NaN gradient difference) are written as NaN/Infinity, which
    Python's json module reads back."""
    doc = {"format": FORMAT, "version": FORMAT_VERSION, "info": info, "cells": cells}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, default=_json_default)
        f.write("\n")
    return path


def read_json(path):
    """Read a file written by ``write_json``; returns ``(info, cells)``.

    A bare JSON list of cells is accepted too (``info`` is then empty)."""
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    if isinstance(doc, list):
        return {}, doc
    if doc.get("format") not in (None, FORMAT):
        raise ValueError(f"{path}: not a fastloss bench file (format {doc.get('format')!r})")
    return doc.get("info") or {}, doc.get("cells") or []


# --------------------------------------------------------------------------- CSV


def _versions_text(versions):
    """``{"numpy": "1.26"}`` -> ``"numpy=1.26"``; several joined with ``;``."""
    if isinstance(versions, dict):
        return ";".join(f"{k}={v}" for k, v in versions.items())
    return "" if versions is None else str(versions)


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value


def csv_columns(cells):
    """The CSV header: run facts, the known cell columns, then any extra cell keys."""
    extra = sorted({k for c in cells for k in c} - set(CELL_COLUMNS) - set(INFO_COLUMNS))
    return list(INFO_COLUMNS) + list(CELL_COLUMNS) + extra


def write_csv(path, info, cells):
    """Write one row per cell (long format), with the run facts repeated on each row."""
    facts = {k: info.get(k) for k in INFO_COLUMNS}
    facts["versions"] = _versions_text(info.get("versions"))
    columns = csv_columns(cells)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for cell in cells:
            row = {**facts, **cell}
            writer.writerow({k: _csv_value(row.get(k)) for k in columns})
    return path


# --------------------------------------------------------------------------- summary


def _timed(cells):
    return [c for c in cells if not c.get("skipped") and c.get("median") is not None]


def _finite(x):
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def _by_loss(cells):
    """Cells grouped per loss, losses and cells in the order they first appear."""
    groups = {}
    for c in cells:
        groups.setdefault(c.get("loss", "?"), []).append(c)
    return groups


def _best(cells, key):
    """The compiled-tier cell with the largest ``key`` value, or None."""
    pool = [c for c in cells if c.get("backend") in COMPILED and _finite(c.get(key))]
    return max(pool, key=lambda c: c[key]) if pool else None


def _worst_grad(cells):
    """The fastloss-tier cell (peers excluded) whose gradient differs most from the
    reference: the largest relative difference, a NaN counting as the worst."""
    pool = [c for c in cells if c.get("kind", "tier") != "peer"
            and c.get("grad_max_rel_diff") is not None]
    if not pool:
        return None

    def badness(c):
        rel = c["grad_max_rel_diff"]
        return math.inf if isinstance(rel, float) and math.isnan(rel) else rel

    return max(pool, key=badness)


def _where(cell, prefix):
    """``{prefix}_backend/size/n/d/c/dtype`` of ``cell`` (None values if no cell)."""
    return {f"{prefix}_{k}": (cell or {}).get(k)
            for k in ("backend", "size", "n", "d", "c", "dtype")}


def size_namer(cells):
    """A function (size, d, c) -> size label for one loss's cells: the label alone, or
    with the class count (and D) appended when the loss ran several shapes, so that e.g.
    cross_entropy "small" at C=10 and at C=1000 stay apart."""
    shapes = {(c.get("d"), c.get("c")) for c in cells}
    several_d = len({d for d, _ in shapes}) > 1

    def name(size, d, c):
        if len(shapes) < 2:
            return str(size)
        return f"{size} (D={d}, C={c})" if several_d else f"{size} (C={c})"

    return name


def summary_rows(cells):
    """One dict per loss: the best compiled speed-ups and the worst gradient disagreement.

    Keys: ``loss``; ``best_vs_numpy`` = the larger of the numba and cython speed-ups over
    numpy, over every size and dtype, and where it was measured: ``best_vs_numpy_backend``,
    ``_size``, ``_n``, ``_d``, ``_c``, ``_dtype`` and ``_size_name`` (the size label, with
    the class count appended when the loss ran several shapes); the same for
    ``best_vs_loop`` (only sizes where the loop tier ran); ``worst_grad_abs`` and
    ``worst_grad_rel`` of the fastloss-tier cell (peers left out) whose gradient is
    furthest from the reference in relative terms, with the same ``worst_grad_*`` keys
    saying where. Values are None where no cell qualifies.
    """
    rows = []
    for loss, group in _by_loss(cells).items():
        timed = _timed(group)
        name = size_namer(group)
        row = {"loss": loss}
        picks = {}
        for base in ("numpy", "loop"):
            picks[f"best_vs_{base}"] = best = _best(timed, f"speedup_vs_{base}")
            row[f"best_vs_{base}"] = best[f"speedup_vs_{base}"] if best else None
        picks["worst_grad"] = worst = _worst_grad(timed)
        row["worst_grad_abs"] = (worst or {}).get("grad_max_abs_diff")
        row["worst_grad_rel"] = (worst or {}).get("grad_max_rel_diff")
        for prefix, cell in picks.items():
            row.update(_where(cell, prefix))
            row[f"{prefix}_size_name"] = (name(cell.get("size"), cell.get("d"), cell.get("c"))
                                          if cell else None)
        rows.append(row)
    return rows


def _place(row, prefix):
    """Where a summary figure was measured, e.g. ``cython, large (C=1000) float32``."""
    return f"{row[prefix + '_backend']}, {row[prefix + '_size_name']} {row[prefix + '_dtype']}"


def _fmt_speedup(row, base):
    value = row[f"best_vs_{base}"]
    if value is None:
        return "-"
    return f"{_fmt_x(value)} ({_place(row, f'best_vs_{base}')})"


def _fmt_worst(row):
    if row["worst_grad_rel"] is None:
        return "-"
    return (f"{_fmt_sci(row['worst_grad_abs'])} abs, {_fmt_sci(row['worst_grad_rel'])} rel "
            f"({_place(row, 'worst_grad')})")


def format_summary(rows):
    """The summary rows as a plain-text table for the terminal."""
    table = [("loss", "best compiled x numpy", "best compiled x loop", "worst max|dgrad|")]
    table += [(r["loss"], _fmt_speedup(r, "numpy"), _fmt_speedup(r, "loop"), _fmt_worst(r))
              for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(4)]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip()
                     for line in table)


# --------------------------------------------------------------------------- markdown


def _fmt_sci(x):
    return "-" if x is None else f"{x:.2e}"


def _fmt_sig(x):
    """Three significant digits, without exponent notation up to 10^6."""
    if x is None:
        return "-"
    return f"{x:.0f}" if 1000 <= abs(x) < 1e6 else f"{x:.3g}"


def _fmt_x(x):
    return "-" if x is None else f"{_fmt_sig(x)}x"


def _fmt_pct(x):
    if x is None:
        return "-"
    return f"{x:.0f}%" if abs(x) >= 10 else f"{x:.2g}%"


def _md_escape(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_md_escape(v) for v in row) + " |" for row in rows]
    return lines


def _dims(cell):
    parts = [f"N={cell.get('n')}"]
    if cell.get("d") is not None:
        parts.append(f"D={cell['d']}")
    if cell.get("c") not in (None, 1) or cell.get("d") is not None:
        parts.append(f"C={cell.get('c')}")
    return ", ".join(parts)


def _header_md(info):
    versions = _versions_text(info.get("versions")).replace(";", ", ").replace("=", " ")
    triad = info.get("triad_gbps")
    triad_text = (f"{triad:.3g} GB/s (STREAM triad, measured once in this run)"
                  if triad is not None else "not measured")
    return [
        "# fastloss benchmark",
        "",
        f"- **Machine:** {info.get('machine', '-')} ({info.get('platform', '-')})",
        f"- **CPU:** {info.get('cpu', '-')}",
        f"- **Cores / threads:** {info.get('cores', '-')} cores, "
        f"{info.get('threads', '-')} threads",
        f"- **Versions:** {versions or '-'}",
        f"- **Date:** {info.get('date', '-')}",
        f"- **Command:** `{info.get('command', '-')}`",
        f"- **Memory bandwidth:** {triad_text}",
        "",
        RATIO_SENTENCE,
        "",
    ]


def _summary_md(cells):
    lines = ["## Summary", "",
             "Best compiled = the larger of the numba and cython speed-ups over every size and "
             "dtype of the loss (the loop tier runs only at sizes within its time budget). "
             "Worst max |dgrad| = the fastloss-tier cell (peers left out) whose gradient is "
             "furthest from the float64 reference, relative to the reference's largest entry.",
             ""]
    rows = [(r["loss"], _fmt_speedup(r, "numpy"), _fmt_speedup(r, "loop"), _fmt_worst(r))
            for r in summary_rows(cells)]
    lines += _md_table(("loss", "best compiled x numpy", "best compiled x loop",
                        "worst max \\|dgrad\\|"), rows)
    return lines + [""]


LOSS_TABLE_HEADER = ("size", "dtype", "backend", "time (median)", "p20-p80", "x numpy",
                     "x loop", "GB/s", "% of triad", "peak extra mem",
                     "max \\|dgrad\\| abs", "max \\|dgrad\\| rel", "first call")


def _backend_label(cell):
    name = cell.get("backend", "?")
    return f"{name} (peer)" if cell.get("kind") == "peer" else name


def _loss_row(cell, name):
    size = name(cell.get("size", "?"), cell.get("d"), cell.get("c"))
    lead = (size, cell.get("dtype", "?"), _backend_label(cell))
    if cell.get("skipped") or cell.get("median") is None:
        reason = cell.get("skipped") or "no timing recorded"
        return lead + (f"skipped: {reason}",) + ("",) * (len(LOSS_TABLE_HEADER) - 4)
    return lead + (
        _fmt_time(cell.get("median")),
        f"{_fmt_time(cell.get('p20'))} - {_fmt_time(cell.get('p80'))}",
        _fmt_x(cell.get("speedup_vs_numpy")),
        _fmt_x(cell.get("speedup_vs_loop")),
        _fmt_sig(cell.get("gbps")),
        _fmt_pct(cell.get("pct_triad")),
        _fmt_bytes(cell.get("peak_extra_bytes")),
        _fmt_sci(cell.get("grad_max_abs_diff")),
        _fmt_sci(cell.get("grad_max_rel_diff")),
        _fmt_time(cell.get("first_call_s")),
    )


def _sizes_md(group, name):
    """One bullet per size: its dimensions and the reference it was checked against."""
    seen = {}
    for c in group:
        seen.setdefault(name(c.get("size"), c.get("d"), c.get("c")), c)
    return [f"- `{label}`: {_dims(c)}; reference {c.get('reference', '-')}"
            for label, c in seen.items()]


def _losses_md(cells):
    lines = ["## Results per loss", ""]
    for loss, group in _by_loss(cells).items():
        name = size_namer(group)
        lines += [f"### {loss}", ""] + _sizes_md(group, name) + [""]
        lines += _md_table(LOSS_TABLE_HEADER, [_loss_row(c, name) for c in group]) + [""]
    return lines


def _plots_md(plot_files, report_dir):
    if not plot_files:
        return []
    lines = ["## Plots", ""]
    for path in plot_files:
        rel = os.path.relpath(path, report_dir).replace(os.sep, "/")
        title = os.path.splitext(os.path.basename(path))[0].replace("_", " ")
        lines += [f"![{title}]({rel})", ""]
    return lines


def markdown(info, cells, plot_files=(), report_dir="."):
    """The text of report.md (see ``write_markdown``)."""
    lines = _header_md(info) + _summary_md(cells) + _losses_md(cells)
    lines += _plots_md(plot_files, report_dir)
    return "\n".join(lines).rstrip() + "\n"


def write_markdown(path, info, cells, plot_files=()):
    """Write report.md: run header and how to read the ratios, the one-screen summary,
    one table per loss (skipped cells with their reason), then the plots embedded with
    paths relative to the report."""
    report_dir = os.path.dirname(os.path.abspath(path))
    plot_files = [os.path.abspath(p) for p in plot_files]
    with open(path, "w", encoding="utf-8") as f:
        f.write(markdown(info, cells, plot_files, report_dir))
    return path


# --------------------------------------------------------------------------- all


def write_all(outdir, info, cells, plots=True):
    """Write results.json, results.csv, the plots (when ``plots`` and matplotlib
    imports) and report.md into ``outdir``; returns the written paths."""
    os.makedirs(outdir, exist_ok=True)
    written = [write_json(os.path.join(outdir, "results.json"), info, cells),
               write_csv(os.path.join(outdir, "results.csv"), info, cells)]
    plot_files = []
    if plots:
        from . import plots as plotting

        if plotting.have_matplotlib():
            plot_files = plotting.plot_times(cells, outdir) + plotting.plot_speedups(cells, outdir)
    written += plot_files
    written.append(write_markdown(os.path.join(outdir, "report.md"), info, cells, plot_files))
    return written
