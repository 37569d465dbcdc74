"""Hand-computed values for tiny inputs, every backend (derivations in the comments)."""
import numpy as np
import pytest

import fastloss

W = np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 1.0]])  # D=2, C=3
X = np.array([[1.0, 2.0], [0.5, -1.0]])             # N=2
Y = np.array([0, 2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_svm_known_value(backend, dtype):
    # scores: row0 = [1, 2, 1] (y=0): margins 2, 1 -> 3; row1 = [0.5, -1, -1.5] (y=2): 3, 1.5 -> 4.5
    # loss = 7.5/2 + 0.1 * sum(W^2)=4 -> 4.15
    # X^T G / N with G = [[-2, 1, 1], [1, 1, -2]], plus 2*0.1*W
    loss, dW = fastloss.svm_loss(W.astype(dtype), X.astype(dtype), Y, 0.1, backend=backend)
    assert loss == pytest.approx(4.15, rel=1e-6)
    np.testing.assert_allclose(dW, [[-0.55, 0.75, -0.2], [-2.5, 0.7, 2.2]], rtol=1e-6)
    assert dW.dtype == dtype


def test_svm_margin_exactly_zero_has_zero_subgradient(backend):
    # scores [1, 0], y=0, delta=1: margin 0 - 1 + 1 = 0 is not > 0.
    loss, dW = fastloss.svm_loss(np.array([[1.0, 0.0]]), np.array([[1.0]]), np.array([0]), backend=backend)
    assert loss == 0.0
    np.testing.assert_array_equal(dW, [[0.0, 0.0]])


def test_svm_delta_option(backend):
    # same data as above with delta=3: row0 margins 4, 3 -> 7; row1 5, 3.5 -> 8.5; mean 7.75
    loss, _ = fastloss.svm_loss(W, X, Y, delta=3.0, backend=backend)
    assert loss == pytest.approx(7.75, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_known_value(backend, dtype):
    # W = 0: every class has p = 1/3, loss = log 3; dW = X^T (P - onehot) / N.
    loss, dW = fastloss.softmax_loss(np.zeros((2, 3), dtype), X.astype(dtype), Y, backend=backend)
    assert loss == pytest.approx(np.log(3), rel=1e-6)
    np.testing.assert_allclose(dW, [[-0.25, 0.25, 0.0], [-5 / 6, 1 / 6, 2 / 3]], rtol=1e-6, atol=1e-7)


def test_softmax_is_stable_for_huge_scores(backend):
    # scores [1000, 0], y=1: loss = logsumexp - s_1 = 1000 + log(1 + e^-1000) = 1000.
    loss, dW = fastloss.softmax_loss(np.array([[1000.0, 0.0]]), np.array([[1.0]]), np.array([1]),
                                     backend=backend)
    assert loss == pytest.approx(1000.0, rel=1e-15)
    np.testing.assert_allclose(dW, [[1.0, -1.0]], rtol=1e-15)
