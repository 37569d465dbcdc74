"""Criterion classes: forward/backward match the functions; backward reuses forward."""
import numpy as np
import pytest

import fastloss
from fastloss import nn
from fastloss._cases import make_case

CRITERIA = {"mse": nn.MSE, "l1": nn.L1, "huber": nn.Huber, "hinge": nn.Hinge,
            "squared_hinge": nn.SquaredHinge, "multiclass_hinge": nn.MulticlassHinge,
            "cross_entropy": nn.CrossEntropy, "bce_with_logits": nn.BCEWithLogits}


def test_every_prediction_loss_has_a_criterion():
    assert set(CRITERIA) == {n for n, s in fastloss.LOSSES.items() if s.family != "linear"}


@pytest.mark.parametrize("loss", list(CRITERIA))
def test_forward_backward_match_function(loss, backend):
    case = make_case(loss, rng=0, n=6, c=3)
    crit = CRITERIA[loss](backend=backend, reduction="sum", **case.kwargs)
    value, grad = case(backend=backend, reduction="sum")
    x, t = case.args
    assert crit.forward(x, t) == value
    np.testing.assert_array_equal(crit.backward(x, t), grad)
    np.testing.assert_array_equal(crit.backward(), grad)


def test_backward_reuses_forward_and_recomputes_for_new_inputs(monkeypatch):
    calls = []
    real = nn.MSE.function

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(nn.MSE, "function", staticmethod(counting))
    crit = nn.MSE()
    x, t = np.array([1.0, 2.0]), np.array([0.0, 0.0])
    assert crit(x, t) == pytest.approx(2.5)
    g = crit.backward(x, t)
    assert len(calls) == 1  # fused: no second computation
    np.testing.assert_allclose(g, 2 * (x - t) / 2)  # the seed's 2(x - t)/N
    x2 = np.array([3.0, 2.0])
    np.testing.assert_allclose(crit.backward(x2, t), 2 * (x2 - t) / 2)
    assert len(calls) == 2


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="forward"):
        nn.CrossEntropy().backward()


def test_bad_option_is_reported_on_call():
    with pytest.raises(ValueError, match="reduction"):
        nn.L1(reduction="bogus").forward(np.ones(2), np.ones(2))
