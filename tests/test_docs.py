"""The public API documents its contract."""
import pytest

import fastloss
from fastloss._registry import LOSSES


@pytest.mark.parametrize("loss", list(LOSSES))
def test_docstring_states_the_contract(loss):
    """Every public loss documents its formula, shapes, dtype policy, NaN policy and errors."""
    doc = getattr(fastloss, LOSSES[loss].public).__doc__
    for needed in ("float32", "float64", "NaN", "Raises", "ValueError", "TypeError", "(N", "=",
                   "never modified"):
        assert needed in doc, f"{LOSSES[loss].public} docstring lacks {needed!r}"


def test_every_public_callable_has_a_docstring():
    missing = [name for name in fastloss.__all__
               if callable(getattr(fastloss, name)) and not (getattr(fastloss, name).__doc__ or "").strip()]
    assert not missing
