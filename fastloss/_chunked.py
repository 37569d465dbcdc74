"""Linear-classifier losses in row chunks: BLAS for the products, a tier's score kernel
for the gradient coefficients, never an N x C array.

For a chunk of rows ``Xc`` (R, D)::

    S  = Xc @ W                      (R, C)  one BLAS GEMM into a reused buffer
    G  = coefficients(S) in place    (R, C)  the tier's multiclass_hinge / cross_entropy
                                             kernel, with the gradient written over S
    dW += Xc.T @ G                   (D, C)  one BLAS GEMM per column block

The SVM's coefficients are exactly the multiclass hinge gradient of the scores, the
softmax's exactly the cross-entropy gradient (``p - onehot``), both already scaled by
1/N, so the score kernels of every tier are reused as they are. Writing G over S is
safe in every tier: each kernel reads a row's scores before it writes that row's
gradient, and never reads a score after writing the gradient at the same place.

Why this path exists: the fused compiled kernels (``fastloss._numba.linear``,
``kernels/linear.pyx``) keep W in cache and beat BLAS for CIFAR-sized W (D=3073, C=10,
240 KB). Once W no longer fits in cache (C in the thousands) a fused kernel reads all of
W again for every block of rows, while BLAS blocks for the cache; and NumPy's tier
materialises several N x C arrays (2 GiB each in float64 at N=8192, C=32000).

Memory: one (R, C) score buffer (R = ``CHUNK_ROWS`` or the caller's ``chunk_size``),
one (D, cb) product buffer of at most ``BLOCK_BYTES``, plus dW itself. The sum over
rows is BLAS's within a chunk, in the input dtype as in NumPy's tier, then dW adds the
chunks' products (22 of them at N=8192, C=32000) in dW's dtype: a float64 accumulator
for float32 dW would take twice dW's memory (65 MB here) and push the peak past the
5%-of-NumPy bound this path is held to.

The GEMMs run outside any parallel region of numba or OpenMP: a BLAS call inside one
would start BLAS's own threads per call.

Threads of the coefficient pass: the path alternates, once per chunk, between BLAS (on
OpenBLAS's threads) and the score kernel (on numba's / OpenMP's), and after each phase
the other pool's workers spin-wait for a few milliseconds on the cores the next phase
needs. With at most ``SERIAL_COEF_THREADS`` threads the score kernel runs on the calling
thread alone, so no OpenMP worker spins beside the GEMMs; the pass is ~10% of the work.
Measured at N=8192, D=256, C=32000 float32 on the 2-vCPU machine (medians of 5, one
process, NumPy's tier 1.87-2.10 s): cython softmax 2.07 -> 1.71 s, svm 2.19 -> 1.94 s;
numba softmax 1.96 -> 1.80 s, svm 2.00 -> 1.84 s. In the per-phase timing, the gradient
GEMMs took 0.87 s after a two-thread kernel and 0.72 s after a one-thread one. With more
threads the pass keeps them: there, serialising it would cost more than the spinning.
"""
import numpy as np

from . import _registry, _threads, _validate

# Rows per chunk: the chunk's rows are the inner dimension of the product Xc.T @ G, and
# BLAS needs a few hundred of them to run near its peak (measured at D=256, C=32000,
# float32, whole call: 256 rows 2.1-2.3 s, 384 rows 1.93-1.96 s, 512 rows 1.87-1.95 s,
# NumPy's unchunked tier 1.96-2.1 s). 384 keeps the peak at ~4.3% of NumPy's in float32
# (scores 49 MB + block 8 MB + dW 33 MB against 2.1 GB); 512 would be ~4.9%. Capped by
# CHUNK_CAP_BYTES of scores for huge C.
CHUNK_ROWS = 384
CHUNK_CAP_BYTES = 128 * 1024 * 1024
# Thread counts up to this run the score kernel on the calling thread (see above).
SERIAL_COEF_THREADS = 2
# The (D, cb) buffer for one column block of Xc.T @ G before it is added into dW.
BLOCK_BYTES = 8 * 1024 * 1024
# The fused compiled kernels are used while W fits in this many bytes (L2 holds W and a
# gradient slab then); larger W goes through the chunks.
FUSED_MAX_W_BYTES = 1024 * 1024

# Linear loss -> (score kernel, its options after the scores and labels, from the linear
# loss's options and the dtype). Softmax: no class weights (length 0), ignore_index -1
# (labels are validated to [0, C), so nothing is ignored), no label smoothing.
_SCORE_KERNELS = {
    "svm": ("multiclass_hinge", lambda dtype, delta: (delta,)),
    "softmax": ("cross_entropy", lambda dtype: (_validate.empty(dtype), -1, 0.0)),
}

def use_chunks(backend, W, chunk_size):
    """Whether a call takes the chunked path: always when ``chunk_size`` is given (except
    in the loop tier, which never holds more than one row of scores); in the compiled
    tiers also when W is too large for the fused kernels."""
    tier = backend or _registry.default_backend()
    if tier == "loop":
        return False
    if chunk_size is not None:
        return True
    return tier in ("numba", "cython") and W.nbytes > FUSED_MAX_W_BYTES


def chunk_rows(n, num_classes, itemsize, chunk_size=None):
    """Rows per chunk: ``chunk_size`` when given, else ``CHUNK_ROWS`` (fewer if their
    scores would exceed ``CHUNK_CAP_BYTES``)."""
    rows = chunk_size or max(1, min(CHUNK_ROWS, CHUNK_CAP_BYTES // (num_classes * itemsize)))
    return min(rows, n)


def linear_loss(name, W, X, y, options, scale, dW, backend, chunk_size=None):
    """Loss sum (unscaled, float64) of linear loss ``name`` ("svm" with options (delta,),
    "softmax" with ()); writes the gradient ``scale * X^T G`` into ``dW``. Arguments are
    validated as for the fused kernels."""
    score_name, score_options = _SCORE_KERNELS[name]
    opts = score_options(W.dtype, *options)
    kern = _registry.kernel(score_name, backend, dtype=W.dtype)
    n, d = X.shape
    c = W.shape[1]
    rows = chunk_rows(n, c, W.dtype.itemsize, chunk_size)
    buf = np.empty((rows, c), W.dtype)
    cb = min(c, max(1, BLOCK_BYTES // (d * W.dtype.itemsize)))
    block = np.empty((d, cb), W.dtype)
    dW[...] = 0.0
    no_loss_out = _validate.empty(W.dtype)
    threads = _threads.get_num_threads()
    coef_threads = 1 if threads <= SERIAL_COEF_THREADS else threads
    total = 0.0
    with _threads.num_threads(coef_threads):
        for r0 in range(0, n, rows):
            Xc = X[r0:r0 + rows]
            S = buf[:Xc.shape[0]]
            np.matmul(Xc, W, out=S)
            total += kern(S, y[r0:r0 + rows], *opts, scale, no_loss_out, S)
            for j0 in range(0, c, cb):
                j1 = min(c, j0 + cb)
                out = block if j1 - j0 == cb else block[:, :j1 - j0]
                np.matmul(Xc.T, S[:, j0:j1], out=out)
                dW[:, j0:j1] += out
    return total
