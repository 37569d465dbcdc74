"""Any layout and label dtype gives the same numbers; inputs are never modified.
Generic over the registry: every array argument of every loss gets each treatment."""
import numpy as np
import pytest

from fastloss._cases import Case, as_dtype, make_case

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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss,variant", LOSS_VARIANTS, ids=LOSS_VARIANT_IDS)
def test_grad_out_receives_the_gradient(loss, variant, dtype, backend):
    """grad_out (filled with NaN first) gets exactly the gradient a fresh call returns,
    for every reduction, and is the array returned."""
    case = as_dtype(make_case(loss, rng=15, n=9, d=5, c=4, variant=variant), dtype)
    for reduction in reductions(loss):
        loss_value, grad = call(case, backend, reduction)
        out = np.full_like(grad, np.nan)
        loss_out, grad_out = call(case, backend, reduction, grad_out=out)
        assert grad_out is out
        np.testing.assert_array_equal(grad_out, grad)
        np.testing.assert_array_equal(loss_out, loss_value)


def _bad_outs(case):
    g = case.args[case.grad_arg]
    other = np.float32 if g.dtype == np.float64 else np.float64
    read_only = np.empty_like(g)
    read_only.flags.writeable = False
    wide = np.empty(g.shape[:-1] + (2 * g.shape[-1],), g.dtype)
    return {
        "list": (g.tolist(), TypeError, "grad_out must be a numpy array"),
        "shape": (np.empty(g.shape + (1,), g.dtype), ValueError, "grad_out has shape"),
        "dtype": (np.empty(g.shape, other), ValueError, "grad_out has dtype"),
        "strided": (wide[..., ::2], ValueError, "C-contiguous and writeable"),
        "read-only": (read_only, ValueError, "C-contiguous and writeable"),
        "an input": (g, ValueError, "grad_out shares memory with"),
    }


@pytest.mark.parametrize("bad", ["list", "shape", "dtype", "strided", "read-only", "an input"])
@pytest.mark.parametrize("loss,variant", LOSS_VARIANTS, ids=LOSS_VARIANT_IDS)
def test_bad_grad_out_is_refused(loss, variant, bad, backend):
    case = make_case(loss, rng=16, n=6, d=4, c=3, variant=variant)
    out, exc, msg = _bad_outs(case)[bad]
    before = [a.copy() for a in case.args if isinstance(a, np.ndarray)]
    with pytest.raises(exc, match=msg):
        call(case, backend, grad_out=out)
    for a, b in zip([a for a in case.args if isinstance(a, np.ndarray)], before):
        np.testing.assert_array_equal(a, b)
