"""Robustness as a property of the whole registry: every tier fails the same way on the
same bad input or returns the same result; threads, determinism, leaks."""
import concurrent.futures
import re

import numpy as np
import pytest

import fastloss
from fastloss._cases import Case, as_dtype, make_case
from fastloss._registry import LOSSES

from conftest import LOSS_NAMES

COMPILED = [b for b in ("numba", "cython") if b in fastloss.available_backends()]


# ---------------------------------------------------------------------------
# The zoo: one valid case per loss, transformed into valid and invalid inputs.

def _label_pos(case):
    return next((i for i, a in enumerate(case.args) if isinstance(a, np.ndarray) and a.dtype.kind in "iu"),
                None)


def _per_sample(case):
    """Indices of the arguments whose first axis is the batch axis."""
    if LOSSES[case.loss].family == "linear":
        return [1, 2]
    return [i for i, a in enumerate(case.args) if isinstance(a, np.ndarray)]


def _memmap(a, tmp_path):
    m = np.memmap(tmp_path / f"a{a.ndim}{a.dtype}.dat", dtype=a.dtype, mode="w+", shape=a.shape)
    m[...] = a
    m.flush()
    return np.memmap(m.filename, dtype=a.dtype, mode="r", shape=a.shape)


def _zoo(loss, tmp_path):
    case = make_case(loss, rng=21, n=6, d=4, c=3)
    first = case.args[0]
    yield "valid", case
    yield "first arg ndim+1", case.with_arg(0, first[None])
    yield "first arg 0-d", case.with_arg(0, np.float64(1.5))
    yield "second arg one row short", case.with_arg(1, case.args[1][:-1])
    yield "empty batch", Case(loss, tuple(a[:0] if i in _per_sample(case) else a for i, a in enumerate(case.args)),
                              dict(case.kwargs), case.grad_arg)
    lab = _label_pos(case)
    if lab is not None:
        y = case.args[lab]
        for name, bad in (("label -1", -1), ("label C", 3), ("label 2**40", 2 ** 40)):
            yy = y.copy()
            yy[2] = bad
            yield name, case.with_arg(lab, yy)
        yield "float labels", case.with_arg(lab, y.astype(np.float64))
    if LOSSES[loss].family != "elementwise":
        one_class = make_case(loss, rng=22, n=6, d=4, c=1)
        yield "C=1", one_class
    for name, value in (("nan", np.nan), ("+inf", np.inf), ("-inf", -np.inf)):
        f = first.copy()
        f.flat[3] = value
        yield name, case.with_arg(0, f)
        # float32 too: the compiled tiers take float32 shortcuts (the hinge's tp < margin).
        yield f"{name} float32", as_dtype(case.with_arg(0, f), np.float32)
    yield "float16", as_dtype(case, np.float16)
    yield "big-endian", Case(loss, tuple(a.astype(a.dtype.newbyteorder(">")) for a in case.args),
                             dict(case.kwargs), case.grad_arg)
    yield "lists", Case(loss, tuple(a.tolist() for a in case.args), dict(case.kwargs), case.grad_arg)
    big = np.zeros((first.shape[0], 2 * first.shape[1]), first.dtype)
    big[:, ::2] = first
    yield "non-contiguous", case.with_arg(0, big[:, ::2])
    ro = first.copy()
    ro.flags.writeable = False
    yield "read-only", case.with_arg(0, ro)
    yield "memory-mapped", case.with_arg(0, _memmap(first, tmp_path))


def _outcome(case, backend):
    try:
        return "ok", case(backend=backend)
    except Exception as exc:  # recorded and compared across tiers
        return "raised", exc


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_every_tier_raises_the_same_or_agrees(loss, tmp_path):
    for name, case in _zoo(loss, tmp_path):
        outcomes = {b: _outcome(case, b) for b in fastloss.available_backends()}
        kinds = {kind for kind, _ in outcomes.values()}
        assert len(kinds) == 1, (name, {b: o for b, o in outcomes.items()})
        if kinds == {"raised"}:
            excs = [e for _, e in outcomes.values()]
            assert len({type(e) for e in excs}) == 1, (name, excs)
            assert len({str(e) for e in excs}) == 1, (name, excs)
            assert isinstance(excs[0], (ValueError, TypeError)), (name, excs[0])
            assert re.search(r"\b(W|X|y|pred|target|logits|scores)\b", str(excs[0])), (name, excs[0])
            continue
        ref_loss, ref_grad = outcomes["loop"][1]
        for b, (_, (value, grad)) in outcomes.items():
            tol = 1e-4 if np.asarray(grad).dtype == np.float32 else 1e-10
            finite = np.abs(ref_grad[np.isfinite(ref_grad)])
            scale = max(float(finite.max()) if finite.size else 1.0, 1e-30)
            np.testing.assert_allclose(value, ref_loss, rtol=tol, equal_nan=True, err_msg=f"{name} {b}")
            np.testing.assert_allclose(grad, ref_grad, rtol=tol, atol=tol * scale, equal_nan=True,
                                       err_msg=f"{name} {b}")


# ---------------------------------------------------------------------------
# Property-based fuzzing over shapes, dtypes and values.

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

SPECIAL = [0.0, -0.0, 1e-310, -1e-310, 1e-30, 5e-324, 1.0, -1.0, 1e3, -1e3]


@st.composite
def _fuzz_case(draw, loss):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    n = draw(st.integers(1, 30))
    c = draw(st.integers(2, 6))
    d = draw(st.integers(1, 8))
    case = make_case(loss, rng=draw(st.integers(0, 2 ** 16)), dtype=np.float64, n=n, d=d, c=c)
    first = case.args[0].copy()
    elements = st.one_of(st.floats(-1e3, 1e3, allow_subnormal=True), st.sampled_from(SPECIAL))
    k = draw(st.integers(0, min(first.size, 12)))
    for _ in range(k):
        first.flat[draw(st.integers(0, first.size - 1))] = draw(elements)
    if LOSSES[loss].family == "linear":
        first /= max(1.0, float(np.abs(first).max()))  # keep scores X W within float32 range
    case = case.with_arg(0, first)
    return as_dtype(case, dtype), dtype


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_fuzz_tiers_agree_and_gradients_finite(loss):
    @settings(max_examples=25, deadline=None, derandomize=True)
    @given(_fuzz_case(loss))
    def check(drawn):
        case, dtype = drawn
        ref_loss, ref_grad = case(backend="loop")
        assert np.all(np.isfinite(ref_grad)) and np.isfinite(ref_loss)
        tol = 1e-3 if dtype == np.float32 else 1e-8
        scale = max(float(np.max(np.abs(ref_grad))), 1e-300)
        for b in fastloss.available_backends():
            value, grad = case(backend=b)
            assert np.all(np.isfinite(grad)), b
            np.testing.assert_allclose(value, ref_loss, rtol=tol, atol=tol * max(abs(ref_loss), 1e-30))
            # Kinked losses may choose a different side of a kink when a tier rounds in
            # float32 and the reference in float64; their gradient is compared in float64.
            if not LOSSES[loss].has_kinks or (dtype == np.float64 and LOSSES[loss].family != "linear"):
                np.testing.assert_allclose(grad, ref_grad, rtol=tol, atol=tol * scale, err_msg=b)
    check()


# ---------------------------------------------------------------------------
# Threads, determinism, leaks.

def _parallel_sized_case(loss, dtype=np.float64):
    """Large enough that the compiled tiers take their parallel, chunked path."""
    fam = LOSSES[loss].family
    dims = {"linear": dict(n=3000, d=64, c=10), "scores": dict(n=40000, c=10),
            "elementwise": dict(n=200000, c=1)}[fam]
    return make_case(loss, rng=31, dtype=dtype, **dims)


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_deterministic_run_to_run_and_across_thread_counts(loss, backend):
    """Same bits run to run, on one thread, and under a caller's numba chunk size (the
    numba kernels hand out their chunks one at a time, then give the setting back)."""
    import numba

    case = _parallel_sized_case(loss)
    first = case(backend=backend)
    again = case(backend=backend)
    with fastloss.num_threads(1):
        single = case(backend=backend)
    with numba.parallel_chunksize(3):
        chunked = case(backend=backend)
        assert numba.get_parallel_chunksize() == 3
    for other in (again, single, chunked):
        assert other[0] == first[0]
        np.testing.assert_array_equal(other[1], first[1])


@pytest.mark.parametrize("backend", COMPILED)
def test_concurrent_calls_match_serial_calls(backend):
    cases = [_parallel_sized_case(loss, dtype) for loss in LOSS_NAMES for dtype in (np.float32, np.float64)]
    serial = [c(backend=backend) for c in cases]

    def work(i):
        c = cases[i % len(cases)]
        # BLAS inside the same worker: another library's threads must not deadlock ours.
        np.dot(np.ones((64, 64)), np.ones((64, 64)))
        return i, c(backend=backend)

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for i, (value, grad) in pool.map(work, range(3 * len(cases)), timeout=300):
            ref = serial[i % len(cases)]
            assert value == ref[0]
            np.testing.assert_array_equal(grad, ref[1])


def _rss_bytes():
    with open("/proc/self/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1)) * 1024


@pytest.mark.parametrize("backend", COMPILED)
def test_ten_thousand_calls_leave_memory_flat(backend):
    try:
        _rss_bytes()
    except OSError:
        pytest.skip("no /proc on this platform")
    cases = [make_case(loss, rng=41, n=16, d=8, c=4) for loss in LOSS_NAMES]
    for c in cases:  # warm up: compile/load, allocator pools
        for _ in range(200):
            c(backend=backend)
    before = _rss_bytes()
    for c in cases:
        for _ in range(10_000):
            c(backend=backend)
    grown = _rss_bytes() - before
    # 10,000 calls x 10 losses: a leak of even 100 bytes a call would add 10 MB.
    assert grown < 4 * 2 ** 20, f"resident memory grew by {grown / 2**20:.1f} MiB"
