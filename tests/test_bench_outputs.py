"""Report outputs of the benchmark harness: JSON, CSV, markdown, plots and compare."""
import csv
import json
import os
from pathlib import Path

import pytest

from fastloss.bench import compare as cmp
from fastloss.bench import outputs, plots

INFO = {"machine": "box", "platform": "Linux-x86_64", "cpu": "Test CPU 3000", "cores": 4,
        "threads": 2, "versions": {"fastloss": "0.1", "numpy": "1.26"},
        "date": "2024-01-02T03:04:05", "command": "fastloss bench --loss svm", "triad_gbps": 10.0}

# Per-backend time factor relative to numpy (smaller is faster).
FACTOR = {"loop": 40.0, "numpy": 1.0, "numba": 0.25, "cython": 0.2, "torch": 0.5}


def _cell(loss, size, n, d, c, dtype, backend, numpy_time, skipped=None):
    cell = {"loss": loss, "size": size, "n": n, "d": d, "c": c, "dtype": dtype,
            "backend": backend, "kind": "peer" if backend == "torch" else "tier",
            "reference": "loop float64", "input_bytes": n * (d or 1) * c * 8,
            "bytes_moved": 2 * n * (d or 1) * c * 8}
    if skipped:
        cell["skipped"] = skipped
        return cell
    t = numpy_time * FACTOR[backend] * (0.5 if dtype == "float32" else 1.0)
    err = 1e-7 if dtype == "float32" else 1e-15
    cell.update(median=t, p20=0.9 * t, p80=1.1 * t, number=10, repeat=5, first_call_s=3 * t,
                loss_abs_diff=err, grad_max_abs_diff=err * n, grad_max_rel_diff=err * 10,
                gbps=cell["bytes_moved"] / t / 1e9, pct_triad=cell["bytes_moved"] / t / 1e8,
                peak_extra_bytes=cell["input_bytes"] // 2)
    return cell


def _with_speedups(cells):
    rows = {}
    for c in cells:
        rows.setdefault((c["loss"], c["size"], c["c"], c["dtype"]), []).append(c)
    for row in rows.values():
        times = {c["backend"]: c["median"] for c in row if "median" in c}
        for c in row:
            if "median" in c:
                for base in ("numpy", "loop"):
                    c[f"speedup_vs_{base}"] = times[base] / c["median"] if base in times else None
    return cells


def synthetic_cells():
    """svm at two sizes (loop skipped at the large one), cross_entropy with two class
    counts plus a torch peer, and mse with only loop and numpy."""
    cells = []
    for dtype in ("float64", "float32"):
        for size, n, t in (("dev", 500, 1e-3), ("full", 49000, 1e-1)):
            for b in ("loop", "numpy", "numba", "cython"):
                skip = "loop tier estimated at 400 s per call > budget 15 s" \
                    if (b == "loop" and size == "full") else None
                cells.append(_cell("svm", size, n, 3073, 10, dtype, b, t, skip))
        for c in (10, 1000):
            for size, n in (("small", 1000), ("large", 100000)):
                for b in ("numpy", "numba", "cython", "torch"):
                    cells.append(_cell("cross_entropy", size, n, None, c, dtype, b, n * c * 1e-9))
        for b in ("loop", "numpy"):
            cells.append(_cell("mse", "tiny", 100, None, 1, dtype, b, 1e-5))
    return _with_speedups(cells)


@pytest.fixture
def cells():
    return synthetic_cells()


def test_json_round_trip(tmp_path, cells):
    cells[0]["grad_max_abs_diff"] = float("nan")
    path = outputs.write_json(str(tmp_path / "r.json"), INFO, cells)
    info, back = outputs.read_json(path)
    assert info == INFO
    assert len(back) == len(cells)
    assert back[1:] == cells[1:]
    assert back[0]["grad_max_abs_diff"] != back[0]["grad_max_abs_diff"]  # NaN survives
    assert json.loads(Path(path).read_text())["format"] == "fastloss-bench"


def test_json_accepts_numpy_scalars(tmp_path):
    np = pytest.importorskip("numpy")
    cell = {"loss": "mse", "median": np.float32(0.5), "n": np.int64(3)}
    _, back = outputs.read_json(outputs.write_json(str(tmp_path / "r.json"), {}, [cell]))
    assert back == [{"loss": "mse", "median": 0.5, "n": 3}]


def test_csv_columns_and_rows(tmp_path, cells):
    cells[0]["extra_key"] = 7
    path = outputs.write_csv(str(tmp_path / "r.csv"), INFO, cells)
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(cells)
    header = list(rows[0])
    for col in ("machine", "cpu", "cores", "threads", "versions", "date", "command",
                "triad_gbps", "loss", "size", "n", "d", "c", "dtype", "backend", "median",
                "speedup_vs_numpy", "grad_max_rel_diff", "skipped", "extra_key"):
        assert col in header
    assert all(r["versions"] == "fastloss=0.1;numpy=1.26" for r in rows)
    assert all(r["command"] == INFO["command"] for r in rows)
    skipped = [r for r in rows if r["skipped"]]
    assert len(skipped) == 2 and all(r["median"] == "" for r in skipped)
    assert float(rows[1]["median"]) == cells[1]["median"]


def test_summary_rows(cells):
    rows = {r["loss"]: r for r in outputs.summary_rows(cells)}
    assert list(rows) == ["svm", "cross_entropy", "mse"]
    svm = rows["svm"]
    assert svm["best_vs_numpy"] == pytest.approx(1 / 0.2)
    assert svm["best_vs_numpy_backend"] == "cython"
    assert svm["best_vs_loop"] == pytest.approx(40 / 0.2)
    assert svm["best_vs_loop_size"] == "dev"  # loop skipped at "full"
    assert svm["worst_grad_dtype"] == "float32"
    assert svm["worst_grad_rel"] == pytest.approx(1e-6)
    # The torch peer is not a compiled tier and its disagreement is not fastloss's.
    assert rows["cross_entropy"]["best_vs_numpy_backend"] == "cython"
    assert rows["cross_entropy"]["best_vs_numpy_size_name"] == "small (C=10)"
    assert rows["cross_entropy"]["best_vs_numpy_c"] == 10
    assert rows["cross_entropy"]["worst_grad_backend"] != "torch"
    assert rows["cross_entropy"]["best_vs_loop"] is None
    mse = rows["mse"]
    assert mse["best_vs_numpy"] is None and mse["best_vs_numpy_backend"] is None
    assert "-" in outputs.format_summary(list(rows.values()))


def test_markdown_sections(tmp_path, cells):
    png = tmp_path / "times_svm.png"
    png.write_bytes(b"x")
    path = outputs.write_markdown(str(tmp_path / "report.md"), INFO, cells, [str(png)])
    text = Path(path).read_text()
    for fact in ("box", "Test CPU 3000", "4 cores", "2 threads", "numpy 1.26",
                 "2024-01-02T03:04:05", "`fastloss bench --loss svm`", "10 GB/s"):
        assert fact in text
    assert "faster" in text and "x numpy" in text  # the sentence explaining the ratios
    summary, per_loss = text.index("## Summary"), text.index("## Results per loss")
    assert summary < per_loss
    for loss in ("svm", "cross_entropy", "mse"):
        assert f"### {loss}" in text
    assert "skipped: loop tier estimated at 400 s per call > budget 15 s" in text
    assert "torch (peer)" in text
    # cross_entropy ran two class counts: size labels carry C so rows stay apart.
    assert "| small (C=1000) | float32 | cython |" in text
    assert "- `large (C=10)`: N=100000, C=10; reference loop float64" in text
    assert "5x (cython, dev float64)" in text  # summary cell: best speed-up and where
    assert "![times svm](times_svm.png)" in text
    # Every table row of a section has as many cells as its header.
    for block in text.split("\n\n"):
        rows = [ln for ln in block.splitlines() if ln.startswith("|")]
        if rows:
            widths = {ln.replace("\\|", "").count("|") for ln in rows}
            assert len(widths) == 1, block


def test_markdown_tolerates_missing_keys(tmp_path):
    cells = [{"loss": "l1", "size": "s", "n": 10, "dtype": "float64", "backend": "numpy",
              "median": 1e-3}, {"loss": "l1", "size": "s", "n": 10, "backend": "numba",
                                "skipped": "numba not installed"}]
    text = outputs.markdown({}, cells)
    assert "### l1" in text and "skipped: numba not installed" in text
    assert "not measured" in text


def test_compare_ratios_and_unmatched(cells):
    old = [c for c in cells if c["loss"] != "mse"]
    new = [dict(c) for c in cells if not (c["loss"] == "svm" and c["backend"] == "numba")]
    for c in new:
        if c["loss"] == "cross_entropy" and "median" in c:
            c["median"] /= 2
    rows = cmp.compare(old, new)
    by = {(r["loss"], r["size"], r["c"], r["dtype"], r["backend"]): r for r in rows}
    assert by[("cross_entropy", "small", 10, "float64", "numba")]["ratio"] == pytest.approx(2.0)
    assert by[("svm", "dev", 10, "float64", "cython")]["ratio"] == pytest.approx(1.0)
    assert by[("svm", "dev", 10, "float32", "numba")]["status"] == "only_old"
    assert by[("mse", "tiny", 1, "float64", "loop")]["status"] == "only_new"
    skipped = by[("svm", "full", 10, "float64", "loop")]
    assert skipped["status"] == "skipped" and skipped["ratio"] is None
    assert "budget" in skipped["note"]
    text = cmp.format_compare(rows)
    assert "new run is faster" in text
    assert "Only in the old run:" in text and "Only in the new run:" in text
    assert "2.00x" in text
    lines = text.splitlines()
    ce = [i for i, ln in enumerate(lines) if ln.startswith("cross_entropy ")]
    sv = [i for i, ln in enumerate(lines) if ln.startswith("svm ")]
    assert ce and sv and max(ce) < min(sv)  # sorted by loss


def _is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n" and os.path.getsize(path) > 1000


def test_plots(tmp_path, cells):
    pytest.importorskip("matplotlib")
    # cross_entropy: two class counts, a peer; mse: a single N. (svm only in speedups.)
    times = plots.plot_times([c for c in cells if c["loss"] != "svm"], str(tmp_path))
    assert sorted(os.path.basename(p) for p in times) == ["times_cross_entropy.png",
                                                         "times_mse.png"]
    speed = plots.plot_speedups(cells, str(tmp_path))
    assert [os.path.basename(p) for p in speed] == ["speedups.png"]
    assert all(_is_png(p) for p in times + speed)
    assert plots.plot_speedups([c for c in cells if c["loss"] == "mse"], str(tmp_path)) == []


def test_write_all_with_a_real_run(tmp_path):
    from fastloss.bench import report, run

    cells = run.run(losses=["mse"], backends=["loop", "numpy"],
                    sizes={"elementwise": [("tiny", dict(n=100, d=None, c=1))]},
                    repeat=2, min_time=0.001)
    info = report.machine_info()
    paths = outputs.write_all(str(tmp_path / "out"), info, cells, plots=plots.have_matplotlib())
    names = {os.path.basename(p) for p in paths}
    assert {"results.json", "results.csv", "report.md"} <= names
    if plots.have_matplotlib():
        assert "times_mse.png" in names
        assert "![times mse](times_mse.png)" in (tmp_path / "out" / "report.md").read_text()
    info_back, cells_back = outputs.read_json(str(tmp_path / "out" / "results.json"))
    assert info_back["cpu"] == info["cpu"] and len(cells_back) == len(cells) == 4
    assert "### mse" in (tmp_path / "out" / "report.md").read_text()


def test_write_all_without_matplotlib(tmp_path, cells, monkeypatch):
    monkeypatch.setattr(plots, "have_matplotlib", lambda: False)
    paths = outputs.write_all(str(tmp_path), INFO, cells)
    assert sorted(os.path.basename(p) for p in paths) == ["report.md", "results.csv",
                                                          "results.json"]
    assert "## Plots" not in (tmp_path / "report.md").read_text()


def test_targets_table_renders_the_committed_run(capsys):
    """benchmarks/targets_table.py turns the committed targets.sh run into one table per
    target, bold exactly where a ratio reaches its goal."""
    import importlib.util
    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("targets_table", root / "benchmarks" / "targets_table.py")
    table = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(table)
    table.main(str(root / "docs" / "issue5" / "after"))
    out = capsys.readouterr().out
    titles = [line for line in out.splitlines() if line.startswith("### ")]
    assert [t.split()[1] for t in titles] == ["1.", "2.", "2.", "3.", "4.", "5.", "6."]
    assert "**" in out
    for cell in out.replace("|", " ").split():
        if cell.startswith("**") and cell.endswith("x**"):
            assert float(cell.strip("*x")) >= 1.0
    assert table._ratio(2.99, 3.0) == "2.99x" and table._ratio(3.0, 3.0) == "**3.00x**"


def test_cpu_name_says_which_cpu_and_caches(tmp_path):
    # A generic model name ("Intel(R) Xeon(R) Processor") is not enough to tell two cloud
    # machines apart: the family / model / stepping and cache sizes of the first CPU go with it.
    from fastloss.bench import report

    block = "processor\t: {p}\ncpu family\t: 6\nmodel\t\t: {m}\nmodel name\t: Xeon\nstepping\t: 2\n\n"
    (tmp_path / "cpuinfo").write_text(block.format(p=0, m=207) + block.format(p=1, m=999))
    cache = tmp_path / "cache"
    for index, (level, size) in enumerate([("1", "48K"), ("1", "32K"), ("2", "2048K"),
                                           ("3", "266240K")]):
        (cache / f"index{index}").mkdir(parents=True)
        (cache / f"index{index}" / "level").write_text(level + "\n")
        (cache / f"index{index}" / "size").write_text(size + "\n")
    name = report._cpu_name(str(tmp_path / "cpuinfo"), str(cache))
    assert name == "Xeon (family 6 model 207 stepping 2; L2 2048K, L3 266240K)"
    assert report._cpu_name(str(tmp_path / "missing"), str(tmp_path / "missing")) not in ("", None)
    assert report.machine_info()["cpu"] == report._cpu_name()


def test_versions_name_the_cython_that_built_the_tier(monkeypatch):
    """The report's Cython version is the one that compiled the tier (read from the
    generated C), present even where no Cython can be imported (pip's isolated builds)."""
    import builtins
    import re
    from fastloss.bench import report

    openmp = pytest.importorskip("fastloss._cython.openmp")
    built = openmp.cython_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?", built)
    real_import = builtins.__import__

    def no_cython(name, *args, **kwargs):
        if name == "Cython":
            raise ImportError("no Cython here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cython)
    assert report.machine_info()["versions"]["Cython"] == built
