"""The numba tier's vectorizable float64 log for the cross-entropy row sums (x >= 1)."""
import math

import numpy as np
import pytest

pytest.importorskip("numba")

from fastloss._numba import elementwise as nb  # noqa: E402

from conftest import compiled_map  # noqa: E402


_log = compiled_map(nb._log_ge1, np.float64)


def test_log_ge1_within_one_ulp_of_numpy():
    rng = np.random.default_rng(0)
    x = np.concatenate([1 + rng.random(500_000) * 1e-6, 1 + rng.random(500_000),
                        rng.uniform(1, 64, 500_000), np.exp(rng.uniform(0, 700, 500_000)),
                        np.ldexp(1.0, np.arange(0, 1024)), [math.sqrt(2), np.nextafter(1, 2)]])
    ref = np.log(x)
    ulps = np.abs(_log(x) - ref) / np.spacing(np.maximum(ref, np.nextafter(0, 1)))
    assert ulps.max() <= 1.0  # measured 1.0 (1 - 2^-52 near 1 etc.)


def test_log_ge1_exact_points_and_nan():
    got = _log([1.0, 2.0, 4.0, np.nan])
    assert got[0] == 0.0
    assert got[1] == math.log(2.0) and got[2] == math.log(4.0)
    assert np.isnan(got[3])
