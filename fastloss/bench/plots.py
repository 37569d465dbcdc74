"""PNG plots of a benchmark run (matplotlib, Agg canvas, no pyplot global state).

matplotlib is imported inside the functions, so fastloss imports and benchmarks
without it; ``have_matplotlib()`` says whether plotting is possible.
"""
import os
import re

DTYPES = ("float64", "float32")
COMPILED = ("numba", "cython")
# Fixed colours so a tier looks the same in every plot; others take the next free one.
COLORS = {"loop": "#7f7f7f", "numpy": "#1f77b4", "numba": "#ff7f0e", "cython": "#2ca02c",
          "torch": "#d62728", "sklearn": "#9467bd"}
SPARE_COLORS = ("#8c564b", "#e377c2", "#bcbd22", "#17becf", "#000000")
LINESTYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P")


def have_matplotlib():
    """True if matplotlib imports."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _new_figure(width, height, ncols=1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    first = fig.add_subplot(1, ncols, 1)
    axes = [first] + [fig.add_subplot(1, ncols, i + 1, sharey=first) for i in range(1, ncols)]
    return fig, axes


def _save(fig, outdir, name):
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, name)
    fig.savefig(path)
    return path


def _safe(name):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name))


def _timed(cells):
    return [c for c in cells if not c.get("skipped") and c.get("median") is not None]


def _color(backend, used):
    if backend in COLORS:
        return COLORS[backend]
    spare = [c for c in SPARE_COLORS if c not in used.values()]
    return used.setdefault(backend, spare[0] if spare else "#000000")


def _shape_label(shape, shapes):
    """Series suffix for a (D, C) shape, only when the loss has more than one shape."""
    if len(shapes) < 2:
        return ""
    d, c = shape
    return f", C={c}" if d is None else f", D={d} C={c}"


def _backend_label(cell):
    name = cell.get("backend", "?")
    return f"{name} (peer)" if cell.get("kind") == "peer" else name


def _series(cells):
    """``{(label, backend, shape): [cells sorted by N]}`` for one loss and dtype."""
    out = {}
    for c in cells:
        key = (_backend_label(c), c.get("backend"), (c.get("d"), c.get("c")))
        out.setdefault(key, []).append(c)
    return {k: sorted(v, key=lambda c: c.get("n") or 0) for k, v in out.items()}


def _draw_times(ax, cells, shapes, spare_colors):
    """One line per (backend, shape) on ``ax``: median time vs N with p20-p80 bars."""
    handles, all_n = {}, []
    ax.set_xscale("log")
    ax.set_yscale("log")
    for (label, backend, shape), series in _series(cells).items():
        style = shapes.index(shape)
        xs = [c["n"] for c in series]
        ys = [c["median"] for c in series]
        low = [max(c["median"] - (c.get("p20") or c["median"]), 0.0) for c in series]
        high = [max((c.get("p80") or c["median"]) - c["median"], 0.0) for c in series]
        container = ax.errorbar(
            xs, ys, yerr=[low, high], color=_color(backend, spare_colors),
            linestyle=LINESTYLES[style % len(LINESTYLES)],
            marker=MARKERS[style % len(MARKERS)], markersize=5, capsize=2, linewidth=1.5,
            markerfacecolor="white" if label.endswith("(peer)") else None)
        handles[label + _shape_label(shape, shapes)] = container
        all_n += xs
    # Explicit limits: autoscaling a log axis around a single N gives a degenerate range.
    ax.set_xlim(min(all_n) / 1.6, max(all_n) * 1.6)
    ax.grid(True, which="major", alpha=0.4)
    ax.grid(True, which="minor", alpha=0.12)
    return handles


def _plot_loss_times(loss, cells, outdir):
    shapes = sorted({(c.get("d"), c.get("c")) for c in cells},
                    key=lambda s: (s[0] or 0, s[1] or 0))
    fig, axes = _new_figure(12, 4.8, ncols=2)
    handles, spare_colors = {}, {}
    for ax, dtype in zip(axes, DTYPES):
        subset = [c for c in cells if c.get("dtype") == dtype]
        ax.set_title(dtype)
        ax.set_xlabel("N (samples)")
        if subset:
            handles.update(_draw_times(ax, subset, shapes, spare_colors))
        else:
            ax.text(0.5, 0.5, f"no timed {dtype} cells", ha="center", va="center",
                    transform=ax.transAxes)
    axes[0].set_ylabel("seconds per call (median, bars p20-p80)")
    axes[1].tick_params(labelleft=False)
    fig.suptitle(f"{loss}: time per call (loss + gradient) vs N, log-log; lower is faster")
    # Fixed margins: tight_layout on log axes measures every minor tick label (slow).
    fig.subplots_adjust(left=0.07, right=0.8, bottom=0.11, top=0.85, wspace=0.08)
    fig.legend(list(handles.values()), list(handles.keys()), loc="center left",
               bbox_to_anchor=(0.81, 0.5), title="tier / peer", fontsize=9)
    return _save(fig, outdir, f"times_{_safe(loss)}.png")


def plot_times(cells, outdir):
    """Per loss one PNG ``times_<loss>.png``: median seconds per call vs N (log-log),
    float64 and float32 side by side, one line per tier and per peer, with a separate
    line style and marker per (D, C) shape when the loss was run with several.
    Returns the written paths."""
    by_loss = {}
    for c in _timed(cells):
        by_loss.setdefault(c.get("loss", "?"), []).append(c)
    return [_plot_loss_times(loss, group, outdir) for loss, group in by_loss.items()]


def _largest_size(cells):
    """(size label, N) of the largest input among ``cells`` (by input bytes, then N)."""
    def volume(c):
        fallback = (c.get("n") or 0) * (c.get("d") or 1) * (c.get("c") or 1)
        return (c.get("input_bytes") or fallback, c.get("n") or 0)

    top = max(cells, key=volume)
    return top.get("size"), top.get("n"), top.get("d"), top.get("c")


def _speedup_table(cells):
    """``[(loss, tick label, {(tier, dtype): speed-up})]`` at each loss's largest size."""
    by_loss = {}
    for c in cells:
        by_loss.setdefault(c.get("loss", "?"), []).append(c)
    table = []
    for loss, group in by_loss.items():
        size, n, d, c = _largest_size(group)
        values = {(x["backend"], x["dtype"]): x["speedup_vs_numpy"] for x in _timed(group)
                  if x.get("backend") in COMPILED and x.get("speedup_vs_numpy") is not None
                  and (x.get("size"), x.get("n"), x.get("d"), x.get("c")) == (size, n, d, c)}
        label = f"{loss}\nN={n:.0e}" + (f"\nC={c}" if c and c > 1 else "")
        table.append((loss, label, values))
    return table


def _scale_speedup_axis(ax, positive):
    """Log y axis when the speed-ups span more than 30x, else linear from 0; room on top
    for the bar labels."""
    low, high = min(positive + [1.0]), max(positive + [1.0])
    if high / low > 30:
        ax.set_yscale("log")
        ax.set_ylim(low / 2, high * 2.5)
    else:
        ax.set_ylim(0, high * 1.15)


def _bar_label(value):
    return f"{value:.0f}" if value >= 100 else f"{value:.2g}" if value < 10 else f"{value:.1f}"


def plot_speedups(cells, outdir):
    """One PNG ``speedups.png`` of grouped bars: per loss, the speed-up over numpy of
    each compiled tier (numba, cython) in float64 and float32 at the loss's largest
    size. Returns ``[path]``, or ``[]`` when no compiled tier was timed."""
    table = _speedup_table(cells)
    series = [(tier, dtype) for tier in COMPILED for dtype in DTYPES
              if any((tier, dtype) in values for _, _, values in table)]
    if not series:
        return []
    fig, (ax,) = _new_figure(max(7.0, 1.1 * len(table) + 3), 5.2)
    width = 0.8 / len(series)
    all_values = []
    for i, (tier, dtype) in enumerate(series):
        xs, ys = [], []
        for j, (_, _, values) in enumerate(table):
            if (tier, dtype) in values:
                xs.append(j - 0.4 + width * (i + 0.5))
                ys.append(values[(tier, dtype)])
        all_values += ys
        bars = ax.bar(xs, ys, width, color=COLORS[tier], label=f"{tier} {dtype}",
                      alpha=1.0 if dtype == "float64" else 0.55,
                      hatch=None if dtype == "float64" else "//", edgecolor="black",
                      linewidth=0.5)
        ax.bar_label(bars, labels=[_bar_label(y) for y in ys], fontsize=7, padding=1)
    ax.axhline(1.0, color=COLORS["numpy"], linewidth=1, linestyle="--", label="numpy (= 1)")
    _scale_speedup_axis(ax, [v for v in all_values if v > 0])
    for j, (_, _, values) in enumerate(table):
        if not values:
            ax.text(j, 1.0, "no compiled\ntier timed", ha="center", va="bottom", fontsize=8,
                    color="#555555")
    ax.set_xticks(range(len(table)))
    ax.set_xticklabels([label for _, label, _ in table], fontsize=8)
    ax.set_ylabel("speed-up over numpy (numpy time / tier time)")
    ax.set_title("Compiled tiers vs numpy at each loss's largest size; higher is faster")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return [_save(fig, outdir, "speedups.png")]
