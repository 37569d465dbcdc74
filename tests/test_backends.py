import numpy as np
import pytest

import fastloss
from fastloss import _registry
from fastloss._cases import make_case

from conftest import ALL_BACKENDS, LOSS_NAMES


def test_all_four_backends_are_available():
    # A broken Cython build or a missing numba must fail CI, not silently fall back.
    missing = {t: _registry.unavailable_reason(t) for t in ALL_BACKENDS
               if t not in fastloss.available_backends()}
    assert not missing, missing
    assert fastloss.available_backends() == ("loop", "numpy", "numba", "cython")


def test_every_tier_has_every_loss():
    for tier in fastloss.available_backends():
        for loss in LOSS_NAMES:
            assert callable(_registry.kernel(loss, tier)), (tier, loss)


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_unknown_backend_lists_valid_names(loss):
    case = make_case(loss, rng=0)
    with pytest.raises(ValueError, match="backend.*'fortran'.*loop, numpy, numba, cython"):
        case(backend="fortran")


def test_default_backend_is_fastest_compiled(monkeypatch):
    monkeypatch.delenv(_registry.ENV_BACKEND, raising=False)
    assert _registry.default_backend() == "cython"


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_environment_variable_selects_backend(monkeypatch, loss):
    case = make_case(loss, rng=1)
    monkeypatch.setenv(_registry.ENV_BACKEND, "loop")
    assert _registry.default_backend() == "loop"
    # The default call then computes exactly what the loop tier computes.
    got, ref = case(), case(backend="loop")
    assert got[0] == ref[0]
    np.testing.assert_array_equal(got[1], ref[1])
    monkeypatch.setenv(_registry.ENV_BACKEND, "nonsense")
    with pytest.raises(ValueError, match="FASTLOSS_BACKEND"):
        case()
