"""Any layout and label dtype gives the same numbers; inputs are never modified.
Generic over the registry: every array argument of every loss gets each treatment."""
import numpy as np
import pytest

from fastloss._cases import Case, make_case

from conftest import DTYPES, LOSS_VARIANT_IDS, LOSS_VARIANTS, assert_agree, call, reductions


def _strided(a):
    big = np.zeros(tuple(2 * m for m in a.shape), a.dtype)
    view = big[tuple(slice(None, None, 2) for _ in a.shape)]
    view[...] = a
    return view


def _read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


def _swapped(a):
    return a.astype(a.dtype.newbyteorder(">" if a.dtype.byteorder != ">" else "<"))


LAYOUTS = {  # name -> (transform of float arrays, transform of integer label arrays)
    "fortran": (np.asfortranarray, lambda y: y),
    "strided": (_strided, _strided),
    "read-only": (_read_only, _read_only),
    "byte-swapped": (_swapped, _swapped),
    "int32-labels": (lambda a: a, lambda y: y.astype(np.int32)),
    "uint8-labels": (lambda a: a, lambda y: y.astype(np.uint8) if y.min() >= 0 else y),
}


def _transform(case, name):
    f_float, f_int = LAYOUTS[name]

    def t(v):
        if isinstance(v, np.ndarray):
            return f_float(v) if v.dtype.kind == "f" else f_int(v)
        return v
    return Case(case.loss, tuple(t(a) for a in case.args),
                {k: t(v) for k, v in case.kwargs.items()}, case.grad_arg)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("loss,variant", LOSS_VARIANTS, ids=LOSS_VARIANT_IDS)
def test_layouts_give_identical_results(loss, variant, dtype, backend):
    case = make_case(loss, rng=11, dtype=dtype, n=21, d=8, c=5, variant=variant)
    ref = call(case, backend)
    for name in LAYOUTS:
        got = call(_transform(case, name), backend)
        assert got[0] == ref[0], name
        np.testing.assert_array_equal(got[1], ref[1], err_msg=name)
        assert got[1].dtype == dtype and got[1].flags.c_contiguous, name


@pytest.mark.parametrize("loss,variant", LOSS_VARIANTS, ids=LOSS_VARIANT_IDS)
def test_python_lists_work(loss, variant, backend):
    case = make_case(loss, rng=14, n=6, d=4, c=3, variant=variant)  # float64: lists are float64
    lists = Case(case.loss, tuple(a.tolist() for a in case.args), case.kwargs, case.grad_arg)
    assert_agree(call(lists, backend), call(case, "loop"), np.float64)


@pytest.mark.parametrize("loss,variant", LOSS_VARIANTS, ids=LOSS_VARIANT_IDS)
def test_inputs_are_never_modified(loss, variant, backend):
    case = make_case(loss, rng=12, n=17, d=6, c=4, variant=variant)
    arrays = [a for a in list(case.args) + list(case.kwargs.values()) if isinstance(a, np.ndarray)]
    copies = [(a.copy(), a.flags.writeable) for a in arrays]
    for reduction in reductions(loss):
        call(case, backend, reduction)
    for a, (c, w) in zip(arrays, copies):
        np.testing.assert_array_equal(a, c)
        assert a.flags.writeable == w


@pytest.mark.parametrize("loss,variant", LOSS_VARIANTS, ids=LOSS_VARIANT_IDS)
def test_outputs_are_fresh_arrays(loss, variant, backend):
    case = make_case(loss, rng=13, n=5, d=4, c=3, variant=variant)
    _, g1 = call(case, backend)
    _, g2 = call(case, backend)
    assert not np.shares_memory(g1, g2)
    for a in case.args:
        assert not np.shares_memory(g1, a)
