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


# ---- prediction-level losses: the seed formulas and small hand computations ----

def test_hinge_grad_is_minus_t_over_n(backend):
    # t p = [2, -0.5, 0.5, 1]: active where t p < 1 -> elements 1, 2 (element 3 sits at the margin).
    p = np.array([2.0, 0.5, 0.5, -1.0])
    t = np.array([1.0, -1.0, 1.0, -1.0])
    loss, grad = fastloss.hinge_loss(p, t, backend=backend)
    assert loss == pytest.approx((0 + 1.5 + 0.5 + 0) / 4)
    np.testing.assert_allclose(grad, [0, 1 / 4, -1 / 4, 0])
    sq, sq_grad = fastloss.squared_hinge_loss(p, t, reduction="sum", backend=backend)
    assert sq == pytest.approx(1.5 ** 2 + 0.5 ** 2)
    np.testing.assert_allclose(sq_grad, [0, 2 * 1.5, -2 * 0.5, 0])


def test_mse_backward_is_2_x_minus_t_over_n(backend):
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    t = np.array([[0.0, 2.0], [1.0, 1.0]])
    loss, grad = fastloss.mse_loss(x, t, backend=backend)
    assert loss == pytest.approx((1 + 0 + 4 + 4) / 4)
    np.testing.assert_allclose(grad, 2 * (x - t) / 4)


def test_l1_and_huber_known_values(backend):
    x = np.array([0.0, 0.5, 3.0, -2.0])
    t = np.array([0.0, 0.0, 1.0, 0.0])
    loss, grad = fastloss.l1_loss(x, t, reduction="none", backend=backend)
    np.testing.assert_allclose(loss, [0, 0.5, 2, 2])
    np.testing.assert_allclose(grad, [0, 1, 1, -1])  # sign(0) = 0
    # huber delta=1: d = [0, .5, 2, -2] -> [0, .125, 1.5, 1.5]; grad [0, .5, 1, -1]
    loss, grad = fastloss.huber_loss(x, t, reduction="none", backend=backend)
    np.testing.assert_allclose(loss, [0, 0.125, 1.5, 1.5])
    np.testing.assert_allclose(grad, [0, 0.5, 1, -1])


def test_bce_with_logits_known_values(backend):
    # logit 0: -log(1/2) = log 2 for any t; grad sigma(0) - t = 1/2 - t
    loss, grad = fastloss.bce_with_logits_loss(np.zeros(3), np.array([0.0, 1.0, 0.25]),
                                               reduction="none", backend=backend)
    np.testing.assert_allclose(loss, [np.log(2)] * 3)
    np.testing.assert_allclose(grad, [0.5, -0.5, 0.25])
    # logits +-1000 stay finite: t=0, x=1000 -> loss 1000; t=1, x=-1000 -> 1000*pos_weight
    loss, grad = fastloss.bce_with_logits_loss(np.array([1000.0, -1000.0]), np.array([0.0, 1.0]),
                                               pos_weight=np.array([1.0, 3.0]), reduction="none",
                                               backend=backend)
    np.testing.assert_allclose(loss, [1000.0, 3000.0])
    np.testing.assert_allclose(grad, [1.0, -3.0])


def test_cross_entropy_backward_is_p_minus_y_over_n(backend):
    z = np.array([[0.0, 0.0, 0.0], [np.log(2.0), 0.0, 0.0]])
    y = np.array([0, 1])
    p = np.array([[1 / 3] * 3, [0.5, 0.25, 0.25]])
    loss, grad = fastloss.cross_entropy_loss(z, y, backend=backend)
    assert loss == pytest.approx((np.log(3) + np.log(4)) / 2)
    np.testing.assert_allclose(grad, (p - np.eye(3)[y]) / 2)
    # the same with one-hot probability targets (the seed notes' CrossEntropy criterion)
    loss2, grad2 = fastloss.cross_entropy_loss(z, np.eye(3)[y], backend=backend)
    assert loss2 == pytest.approx(loss)
    np.testing.assert_allclose(grad2, grad)


def test_cross_entropy_huge_logits_exact(backend):
    # logits +-1e4: logsumexp is exactly the max, no log(0), no clipping.
    loss, grad = fastloss.cross_entropy_loss(np.array([[1e4, -1e4]]), np.array([1]), backend=backend)
    assert loss == 2e4
    np.testing.assert_allclose(grad, [[1.0, -1.0]])


def test_multiclass_hinge_known_value(backend):
    # scores of the svm test above: row0 -> 3, row1 -> 4.5
    s = X @ W
    loss, grad = fastloss.multiclass_hinge_loss(s, Y, reduction="none", backend=backend)
    np.testing.assert_allclose(loss, [3.0, 4.5])
    np.testing.assert_allclose(grad, [[-2, 1, 1], [1, 1, -2]])
