"""Analytic gradients agree with centered differences (away from hinge kinks)."""
import numpy as np
import pytest

from fastloss._cases import make_case
from fastloss.gradcheck import grad_check_sparse, numerical_gradient, rel_error

from conftest import LOSS_VARIANT_IDS, LOSS_VARIANTS


@pytest.mark.parametrize("loss,variant", LOSS_VARIANTS, ids=LOSS_VARIANT_IDS)
def test_gradient_matches_numerical(loss, variant, backend):
    case = make_case(loss, rng=7, n=12, d=6, c=4, away_from_kinks=True, variant=variant)
    x = case.args[case.grad_arg].copy()
    args = list(case.args)
    args[case.grad_arg] = x

    def f():
        return case.func(*args, backend=backend, **case.kwargs)[0]

    analytic = case.func(*args, backend=backend, **case.kwargs)[1]
    numeric = numerical_gradient(f, x)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(x, case.args[case.grad_arg])  # restored
    assert np.max(grad_check_sparse(f, x, analytic, num_checks=5, seed=0)) < 1e-6


def test_numerical_gradient_of_quadratic():
    x = np.array([[1.0, -2.0], [3.0, 0.5]])
    g = numerical_gradient(lambda: float(np.sum(x ** 2)), x)
    np.testing.assert_allclose(g, 2 * x, rtol=1e-8)


def test_numerical_gradient_restores_x_when_f_raises():
    x = np.array([1.0, 2.0])

    def f():
        if x[0] != 1.0:
            raise RuntimeError("boom")
        return 0.0

    with pytest.raises(RuntimeError):
        numerical_gradient(f, x)
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_grad_check_sparse_flags_a_wrong_gradient():
    x = np.array([1.0, 2.0, 3.0])
    errors = grad_check_sparse(lambda: float(np.sum(x ** 3)), x, 2 * x, num_checks=6, seed=1)
    assert errors.shape == (6,) and np.all(errors > 0.1)


def test_rel_error_is_cs231n_formula():
    assert rel_error(1.0, 3.0) == pytest.approx(0.5)
    assert rel_error(0.0, 0.0) == 0.0


def test_gradcheck_rejects_bad_arguments():
    with pytest.raises(TypeError, match="x"):
        numerical_gradient(lambda: 0.0, [1.0, 2.0])
    x = np.ones(3)
    with pytest.raises(ValueError, match="analytic_grad"):
        grad_check_sparse(lambda: 0.0, x, np.ones(2))
