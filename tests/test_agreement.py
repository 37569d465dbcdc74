"""Every loss x option variant x backend x dtype x reduction x awkward shape agrees with
the loop tier, which is the reference everyone can check by eye."""
import numpy as np
import pytest

from fastloss._registry import LOSSES

from conftest import (DTYPES, LOSS_VARIANT_IDS, LOSS_VARIANTS, assert_agree, call, loop_reference,
                      reductions)

# (N, D, C): single sample, two classes, odd sizes, sizes that leave remainders after
# the compiled kernels' row blocks and chunks, more classes than features, rows long
# enough for the score kernels' one-row-at-a-time path (C >= 48 numba, >= 64 cython) with a
# remainder after their 32-lane sums. D is unused by the losses on predictions (their
# inputs are (N, C)).
SHAPES = [(1, 1, 2), (1, 7, 2), (2, 3, 3), (3, 5, 1), (5, 1, 7), (13, 17, 5),
          (50, 31, 10), (97, 3, 12), (1003, 37, 3), (37, 5, 130)]
LARGE = (4099, 11, 10)
DTYPE_IDS = [np.dtype(d).name for d in DTYPES]


def _check(loss, variant, shape, dtype, reduction, backend):
    if LOSSES[loss].family == "linear" and shape[2] < 2:
        pytest.skip("a linear classifier needs C >= 2 for a meaningful check")
    case, ref = loop_reference(loss, variant, shape, np.dtype(dtype).name, reduction, seed=sum(shape))
    assert_agree(call(case, backend, reduction), ref, dtype, f"{loss}/{variant} {backend} {reduction}")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape", SHAPES + [LARGE], ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("loss,variant", LOSS_VARIANTS, ids=LOSS_VARIANT_IDS)
def test_backend_agrees_with_loop(loss, variant, shape, dtype, backend):
    _check(loss, variant, shape, dtype, reductions(loss)[0], backend)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape", [(1, 1, 2), (37, 5, 6)], ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("reduction", ["sum", "none"])
@pytest.mark.parametrize("loss,variant", [lv for lv in LOSS_VARIANTS if reductions(lv[0])[0]],
                         ids=[i for i, lv in zip(LOSS_VARIANT_IDS, LOSS_VARIANTS) if reductions(lv[0])[0]])
def test_reductions_agree_with_loop(loss, variant, reduction, shape, dtype, backend):
    _check(loss, variant, shape, dtype, reduction, backend)


LINEAR_LOSSES = [name for name, spec in LOSSES.items() if spec.family == "linear"]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("chunk_size", [1, 4, 13, 1000])
@pytest.mark.parametrize("loss", LINEAR_LOSSES)
def test_chunked_linear_agrees_with_loop(loss, chunk_size, dtype, backend):
    """The chunked path (BLAS products, score kernel in place) at chunk sizes that leave
    a ragged last chunk, one row per chunk, and one chunk for everything."""
    case, ref = loop_reference(loss, "", (50, 31, 10), np.dtype(dtype).name, None, seed=3)
    assert_agree(case(backend=backend, chunk_size=chunk_size), ref, dtype, f"{loss} {backend} chunks")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("loss", LINEAR_LOSSES)
def test_large_w_takes_chunks_in_compiled_tiers(loss, dtype, backend, monkeypatch):
    """With the size limit of the fused kernels lowered, the compiled tiers switch to the
    chunked path by themselves (with column blocks of the gradient product that leave a
    remainder) and still agree."""
    from fastloss import _chunked

    monkeypatch.setattr(_chunked, "FUSED_MAX_W_BYTES", 0)
    monkeypatch.setattr(_chunked, "CHUNK_ROWS", 7)
    monkeypatch.setattr(_chunked, "BLOCK_BYTES", 31 * 5 * 8)
    taken = []
    real = _chunked.linear_loss
    monkeypatch.setattr(_chunked, "linear_loss", lambda *a, **k: taken.append(1) or real(*a, **k))
    case, ref = loop_reference(loss, "", (97, 31, 12), np.dtype(dtype).name, None, seed=4)
    assert_agree(case(backend=backend), ref, dtype, f"{loss} {backend} auto chunks")
    assert bool(taken) == (backend in ("numba", "cython"))


@pytest.mark.parametrize("serial_up_to", [0, 64])
def test_chunked_score_kernel_threads(backend, serial_up_to, monkeypatch):
    """The chunked path runs its score kernel on one thread when the caller's thread count
    is at most SERIAL_COEF_THREADS (else on the caller's count), and leaves the caller's
    setting as it was."""
    import fastloss
    from fastloss import _chunked, _registry

    seen = []
    real = _registry.kernel

    def recording(*args, **kwargs):
        kern = real(*args, **kwargs)
        return lambda *a: seen.append(fastloss.get_num_threads()) or kern(*a)

    monkeypatch.setattr(_chunked, "SERIAL_COEF_THREADS", serial_up_to)
    monkeypatch.setattr(_chunked._registry, "kernel", recording)
    before = fastloss.get_num_threads()
    case, ref = loop_reference("softmax", "", (50, 31, 10), "float64", None, seed=5)
    assert_agree(case(backend=backend, chunk_size=7), ref, np.float64, f"softmax {backend} chunks")
    assert fastloss.get_num_threads() == before
    if backend != "loop":
        assert seen and set(seen) == {1 if before <= serial_up_to else before}
