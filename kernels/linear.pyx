# cython: language_level=3
"""Tier "cython": the linear-classifier losses (multiclass SVM, softmax) as compiled kernels.

Kernel contract: see ``fastloss._registry``.

Design
======
Per sample both losses need the C scores ``s_i = x_i W`` (D x C multiply-adds), a cheap per-row
step that turns scores into the loss and coefficients ``g_ic`` (SVM: 1 per active margin and
minus their count at the label; softmax: p_ic - [c == y_i]), and the gradient ``dW += x_i^T g_i``
(another D x C). At N = 49000, D = 3073, C = 10 that is 2 x 1.5e9 FMAs over 1.2 GB of X
(float64). NumPy spends most of its time in two skinny BLAS products; a naive per-row loop
(``scores[c] += X[i, d] * W[d, c]``, a 10-wide inner loop) is slower still. Here:

* W is transposed once per call to Wt (C, Dp) (Dp: D padded, see ``_padded_cols``), so a
  score is a dot product along contiguous D and a gradient update an axpy along contiguous D:
  long unit-stride loops that vectorize.
* Register blocking. Scores: 4 rows x 5 or 4 classes per pass over D (then 4 x 2, 4 x 1 for
  the rest of C): every vector of W loaded serves 4 samples and every vector of X serves 4-5
  classes. Gradient: 4 rows x 5 or 4 classes (then 4 x 2, 4 x 1), the 4 x 5 and 4 x 4 tiles
  in GCC vector types, as gcc 12 leaves the scalar form unvectorized (see ``fl_axpy4x4``).
  The 4 x 4 tile made the gradient pass ~25% faster than 4 x 2 tiles (one thread, N = 49000:
  float32 svm 103 -> 90 ms, float64 185 -> 170 ms). The 5-class tiles (20 accumulators,
  9 loads per 20 FMAs) let C = 10 sweep each 4 rows of X twice instead of three times
  (4 + 4 + 2): one thread, X in L2, per row 2.55 -> 1.88 us (float64), 1.29 -> 1.10 us
  (float32); N = 500 two threads, svm float64 814 -> ~750 us. Which tile takes a class does
  not change its arithmetic, so the results are the same bit for bit.
* Dot products use explicit lane accumulators (``acc[k] += x[d+k] * w[d+k]`` over the k lanes
  of one 64-byte vector) instead of a scalar ``s += x[d] * w[d]``: without -ffast-math (which
  we must not use: NaN has to propagate) the compiler may not reassociate a scalar sum and so
  does not vectorize it; lane-wise sums are elementwise code and do vectorize. Lanes are summed
  into float64 scores, so float32 inputs get float64 accumulation across lanes.
* Cache blocking. Rows go in blocks of ``BLOCK_ROWS`` = 16 (393 KiB of float64 X for D = 3073).
  The score pass reads a block from memory (software-prefetching the next 4 rows into L2 in
  its first 4-class or 2-class tile; the 5-class tiles do not prefetch, so C = 10 runs on the
  hardware prefetcher alone: taking the prefetch out measured 3-6% faster on the Intel machine);
  the gradient pass then reuses the block from L2 (1 MiB per core), so X comes from DRAM once.
  The gradient pass runs D-tile outermost so a (C, T) tile of the gradient slab stays in L1/L2
  for all 16 rows instead of streaming the whole slab once per 4 rows.
* Parallelism: a FIXED number of row chunks (a power of two, at most ``CHUNKS_MAX`` = 16,
  each at least ``MIN_CHUNK_ROWS`` = 256 rows, but two from ``TWO_CHUNK_ROWS`` = 128 rows on)
  is handed out by an OpenMP ``prange`` (dynamic schedule: the other
  core may be busy). Every chunk owns a private (C, Dp) gradient slab and loss slot, so there
  are no races and the result does not depend on the number of threads or on scheduling (bit
  for bit): after the parallel region the slabs are summed in chunk order in float64, scaled and
  written transposed into dW. That sum, and the transposition of W before the chunks, run in
  parallel over blocks of D whenever there are two chunks or more (serially ~26 us and ~10 us
  at D=3073 C=10, ~9% of N=500 float32; two more barriers per call, each slow when the other
  core is busy; the numba tier does the same). ``svm_l2`` / ``softmax_l2`` add the L2 term in
  that last parallel pass (2 reg W into each block of dW as it is written, the block's sum of
  squares into a slot added in block order), instead of a separate pass over W and dW after
  the kernel (``l2_penalty``, which the chunked large-C path still uses; N=500 float32 reg=0.1:
  ~15 us less per call). 16 chunks balance 2 to 16 threads;
  ``SLAB_BUDGET`` caps slab memory, so huge C x D fall back to fewer chunks.
* No BLAS call anywhere (BLAS inside an OpenMP region oversubscribes), no -ffast-math: a NaN in
  X or W reaches the loss. Without OpenMP the same prange loops compile to serial loops.
* Rows past the end of a block point to a zero row and get zero coefficients.

Measured on the 2-vCPU AVX-512 (Zen 4) machine, D = 3073, C = 10, both vCPUs, quiet machine,
tiers timed in shuffled order with a pause between them (OpenBLAS and OpenMP worker threads
spin for a while after a call and slow down whatever runs next on the sibling vCPU):
N = 49000: ~104 ms vs NumPy ~290 ms float64 (2.8x), ~55 ms vs ~145 ms float32 (2.6x), close to
the FMA-bound floor (the two vCPUs share one core's FMA units: ~100 ms / ~50 ms).
N = 500: best ~1.05-1.4 ms vs ~1.6-1.9 ms float64, ~0.6-0.7 ms vs ~0.9 ms float32 (~1.4-1.6x);
typical runs are noisier because both threads must get the core.

Numerics follow the loop tier (``fastloss.loop.linear``): SVM margins ``s_j - s_y + delta`` in
float64, active when ``not (margin <= 0)`` (a margin of exactly 0 has subgradient 0, a NaN margin
is active so the NaN reaches the loss); softmax uses the max-shifted log-sum-exp in float64.
The loss sum is accumulated in float64 for both dtypes, the gradient slabs in the input dtype.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport uintptr_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from _numerics cimport SUM_LANES, fl_lane_add, fl_log, lane_fold, vexp

cdef extern from *:
    """
    /* Software prefetch into L2 (a hint: never faults, may be a no-op). */
    #if defined(__GNUC__) || defined(__clang__)
    #define FASTLOSS_PREFETCH_L2(p) __builtin_prefetch((const void *)(p), 0, 2)
    #elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
    #include <xmmintrin.h>
    #define FASTLOSS_PREFETCH_L2(p) _mm_prefetch((const char *)(p), _MM_HINT_T1)
    #else
    #define FASTLOSS_PREFETCH_L2(p) ((void)0)
    #endif

    /* Gradient tile of 4 classes x 4 rows: g_j[d] += sum_r a_j[r] x_r[d] (j, r = 0..3).
       Per vector of d: 4 loads of X, 4 loads and 4 stores of G, 16 FMAs, the 16 coefficients
       in registers. Written with GCC/Clang vector types because gcc 12 does not vectorize
       the scalar form (eight pointers: it gives up on the runtime alias checks, and the
       tile ran scalar). The vector types are unaligned (X rows start anywhere) and may_alias
       (they access float/double arrays). Each element gets the same operations in the same
       order as in the scalar tail and the 4 x 2 / 4 x 1 tiles, so which tile handles a class
       does not change the result. Other compilers get the scalar loop only. */
    #if defined(__GNUC__) || defined(__clang__)
    typedef float fl_vf __attribute__((vector_size(64), aligned(4), may_alias));
    typedef double fl_vd __attribute__((vector_size(64), aligned(8), may_alias));
    #define FL_AXPY4X4_VECTORS(T, V)                                                        \\
        for (; d + (Py_ssize_t)(sizeof(V) / sizeof(T)) <= n;                                \\
             d += (Py_ssize_t)(sizeof(V) / sizeof(T))) {                                    \\
            V u0 = *(const V*)(x0 + d), u1 = *(const V*)(x1 + d);                           \\
            V u2 = *(const V*)(x2 + d), u3 = *(const V*)(x3 + d);                           \\
            *(V*)(g0 + d) = *(V*)(g0 + d) + c00 * u0 + c01 * u1 + c02 * u2 + c03 * u3;      \\
            *(V*)(g1 + d) = *(V*)(g1 + d) + c10 * u0 + c11 * u1 + c12 * u2 + c13 * u3;      \\
            *(V*)(g2 + d) = *(V*)(g2 + d) + c20 * u0 + c21 * u1 + c22 * u2 + c23 * u3;      \\
            *(V*)(g3 + d) = *(V*)(g3 + d) + c30 * u0 + c31 * u1 + c32 * u2 + c33 * u3;      \\
        }
    #else
    #define FL_AXPY4X4_VECTORS(T, V)
    #endif
    #define FL_AXPY4X4(NAME, T, V)                                                          \\
    static inline void NAME(T* g0, T* g1, T* g2, T* g3, const T* a0, const T* a1,          \\
                            const T* a2, const T* a3, const T* x0, const T* x1,            \\
                            const T* x2, const T* x3, Py_ssize_t n) {                      \\
        const T c00 = a0[0], c01 = a0[1], c02 = a0[2], c03 = a0[3];                        \\
        const T c10 = a1[0], c11 = a1[1], c12 = a1[2], c13 = a1[3];                        \\
        const T c20 = a2[0], c21 = a2[1], c22 = a2[2], c23 = a2[3];                        \\
        const T c30 = a3[0], c31 = a3[1], c32 = a3[2], c33 = a3[3];                        \\
        Py_ssize_t d = 0;                                                                  \\
        FL_AXPY4X4_VECTORS(T, V)                                                           \\
        for (; d < n; d++) {                                                               \\
            T u0 = x0[d], u1 = x1[d], u2 = x2[d], u3 = x3[d];                              \\
            g0[d] = g0[d] + c00 * u0 + c01 * u1 + c02 * u2 + c03 * u3;                     \\
            g1[d] = g1[d] + c10 * u0 + c11 * u1 + c12 * u2 + c13 * u3;                     \\
            g2[d] = g2[d] + c20 * u0 + c21 * u1 + c22 * u2 + c23 * u3;                     \\
            g3[d] = g3[d] + c30 * u0 + c31 * u1 + c32 * u2 + c33 * u3;                     \\
        }                                                                                  \\
    }
    FL_AXPY4X4(fl_axpy4x4_f, float, fl_vf)
    FL_AXPY4X4(fl_axpy4x4_d, double, fl_vd)

    /* The same for 5 classes: 4 loads of X serve 20 FMAs (C = 10 sweeps the 4 rows of X
       twice instead of three times). The same operations per element as FL_AXPY4X4. */
    #if defined(__GNUC__) || defined(__clang__)
    #define FL_AXPY4X5_VECTORS(T, V)                                                        \
        for (; d + (Py_ssize_t)(sizeof(V) / sizeof(T)) <= n;                                \
             d += (Py_ssize_t)(sizeof(V) / sizeof(T))) {                                    \
            V u0 = *(const V*)(x0 + d), u1 = *(const V*)(x1 + d);                           \
            V u2 = *(const V*)(x2 + d), u3 = *(const V*)(x3 + d);                           \
            *(V*)(g0 + d) = *(V*)(g0 + d) + c00 * u0 + c01 * u1 + c02 * u2 + c03 * u3;      \
            *(V*)(g1 + d) = *(V*)(g1 + d) + c10 * u0 + c11 * u1 + c12 * u2 + c13 * u3;      \
            *(V*)(g2 + d) = *(V*)(g2 + d) + c20 * u0 + c21 * u1 + c22 * u2 + c23 * u3;      \
            *(V*)(g3 + d) = *(V*)(g3 + d) + c30 * u0 + c31 * u1 + c32 * u2 + c33 * u3;      \
            *(V*)(g4 + d) = *(V*)(g4 + d) + c40 * u0 + c41 * u1 + c42 * u2 + c43 * u3;      \
        }
    #else
    #define FL_AXPY4X5_VECTORS(T, V)
    #endif
    #define FL_AXPY4X5(NAME, T, V)                                                          \
    static inline void NAME(T* g0, T* g1, T* g2, T* g3, T* g4, const T* a0, const T* a1,   \
                            const T* a2, const T* a3, const T* a4, const T* x0,            \
                            const T* x1, const T* x2, const T* x3, Py_ssize_t n) {         \
        const T c00 = a0[0], c01 = a0[1], c02 = a0[2], c03 = a0[3];                        \
        const T c10 = a1[0], c11 = a1[1], c12 = a1[2], c13 = a1[3];                        \
        const T c20 = a2[0], c21 = a2[1], c22 = a2[2], c23 = a2[3];                        \
        const T c30 = a3[0], c31 = a3[1], c32 = a3[2], c33 = a3[3];                        \
        const T c40 = a4[0], c41 = a4[1], c42 = a4[2], c43 = a4[3];                        \
        Py_ssize_t d = 0;                                                                  \
        FL_AXPY4X5_VECTORS(T, V)                                                           \
        for (; d < n; d++) {                                                               \
            T u0 = x0[d], u1 = x1[d], u2 = x2[d], u3 = x3[d];                              \
            g0[d] = g0[d] + c00 * u0 + c01 * u1 + c02 * u2 + c03 * u3;                     \
            g1[d] = g1[d] + c10 * u0 + c11 * u1 + c12 * u2 + c13 * u3;                     \
            g2[d] = g2[d] + c20 * u0 + c21 * u1 + c22 * u2 + c23 * u3;                     \
            g3[d] = g3[d] + c30 * u0 + c31 * u1 + c32 * u2 + c33 * u3;                     \
            g4[d] = g4[d] + c40 * u0 + c41 * u1 + c42 * u2 + c43 * u3;                     \
        }                                                                                  \
    }
    FL_AXPY4X5(fl_axpy4x5_f, float, fl_vf)
    FL_AXPY4X5(fl_axpy4x5_d, double, fl_vd)
    """
    void prefetch_l2 "FASTLOSS_PREFETCH_L2"(const void* p) noexcept nogil
    void fl_axpy4x4_f(float* g0, float* g1, float* g2, float* g3, const float* a0,
                      const float* a1, const float* a2, const float* a3, const float* x0,
                      const float* x1, const float* x2, const float* x3,
                      Py_ssize_t n) noexcept nogil
    void fl_axpy4x4_d(double* g0, double* g1, double* g2, double* g3, const double* a0,
                      const double* a1, const double* a2, const double* a3, const double* x0,
                      const double* x1, const double* x2, const double* x3,
                      Py_ssize_t n) noexcept nogil
    void fl_axpy4x5_f(float* g0, float* g1, float* g2, float* g3, float* g4, const float* a0,
                      const float* a1, const float* a2, const float* a3, const float* a4,
                      const float* x0, const float* x1, const float* x2, const float* x3,
                      Py_ssize_t n) noexcept nogil
    void fl_axpy4x5_d(double* g0, double* g1, double* g2, double* g3, double* g4,
                      const double* a0, const double* a1, const double* a2, const double* a3,
                      const double* a4, const double* x0, const double* x1, const double* x2,
                      const double* x3, Py_ssize_t n) noexcept nogil

cdef enum:
    ROWS = 4              # rows of X per register block
    BLOCK_ROWS = 16       # rows per cache block (multiple of ROWS): scored, then used for dW
    GRAD_TILE_BYTES = 49152  # (C + 4) x T D-tile of G and X in the gradient pass (24-96 KiB
                             # measured within 3%; 48 KiB best)
    VEC_BYTES = 64        # one AVX-512 vector; the lane count is VEC_BYTES / itemsize
    MAX_LANES = 16        # float32 lanes of one vector (array size for the lane accumulators)
    CHUNKS_MAX = 16       # fixed upper bound on row chunks (= private gradient slabs)
    MIN_CHUNK_ROWS = 256  # rows per chunk from 4 chunks on (zeroing + summing a slab costs
                          # ~10 us: N=500 D=3073 svm f32 in 2 chunks 345 us, in 4 372 us)
    TWO_CHUNK_ROWS = 128  # from here on two chunks (one per core of a 2-core machine)
    REDUCE_BLOCK = 256    # D-entries per block when summing the slabs into dW
    ALIAS_GAP = 192       # bytes: least distance of a slab row's size from a multiple of 4 KiB
    MODE_SVM = 0
    MODE_SOFTMAX = 1

# Upper bound on the bytes of all gradient slabs together; with larger C x D fewer chunks are used.
cdef Py_ssize_t SLAB_BUDGET = 256 * 1024 * 1024


# ---------------------------------------------------------------------------------------------
# Micro-kernels: scores 4 rows x 4 / 2 / 1 classes, gradient 4 rows x 2 / 1 classes.

cdef inline double _lanes(const floating* a) noexcept nogil:
    """Sum of the lanes of one accumulator vector (16 float / 8 double) in float64, as a
    fixed tree: float lanes k and k + 8 are widened and added, then halves are folded 8 -> 4
    -> 2 -> 1. The short fixed-width loops vectorize; a running ``t += a[k]`` cannot (no
    reassociation without -ffast-math) and was 512 serial scalar operations per 4 x 4 float32
    tile, ~15% of the score pass."""
    cdef double h[8]
    cdef int k
    if floating is float:
        for k in range(8):
            h[k] = <double>a[k] + <double>a[k + 8]
    else:
        for k in range(8):
            h[k] = a[k]
    for k in range(4):
        h[k] = h[k] + h[k + 4]
    return (h[0] + h[2]) + (h[1] + h[3])


cdef inline void _dot4x5(const floating* x0, const floating* x1, const floating* x2,
                         const floating* x3, const floating* w0, const floating* w1,
                         const floating* w2, const floating* w3, const floating* w4,
                         Py_ssize_t n, double* s, Py_ssize_t C) noexcept nogil:
    """_dot4x4 for five classes (j = 0..4): 20 accumulators, 4 + 5 loads per 20 FMAs, so a
    class count that is a multiple of 5 (C = 10) sweeps the 4 rows of X twice, not three
    times (4 + 4 + 2). Each accumulator gets the same operations as in _dot4x4."""
    cdef floating a00[MAX_LANES]
    cdef floating a01[MAX_LANES]
    cdef floating a02[MAX_LANES]
    cdef floating a03[MAX_LANES]
    cdef floating a04[MAX_LANES]
    cdef floating a10[MAX_LANES]
    cdef floating a11[MAX_LANES]
    cdef floating a12[MAX_LANES]
    cdef floating a13[MAX_LANES]
    cdef floating a14[MAX_LANES]
    cdef floating a20[MAX_LANES]
    cdef floating a21[MAX_LANES]
    cdef floating a22[MAX_LANES]
    cdef floating a23[MAX_LANES]
    cdef floating a24[MAX_LANES]
    cdef floating a30[MAX_LANES]
    cdef floating a31[MAX_LANES]
    cdef floating a32[MAX_LANES]
    cdef floating a33[MAX_LANES]
    cdef floating a34[MAX_LANES]
    cdef Py_ssize_t L = VEC_BYTES // sizeof(floating)
    cdef Py_ssize_t nv = n - n % L
    cdef Py_ssize_t d, j, k
    cdef floating u0, u1, u2, u3, u4, p0, p1, p2, p3
    for k in range(L):
        a00[k] = 0
        a01[k] = 0
        a02[k] = 0
        a03[k] = 0
        a04[k] = 0
        a10[k] = 0
        a11[k] = 0
        a12[k] = 0
        a13[k] = 0
        a14[k] = 0
        a20[k] = 0
        a21[k] = 0
        a22[k] = 0
        a23[k] = 0
        a24[k] = 0
        a30[k] = 0
        a31[k] = 0
        a32[k] = 0
        a33[k] = 0
        a34[k] = 0
    for j in range(nv // L):
        d = j * L
        for k in range(L):
            u0 = w0[d + k]
            u1 = w1[d + k]
            u2 = w2[d + k]
            u3 = w3[d + k]
            u4 = w4[d + k]
            p0 = x0[d + k]
            p1 = x1[d + k]
            p2 = x2[d + k]
            p3 = x3[d + k]
            a00[k] += p0 * u0
            a01[k] += p0 * u1
            a02[k] += p0 * u2
            a03[k] += p0 * u3
            a04[k] += p0 * u4
            a10[k] += p1 * u0
            a11[k] += p1 * u1
            a12[k] += p1 * u2
            a13[k] += p1 * u3
            a14[k] += p1 * u4
            a20[k] += p2 * u0
            a21[k] += p2 * u1
            a22[k] += p2 * u2
            a23[k] += p2 * u3
            a24[k] += p2 * u4
            a30[k] += p3 * u0
            a31[k] += p3 * u1
            a32[k] += p3 * u2
            a33[k] += p3 * u3
            a34[k] += p3 * u4
    for d in range(nv, n):
        u0 = w0[d]
        u1 = w1[d]
        u2 = w2[d]
        u3 = w3[d]
        u4 = w4[d]
        a00[0] += x0[d] * u0
        a01[0] += x0[d] * u1
        a02[0] += x0[d] * u2
        a03[0] += x0[d] * u3
        a04[0] += x0[d] * u4
        a10[0] += x1[d] * u0
        a11[0] += x1[d] * u1
        a12[0] += x1[d] * u2
        a13[0] += x1[d] * u3
        a14[0] += x1[d] * u4
        a20[0] += x2[d] * u0
        a21[0] += x2[d] * u1
        a22[0] += x2[d] * u2
        a23[0] += x2[d] * u3
        a24[0] += x2[d] * u4
        a30[0] += x3[d] * u0
        a31[0] += x3[d] * u1
        a32[0] += x3[d] * u2
        a33[0] += x3[d] * u3
        a34[0] += x3[d] * u4
    s[0] += _lanes(a00)
    s[1] += _lanes(a01)
    s[2] += _lanes(a02)
    s[3] += _lanes(a03)
    s[4] += _lanes(a04)
    s[C + 0] += _lanes(a10)
    s[C + 1] += _lanes(a11)
    s[C + 2] += _lanes(a12)
    s[C + 3] += _lanes(a13)
    s[C + 4] += _lanes(a14)
    s[2 * C + 0] += _lanes(a20)
    s[2 * C + 1] += _lanes(a21)
    s[2 * C + 2] += _lanes(a22)
    s[2 * C + 3] += _lanes(a23)
    s[2 * C + 4] += _lanes(a24)
    s[3 * C + 0] += _lanes(a30)
    s[3 * C + 1] += _lanes(a31)
    s[3 * C + 2] += _lanes(a32)
    s[3 * C + 3] += _lanes(a33)
    s[3 * C + 4] += _lanes(a34)


cdef inline void _dot4x4(const floating* x0, const floating* x1, const floating* x2,
                         const floating* x3, const floating* w0, const floating* w1,
                         const floating* w2, const floating* w3,
                         Py_ssize_t n, double* s, Py_ssize_t C, const char* pf) noexcept nogil:
    """s[r*C + j] += x_r . w_j over n entries (r, j = 0..3). If pf is not NULL, the 4 * n
    values from pf on (the next 4 rows of X, contiguous) are prefetched into L2 on the way."""
    cdef floating a00[MAX_LANES]
    cdef floating a01[MAX_LANES]
    cdef floating a02[MAX_LANES]
    cdef floating a03[MAX_LANES]
    cdef floating a10[MAX_LANES]
    cdef floating a11[MAX_LANES]
    cdef floating a12[MAX_LANES]
    cdef floating a13[MAX_LANES]
    cdef floating a20[MAX_LANES]
    cdef floating a21[MAX_LANES]
    cdef floating a22[MAX_LANES]
    cdef floating a23[MAX_LANES]
    cdef floating a30[MAX_LANES]
    cdef floating a31[MAX_LANES]
    cdef floating a32[MAX_LANES]
    cdef floating a33[MAX_LANES]
    cdef Py_ssize_t L = VEC_BYTES // sizeof(floating)
    cdef Py_ssize_t nv = n - n % L
    cdef Py_ssize_t d, j, k
    cdef floating u0, u1, u2, u3, p0, p1, p2, p3
    for k in range(L):
        a00[k] = 0
        a01[k] = 0
        a02[k] = 0
        a03[k] = 0
        a10[k] = 0
        a11[k] = 0
        a12[k] = 0
        a13[k] = 0
        a20[k] = 0
        a21[k] = 0
        a22[k] = 0
        a23[k] = 0
        a30[k] = 0
        a31[k] = 0
        a32[k] = 0
        a33[k] = 0
    for j in range(nv // L):
        d = j * L
        if pf != NULL:
            prefetch_l2(pf + j * 4 * VEC_BYTES)
            prefetch_l2(pf + j * 4 * VEC_BYTES + VEC_BYTES)
            prefetch_l2(pf + j * 4 * VEC_BYTES + 2 * VEC_BYTES)
            prefetch_l2(pf + j * 4 * VEC_BYTES + 3 * VEC_BYTES)
        for k in range(L):
            u0 = w0[d + k]
            u1 = w1[d + k]
            u2 = w2[d + k]
            u3 = w3[d + k]
            p0 = x0[d + k]
            p1 = x1[d + k]
            p2 = x2[d + k]
            p3 = x3[d + k]
            a00[k] += p0 * u0
            a01[k] += p0 * u1
            a02[k] += p0 * u2
            a03[k] += p0 * u3
            a10[k] += p1 * u0
            a11[k] += p1 * u1
            a12[k] += p1 * u2
            a13[k] += p1 * u3
            a20[k] += p2 * u0
            a21[k] += p2 * u1
            a22[k] += p2 * u2
            a23[k] += p2 * u3
            a30[k] += p3 * u0
            a31[k] += p3 * u1
            a32[k] += p3 * u2
            a33[k] += p3 * u3
    for d in range(nv, n):
        u0 = w0[d]
        u1 = w1[d]
        u2 = w2[d]
        u3 = w3[d]
        a00[0] += x0[d] * u0
        a01[0] += x0[d] * u1
        a02[0] += x0[d] * u2
        a03[0] += x0[d] * u3
        a10[0] += x1[d] * u0
        a11[0] += x1[d] * u1
        a12[0] += x1[d] * u2
        a13[0] += x1[d] * u3
        a20[0] += x2[d] * u0
        a21[0] += x2[d] * u1
        a22[0] += x2[d] * u2
        a23[0] += x2[d] * u3
        a30[0] += x3[d] * u0
        a31[0] += x3[d] * u1
        a32[0] += x3[d] * u2
        a33[0] += x3[d] * u3
    s[0] += _lanes(a00)
    s[1] += _lanes(a01)
    s[2] += _lanes(a02)
    s[3] += _lanes(a03)
    s[C + 0] += _lanes(a10)
    s[C + 1] += _lanes(a11)
    s[C + 2] += _lanes(a12)
    s[C + 3] += _lanes(a13)
    s[2 * C + 0] += _lanes(a20)
    s[2 * C + 1] += _lanes(a21)
    s[2 * C + 2] += _lanes(a22)
    s[2 * C + 3] += _lanes(a23)
    s[3 * C + 0] += _lanes(a30)
    s[3 * C + 1] += _lanes(a31)
    s[3 * C + 2] += _lanes(a32)
    s[3 * C + 3] += _lanes(a33)


cdef inline void _dot4x2(const floating* x0, const floating* x1, const floating* x2,
                         const floating* x3, const floating* w0, const floating* w1,
                         Py_ssize_t n, double* s, Py_ssize_t C, const char* pf) noexcept nogil:
    """s[r*C + 0] += x_r . w0 and s[r*C + 1] += x_r . w1 over n entries (r = 0..3); pf as in
    _dot4x4."""
    cdef floating a0[MAX_LANES]
    cdef floating a1[MAX_LANES]
    cdef floating a2[MAX_LANES]
    cdef floating a3[MAX_LANES]
    cdef floating b0[MAX_LANES]
    cdef floating b1[MAX_LANES]
    cdef floating b2[MAX_LANES]
    cdef floating b3[MAX_LANES]
    cdef Py_ssize_t L = VEC_BYTES // sizeof(floating)
    cdef Py_ssize_t nv = n - n % L
    cdef Py_ssize_t d, j, k
    cdef floating u, v, p0, p1, p2, p3
    for k in range(L):
        a0[k] = 0; a1[k] = 0; a2[k] = 0; a3[k] = 0
        b0[k] = 0; b1[k] = 0; b2[k] = 0; b3[k] = 0
    for j in range(nv // L):
        d = j * L
        if pf != NULL:
            prefetch_l2(pf + j * 4 * VEC_BYTES)
            prefetch_l2(pf + j * 4 * VEC_BYTES + VEC_BYTES)
            prefetch_l2(pf + j * 4 * VEC_BYTES + 2 * VEC_BYTES)
            prefetch_l2(pf + j * 4 * VEC_BYTES + 3 * VEC_BYTES)
        for k in range(L):
            u = w0[d + k]
            v = w1[d + k]
            p0 = x0[d + k]
            p1 = x1[d + k]
            p2 = x2[d + k]
            p3 = x3[d + k]
            a0[k] += p0 * u
            a1[k] += p1 * u
            a2[k] += p2 * u
            a3[k] += p3 * u
            b0[k] += p0 * v
            b1[k] += p1 * v
            b2[k] += p2 * v
            b3[k] += p3 * v
    for d in range(nv, n):
        u = w0[d]
        v = w1[d]
        a0[0] += x0[d] * u
        a1[0] += x1[d] * u
        a2[0] += x2[d] * u
        a3[0] += x3[d] * u
        b0[0] += x0[d] * v
        b1[0] += x1[d] * v
        b2[0] += x2[d] * v
        b3[0] += x3[d] * v
    s[0] += _lanes(a0)
    s[C] += _lanes(a1)
    s[2 * C] += _lanes(a2)
    s[3 * C] += _lanes(a3)
    s[1] += _lanes(b0)
    s[C + 1] += _lanes(b1)
    s[2 * C + 1] += _lanes(b2)
    s[3 * C + 1] += _lanes(b3)


cdef inline void _dot4x1(const floating* x0, const floating* x1, const floating* x2,
                         const floating* x3, const floating* w0,
                         Py_ssize_t n, double* s, Py_ssize_t C) noexcept nogil:
    """s[r*C] += x_r . w0 over n entries (r = 0..3)."""
    cdef floating a0[MAX_LANES]
    cdef floating a1[MAX_LANES]
    cdef floating a2[MAX_LANES]
    cdef floating a3[MAX_LANES]
    cdef Py_ssize_t L = VEC_BYTES // sizeof(floating)
    cdef Py_ssize_t nv = n - n % L
    cdef Py_ssize_t d, j, k
    cdef floating u
    for k in range(L):
        a0[k] = 0; a1[k] = 0; a2[k] = 0; a3[k] = 0
    for j in range(nv // L):
        d = j * L
        for k in range(L):
            u = w0[d + k]
            a0[k] += x0[d + k] * u
            a1[k] += x1[d + k] * u
            a2[k] += x2[d + k] * u
            a3[k] += x3[d + k] * u
    for d in range(nv, n):
        u = w0[d]
        a0[0] += x0[d] * u
        a1[0] += x1[d] * u
        a2[0] += x2[d] * u
        a3[0] += x3[d] * u
    s[0] += _lanes(a0)
    s[C] += _lanes(a1)
    s[2 * C] += _lanes(a2)
    s[3 * C] += _lanes(a3)


cdef inline void _axpy4x4(floating* g0, floating* g1, floating* g2, floating* g3,
                          const floating* a0, const floating* a1, const floating* a2,
                          const floating* a3, const floating* x0, const floating* x1,
                          const floating* x2, const floating* x3, Py_ssize_t n) noexcept nogil:
    """g_j += sum_r a_j[r] x_r over n entries (j, r = 0..3); see fl_axpy4x4 above."""
    if floating is float:
        fl_axpy4x4_f(g0, g1, g2, g3, a0, a1, a2, a3, x0, x1, x2, x3, n)
    else:
        fl_axpy4x4_d(g0, g1, g2, g3, a0, a1, a2, a3, x0, x1, x2, x3, n)


cdef inline void _axpy4x5(floating* G, Py_ssize_t Dp, Py_ssize_t t0, const floating* coef,
                          const Py_ssize_t* p, const floating* x0, const floating* x1,
                          const floating* x2, const floating* x3, Py_ssize_t n) noexcept nogil:
    """G[p_j, t0:t0+n] += sum_r coef[p_j * BLOCK_ROWS + r] x_r for the classes p_0..p_4; see
    fl_axpy4x5 above."""
    if floating is float:
        fl_axpy4x5_f(G + p[0] * Dp + t0, G + p[1] * Dp + t0, G + p[2] * Dp + t0,
                     G + p[3] * Dp + t0, G + p[4] * Dp + t0, coef + p[0] * BLOCK_ROWS,
                     coef + p[1] * BLOCK_ROWS, coef + p[2] * BLOCK_ROWS,
                     coef + p[3] * BLOCK_ROWS, coef + p[4] * BLOCK_ROWS, x0, x1, x2, x3, n)
    else:
        fl_axpy4x5_d(G + p[0] * Dp + t0, G + p[1] * Dp + t0, G + p[2] * Dp + t0,
                     G + p[3] * Dp + t0, G + p[4] * Dp + t0, coef + p[0] * BLOCK_ROWS,
                     coef + p[1] * BLOCK_ROWS, coef + p[2] * BLOCK_ROWS,
                     coef + p[3] * BLOCK_ROWS, coef + p[4] * BLOCK_ROWS, x0, x1, x2, x3, n)


cdef inline void _axpy4x2(floating* g0, floating* g1, const floating* a, const floating* b,
                          const floating* x0, const floating* x1, const floating* x2,
                          const floating* x3, Py_ssize_t n) noexcept nogil:
    """g0 += sum_r a[r] x_r and g1 += sum_r b[r] x_r over n entries (r = 0..3)."""
    cdef floating a00 = a[0], a01 = a[1], a02 = a[2], a03 = a[3]
    cdef floating a10 = b[0], a11 = b[1], a12 = b[2], a13 = b[3]
    cdef floating u0, u1, u2, u3
    cdef Py_ssize_t d
    for d in range(n):
        u0 = x0[d]
        u1 = x1[d]
        u2 = x2[d]
        u3 = x3[d]
        g0[d] = g0[d] + a00 * u0 + a01 * u1 + a02 * u2 + a03 * u3
        g1[d] = g1[d] + a10 * u0 + a11 * u1 + a12 * u2 + a13 * u3


cdef inline void _axpy4x1(floating* g0, const floating* a,
                          const floating* x0, const floating* x1, const floating* x2,
                          const floating* x3, Py_ssize_t n) noexcept nogil:
    """g0 += sum_r a[r] x_r over n entries."""
    cdef floating a00 = a[0], a01 = a[1], a02 = a[2], a03 = a[3]
    cdef Py_ssize_t d
    for d in range(n):
        g0[d] = g0[d] + a00 * x0[d] + a01 * x1[d] + a02 * x2[d] + a03 * x3[d]


cdef inline void _grad_rows(int mode, floating* G, Py_ssize_t Dp, const floating* coef,
                            const floating** xb, Py_ssize_t C, Py_ssize_t t0,
                            Py_ssize_t tn) noexcept nogil:
    """G[c, t0:t0+tn] += sum_r coef[c * BLOCK_ROWS + r] * xb[r][t0:t0+tn] for the 4 rows of
    xb, classes in tiles of 4 (the rest in a 4 x 2 and a 4 x 1 tile).
    SVM: a class whose 4 coefficients are all 0 (no active margin) is skipped, exactly as the
    loop tier adds nothing for an inactive margin. Softmax never skips, so that 0 * inf = NaN
    behaves as in the loop and numpy tiers."""
    cdef Py_ssize_t p[9]  # classes waiting for a tile
    cdef Py_ssize_t c, i, k = 0
    cdef const floating* a
    cdef const floating* x0 = xb[0] + t0
    cdef const floating* x1 = xb[1] + t0
    cdef const floating* x2 = xb[2] + t0
    cdef const floating* x3 = xb[3] + t0
    for c in range(C):
        a = coef + c * BLOCK_ROWS
        if mode == MODE_SVM and a[0] == 0 and a[1] == 0 and a[2] == 0 and a[3] == 0:
            continue
        p[k] = c
        k += 1
        # A 5-class tile once 9 classes wait: the rest then still has >= 4 (C = 10 goes as
        # 5 + 5). Up to 8 waiting at the end go as 4 + 4 or 5 + 2 or smaller tiles, so no
        # class count sweeps the rows more often than with 4-class tiles alone.
        if k == 9:
            _axpy4x5(G, Dp, t0, coef, p, x0, x1, x2, x3, tn)
            for i in range(4):
                p[i] = p[5 + i]
            k = 4
    if k == 5 or k == 7:
        _axpy4x5(G, Dp, t0, coef, p, x0, x1, x2, x3, tn)
        p[0] = p[5]
        p[1] = p[6]
        k -= 5
    while k >= 4:  # at most twice: k <= 8 here
        _axpy4x4(G + p[0] * Dp + t0, G + p[1] * Dp + t0, G + p[2] * Dp + t0,
                 G + p[3] * Dp + t0, coef + p[0] * BLOCK_ROWS, coef + p[1] * BLOCK_ROWS,
                 coef + p[2] * BLOCK_ROWS, coef + p[3] * BLOCK_ROWS, x0, x1, x2, x3, tn)
        for i in range(k - 4):
            p[i] = p[4 + i]
        k -= 4
    if k >= 2:
        _axpy4x2(G + p[0] * Dp + t0, G + p[1] * Dp + t0, coef + p[0] * BLOCK_ROWS,
                 coef + p[1] * BLOCK_ROWS, x0, x1, x2, x3, tn)
        p[0] = p[2]
        k -= 2
    if k == 1:
        _axpy4x1(G + p[0] * Dp + t0, coef + p[0] * BLOCK_ROWS, x0, x1, x2, x3, tn)


# ---------------------------------------------------------------------------------------------
# Per-row loss and coefficients (from float64 scores); coef[c * BLOCK_ROWS] is class c.

cdef inline double _svm_row(const double* s, floating* coef, Py_ssize_t yi, Py_ssize_t C,
                            double delta) noexcept nogil:
    cdef double sy = s[yi], margin, loss = 0
    cdef Py_ssize_t c, active = 0
    for c in range(C):
        coef[c * BLOCK_ROWS] = 0
        if c == yi:
            continue
        margin = s[c] - sy + delta
        if not margin <= 0:  # strict at 0; NaN counts as active so it reaches the loss
            loss += margin
            coef[c * BLOCK_ROWS] = 1
            active += 1
    coef[yi * BLOCK_ROWS] = <floating>(-active)
    return loss


cdef double _softmax_rows(double* s, floating* coef, const Py_ssize_t* y, Py_ssize_t nr,
                         Py_ssize_t C) noexcept nogil:
    """Softmax of the block's nr rows of scores s (nr, C): overwrites s with exp(s - max),
    fills coef[c * BLOCK_ROWS + r] = p_rc - [c == y_r] and returns sum_r -log p_{r,y_r}.

    The exps of all rows in one flat loop (``_numerics.vexp``, vectorized) and the logs of
    the row sums (>= 1: the max term is exp(0)) in another (``fl_log``): with a libm exp per
    class and a log per row, C = 10 rows cost ~50 ns each, about 4% of N=500 D=3073 float32.
    Max shift as the loop tier: a NaN anywhere in a row makes its sum NaN (NaN - m, or
    m itself NaN), a +inf score gives inf - inf = NaN."""
    cdef double m, sy[BLOCK_ROWS], tot[BLOCK_ROWS], lg[BLOCK_ROWS], inv, loss = 0
    cdef Py_ssize_t r, c, k, yi
    for r in range(nr):
        m = s[r * C]
        for c in range(1, C):
            if s[r * C + c] > m:
                m = s[r * C + c]
        sy[r] = s[r * C + y[r]] - m
        for c in range(C):
            s[r * C + c] = s[r * C + c] - m
    for k in range(nr * C):  # every argument <= 0 (or NaN): nothing overflows
        s[k] = vexp(s[k])
    for r in range(nr):
        tot[r] = 0
        for c in range(C):
            tot[r] += s[r * C + c]
    for r in range(nr):
        lg[r] = fl_log(tot[r])
    for r in range(nr):
        inv = 1.0 / tot[r]
        yi = y[r]
        for c in range(C):
            coef[c * BLOCK_ROWS + r] = <floating>(s[r * C + c] * inv)
        coef[yi * BLOCK_ROWS + r] = <floating>(s[r * C + yi] * inv - 1.0)
        loss += lg[r] - sy[r]
    return loss


# ---------------------------------------------------------------------------------------------
# One row chunk: rows [lo, hi) into its own slab G (C, Dp); returns the chunk's loss sum.

cdef double _chunk(int mode, const floating* X, Py_ssize_t N, const Py_ssize_t* y, Py_ssize_t lo,
                   Py_ssize_t hi, const floating* Wt, floating* G, double* s, floating* coef,
                   const floating* zero_row, Py_ssize_t D, Py_ssize_t Dp, Py_ssize_t C,
                   double delta) noexcept nogil:
    # Gradient D-tile: a (C, T) tile of G plus a 4-row tile of X take GRAD_TILE_BYTES.
    cdef Py_ssize_t L = VEC_BYTES // sizeof(floating)
    cdef Py_ssize_t T = max(L, GRAD_TILE_BYTES // ((C + ROWS) * sizeof(floating)) // L * L)
    cdef Py_ssize_t ntiles = (D + T - 1) // T
    cdef Py_ssize_t bi, i0, r, nr, nsb, sb, ti, t0, tn, c
    cdef const floating* xs[BLOCK_ROWS]
    cdef const floating** xb
    cdef const char* pf
    cdef double loss = 0
    memset(G, 0, C * Dp * sizeof(floating))
    for bi in range((hi - lo + BLOCK_ROWS - 1) // BLOCK_ROWS):
        i0 = lo + bi * BLOCK_ROWS
        nr = min(<Py_ssize_t>BLOCK_ROWS, hi - i0)
        nsb = (nr + ROWS - 1) // ROWS  # 4-row sub-blocks holding at least one real row
        for r in range(BLOCK_ROWS):
            xs[r] = X + (i0 + r) * D if r < nr else zero_row
        # Score pass, one 4-row sub-block at a time along all of D: s (BLOCK_ROWS, C) float64.
        memset(s, 0, BLOCK_ROWS * C * sizeof(double))
        for sb in range(nsb):
            xb = xs + sb * ROWS
            c = 0
            pf = NULL
            if i0 + (sb + 2) * ROWS <= N:
                pf = <const char*>(xb[0] + ROWS * D)
            # Five-class tiles while they leave no worse a rest (C - c of 6 or 8 goes as
            # 4 + 2 or 4 + 4: two sweeps of the 4 rows either way). They take no pf: the
            # prefetch rides on the first 4- or 2-class tile, if any (see the docstring).
            while C - c >= 5 and C - c != 6 and C - c != 8:
                _dot4x5(xb[0], xb[1], xb[2], xb[3], Wt + c * Dp, Wt + (c + 1) * Dp,
                        Wt + (c + 2) * Dp, Wt + (c + 3) * Dp, Wt + (c + 4) * Dp, D,
                        s + sb * ROWS * C + c, C)
                c += 5
            while c + 3 < C:
                _dot4x4(xb[0], xb[1], xb[2], xb[3], Wt + c * Dp, Wt + (c + 1) * Dp,
                        Wt + (c + 2) * Dp, Wt + (c + 3) * Dp, D, s + sb * ROWS * C + c, C, pf)
                pf = NULL
                c += 4
            while c + 1 < C:
                _dot4x2(xb[0], xb[1], xb[2], xb[3], Wt + c * Dp, Wt + (c + 1) * Dp, D,
                        s + sb * ROWS * C + c, C, pf)
                pf = NULL
                c += 2
            if c < C:
                _dot4x1(xb[0], xb[1], xb[2], xb[3], Wt + c * Dp, D, s + sb * ROWS * C + c, C)
        # Loss and coefficients coef[c * BLOCK_ROWS + r]; padding rows get coefficient 0.
        if mode == MODE_SVM:
            for r in range(nr):
                loss += _svm_row(s + r * C, coef + r, y[i0 + r], C, delta)
        else:
            loss += _softmax_rows(s, coef, y + i0, nr, C)
        for r in range(nr, nsb * ROWS):
            for c in range(C):
                coef[c * BLOCK_ROWS + r] = 0
        # Gradient pass over the same rows (still in L2), D-tile outermost so that the (C, T)
        # tile of G stays in L1 for all rows of the block: G[c] += sum_r coef[c, r] x_r.
        for ti in range(ntiles):
            t0 = ti * T
            tn = min(T, D - t0)
            for sb in range(nsb):
                _grad_rows(mode, G, Dp, coef + sb * ROWS, xs + sb * ROWS, C, t0, tn)
    return loss


cdef double _reduce_block(const floating* slabs, Py_ssize_t nchunks, Py_ssize_t slab_size,
                          Py_ssize_t Dp, Py_ssize_t C, Py_ssize_t d0, Py_ssize_t n, double scale,
                          floating* dW, const floating* W, double r2) noexcept nogil:
    """dW[d0 + j, c] = scale * sum_k slab_k[c, d0 + j] (+ r2 W[d0 + j, c] when r2 != 0) for
    j < n, summed in chunk order in float64 and rounded once; returns sum W[d0:d0+n, :]**2
    (float64, fixed order) when r2 != 0, else 0 (the L2 term fused in: see svm_l2)."""
    cdef double acc[REDUCE_BLOCK]
    cdef const floating* g
    cdef Py_ssize_t c, k, j
    for c in range(C):
        for j in range(n):
            acc[j] = 0
        for k in range(nchunks):
            g = slabs + k * slab_size + c * Dp + d0
            for j in range(n):
                acc[j] += g[j]
        if r2 == 0:
            for j in range(n):
                dW[(d0 + j) * C + c] = <floating>(scale * acc[j])
        else:
            for j in range(n):
                dW[(d0 + j) * C + c] = <floating>(scale * acc[j] + r2 * W[(d0 + j) * C + c])
    if r2 == 0:
        return 0.0
    return _squares(W + d0 * C, n * C, NULL, 0)


cdef double _squares(const floating* w, Py_ssize_t n, floating* g, floating t) noexcept nogil:
    """sum_k w[k]**2 in float64, in a fixed order (SUM_LANES partial sums); when g is not
    NULL, also g[k] += t w[k] in the same pass."""
    cdef double acc[SUM_LANES]
    cdef double sq[256]
    cdef Py_ssize_t b, k, m
    for k in range(SUM_LANES):
        acc[k] = 0.0
    for b in range(0, n, 256):
        m = n - b if n - b < 256 else 256
        for k in range(m):
            sq[k] = <double>w[b + k] * <double>w[b + k]
        if g != NULL:
            for k in range(m):
                g[b + k] = g[b + k] + t * w[b + k]
        fl_lane_add(acc, sq, m)
    return lane_fold(acc)


cdef void _transpose_block(const floating* W, floating* Wt, Py_ssize_t Dp, Py_ssize_t C,
                           Py_ssize_t d0, Py_ssize_t n) noexcept nogil:
    """Wt[c, d0 + j] = W[d0 + j, c] for j < n (W read in order)."""
    cdef Py_ssize_t d, c
    for d in range(d0, d0 + n):
        for c in range(C):
            Wt[c * Dp + d] = W[d * C + c]


cdef inline Py_ssize_t _padded_cols(Py_ssize_t D, Py_ssize_t itemsize) noexcept nogil:
    """Row stride of Wt and the slabs: D rounded up to whole 64-byte vectors, then further
    until the row size in bytes is >= ALIAS_GAP away from a multiple of 4096. Rows a multiple
    of 4 KiB apart make loads from one slab row wait on stores to another (the store buffer
    matches the low 12 address bits only); D = 3073 rounded to a vector alone gives rows 64
    bytes off a multiple of 4096 in both dtypes. Same rule as the numba tier."""
    cdef Py_ssize_t L = VEC_BYTES // itemsize
    cdef Py_ssize_t Dp = (D + L - 1) // L * L
    while (Dp * itemsize) % 4096 < ALIAS_GAP or (Dp * itemsize) % 4096 > 4096 - ALIAS_GAP:
        Dp += L
    return Dp


cdef inline Py_ssize_t _round64(Py_ssize_t nbytes) noexcept nogil:
    return (nbytes + VEC_BYTES - 1) // VEC_BYTES * VEC_BYTES


cdef double _run(int mode, const floating[:, ::1] W, const floating[:, ::1] X,
                 const Py_ssize_t[::1] y, double delta, double scale,
                 floating[:, ::1] dW, double r2, double* sq) except? -1:
    """The kernel: returns the loss sum, writes dW (+ r2 W) and, when r2 != 0, sum(W**2)
    into sq (the blocks of D added in order)."""
    cdef Py_ssize_t N = X.shape[0], D = X.shape[1], C = W.shape[1]
    cdef Py_ssize_t L = VEC_BYTES // sizeof(floating)
    cdef Py_ssize_t Dp = _padded_cols(D, sizeof(floating))
    cdef Py_ssize_t slab_size = C * Dp  # elements; a multiple of L, so every slab row is aligned
    cdef Py_ssize_t slab_bytes = slab_size * sizeof(floating)
    cdef Py_ssize_t rows_per, nchunks, k, lo, hi, d, c, b, nblk
    cdef double loss = 0

    # Fixed chunking (depends on N, C, D only, never on the thread count): a power-of-two
    # count (2, 4, 8, 16 threads share it evenly), the largest with >= MIN_CHUNK_ROWS rows
    # per chunk; two chunks from TWO_CHUNK_ROWS rows on, one below.
    nchunks = 1
    while nchunks * 2 <= CHUNKS_MAX and N >= nchunks * 2 * MIN_CHUNK_ROWS:
        nchunks *= 2
    if nchunks == 1 and N >= TWO_CHUNK_ROWS:
        nchunks = 2
    if slab_bytes > 0 and nchunks * slab_bytes > SLAB_BUDGET:
        nchunks = max(<Py_ssize_t>1, SLAB_BUDGET // slab_bytes)
    rows_per = (N + nchunks - 1) // nchunks
    rows_per = (rows_per + ROWS - 1) // ROWS * ROWS
    nchunks = (N + rows_per - 1) // rows_per

    # One allocation for all scratch; every region starts on a 64-byte boundary.
    cdef Py_ssize_t s_bytes = _round64(BLOCK_ROWS * C * sizeof(double))
    cdef Py_ssize_t coef_bytes = _round64(BLOCK_ROWS * C * sizeof(floating))
    cdef Py_ssize_t scratch_bytes = s_bytes + coef_bytes  # per chunk
    cdef Py_ssize_t zero_bytes = _round64(Dp * sizeof(floating))
    nblk = (D + REDUCE_BLOCK - 1) // REDUCE_BLOCK
    cdef Py_ssize_t nbytes = (slab_bytes * (1 + nchunks) + zero_bytes + nchunks * scratch_bytes
                              + _round64(nchunks * sizeof(double)) + _round64(nblk * sizeof(double))
                              + VEC_BYTES)
    cdef char* raw = <char*>malloc(nbytes)
    if raw == NULL:
        raise MemoryError(f"fastloss cython kernel: cannot allocate {nbytes} bytes of scratch")
    cdef char* base = <char*>((<uintptr_t>raw + (VEC_BYTES - 1)) & ~(<uintptr_t>(VEC_BYTES - 1)))
    cdef floating* Wt = <floating*>base
    cdef floating* slabs = <floating*>(base + slab_bytes)
    cdef floating* zero_row = <floating*>(base + slab_bytes * (1 + nchunks))
    cdef char* scratch = base + slab_bytes * (1 + nchunks) + zero_bytes
    cdef double* losses = <double*>(scratch + nchunks * scratch_bytes)
    cdef double* block_sq = <double*>(scratch + nchunks * scratch_bytes
                                      + _round64(nchunks * sizeof(double)))
    cdef char* mine
    cdef const floating* Xp = &X[0, 0]
    cdef const floating* Wp = &W[0, 0]
    cdef const Py_ssize_t* yp = &y[0]
    cdef floating* dWp = &dW[0, 0]

    try:
        with nogil:
            # Wt = W^T (W read in order), rows padded with zeros to Dp.
            for b in prange(nblk, schedule='static', use_threads_if=nchunks > 1):
                _transpose_block(Wp, Wt, Dp, C, b * REDUCE_BLOCK,
                                 min(<Py_ssize_t>REDUCE_BLOCK, D - b * REDUCE_BLOCK))
            for c in range(C):
                for d in range(D, Dp):
                    Wt[c * Dp + d] = 0
            memset(zero_row, 0, zero_bytes)

            for k in prange(nchunks, schedule='dynamic', chunksize=1,
                            use_threads_if=nchunks > 1):
                lo = k * rows_per
                hi = min(lo + rows_per, N)
                mine = scratch + k * scratch_bytes
                losses[k] = _chunk(mode, Xp, N, yp, lo, hi, Wt, slabs + k * slab_size,
                                   <double*>mine, <floating*>(mine + s_bytes),
                                   zero_row, D, Dp, C, delta)

            # The slab sum and its transposed write into dW in parallel over blocks of D
            # as well, as the transposition of W above (two regions more, each a barrier):
            # serially they cost ~26 us and ~10 us at D=3073 C=10, ~9% of N=500 float32.
            for b in prange(nblk, schedule='static', use_threads_if=nchunks > 1):
                block_sq[b] = _reduce_block(slabs, nchunks, slab_size, Dp, C, b * REDUCE_BLOCK,
                                            min(<Py_ssize_t>REDUCE_BLOCK, D - b * REDUCE_BLOCK),
                                            scale, dWp, Wp, r2)

            for k in range(nchunks):  # chunk order: deterministic
                loss += losses[k]
            sq[0] = 0.0
            for b in range(nblk):  # block order: deterministic
                sq[0] += block_sq[b]
    finally:
        free(raw)
    return loss


def svm(const floating[:, ::1] W, const floating[:, ::1] X, const Py_ssize_t[::1] y,
        double delta, double scale, floating[:, ::1] dW):
    """Multiclass SVM (Weston-Watkins) loss sum and scaled gradient of a linear classifier.

    With scores ``S = X W`` and margins ``m_ij = S_ij - S_{i,y_i} + delta``::

        loss = sum_i sum_{j != y_i} max(0, m_ij)                  (returned, unscaled)
        dW   = scale * X^T G,  G_ij = [m_ij > 0] (j != y_i),  G_{i,y_i} = -sum_j G_ij

    A margin of exactly 0 is inactive (strict); a NaN margin is active, so NaN propagates.

    W : (D, C), X : (N, D), C-contiguous, both float32 or both float64, may be read-only.
    y : (N,) C-contiguous np.intp, labels already validated to lie in [0, C).
    delta, scale : floats.  dW : (D, C) C-contiguous, W's dtype; every element is overwritten.
    Returns the loss sum as a Python float accumulated in float64 (also for float32 inputs).
    """
    cdef double sq
    return _run(MODE_SVM, W, X, y, delta, scale, dW, 0.0, &sq)


def softmax(const floating[:, ::1] W, const floating[:, ::1] X, const Py_ssize_t[::1] y,
            double scale, floating[:, ::1] dW):
    """Softmax cross-entropy loss sum and scaled gradient of a linear classifier.

    With scores ``S = X W`` and ``P = softmax(S)`` row-wise::

        loss = sum_i logsumexp(S_i) - S_{i,y_i}                   (returned, unscaled)
        dW   = scale * X^T (P - onehot(y))

    logsumexp subtracts the row maximum first (float64), so scores in the thousands neither
    overflow nor give log(0).

    W : (D, C), X : (N, D), C-contiguous, both float32 or both float64, may be read-only.
    y : (N,) C-contiguous np.intp, labels already validated to lie in [0, C).
    scale : float.  dW : (D, C) C-contiguous, W's dtype; every element is overwritten.
    Returns the loss sum as a Python float accumulated in float64 (also for float32 inputs).
    """
    cdef double sq
    return _run(MODE_SOFTMAX, W, X, y, 0.0, scale, dW, 0.0, &sq)


def svm_l2(const floating[:, ::1] W, const floating[:, ::1] X, const Py_ssize_t[::1] y,
           double delta, double scale, double reg, floating[:, ::1] dW):
    """:func:`svm` with the L2 term fused in: ``dW = scale * X^T G + 2 reg W`` (in float64,
    rounded once to W's dtype); returns ``(loss sum, sum_ij W_ij^2)``, both float64 (the
    squares summed per block of D while the slab reduction writes that block of dW, in the
    same parallel region, then the blocks in order). A separate pass after the kernel
    (``l2_penalty``) reads W and dW again, half of them from the other core's cache."""
    cdef double sq
    cdef double loss = _run(MODE_SVM, W, X, y, delta, scale, dW, 2.0 * reg, &sq)
    return loss, sq


def softmax_l2(const floating[:, ::1] W, const floating[:, ::1] X, const Py_ssize_t[::1] y,
               double scale, double reg, floating[:, ::1] dW):
    """:func:`softmax` with the L2 term fused in, as :func:`svm_l2`."""
    cdef double sq
    cdef double loss = _run(MODE_SOFTMAX, W, X, y, 0.0, scale, dW, 2.0 * reg, &sq)
    return loss, sq


def l2_penalty(const floating[:, ::1] W, double reg, floating[:, ::1] dW):
    """The L2 term of a linear loss in one pass over W: returns sum_ij W_ij^2 (float64
    accumulation, fixed order) and adds 2 reg W to dW in place.

    NumPy needs a squared temporary and a product temporary for the same (~20 us of a
    ~330 us softmax call at N=500, D=3073, C=10, float32). 2 reg is rounded once to W's
    dtype, as in NumPy's ``dW += (2 * reg) * W``; the update may be one fused multiply-add.
    W, dW : (D, C) C-contiguous, the same dtype. Serial: W is small next to X.
    """
    cdef Py_ssize_t n = W.shape[0] * W.shape[1]
    cdef double sq
    if n == 0:
        return 0.0
    with nogil:
        sq = _squares(&W[0, 0], n, &dW[0, 0], <floating>(2.0 * reg))
    return sq
