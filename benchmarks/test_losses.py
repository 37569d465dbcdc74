"""pytest-benchmark suite over the registry: ``pytest benchmarks/ --benchmark-only``.

Every loss x backend x dtype at the harness's quick sizes (``fastloss.bench.run.QUICK_SIZES``),
grouped per loss, size and dtype so pytest-benchmark's tables put the tiers side by
side. Warm-up is on, so numba's compilation (or cache loading) is never timed.
``fastloss bench`` is the full harness; this suite is for pytest-benchmark's own
tooling (``--benchmark-compare``, ``--benchmark-histogram``, saved runs).
"""
import numpy as np
import pytest

import fastloss
from fastloss._cases import make_case
from fastloss._registry import LOSSES
from fastloss.bench.run import QUICK_SIZES, sizes_for

PARAMS = [
    pytest.param(loss, label, dims, dtype, backend, id=f"{loss}-{label}-{dtype}-{backend}")
    for loss in LOSSES
    for label, dims in sizes_for(loss, QUICK_SIZES)
    for dtype in ("float64", "float32")
    for backend in fastloss.available_backends()
]


@pytest.mark.benchmark(warmup=True, warmup_iterations=1)
@pytest.mark.parametrize("loss,label,dims,dtype,backend", PARAMS)
def test_loss_and_gradient(benchmark, loss, label, dims, dtype, backend):
    case = make_case(loss, rng=0, dtype=np.dtype(dtype), n=dims["n"], d=dims.get("d") or 1, c=dims["c"])
    benchmark.group = f"{loss} {label} {dtype}"
    benchmark.extra_info.update(loss=loss, size=label, dtype=dtype, backend=backend)
    value, grad = benchmark(case, backend=backend)
    assert np.isfinite(value) and grad.shape == case.args[case.grad_arg].shape
