"""Tier "loop": the linear-classifier losses as readable per-sample Python loops.

Written the way CS231n writes them, so anyone can check them by eye; never optimised.
Scores are computed in the input dtype, every sum is accumulated in float64 (a Python
float or a float64 array) so this tier is also the most accurate reference.
Kernel contract: see ``fastloss._registry``.
"""
import math

import numpy as np


def svm(W, X, y, delta, scale, dW):
    """Multiclass SVM: returns sum_i sum_{j!=y_i} max(0, s_j - s_{y_i} + delta); dW = scale * gradient."""
    num_train, num_classes = X.shape[0], W.shape[1]
    grad = np.zeros(W.shape, dtype=np.float64)
    loss = 0.0
    for i in range(num_train):
        scores = X[i].dot(W)
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = float(scores[j]) - float(correct_class_score) + delta
            # Strict: a margin of exactly 0 has subgradient 0. Written as "not <= 0" so
            # that a NaN margin counts as active and the NaN reaches the loss.
            if not margin <= 0:
                loss += margin
                grad[:, j] += X[i]
                grad[:, y[i]] -= X[i]
    dW[...] = grad * scale
    return loss


def softmax(W, X, y, scale, dW):
    """Softmax cross-entropy: returns sum_i -log softmax(s)[y_i]; dW = scale * gradient."""
    num_train, num_classes = X.shape[0], W.shape[1]
    grad = np.zeros(W.shape, dtype=np.float64)
    loss = 0.0
    for i in range(num_train):
        scores = X[i].dot(W).astype(np.float64)
        scores -= scores.max()  # max shift: exp never overflows, the largest term is exp(0) = 1
        sum_exp = 0.0
        for j in range(num_classes):
            sum_exp += math.exp(scores[j])
        log_sum_exp = math.log(sum_exp)
        loss += log_sum_exp - scores[y[i]]
        for j in range(num_classes):
            p = math.exp(scores[j] - log_sum_exp)
            grad[:, j] += (p - (j == y[i])) * X[i]
    dW[...] = grad * scale
    return loss
