"""fastloss.bench.threads on tiny sizes: well-formed results only. No assertion on a time
or a speed-up: this machine is shared and noisy, timed unit tests would be flaky."""
import json
import math
import threading

import pytest

import fastloss
from fastloss import cli
from fastloss._cases import make_case
from fastloss.bench import threads

COMPILED = [b for b in threads.COMPILED if b in fastloss.available_backends()]
TINY = {"cross_entropy tiny": ("cross_entropy", 300, 10), "hinge tiny": ("hinge", 2000, 1)}


@pytest.fixture(params=COMPILED)
def compiled(request):
    return request.param


@pytest.fixture(params=["cross_entropy", "hinge"])
def case(request):
    loss, n, c = TINY[f"{request.param} tiny"]
    return make_case(loss, rng=0, n=n, c=c)


def _positive(x):
    return isinstance(x, float) and math.isfinite(x) and x > 0


def _check_pool(r, workers=2, calls=1):
    assert r["completed"] is True and r["identical"] is True
    assert r["workers"] == workers and r["calls"] == workers * calls
    assert r["distinct_workers"] == workers  # the calls really ran in separate threads
    assert _positive(r["serial_s"]) and _positive(r["pool_s"]) and _positive(r["speedup"])


def test_gil_release_runs_threaded_calls_with_one_compiled_thread(case, compiled):
    r = threads.gil_release(case, compiled, calls=1, repeat=1)
    _check_pool(r)
    assert r["threads_per_call"] == 1


def test_oversubscription_reports_os_threads_and_completes(case, compiled):
    r = threads.oversubscription(case, compiled, calls=1, repeat=1, timeout=30)
    _check_pool(r)
    assert r["threads_per_call"] >= 1
    assert r["os_threads_peak"] >= r["os_threads_before"] >= 1


@pytest.mark.parametrize("reuse_grad", [False, True])
def test_thread_scaling_reports_both_counts(case, compiled, reuse_grad):
    r = threads.thread_scaling(case, compiled, repeat=2, min_time=0.001, reuse_grad=reuse_grad)
    assert r["threads"] >= 1
    assert _positive(r["one_s"]) and _positive(r["max_s"]) and _positive(r["speedup"])


def test_a_stuck_worker_is_reported_not_waited_for():
    release = threading.Event()
    real = make_case("hinge", rng=0, n=50, c=1)

    def stuck_in_workers(backend=None):
        if threading.current_thread() is not threading.main_thread():
            release.wait(10)
        return real(backend=backend)

    try:
        r = threads.gil_release(stuck_in_workers, COMPILED[0], calls=1, repeat=1, timeout=0.3)
    finally:
        release.set()
    assert r["completed"] is False and "speedup" not in r
    row = {"case": "x", "backend": "numba", "gil": r, "scaling": {"speedup": 1.0, "one_s": 1.0, "max_s": 1.0},
           "oversubscription": {**r, "os_threads_before": 1, "os_threads_peak": 1}}
    assert "no result within 0.3 s" in threads.table([row]) and "| NO |" in threads.table([row])


def test_os_threads_counts_this_thread():
    assert threads.os_threads() >= threading.active_count() >= 1


def test_cli_writes_table_and_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(threads, "QUICK_SIZES", {"hinge tiny": TINY["hinge tiny"]})
    asked = []

    def quick_run(sizes, backends, repeat, real=threads.run):
        asked.append(repeat)
        return real(sizes, backends, calls=1, repeat=1, min_time=0.001)
    monkeypatch.setattr(threads, "run", quick_run)
    assert cli.main(["threads", "--quick", "--repeat", "3", "--out", str(tmp_path)]) == 0
    assert asked == [3]
    doc = json.loads((tmp_path / "threads.json").read_text())
    assert doc["format"] == "fastloss-threads" and doc["info"]["max_threads"] >= 1
    assert [r["backend"] for r in doc["rows"]] == COMPILED
    for r in doc["rows"]:
        assert {"case", "loss", "n", "c", "gil", "scaling", "scaling_reused",
                "oversubscription"} <= set(r)
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| hinge tiny")]
    assert len(table) == len(COMPILED)


def test_cli_rejects_a_non_compiled_backend(capsys):
    with pytest.raises(SystemExit):
        cli.main(["threads", "--backend", "numpy"])
    assert "compiled tier" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["bench", "--repeat", "0"], ["bench", "--threads", "0"],
                                  ["threads", "--repeat", "-1"], ["threads", "--repeat", "x"]])
def test_count_options_must_be_positive_integers(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert f"argument {argv[1]}" in capsys.readouterr().err
