"""Compare two benchmark runs cell by cell (e.g. before and after a change)."""
import math

from .report import _fmt_time

KEY = ("loss", "size", "n", "d", "c", "dtype", "backend")
RATIO_SENTENCE = ("ratio = old median / new median for the same loss, size, dtype and backend: "
                  "above 1 the new run is faster, below 1 it is slower.")


def _key(cell):
    return tuple(cell.get(k) for k in KEY)


def _median(cell):
    """The cell's median, or None if the cell was skipped or has no timing."""
    if cell is None or cell.get("skipped"):
        return None
    return cell.get("median")


def _row(key, old, new):
    row = dict(zip(KEY, key))
    old_med, new_med = _median(old), _median(new)
    row["old_median"], row["new_median"] = old_med, new_med
    row["ratio"] = old_med / new_med if old_med and new_med else None
    if old is None:
        row["status"] = "only_new"
    elif new is None:
        row["status"] = "only_old"
    elif old_med is None or new_med is None:
        row["status"] = "skipped"
        row["note"] = "; ".join(f"{side} skipped: {c['skipped']}" for side, c in
                                (("old", old), ("new", new)) if c.get("skipped"))
    else:
        row["status"] = "matched"
    return row


def compare(old_cells, new_cells):
    """Match cells of two runs by (loss, size, n, d, c, dtype, backend).

    Returns one dict per key present in either run, in the order old then new-only:
    the key fields, ``old_median``, ``new_median``, ``ratio`` = old / new (above 1 the
    new run is faster; None unless both were timed) and ``status``: "matched",
    "skipped" (skipped in one or both; ``note`` gives the reasons), "only_old" or
    "only_new".
    """
    old = {_key(c): c for c in old_cells}
    new = {_key(c): c for c in new_cells}
    keys = list(old) + [k for k in new if k not in old]
    return [_row(k, old.get(k), new.get(k)) for k in keys]


def _sort_key(row):
    return (str(row["loss"]), row.get("n") or 0, row.get("d") or 0, row.get("c") or 0,
            str(row["size"]), str(row["dtype"]), str(row["backend"]))


def _geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def _dims(row):
    dims = f"N={row['n']}"
    if row.get("d") is not None:
        dims += f" D={row['d']}"
    if row.get("c") is not None:
        dims += f" C={row['c']}"
    return dims


def _describe(row):
    return f"{row['loss']} {row['size']} ({_dims(row)}) {row['dtype']} {row['backend']}"


def _matched_lines(rows):
    cols = ("loss", "size", "shape", "dtype", "backend", "old", "new", "ratio")
    table = [cols]
    for r in rows:
        table.append((str(r["loss"]), str(r["size"]), _dims(r), str(r["dtype"]), str(r["backend"]),
                      _fmt_time(r["old_median"]), _fmt_time(r["new_median"]),
                      f"{r['ratio']:.2f}x"))
    widths = [max(len(line[i]) for line in table) for i in range(len(cols))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip() for line in table]
    losses = dict.fromkeys(r["loss"] for r in rows)
    for loss in losses:
        g = _geomean([r["ratio"] for r in rows if r["loss"] == loss and r["ratio"] > 0])
        if g is not None:
            lines.append(f"  {loss}: geometric mean ratio {g:.2f}x")
    return lines


def format_compare(rows):
    """Terminal text for ``compare``'s rows: the matched cells sorted by loss with their
    ratio (and the sentence saying what it means), then the cells skipped in a run and
    those present in only one of the two runs."""
    rows = sorted(rows, key=_sort_key)
    matched = [r for r in rows if r["status"] == "matched"]
    lines = [RATIO_SENTENCE, ""]
    lines += _matched_lines(matched) if matched else ["(no cell was timed in both runs)"]
    sections = (("skipped", "Skipped in one or both runs (no ratio):"),
                ("only_old", "Only in the old run:"),
                ("only_new", "Only in the new run:"))
    for status, title in sections:
        group = [r for r in rows if r["status"] == status]
        if group:
            lines += ["", title]
            lines += [f"  {_describe(r)}" + (f" -- {r['note']}" if r.get("note") else "")
                      for r in group]
    return "\n".join(lines)
