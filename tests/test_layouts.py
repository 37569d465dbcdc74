"""Any float layout and label dtype gives the same numbers; inputs are never modified."""
import numpy as np
import pytest

from fastloss._cases import make_case

from conftest import LOSS_NAMES, assert_agree


def _variants(W, X, y):
    ro_W, ro_X, ro_y = W.copy(), X.copy(), y.copy()
    for a in (ro_W, ro_X, ro_y):
        a.flags.writeable = False
    big_X = np.zeros((2 * X.shape[0], 3 * X.shape[1]), X.dtype)
    big_X[::2, ::3] = X
    return {
        "fortran": (np.asfortranarray(W), np.asfortranarray(X), y),
        "strided": (W, big_X[::2, ::3], np.repeat(y, 2)[::2]),
        "read-only": (ro_W, ro_X, ro_y),
        "int32-labels": (W, X, y.astype(np.int32)),
        "uint8-labels": (W, X, y.astype(np.uint8)),
        "big-endian": (W.astype(W.dtype.newbyteorder(">")), X.astype(X.dtype.newbyteorder(">")), y),
        "lists": (W.tolist(), X.tolist(), y.tolist()),
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_layouts_give_identical_results(loss, dtype, backend):
    case = make_case(loss, rng=11, dtype=dtype, n=21, d=8, c=5)
    ref = case(backend=backend)
    for name, args in _variants(*case.args).items():
        got = case.func(*args, backend=backend, **case.kwargs)
        if name == "lists":  # Python floats are float64
            assert_agree(got, ref if dtype == np.float64 else case.func(
                *[np.asarray(a, np.float64) if i < 2 else a for i, a in enumerate(case.args)],
                backend="loop", **case.kwargs), np.float64, name)
            continue
        assert got[0] == ref[0], name
        np.testing.assert_array_equal(got[1], ref[1], err_msg=name)
        assert got[1].dtype == dtype and got[1].flags.c_contiguous


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_inputs_are_never_modified(loss, backend):
    case = make_case(loss, rng=12, n=17, d=6, c=4)
    copies = [a.copy() for a in case.args]
    flags = [a.flags.writeable for a in case.args]
    case(backend=backend)
    for a, c, f in zip(case.args, copies, flags):
        np.testing.assert_array_equal(a, c)
        assert a.flags.writeable == f


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_gradient_is_a_fresh_array(loss, backend):
    case = make_case(loss, rng=13, n=5, d=4, c=3)
    _, g1 = case(backend=backend)
    _, g2 = case(backend=backend)
    assert not np.shares_memory(g1, g2)
    for a in case.args:
        assert not np.shares_memory(g1, a)
