"""Tier "numba": linear-classifier losses (multiclass SVM, softmax), ``@njit`` + ``prange``.

Kernel contract and formulas: exactly those of ``fastloss.loop.linear`` (same names,
signatures and NaN rules; see ``fastloss._registry``). Scores ``S = X W`` are computed
in the input dtype, margins, softmax and every loss sum in float64.

Why not the obvious loop
------------------------
A per-row loop ``scores[c] += X[i, d] * W[d, c]`` loses to NumPy's two BLAS products
(0.3-0.7x, measured): W is (D, C) with C = 10, so the inner loop over C is too short to
vectorize and every X element is loaded once per class. The kernels below are instead
organised like a small GEMM whose result is consumed while it is still in cache.

Design
------
* ``W`` is transposed once per call into ``Wt`` (C, D): every score is a dot product
  along contiguous D and every gradient update an axpy along contiguous D, both long
  loops that LLVM vectorizes with 512-bit FMAs.
* Register tiles of 4 rows x 5 or 4 classes (and 4 x 2 for the last two; an odd C gets
  one zero class row in ``Wt``; ``_five_class_tile`` picks the widths: C = 10 as 5 + 5):
  - ``_dot4x5`` / ``_axpy4x5``: the same with 20 accumulators / coefficients, so C = 10
    sweeps each 4 rows of X twice instead of three times (4 + 4 + 2). Measured on the
    Intel machine, N=500 D=3073, two threads, with MIN_CHUNK_ROWS 128: svm float64
    917 -> 795 us, float32 504 -> 457 us (the 4 x 5 tiles gave 2-10% of that, the
    fewer slabs the rest);
  - ``_dot4x4``: 16 accumulators; each iteration loads 4 x and 4 w vectors for 16 FMAs,
    so every W row fetched from cache serves 4 samples and every X row 4 classes;
  - ``_axpy4x4``: ``slab[c] += sum_r G[r, c] * x_r`` for 4 classes at once (the 16
    coefficients stay in registers; 8 loads and 4 stores per 16 FMAs).
  Measured on this machine (AMD EPYC Zen 4, one 512-bit FMA per cycle and core) both
  run at ~0.29 ns per 512-bit FMA, i.e. at the FMA peak, when their operands are in L2.
  On the Intel machine (two 512-bit FMAs per cycle, 0.13 ns each) the float32 score tile
  runs at ~0.26 ns per FMA with its operands in L2, a C intrinsics version of the same
  tile at 0.20-0.23 ns (both limited by the 9 loads per 20 FMAs, not by L2).
* The score tiles start their accumulators at 0 (S is zeroed per block anyway), not at
  S's values: with 20 scalar live-ins LLVM spilled 5-6 of the 20 float32 accumulators of
  ``_dot4x5`` to the stack (a load and a store per FMA). Without them it keeps all 20
  in registers: float32 svm N=49000 two threads 48.7 -> 45.0 ms, N=500 430 -> 402 us.
* Blocks of ``ROWS_PER_BLOCK`` (16) rows: scores of the block (X rows streamed from
  memory), then per row the margins or the softmax in float64 giving the coefficient
  matrix G (16, C) and the loss, then the gradient of the block. The second read of the
  16 rows (~400 KB float64 at D=3073) comes from L2, so X travels from memory once. W
  (transposed) and the gradient slab (C, D) stay in L2 too (~250 KB each float64).
  The score pass sweeps the whole D in one loop: splitting D into L1-sized pieces
  measured slower (the 16 horizontal sums per piece cost more than L1 saves: L2 feeds
  these tiles fast enough). The gradient pass has no horizontal sums and goes D-tile
  outermost (as the Cython tier): a (Cp + 4) x T tile of the slab and of X takes
  ``GRAD_TILE_BYTES`` (48 KiB, L1), so the slab tile serves all 16 rows from L1 instead of
  the whole slab streaming through L2 once per 4 rows (float32, X in L2: 0.63 -> 0.60 us
  per row, float64 1.25 -> 1.17; 32-64 KiB measured the same within noise).
* Private buffers (``Wt``, gradient slabs) are 64-byte aligned with a padded row stride
  ``Dp``, a multiple of 64 bytes chosen so that ``Dp * itemsize mod 4096`` is at least 192
  bytes away from 0. Unaligned or 4 KiB-aliased slab rows made the axpy tile 2-3x slower
  (cache-line-split stores, loads falsely waiting on stores to an address equal modulo
  4 KiB). X itself is read in place: unaligned loads of X cost nothing measurable once
  the slab is aligned (a copy of X into an aligned block buffer measured 20-30% slower
  overall, it adds a serial memory-bound pass).
* Chunks: the N rows are split into ``nch`` contiguous chunks of ``rows`` rows
  (``_chunk_rows``: ``nch`` a power of two, the largest with ``N / nch >=
  MIN_CHUNK_ROWS``, at most ``MAX_CHUNKS``; 2 from 128 rows on, 1 below; ``rows =
  ceil(N / nch)`` rounded up to a whole block), so ``nch`` depends on N (and, for huge
  C*D, on a memory cap of ``SLAB_BUDGET`` bytes of slabs), never on the thread count.
  Each chunk owns a private gradient slab (Cp, Dp) in the input dtype and a float64 loss
  slot; ``prange`` runs the chunks (handed out one at a time: ``_dynamic_schedule`` in
  elementwise.py), then the slabs are summed in chunk order in float64, scaled and
  written transposed into ``dW``, and the loss slots are added in chunk order. The
  transposition of W before the chunks (``_prepare``) and that reduction after them
  (``_finish``) run in parallel over blocks of D when there are two chunks or more:
  serially they took ~10 us and ~26 us at D=3073 C=10 float32, ~9% of an N=500 call
  (measured in one process, shuffled rounds, N=500 float32 two threads, with the block
  softmax of ``_softmax_rows``: svm -8 to -11 us, softmax -14 to -16 us per call). The
  price: three parallel regions per call instead of one, each ending in a barrier, which
  costs a scheduler time slice when another process holds a core (medians of 10-20 ms at
  N=500 were measured on a busy 2-core machine, for both NumPy/OpenBLAS and this tier);
  the Cython tier does the same. ``svm_l2`` / ``softmax_l2`` add the L2 term inside
  ``_finish`` (see ``svm_l2``). No two iterations write the same memory (``dW[:, j] +=
  ...`` across ``prange`` iterations would race) and the result is bit-identical for any
  thread count and scheduling.
  MIN_CHUNK_ROWS = 256 (as the Cython tier): zeroing, summing and the share of the
  transposed write of one slab (250 KB at D=3073 C=10) cost ~10 us on the Intel machine,
  about ten rows' work: at N=500 (svm, two threads) 8 chunks of 64 rows took 917 us
  (float64), 4 chunks of 128 703-711 us, 2 chunks of 256 677-689 us (float32 367-383 ->
  345-362 us). Power-of-two counts share evenly over 2, 4, 8 or 16 threads (3 chunks on
  2 threads would leave one core idle for a third of the call); two chunks leave no
  spare chunk for a thread that finishes early when the other core is busy, the price
  of the lower fixed cost. MAX_CHUNKS = 32 keeps 2-16 threads busy with little tail
  imbalance while the slabs stay small (32 x 250 KB). One chunk (N < 128) runs
  serially without entering the parallel region.
* ``svm``/``softmax`` are thin Python wrappers (they pass delta and scale as floats, so
  an int never compiles another specialisation); nothing calls
  ``numba.get_num_threads()`` inside a compiled function (that would disable the
  on-disk cache), and nothing needs to: the chunking depends on the shapes only.
* Rows past the end of a chunk in its last 4-row tile are clamped to the chunk's last
  row; their coefficients are 0, so they add nothing (their scores are ignored).
* Accuracy: scores and the per-chunk gradient slabs accumulate in the input dtype
  (float32 slabs hold at most ``rows`` rows, ~1.5k at N=49000), everything else in
  float64. Measured against the loop tier: float64 ~1e-14 relative (loss and gradient),
  float32 ~1e-8 on the loss and ~1e-6 of max|dW| on the gradient (NumPy's float32 tier
  is at the same level).
* fastmath: only ``{'reassoc', 'contract', 'nsz', 'arcp'}`` (needed to vectorize the dot
  product reductions and fuse multiply-adds); never ``nnan``/``ninf``, so a NaN in W or
  X reaches the loss: an SVM margin that is NaN counts as active (``not m <= 0``) and a
  NaN score makes the log-sum-exp NaN, as in the loop tier.
* No BLAS: ``np.dot``/``@`` inside a ``prange`` region make OpenBLAS start its own
  threads per call ("Detect OpenMP Loop") and measured slower.
* ``cache=True`` keeps one compiled specialisation per dtype and read-only flag of W, X
  and y on disk; the first call of a new combination compiles (a few seconds). numba's
  cache checks only this file's time stamp.

Where the time goes (one thread, f64, N=49000 D=3073 C=10, measured): score pass
~72 ms with X in L3, ~103 ms with X streamed from memory (streaming overlaps the FMAs
only partly, although one core can read ~30 GB/s); gradient pass ~67-72 ms (X rows from
L2); FMA peak for each pass ~59 ms. Software prefetching of the next block during the
gradient pass (``llvm.prefetch``) and 2-row x 8-class score tiles were tried and
measured no faster. Timings against the NumPy tier: see the commit message.
"""
import numpy as np
from numba import njit, prange

from .elementwise import (_acc, _dynamic_schedule, _exp_nonpos, _log_ge1, _set_chunksize,
                          _wide_vectors)

# Rows whose scores, coefficients and gradient are computed together (a multiple of 4).
ROWS_PER_BLOCK = 16
# Bytes of a (Cp + 4) x T D-tile of the gradient slab and X in the gradient pass (L1-sized).
GRAD_TILE_BYTES = 49152
# Columns of dW per block of the slab reduction (C x 256 float64 sums: 20 KB at C = 10).
REDUCE_BLOCK = 256
# Chunking of the rows over threads (see module docstring).
MIN_CHUNK_ROWS = 256
MAX_CHUNKS = 32
SLAB_BUDGET = 64 * 2**20

_FASTMATH = {"reassoc", "contract", "nsz", "arcp"}
_JIT = dict(nogil=True, cache=True, error_model="numpy", fastmath=_FASTMATH)
_KERNEL = dict(_JIT, parallel=True)


# ---------------------------------------------------------------------------
# Register tiles. Each loops over the whole feature axis of slices that start at 0
# (a runtime start would keep numba's negative-index wrap-around and block vectorization).

@njit(**_JIT)
def _dot4x5(X, i0, i1, i2, i3, Wt, c, D, S, r):
    """S[r:r+4, c:c+5] += X[[i0..i3], :D] @ Wt[c:c+5, :D].T (20 accumulators): 4 + 5 loads
    per 20 FMAs, and C = 10 sweeps the 4 rows twice instead of three times (4 + 4 + 2)."""
    _wide_vectors()  # compute-bound: 512-bit vectors (see elementwise._wide_vectors)
    z = S.dtype.type(0)
    x0 = X[i0, 0:D]; x1 = X[i1, 0:D]; x2 = X[i2, 0:D]; x3 = X[i3, 0:D]
    w0 = Wt[c, 0:D]; w1 = Wt[c + 1, 0:D]; w2 = Wt[c + 2, 0:D]; w3 = Wt[c + 3, 0:D]
    w4 = Wt[c + 4, 0:D]
    s00 = z; s01 = z; s02 = z; s03 = z; s04 = z
    s10 = z; s11 = z; s12 = z
    s13 = z; s14 = z
    s20 = z; s21 = z; s22 = z
    s23 = z; s24 = z
    s30 = z; s31 = z; s32 = z
    s33 = z; s34 = z
    for k in range(D):
        a0 = x0[k]; a1 = x1[k]; a2 = x2[k]; a3 = x3[k]
        b0 = w0[k]; b1 = w1[k]; b2 = w2[k]; b3 = w3[k]; b4 = w4[k]
        s00 += a0 * b0; s01 += a0 * b1; s02 += a0 * b2; s03 += a0 * b3; s04 += a0 * b4
        s10 += a1 * b0; s11 += a1 * b1; s12 += a1 * b2; s13 += a1 * b3; s14 += a1 * b4
        s20 += a2 * b0; s21 += a2 * b1; s22 += a2 * b2; s23 += a2 * b3; s24 += a2 * b4
        s30 += a3 * b0; s31 += a3 * b1; s32 += a3 * b2; s33 += a3 * b3; s34 += a3 * b4
    S[r, c] = s00; S[r, c + 1] = s01; S[r, c + 2] = s02; S[r, c + 3] = s03; S[r, c + 4] = s04
    S[r + 1, c] = s10; S[r + 1, c + 1] = s11; S[r + 1, c + 2] = s12
    S[r + 1, c + 3] = s13; S[r + 1, c + 4] = s14
    S[r + 2, c] = s20; S[r + 2, c + 1] = s21; S[r + 2, c + 2] = s22
    S[r + 2, c + 3] = s23; S[r + 2, c + 4] = s24
    S[r + 3, c] = s30; S[r + 3, c + 1] = s31; S[r + 3, c + 2] = s32
    S[r + 3, c + 3] = s33; S[r + 3, c + 4] = s34


@njit(**_JIT)
def _dot4x4(X, i0, i1, i2, i3, Wt, c, D, S, r):
    """S[r:r+4, c:c+4] += X[[i0..i3], :D] @ Wt[c:c+4, :D].T (16 accumulators)."""
    _wide_vectors()  # compute-bound: 512-bit vectors (see elementwise._wide_vectors)
    x0 = X[i0, 0:D]; x1 = X[i1, 0:D]; x2 = X[i2, 0:D]; x3 = X[i3, 0:D]
    w0 = Wt[c, 0:D]; w1 = Wt[c + 1, 0:D]; w2 = Wt[c + 2, 0:D]; w3 = Wt[c + 3, 0:D]
    s00 = S[r, c]; s01 = S[r, c + 1]; s02 = S[r, c + 2]; s03 = S[r, c + 3]
    s10 = S[r + 1, c]; s11 = S[r + 1, c + 1]; s12 = S[r + 1, c + 2]; s13 = S[r + 1, c + 3]
    s20 = S[r + 2, c]; s21 = S[r + 2, c + 1]; s22 = S[r + 2, c + 2]; s23 = S[r + 2, c + 3]
    s30 = S[r + 3, c]; s31 = S[r + 3, c + 1]; s32 = S[r + 3, c + 2]; s33 = S[r + 3, c + 3]
    for k in range(D):
        a0 = x0[k]; a1 = x1[k]; a2 = x2[k]; a3 = x3[k]
        b0 = w0[k]; b1 = w1[k]; b2 = w2[k]; b3 = w3[k]
        s00 += a0 * b0; s01 += a0 * b1; s02 += a0 * b2; s03 += a0 * b3
        s10 += a1 * b0; s11 += a1 * b1; s12 += a1 * b2; s13 += a1 * b3
        s20 += a2 * b0; s21 += a2 * b1; s22 += a2 * b2; s23 += a2 * b3
        s30 += a3 * b0; s31 += a3 * b1; s32 += a3 * b2; s33 += a3 * b3
    S[r, c] = s00; S[r, c + 1] = s01; S[r, c + 2] = s02; S[r, c + 3] = s03
    S[r + 1, c] = s10; S[r + 1, c + 1] = s11; S[r + 1, c + 2] = s12; S[r + 1, c + 3] = s13
    S[r + 2, c] = s20; S[r + 2, c + 1] = s21; S[r + 2, c + 2] = s22; S[r + 2, c + 3] = s23
    S[r + 3, c] = s30; S[r + 3, c + 1] = s31; S[r + 3, c + 2] = s32; S[r + 3, c + 3] = s33


@njit(**_JIT)
def _dot4x2(X, i0, i1, i2, i3, Wt, c, D, S, r):
    """S[r:r+4, c:c+2] += X[[i0..i3], :D] @ Wt[c:c+2, :D].T (8 accumulators)."""
    _wide_vectors()  # compute-bound: 512-bit vectors (see elementwise._wide_vectors)
    x0 = X[i0, 0:D]; x1 = X[i1, 0:D]; x2 = X[i2, 0:D]; x3 = X[i3, 0:D]
    w0 = Wt[c, 0:D]; w1 = Wt[c + 1, 0:D]
    s00 = S[r, c]; s01 = S[r, c + 1]
    s10 = S[r + 1, c]; s11 = S[r + 1, c + 1]
    s20 = S[r + 2, c]; s21 = S[r + 2, c + 1]
    s30 = S[r + 3, c]; s31 = S[r + 3, c + 1]
    for k in range(D):
        a0 = x0[k]; a1 = x1[k]; a2 = x2[k]; a3 = x3[k]
        b0 = w0[k]; b1 = w1[k]
        s00 += a0 * b0; s01 += a0 * b1
        s10 += a1 * b0; s11 += a1 * b1
        s20 += a2 * b0; s21 += a2 * b1
        s30 += a3 * b0; s31 += a3 * b1
    S[r, c] = s00; S[r, c + 1] = s01
    S[r + 1, c] = s10; S[r + 1, c + 1] = s11
    S[r + 2, c] = s20; S[r + 2, c + 1] = s21
    S[r + 3, c] = s30; S[r + 3, c + 1] = s31


@njit(**_JIT)
def _axpy4x5(X, i0, i1, i2, i3, G, r, c, slab, t0, t1):
    """slab[c:c+5, t0:t1] += G[r:r+4, c:c+5].T @ X[[i0..i3], t0:t1]: 4 loads of X per 20
    FMAs."""
    _wide_vectors()  # compute-bound: 512-bit vectors (see elementwise._wide_vectors)
    x0 = X[i0, t0:t1]; x1 = X[i1, t0:t1]; x2 = X[i2, t0:t1]; x3 = X[i3, t0:t1]
    o0 = slab[c, t0:t1]; o1 = slab[c + 1, t0:t1]; o2 = slab[c + 2, t0:t1]; o3 = slab[c + 3, t0:t1]
    o4 = slab[c + 4, t0:t1]
    g00 = G[r, c]; g01 = G[r, c + 1]; g02 = G[r, c + 2]; g03 = G[r, c + 3]; g04 = G[r, c + 4]
    g10 = G[r + 1, c]; g11 = G[r + 1, c + 1]; g12 = G[r + 1, c + 2]
    g13 = G[r + 1, c + 3]; g14 = G[r + 1, c + 4]
    g20 = G[r + 2, c]; g21 = G[r + 2, c + 1]; g22 = G[r + 2, c + 2]
    g23 = G[r + 2, c + 3]; g24 = G[r + 2, c + 4]
    g30 = G[r + 3, c]; g31 = G[r + 3, c + 1]; g32 = G[r + 3, c + 2]
    g33 = G[r + 3, c + 3]; g34 = G[r + 3, c + 4]
    for k in range(t1 - t0):
        a0 = x0[k]; a1 = x1[k]; a2 = x2[k]; a3 = x3[k]
        o0[k] += (g00 * a0 + g10 * a1) + (g20 * a2 + g30 * a3)
        o1[k] += (g01 * a0 + g11 * a1) + (g21 * a2 + g31 * a3)
        o2[k] += (g02 * a0 + g12 * a1) + (g22 * a2 + g32 * a3)
        o3[k] += (g03 * a0 + g13 * a1) + (g23 * a2 + g33 * a3)
        o4[k] += (g04 * a0 + g14 * a1) + (g24 * a2 + g34 * a3)


@njit(**_JIT)
def _axpy4x4(X, i0, i1, i2, i3, G, r, c, slab, t0, t1):
    """slab[c:c+4, t0:t1] += G[r:r+4, c:c+4].T @ X[[i0..i3], t0:t1] (coefficients in
    registers)."""
    _wide_vectors()  # compute-bound: 512-bit vectors (see elementwise._wide_vectors)
    x0 = X[i0, t0:t1]; x1 = X[i1, t0:t1]; x2 = X[i2, t0:t1]; x3 = X[i3, t0:t1]
    o0 = slab[c, t0:t1]; o1 = slab[c + 1, t0:t1]; o2 = slab[c + 2, t0:t1]; o3 = slab[c + 3, t0:t1]
    g00 = G[r, c]; g01 = G[r, c + 1]; g02 = G[r, c + 2]; g03 = G[r, c + 3]
    g10 = G[r + 1, c]; g11 = G[r + 1, c + 1]; g12 = G[r + 1, c + 2]; g13 = G[r + 1, c + 3]
    g20 = G[r + 2, c]; g21 = G[r + 2, c + 1]; g22 = G[r + 2, c + 2]; g23 = G[r + 2, c + 3]
    g30 = G[r + 3, c]; g31 = G[r + 3, c + 1]; g32 = G[r + 3, c + 2]; g33 = G[r + 3, c + 3]
    for k in range(t1 - t0):
        a0 = x0[k]; a1 = x1[k]; a2 = x2[k]; a3 = x3[k]
        o0[k] += (g00 * a0 + g10 * a1) + (g20 * a2 + g30 * a3)
        o1[k] += (g01 * a0 + g11 * a1) + (g21 * a2 + g31 * a3)
        o2[k] += (g02 * a0 + g12 * a1) + (g22 * a2 + g32 * a3)
        o3[k] += (g03 * a0 + g13 * a1) + (g23 * a2 + g33 * a3)


@njit(**_JIT)
def _axpy4x2(X, i0, i1, i2, i3, G, r, c, slab, t0, t1):
    """slab[c:c+2, t0:t1] += G[r:r+4, c:c+2].T @ X[[i0..i3], t0:t1]."""
    _wide_vectors()  # compute-bound: 512-bit vectors (see elementwise._wide_vectors)
    x0 = X[i0, t0:t1]; x1 = X[i1, t0:t1]; x2 = X[i2, t0:t1]; x3 = X[i3, t0:t1]
    o0 = slab[c, t0:t1]; o1 = slab[c + 1, t0:t1]
    g00 = G[r, c]; g01 = G[r, c + 1]
    g10 = G[r + 1, c]; g11 = G[r + 1, c + 1]
    g20 = G[r + 2, c]; g21 = G[r + 2, c + 1]
    g30 = G[r + 3, c]; g31 = G[r + 3, c + 1]
    for k in range(t1 - t0):
        a0 = x0[k]; a1 = x1[k]; a2 = x2[k]; a3 = x3[k]
        o0[k] += (g00 * a0 + g10 * a1) + (g20 * a2 + g30 * a3)
        o1[k] += (g01 * a0 + g11 * a1) + (g21 * a2 + g31 * a3)


# ---------------------------------------------------------------------------
# One block of rows: scores, then gradient.

@njit(**_JIT)
def _five_class_tile(rest):
    """True while a 5-class tile should take the next classes of the (even) Cp: C = 10 goes
    as 5 + 5; a rest of 6 or 8 as 4 + 2 or 4 + 4 (two sweeps of the rows either way), so no
    class count sweeps the rows more often than with 4-class tiles alone, and the rest is
    never odd."""
    return rest >= 5 and rest != 6 and rest != 8


@njit(**_JIT)
def _four_rows(i0, stop):
    """Rows i0..i0+3 of a register tile, those past the chunk's end clamped to its last
    row (their coefficients are 0)."""
    last = stop - 1
    return i0, min(i0 + 1, last), min(i0 + 2, last), min(i0 + 3, last)


@njit(**_JIT)
def _block_scores(X, b0, stop, Wt, S):
    """S[:nb, :] = X[b0:b0+nb] @ Wt.T with nb = min(ROWS_PER_BLOCK, stop - b0)."""
    D = X.shape[1]
    Cp = Wt.shape[0]
    S[:, :] = 0
    for r in range(0, min(ROWS_PER_BLOCK, stop - b0), 4):
        i0, i1, i2, i3 = _four_rows(b0 + r, stop)
        c = 0
        while _five_class_tile(Cp - c):
            _dot4x5(X, i0, i1, i2, i3, Wt, c, D, S, r)
            c += 5
        while c + 4 <= Cp:
            _dot4x4(X, i0, i1, i2, i3, Wt, c, D, S, r)
            c += 4
        if c < Cp:
            _dot4x2(X, i0, i1, i2, i3, Wt, c, D, S, r)


@njit(**_JIT)
def _block_grad(X, b0, stop, G, slab):
    """slab += G[:nb].T @ X[b0:b0+nb] (rows of G past nb are 0), one D-tile at a time."""
    D = X.shape[1]
    Cp = slab.shape[0]
    lanes = 64 // X.itemsize
    T = max(lanes, GRAD_TILE_BYTES // ((Cp + 4) * X.itemsize) // lanes * lanes)
    for t0 in range(0, D, T):
        t1 = min(D, t0 + T)
        for r in range(0, min(ROWS_PER_BLOCK, stop - b0), 4):
            i0, i1, i2, i3 = _four_rows(b0 + r, stop)
            c = 0
            while _five_class_tile(Cp - c):
                _axpy4x5(X, i0, i1, i2, i3, G, r, c, slab, t0, t1)
                c += 5
            while c + 4 <= Cp:
                _axpy4x4(X, i0, i1, i2, i3, G, r, c, slab, t0, t1)
                c += 4
            if c < Cp:
                _axpy4x2(X, i0, i1, i2, i3, G, r, c, slab, t0, t1)


# ---------------------------------------------------------------------------
# Per-row coefficients (float64 arithmetic, as in the loop tier).

@njit(**_JIT)
def _svm_rows(S, y, b0, nb, C, delta, G):
    """Margins of rows b0..b0+nb: fills G[:nb, :C] and returns their loss sum."""
    loss = 0.0
    for r in range(nb):
        yi = y[b0 + r]
        sy = np.float64(S[r, yi])
        active = 0
        for j in range(C):
            m = np.float64(S[r, j]) - sy + delta
            # Strict: a margin of exactly 0 has subgradient 0. "not m <= 0" makes a NaN
            # margin active, so the NaN reaches the loss (and the gradient).
            if j != yi and not m <= 0.0:
                loss += m
                G[r, j] = 1
                active += 1
            else:
                G[r, j] = 0
        G[r, yi] = -active
    return loss


@njit(nogil=True, cache=True, error_model="numpy", fastmath=False)  # see below
def _softmax_rows(S, y, b0, nb, C, G, e, rs):
    """Softmax of rows b0..b0+nb: fills G[:nb, :C] = p - onehot(y), returns sum -log p_y.
    e, rs: float64 scratch of ROWS_PER_BLOCK * C and (2, ROWS_PER_BLOCK) elements (the
    chunk's, so that no block allocates).

    The exps of the block's rows in one flat loop (``_exp_nonpos``, vectorized) and the
    logs of the row sums (>= 1: the max term is exp(0)) in another (``_log_ge1``): with
    math.exp per class and math.log per row, C = 10 rows cost ~50 ns each, ~4% of N=500
    D=3073 float32. Compiled without fastmath, and saying so (an unset option inherits the
    caller's): 'reassoc' would let LLVM fold the exact range reduction of ``_exp_nonpos``
    and the NaN guard of ``_log_ge1`` (see "No fastmath" in the elementwise module doc)."""
    sy, tot = rs[0], rs[1]
    loss = 0.0
    for r in range(nb):
        m = np.float64(S[r, 0])
        for j in range(1, C):
            s = np.float64(S[r, j])
            if s > m:
                m = s
        # max shift: exp never overflows, the largest term is exp(0) = 1 (a NaN score
        # makes the sum, hence loss and gradient of the row, NaN).
        sy[r] = np.float64(S[r, y[b0 + r]]) - m
        for j in range(C):
            e[r * C + j] = np.float64(S[r, j]) - m
    flat = e[:nb * C]
    for k in range(nb * C):
        flat[k] = _exp_nonpos(flat[k])
    for r in range(nb):
        total = 0.0
        for j in range(C):
            total += e[r * C + j]
        tot[r] = total
    for r in range(nb):
        sy[r] = _log_ge1(tot[r]) - sy[r]
    for r in range(nb):
        yi = y[b0 + r]
        inv = 1.0 / tot[r]
        for j in range(C):
            G[r, j] = e[r * C + j] * inv
        G[r, yi] = e[r * C + yi] * inv - 1.0
        loss += sy[r]
    return loss


# ---------------------------------------------------------------------------
# Chunks and buffers.

@njit(**_JIT)
def _padded_cols(D, itemsize):
    """Row stride (elements) of the private buffers: a multiple of 64 bytes whose byte
    size is >= 192 bytes away from a multiple of 4096 (no 4 KiB aliasing between rows)."""
    lanes = 64 // itemsize
    Dp = (D + lanes - 1) // lanes * lanes
    while (Dp * itemsize) % 4096 < 192 or (Dp * itemsize) % 4096 > 4096 - 192:
        Dp += lanes
    return Dp


@njit(**_JIT)
def _aligned_empty(rows, cols, like):
    """Uninitialised C-contiguous (rows, cols) array of like's dtype, 64-byte aligned."""
    itemsize = like.itemsize
    n = rows * cols
    buf = np.empty(n + 64 // itemsize, dtype=like.dtype)
    off = ((64 - buf.ctypes.data % 64) % 64) // itemsize
    return buf[off:off + n].reshape((rows, cols))


@njit(**_JIT)
def _chunk_rows(N, Cp, Dp, itemsize):
    """Rows per chunk (a multiple of ROWS_PER_BLOCK): depends on the shapes only.

    A power-of-two chunk count (so 2, 4, 8 or 16 threads share the chunks evenly), the
    largest with at least MIN_CHUNK_ROWS rows per chunk, capped at MAX_CHUNKS and by
    SLAB_BUDGET; two chunks from 8 * ROWS_PER_BLOCK = 128 rows on (one per core of a
    2-core machine), one below."""
    nch = 1
    while nch * 2 <= MAX_CHUNKS and N >= nch * 2 * MIN_CHUNK_ROWS:
        nch *= 2
    if nch == 1 and N >= 8 * ROWS_PER_BLOCK:
        nch = 2
    nch = min(nch, max(2, SLAB_BUDGET // (Cp * Dp * itemsize)))
    rows = (N + nch - 1) // nch
    return (rows + ROWS_PER_BLOCK - 1) // ROWS_PER_BLOCK * ROWS_PER_BLOCK


@njit(**_JIT)
def _transpose_block(W, Wt, b):
    """Wt[c, d] = W[d, c] for the d of block b (REDUCE_BLOCK columns); W read in order."""
    D, C = W.shape
    for d in range(b * REDUCE_BLOCK, min(D, (b + 1) * REDUCE_BLOCK)):
        for c in range(C):
            Wt[c, d] = W[d, c]


@njit(**_JIT)
def _svm_chunk(Wt, X, y, C, delta, start, stop, slab):
    Cp = slab.shape[0]
    # Aligned like the slabs: with buffers at whatever address malloc gives, the results
    # differed in the last bit between calls from the main thread and from other threads
    # (other malloc arenas, other alignments; measured on softmax float64), so a result
    # depended on the calling thread. Fixed alignment makes it bit-reproducible.
    S = _aligned_empty(ROWS_PER_BLOCK, Cp, X)
    G = _aligned_empty(ROWS_PER_BLOCK, Cp, X)
    G[:, :] = 0
    slab[:, :] = 0
    loss = 0.0
    for b0 in range(start, stop, ROWS_PER_BLOCK):
        nb = min(ROWS_PER_BLOCK, stop - b0)
        _block_scores(X, b0, stop, Wt, S)
        loss += _svm_rows(S, y, b0, nb, C, delta, G)
        G[nb:, :] = 0
        _block_grad(X, b0, stop, G, slab)
    return loss


@njit(**_JIT)
def _softmax_chunk(Wt, X, y, C, start, stop, slab):
    Cp = slab.shape[0]
    S = _aligned_empty(ROWS_PER_BLOCK, Cp, X)
    G = _aligned_empty(ROWS_PER_BLOCK, Cp, X)
    G[:, :] = 0
    e = _aligned_empty(1, ROWS_PER_BLOCK * C, np.empty(0))[0]  # aligned: see _svm_chunk
    rs = np.empty((2, ROWS_PER_BLOCK))
    slab[:, :] = 0
    loss = 0.0
    for b0 in range(start, stop, ROWS_PER_BLOCK):
        nb = min(ROWS_PER_BLOCK, stop - b0)
        _block_scores(X, b0, stop, Wt, S)
        loss += _softmax_rows(S, y, b0, nb, C, G, e, rs)
        G[nb:, :] = 0
        _block_grad(X, b0, stop, G, slab)
    return loss


@njit(**_JIT)
def _reduce_block(slabs, nch, C, scale, dW, b, W, r2):
    """dW[d, :] = scale * sum_k slabs[k, :C, d] (+ r2 W[d, :] when r2 != 0) for the d of
    block b (REDUCE_BLOCK columns), summed in chunk order in float64 and rounded once;
    returns the block's sum of W[d, :]**2 (float64) when r2 != 0, else 0.

    The (C, REDUCE_BLOCK) float64 sums stay in L1 for the transposed write into dW. Measured
    on the Intel machine, D=3073 C=10, all blocks on one thread: 20 us for one slab, 31 us
    for four; ~13 us of it is the transposed write, scalar stores LLVM does not vectorize
    (every loop order measured 11-14 us; NumPy's own transposing copy takes 12 us)."""
    D = dW.shape[0]
    d0 = b * REDUCE_BLOCK
    n = min(REDUCE_BLOCK, D - d0)
    acc = np.empty((C, REDUCE_BLOCK))
    for c in range(C):
        dst = acc[c, 0:n]
        dst[:] = 0.0
        for k in range(nch):
            src = slabs[k, c, d0:d0 + n]
            for j in range(n):
                dst[j] += np.float64(src[j])
    if r2 == 0.0:
        for j in range(n):
            for c in range(C):
                dW[d0 + j, c] = acc[c, j] * scale
        return 0.0
    # The L2 term fused into the write (see svm_l2): W's rows d0..d0+n, contiguous.
    w = W.ravel()[d0 * C:(d0 + n) * C]
    sq = 0.0
    for k in range(w.shape[0]):
        v = np.float64(w[k])
        sq = _acc(sq, v * v)
    for j in range(n):
        for c in range(C):
            dW[d0 + j, c] = acc[c, j] * scale + r2 * np.float64(W[d0 + j, c])
    return sq


@njit(**_KERNEL)
def _prepare(W, X):
    """Wt = W transposed (Cp, Dp), the rows per chunk, the chunk count and the chunks'
    uninitialised gradient slabs (nch, Cp, Dp). The transposition runs in parallel over
    blocks of D when there are two chunks or more (as ``_finish``'s reduction): serially
    it takes ~10 us at D=3073 C=10, ~2.5% of N=500 float32."""
    N, D = X.shape
    C = W.shape[1]
    Cp = C + (C & 1)
    Dp = _padded_cols(D, X.itemsize)
    Wt = _aligned_empty(Cp, Dp, W)
    rows = _chunk_rows(N, Cp, Dp, X.itemsize)
    nch = (N + rows - 1) // rows
    nblk = (D + REDUCE_BLOCK - 1) // REDUCE_BLOCK
    if nch == 1:
        for b in range(nblk):
            _transpose_block(W, Wt, b)
    else:
        old = _dynamic_schedule()
        for b in prange(nblk):
            _transpose_block(W, Wt, b)
        _set_chunksize(old)
    for c in range(C, Cp):  # the zero class row of an odd C
        for d in range(Dp):
            Wt[c, d] = 0
    slabs = _aligned_empty(nch * Cp, Dp, X).reshape((nch, Cp, Dp))
    return Wt, rows, nch, slabs


@njit(**_KERNEL)
def _finish(slabs, nch, C, scale, dW, partial, W, r2):
    """dW = scale * sum of the slabs (transposed) + r2 W, in parallel over blocks of D when
    there are two chunks or more (serially ~26 us at D=3073 C=10 float32, ~7% of N=500;
    each parallel region ends in a barrier, the price when the other core is busy); returns
    the chunks' losses added in chunk order and sum(W**2) (0 when r2 is 0), the blocks'
    sums added in block order."""
    nblk = (dW.shape[0] + REDUCE_BLOCK - 1) // REDUCE_BLOCK
    sqs = np.empty(nblk)
    if nch == 1:
        for b in range(nblk):
            sqs[b] = _reduce_block(slabs, nch, C, scale, dW, b, W, r2)
    else:
        old = _dynamic_schedule()
        for b in prange(nblk):
            sqs[b] = _reduce_block(slabs, nch, C, scale, dW, b, W, r2)
        _set_chunksize(old)
    return _ordered_sum(partial), _ordered_sum(sqs)


@njit(**_JIT)
def _ordered_sum(partial):
    total = 0.0
    for k in range(partial.shape[0]):
        total += partial[k]
    return total


@njit(**_KERNEL)
def _svm_kernel(W, X, y, delta, scale, dW, r2):
    N = X.shape[0]
    C = W.shape[1]
    Wt, rows, nch, slabs = _prepare(W, X)
    partial = np.empty(nch)
    if nch == 1:
        partial[0] = _svm_chunk(Wt, X, y, C, delta, 0, N, slabs[0])
    else:
        old = _dynamic_schedule()
        for k in prange(nch):
            partial[k] = _svm_chunk(Wt, X, y, C, delta, k * rows, min(N, (k + 1) * rows),
                                    slabs[k])
        _set_chunksize(old)
    return _finish(slabs, nch, C, scale, dW, partial, W, r2)


@njit(**_KERNEL)
def _softmax_kernel(W, X, y, scale, dW, r2):
    N = X.shape[0]
    C = W.shape[1]
    Wt, rows, nch, slabs = _prepare(W, X)
    partial = np.empty(nch)
    if nch == 1:
        partial[0] = _softmax_chunk(Wt, X, y, C, 0, N, slabs[0])
    else:
        old = _dynamic_schedule()
        for k in prange(nch):
            partial[k] = _softmax_chunk(Wt, X, y, C, k * rows, min(N, (k + 1) * rows),
                                        slabs[k])
        _set_chunksize(old)
    return _finish(slabs, nch, C, scale, dW, partial, W, r2)


# ---------------------------------------------------------------------------
# Public kernels.

def svm(W, X, y, delta, scale, dW):
    """Multiclass SVM (Weston-Watkins / CS231n) loss sum and scaled gradient.

    With ``S = X W`` and margins ``m_ij = S_ij - S_{i,y_i} + delta``::

        returns  sum_i sum_{j != y_i} max(0, m_ij)            (unscaled, float64 sum)
        dW       = scale * X^T G,  G_ij = [m_ij > 0] (j != y_i),  G_{i,y_i} = -sum_j G_ij

    A margin of exactly 0 is inactive (strict ``>``); a NaN margin counts as active, so
    NaN in W or X reaches the loss.

    W (D, C), X (N, D): C-contiguous, both float32 or both float64 (read-only is fine);
    y (N,) C-contiguous np.intp with labels in [0, C); delta, scale Python floats;
    dW (D, C) C-contiguous of W's dtype, overwritten. Returns a Python float.
    """
    return float(_svm_kernel(W, X, y, float(delta), float(scale), dW, 0.0)[0])


def softmax(W, X, y, scale, dW):
    """Softmax cross-entropy loss sum and scaled gradient.

    With ``S = X W`` and ``P = softmax(S)`` row-wise, computed with the row maximum
    subtracted first (``log p = s - max - log sum exp(s - max)``, stable for scores in
    the thousands)::

        returns  sum_i logsumexp(S_i) - S_{i,y_i}              (unscaled, float64 sum)
        dW       = scale * X^T (P - onehot(y))

    Shapes, dtypes and NaN behaviour as :func:`svm` (without ``delta``).
    """
    return float(_softmax_kernel(W, X, y, float(scale), dW, 0.0)[0])


def svm_l2(W, X, y, delta, scale, reg, dW):
    """:func:`svm` with the L2 term fused in: ``dW = scale * X^T G + 2 reg W`` (in float64,
    rounded once to W's dtype) and returns ``(loss sum, sum_ij W_ij^2)`` (float64, the
    blocks of D added in order). W's rows are squared and added while the slab reduction
    writes them into dW, in the same parallel region: a separate pass after the kernel
    (``l2_penalty``, ~5 us on its own) reads W and dW again, half of them from the other
    core's cache. Measured on the Intel machine, N=500 D=3073 C=10 reg=0.1, two threads,
    whole call, medians of 4 processes x 5 shuffled rounds: float32 svm 508 -> 494 us,
    softmax 515 -> 495 us; float64 896 -> 868 us, 901 -> 871 us (Cython tier: float32
    -15 us, float64 -27 to -38 us)."""
    loss, sq = _svm_kernel(W, X, y, float(delta), float(scale), dW, 2.0 * float(reg))
    return float(loss), float(sq)


def softmax_l2(W, X, y, scale, reg, dW):
    """:func:`softmax` with the L2 term fused in, as :func:`svm_l2`."""
    loss, sq = _softmax_kernel(W, X, y, float(scale), dW, 2.0 * float(reg))
    return float(loss), float(sq)


_L2_BLOCK = 4096  # elements of W per block: summed, then updated, while in L1/L2


@njit(nogil=True, cache=True, error_model="numpy")
def _l2_penalty(W, reg, dW):
    w = W.ravel()
    g = dW.ravel()
    t = W.dtype.type(2.0 * reg)
    total = 0.0
    for b0 in range(0, w.shape[0], _L2_BLOCK):
        b1 = min(w.shape[0], b0 + _L2_BLOCK)
        wb = w[b0:b1]
        gb = g[b0:b1]
        # The sum in a loop that only loads (see elementwise.py, "Reductions"), then the
        # update of the same block.
        s = 0.0
        for k in range(wb.shape[0]):
            v = np.float64(wb[k])
            s = _acc(s, v * v)
        total += s
        for k in range(wb.shape[0]):
            gb[k] = gb[k] + t * wb[k]
    return total


def l2_penalty(W, reg, dW):
    """The L2 term of a linear loss in one compiled pass over W: returns sum_ij W_ij^2
    (float64 accumulation) and adds 2 reg W to dW in place (2 reg rounded once to W's
    dtype, as in NumPy's ``dW += (2 * reg) * W``). NumPy needs a squared temporary and a
    product temporary for the same (~20 us of a ~330 us softmax call at N=500, D=3073,
    C=10, float32). W, dW: (D, C) C-contiguous, the same dtype.
    """
    return float(_l2_penalty(W, float(reg), dW))
