"""The harness's own logic on tiny sizes: calibration, agreement, cells, check, threads."""
import time

import numpy as np
import pytest

import fastloss
from fastloss._registry import TIERS
from fastloss.bench import check, memory, run, timing

TINY = {"linear": [("tiny", dict(n=20, d=7, c=3))],
        "elementwise": [("tiny", dict(n=50, d=None, c=1)), ("small", dict(n=200, d=None, c=1))],
        "scores": [("tiny", dict(n=30, d=None, c=4))]}


def test_calibrate_grows_the_call_count_until_min_time():
    calls = []
    number, elapsed = timing.calibrate(lambda: calls.append(1), min_time=0.002)
    assert number in {b * s for b in (1, 10, 100, 1000, 10 ** 4, 10 ** 5, 10 ** 6) for s in (1, 2, 5)}
    assert elapsed >= 0.002 and len(calls) >= number


def test_measure_reports_ordered_percentiles():
    stats = timing.measure(lambda: sum(range(100)), repeat=5, min_time=0.001)
    assert stats["p20"] <= stats["median"] <= stats["p80"]
    assert stats["repeat"] == 5 and stats["number"] >= 1


def test_interleaved_rounds_rotate_the_order_and_sample_each_callable_once_per_round(monkeypatch):
    monkeypatch.setattr(timing, "LEAD_IN_SECONDS", 0.0)  # the lead-in is then one call
    order = []
    fns = {name: (lambda name=name: order.append(name)) for name in "abc"}
    # Each sample: one untimed lead-in call, then `number` (2) timed calls.
    stats = timing.measure_interleaved(fns, repeat=3, calibrated={n: (2, 0.0) for n in "abc"})
    assert order == list("aaabbbccc" "bbbcccaaa" "cccaaabbb")
    for name in "abc":
        assert stats[name]["repeat"] == 3 and stats[name]["number"] == 2
        assert stats[name]["p20"] <= stats[name]["median"] <= stats[name]["p80"]


def test_lead_in_calls_at_least_once_and_for_at_least_its_time():
    calls = []
    timing.lead_in(lambda: calls.append(1), seconds=0.0)
    assert len(calls) == 1
    start = time.perf_counter()
    timing.lead_in(lambda: calls.append(1), seconds=0.02)
    assert time.perf_counter() - start >= 0.02 and len(calls) > 2


def test_large_cells_take_their_percent_of_triad_from_a_triad_in_the_same_rounds(monkeypatch):
    monkeypatch.setattr(run, "LOCAL_TRIAD_MIN_BYTES", 10_000)
    cells = run.run(losses=["mse"], backends=["numpy", "numba"], dtypes=["float64"],
                    sizes={"elementwise": [("tiny", dict(n=50, d=None, c=1)),
                                           ("small", dict(n=20000, d=None, c=1))]},
                    repeat=2, min_time=0.001, triad_gbps=1.0)
    small = [c for c in cells if c["size"] == "small"]
    tiny = [c for c in cells if c["size"] == "tiny"]
    assert all(c["triad_gbps_local"] > 0 for c in small)
    assert all(c["pct_triad"] == pytest.approx(100 * c["gbps"] / c["triad_gbps_local"]) for c in small)
    assert all("triad_gbps_local" not in c and c["pct_triad"] == pytest.approx(100 * c["gbps"])
               for c in tiny)


def test_agreement_measures_abs_and_rel_difference():
    ref = (np.float64(2.0), np.array([1.0, -4.0]))
    got = (2.5, np.array([1.0, -3.0], dtype=np.float32))
    a = run.agreement(got, ref)
    assert a["loss_abs_diff"] == 0.5
    assert a["grad_max_abs_diff"] == 1.0 and a["grad_max_rel_diff"] == 0.25


def test_run_produces_one_cell_per_loss_size_dtype_backend():
    cells = run.run(losses=["svm", "mse", "cross_entropy"], sizes=TINY, repeat=2, min_time=0.001)
    expected = (1 + 2 + 1) * 2 * len(fastloss.available_backends())
    assert len(cells) == expected
    for c in cells:
        assert c["kind"] == "tier" and "skipped" not in c
        assert c["p20"] <= c["median"] <= c["p80"] and c["first_call_s"] > 0
        assert c["speedup_vs_numpy"] > 0 and c["gbps"] > 0
        assert c["reference"] == "loop float64"
        assert c["grad_max_rel_diff"] < (1e-9 if c["dtype"] == "float64" else 1e-4)
    numpy_cells = [c for c in cells if c["backend"] == "numpy"]
    assert all(c["speedup_vs_numpy"] == 1.0 for c in numpy_cells)


def test_reused_gradient_cells_agree_and_say_so():
    cells = run.run(losses=["mse", "softmax"], backends=["numpy", "cython"], dtypes=["float32"],
                    sizes=TINY, repeat=2, min_time=0.001, reuse_grad=True)
    assert cells and all(c["grad_out"] == "reused" for c in cells)
    assert all(c["grad_max_rel_diff"] < 1e-4 for c in cells)


def test_a_large_first_size_probes_the_loop_tier_instead_of_running_it():
    sizes = {"linear": [("big", dict(n=100_000, d=50, c=10))]}
    cells = run.run(losses=["svm"], backends=["loop", "numpy"], dtypes=["float64"], sizes=sizes,
                    repeat=1, min_time=0.001, loop_budget=0.01)
    assert "skipped" in next(c for c in cells if c["backend"] == "loop")


def test_loop_tier_is_skipped_beyond_its_budget():
    cells = run.run(losses=["mse"], backends=["loop", "numpy"], dtypes=["float64"], sizes=TINY,
                    repeat=2, min_time=0.001, loop_budget=1e-9)
    small = [c for c in cells if c["size"] == "small"]
    assert "skipped" in next(c for c in small if c["backend"] == "loop")
    assert next(c for c in small if c["backend"] == "numpy")["reference"] == "numpy float64"


def test_peak_extra_memory_sees_a_large_allocation():
    got = memory.peak_extra_bytes(lambda: np.ones(4_000_000).sum())  # 32 MB temporary
    if got is None:
        pytest.skip("no /proc on this platform")
    assert got >= 25e6


def test_check_passes_on_the_real_kernels():
    rows = check.check_rows(losses=["softmax", "mse", "cross_entropy"])
    assert rows and all(r["passed"] for r in rows), check.format_rows(rows)


@pytest.mark.parametrize("tier", [t for t in TIERS if t != "loop" and t in fastloss.available_backends()])
def test_check_fails_on_a_broken_kernel(monkeypatch, tier):
    # A kernel whose gradient is 1% off must make `fastloss check` fail for that tier only.
    module = __import__(TIERS[tier], fromlist=["mse"])
    real = module.mse

    def broken(pred, target, scale, loss_out, grad):
        total = real(pred, target, scale, loss_out, grad)
        grad *= 1.01
        return total

    monkeypatch.setattr(module, "mse", broken)
    rows = check.check_rows(losses=["mse"])
    failed = {(r["backend"], r["dtype"]) for r in rows if not r["passed"]}
    assert failed == {(tier, "float64"), (tier, "float32")}
    assert "FAIL" in check.format_rows(rows)


def test_check_cli_exit_status(monkeypatch, capsys):
    from fastloss.cli import main
    assert main(["check", "--loss", "l1", "--backend", "numpy"]) == 0
    assert "PASS" in capsys.readouterr().out

    import fastloss.vectorized as vec
    monkeypatch.setattr(vec, "l1", lambda p, t, s, lo, g: 0.0)  # leaves grad uninitialised
    assert main(["check", "--loss", "l1", "--backend", "numpy"]) == 1


def test_set_num_threads_round_trip():
    n = fastloss.get_num_threads()
    with fastloss.num_threads(1):
        assert fastloss.get_num_threads() == 1
    assert fastloss.get_num_threads() == n
    with pytest.raises(ValueError, match="n must be an integer"):
        fastloss.set_num_threads(0)
