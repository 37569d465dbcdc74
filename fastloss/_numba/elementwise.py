"""Tier "numba": elementwise losses on predictions, compiled with ``@njit``.

Kernel contract and formulas: exactly those of ``fastloss.loop.elementwise`` (same names,
same signatures, same NaN rules, same strict comparisons at the kinks). This module also
holds the numeric helpers the score kernels (``fastloss._numba.scores``) share.

Design
------
* One fused pass per element: loss and gradient are computed together and written
  straight into the caller's ``grad`` (and ``loss_out`` when it has length N); nothing
  else is allocated except one float64 partial sum and an 8 KB block buffer (only for
  hinge and squared hinge on float32 arrays, see "Reductions"; two of BCE_BLOCK elements
  for BCE) per chunk.
* Reductions. A loop that both stores (grad) and sums gets runtime alias checks from
  LLVM and silently runs its scalar version when the arrays lie close together in
  memory, which sums in another order: the same call gave results differing in the last
  bits depending on where small arrays had been allocated. So no loop here stores and
  sums at once. Per block of BLOCK elements, either
  - (MSE, L1, Huber; hinge and squared hinge on float64 arrays) the gradient loop stores
    the gradient only, and a second loop over the same block, still in L1, recomputes
    the losses from the inputs and sums them: it only loads. (``_X_block`` with
    ``grad=None``: one source for both loops, numba prunes the other branch.) Or
  - (hinge and squared hinge on float32 arrays, BCE, the score kernels) the fused loop
    writes each element's loss to a float64 buffer (L1-resident; float32 for BCE on
    float32, whose losses are float32 values), and ``_sum`` adds the buffer in float64
    in a loop that only loads.
  Either way the order of the sum depends on the block length alone. Blocks are added in
  order, chunks in order: the result is a function of the input values and N only.
  Why two ways: the loss buffer's stores, L1 hits, sit between the gradient's stores,
  which miss the caches, and stores leave the core in order, so the buffer halves the
  gradient stores in flight. Measured on the Intel machine, N=1e7 float64, two threads,
  gradient reused, as a share of the triad in the same rounds: MSE 71-74% with the
  buffer, 95-97% recomputing; hinge 84-87% -> 92-95%, L1 74-78% -> 81-84%. For the
  float32 hinge losses the second loop costs more than it saves (widening t p again for
  their exact float64 loss: squared hinge 71% -> 61%), so they keep the buffer
  (``_sums_apart`` picks the way at compile time); MSE, L1 and Huber compute float32 in
  float32 (see "Arithmetic"), and their second loop is cheap for both dtypes.
* Chunking. The N elements are cut into ``nch = min(MAX_CHUNKS, N // GRAIN)`` (at least 1)
  contiguous chunks of equal size. The number of chunks depends on N only, never on the
  thread count, and each chunk's float64 partial sum is stored in its own slot and the
  slots are added in chunk order after the ``prange`` loop. So the result is the same
  bit for bit whatever ``numba.set_num_threads`` says (no ``+=`` reduction across
  threads, whose order would vary). With one chunk (N < 2 * GRAIN) the kernel runs the
  chunk directly and never enters the parallel region, so calls on small inputs (N=64)
  pay no thread start-up. GRAIN = 32768 elements is ~0.5 MB of float64 input: a few
  microseconds of work, well above the ~2 us it costs to wake the OpenMP workers;
  MAX_CHUNKS = 64 keeps the tail imbalance small on machines with many cores.
  The chunks are handed out one at a time (``_dynamic_schedule``), as the Cython tier's
  ``schedule="dynamic"``: numba's default splits them into one static range per thread,
  so a thread that loses its CPU for a while (another process, the hypervisor) holds up
  the whole call. Measured, cross-entropy N=1e5 C=1000 on 2 threads, 11 calls: median /
  p80 108 / 124 ms static against 78 / 79 ms dynamic (the minimum, 76 ms, the same).
* Inner loops are written over slices that start at 0 (``pred[lo:hi]``), not over
  ``range(lo, hi)``: with a runtime start LLVM cannot prove the index is non-negative,
  keeps numba's negative-index wrap-around and vectorizes with gathers/scatters (3x
  slower, measured).
* Optional arrays are specialised at compile time: the chunk function passes ``None``
  for an absent ``loss_out`` (length 0) or an absent BCE weight, and numba prunes the
  ``is None`` branches, so the hot loops test nothing per element.
* No ``fastmath``, and said explicitly (``fastmath=False`` in ``_JIT``): numba gives a
  function that leaves the option unset the flags of whatever function is being compiled
  when it is first compiled, and the linear kernels (``linear.py``), which call
  ``_exp_nonpos`` and ``_log_ge1`` for the softmax, are fastmath. 'reassoc' lets LLVM fold
  the exact range-reduction steps of ``_exp_nonpos`` ((x*log2e + S) - S -> x*log2e;
  x - k hi - k lo -> x - k ln2; measured 2e-14 relative error instead of 1 ulp) and
  ``_log_ge1``'s NaN guard r + (x - x) into r (a NaN row sum gave a loss of inf instead
  of NaN). Only the running sums are marked
  reassociable, through the ``_acc`` intrinsic (an ``fadd reassoc``), which is exactly
  what LLVM needs to vectorize a reduction; NaN and inf keep their meaning everywhere.
  ``error_model='numpy'`` removes the zero-division checks that block vectorization.
* ``_exp_nonpos`` and ``_log1p_unit`` are branch-free polynomial versions of exp and
  log1p on the ranges BCE and softmax need (x <= 0 and [0, 1]); LLVM vectorizes them
  (8 float64 lanes) where calls to glibc's scalar ``exp``/``log1p`` cannot be:
  0.6 ns per exp against 4.7 ns (one core of this machine). Accuracy measured against
  glibc on 2 million points: exp <= 1 ulp (subnormal results within 1 unit of 2^-1074),
  log1p <= 2 ulp. ``_expf_nonpos`` and ``_log1pf_unit`` are their float32 counterparts
  (16 float32 lanes), for BCE and (exp only) the cross-entropy blocks on float32 arrays.
* numba compiles one specialisation per dtype, read-only flag and optional-argument
  pattern of a call; ``cache=True`` keeps them on disk, so only the first call of a new
  combination on a machine pays the compilation (1 to 10 s).
* Arithmetic. Hinge and squared hinge give the loop tier's float64 results also for
  float32 arrays, computing in float32 only where that is exact (t p; see
  ``_hinge_block``): each widening or narrowing of a float32 vector costs two conversions.
  MSE, L1, Huber and BCE compute in the input's precision, as the numpy tier (and
  PyTorch) do: on float32 arrays d = p - t is rounded to float32, ~6e-8 relative per
  element (the tests' float32 tolerance is 1e-4); Huber's comparisons with delta stay
  exact (against delta rounded up or down to float32). Widening p and t for an exact
  float64 d had kept these float32 loops under the issue's 75%-of-triad target: N=1e7,
  two threads, gradient reused, share of the same-rounds triad, float64 route -> float32
  route: MSE 76% -> 79-84%, L1 74% -> 86-89%, Huber 69% -> 77-79% (2026-12-07). One
  consequence at the extremes, shared with the numpy tier: on float32 arrays a |p - t|
  beyond float32's range (3.4e38) is inf, and so are its loss and (MSE) gradient. BCE on
  float32 is compute-bound on its exp / log1p / divisions, where float32 vectors hold
  twice the lanes (1.8 -> 0.95 ns per element on one thread at N=1e7, 0.74 with a float32
  loss buffer). Every sum is float64: a float32 loss is widened exactly as it is added
  (``_acc(s, np.float64(loss))``, ``_sum``).
"""
import numpy as np
from llvmlite import ir
from numba import get_parallel_chunksize, njit, prange
from numba.core import cgutils, types
from numba.extending import intrinsic, overload

# Elements per chunk below which a kernel stays serial, the most chunks a call uses, and
# the elements per block whose losses are buffered (float64, 8 KB) and then summed.
GRAIN = 32768
MAX_CHUNKS = 64
BLOCK = 1024
# BCE's blocks (its two buffers: 32 KB each in float64, 16 KB in float32, in L1/L2): N=1e7
# two threads, gradient reused, float64 13.5-13.6 ms with blocks of 1024, 11.2-11.8 ms with
# 4096 (float32 5.9-6.1 -> 5.6-5.7 ms); 2048-16384 measured within noise of 4096.
BCE_BLOCK = 4096

# helpers; kernels add cache and parallel. fastmath=False set, not left to inherit: see
# "No fastmath" in the module doc.
_JIT = dict(nogil=True, error_model="numpy", fastmath=False)
_KERNEL = dict(_JIT, cache=True, parallel=True)


# ---------------------------------------------------------------------------
# LLVM intrinsics: a reassociable add for reductions, fma, NaN-propagating max, bitcast.

@intrinsic
def _acc(typingctx, a, b):
    """a + b as ``fadd reassoc nsz``: lets LLVM vectorize (reorder) a running sum. NaN
    and inf still propagate (no 'nnan'/'ninf')."""
    def codegen(context, builder, sig, args):
        return builder.fadd(args[0], args[1], flags=("reassoc", "nsz"))
    return types.float64(types.float64, types.float64), codegen


@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c with one rounding (llvm.fma: vfmadd), in float64 or float32. All three
    arguments must have the same type: a float64 constant in float32 code is then a typing
    error instead of a silent widening of the whole computation."""
    if not (a == b == c and a in (types.float64, types.float32)):
        return None
    def codegen(context, builder, sig, args):
        return builder.fma(args[0], args[1], args[2])
    return a(a, a, a), codegen


@intrinsic
def _fmaximum(typingctx, a, b):
    """max(a, b) that returns NaN if either is NaN (llvm.maximum); vectorizes as a
    reduction without any fast-math flag. float64 or float32, both the same."""
    if not (a == b and a in (types.float64, types.float32)):
        return None
    def codegen(context, builder, sig, args):
        ty, name = ((ir.DoubleType(), "llvm.maximum.f64") if sig.return_type == types.float64
                    else (ir.FloatType(), "llvm.maximum.f32"))
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ty, [ty, ty]), name)
        return builder.call(fn, args)
    return a(a, a), codegen


@intrinsic
def _f64_from_bits(typingctx, i):
    """Reinterpret the bits of an int64 as a float64."""
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@intrinsic
def _bits_from_f64(typingctx, x):
    """Reinterpret the bits of a float64 as an int64."""
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


# numba's parallel chunk size (``numba.set_parallel_chunksize``: a thread-local setting
# read when a prange loop starts, 0 = one static range per thread). The Python-level
# function calls a ctypes pointer, which a ``cache=True`` function cannot embed; these
# call the same C symbols by name, declared exactly as numba's own prange lowering does.
# The symbols exist once numba has loaded its threading layer; typing these intrinsics
# loads it (through the public get_parallel_chunksize), since a helper that calls them
# is compiled and linked before the prange loop of its caller would load it.

@intrinsic
def _get_chunksize(typingctx):
    """The calling thread's parallel chunk size."""
    get_parallel_chunksize()  # loads the threading layer: see above
    def codegen(context, builder, sig, args):
        fnty = ir.FunctionType(ir.IntType(64), [])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "get_parallel_chunksize")
        return builder.call(fn, [])
    return types.uint64(), codegen


@intrinsic
def _set_chunksize(typingctx, n):
    """Set the calling thread's parallel chunk size to ``n`` (a uint64)."""
    if n != types.uint64:
        return None
    get_parallel_chunksize()  # loads the threading layer: see above
    def codegen(context, builder, sig, args):
        fnty = ir.FunctionType(ir.VoidType(), [ir.IntType(64)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "set_parallel_chunksize")
        builder.call(fn, [args[0]])
        return context.get_dummy_value()
    return types.none(types.uint64), codegen


# LLVM's tuning for Intel's AVX-512 server cores (the host CPU numba compiles for) prefers
# 256-bit vectors, so loops LLVM vectorizes itself run on ymm registers there. numba has no
# per-function option for this, but LLVM reads a function attribute; this intrinsic puts it
# on the function that calls it. Used by the compute-bound loops only (BCE, the
# cross-entropy blocks, the linear kernel's tiles): the memory-bound ones stay as LLVM
# tunes them. Where the host has no 512-bit vectors the attribute changes nothing.
_WIDE_ATTRIBUTE = '"prefer-vector-width"="512"'


def _mark_wide(builder):
    """Put _WIDE_ATTRIBUTE on the function ``builder`` is emitting (LLVM's string attribute;
    llvmlite's attribute set knows only the keyword ones, hence set.add)."""
    set.add(builder.function.attributes, _WIDE_ATTRIBUTE)


@intrinsic
def _wide_vectors(typingctx):
    """Mark the calling compiled function ``"prefer-vector-width"="512"``."""
    def codegen(context, builder, sig, args):
        _mark_wide(builder)
        return context.get_dummy_value()
    return types.none(), codegen


@intrinsic
def _wide_vectors_f32(typingctx, x):
    """``_wide_vectors`` when ``x`` is a float32 array, nothing otherwise. Measured on the
    Intel machine, N=1e7, two threads, gradient reused: float32 hinge 3.75 -> 2.95-3.20 ms,
    squared hinge 4.55 -> 2.98-3.14, Huber 3.47 -> 3.2; float64 loops unchanged or slower.
    MSE and L1 on float32, computing in float64 then, measured within noise or slower
    (3.0 -> 3.1-3.3 ms); computing in float32 (since 2026-12-07) L1 2.77-3.16 -> 2.77-3.08
    ms, 73-79% -> 81% of the triad, MSE 3.06-3.21 -> 2.72-3.07 ms, so all five use it."""
    wide = isinstance(x, types.Array) and x.dtype == types.float32

    def codegen(context, builder, sig, args):
        if wide:
            _mark_wide(builder)
        return context.get_dummy_value()
    return types.none(x), codegen


@njit(**_JIT)
def _dynamic_schedule():
    """Make the next prange loop hand out its iterations one at a time (see "Chunking");
    returns the previous setting, to be given back to ``_set_chunksize`` after the loop."""
    old = _get_chunksize()
    _set_chunksize(np.uint64(1))
    return old


@intrinsic
def _f32_bits_shl23(typingctx, x):
    """The float32 whose bits are those of the float32 x shifted left by 23: the low 9
    mantissa bits of x become the sign and biased exponent (see _expf_nonpos). One
    intrinsic because numba widens int32 arithmetic to int64."""
    def codegen(context, builder, sig, args):
        i32 = ir.IntType(32)
        bits = builder.shl(builder.bitcast(args[0], i32), ir.Constant(i32, 23))
        return builder.bitcast(bits, ir.FloatType())
    return types.float32(types.float32), codegen


# ---------------------------------------------------------------------------
# Vectorizable exp and log1p on the ranges the kernels need. Polynomial coefficients:
# Chebyshev fits computed with mpmath (50 digits), errors measured with the rounded
# float64 coefficients; see each docstring.

_LOG2E = 1.4426950408889634
# Cody-Waite split of ln 2 (fdlibm): k * _LN2_HI is exact for |k| < 2**20.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
# 1.5 * 2**52 shifts x / ln2 so that the float64 addition itself rounds it to an integer
# k held in the low mantissa bits; + 1023 + 64 makes those bits the biased exponent of
# 2**(k + 64) for every k in [-1086, 959] (see _exp_nonpos).
_EXP_SHIFT = 6755399441055744.0 + 1087.0
_TWO_M64 = 2.0 ** -64
_EXP_UNDERFLOW = -745.2  # exp(x) rounds to 0 in float64 below -745.13
# e^r on |r| <= ln2/2, degree 11, highest power first: max rel. error 1.7e-17.
_E11, _E10, _E9, _E8, _E7, _E6, _E5, _E4, _E3, _E2, _E1, _E0 = (
    2.5110037605963777e-08, 2.763263963904103e-07, 2.755724091857897e-06,
    2.4801485482328494e-05, 0.00019841269890047113, 0.0013888888952314775,
    0.008333333333319601, 0.0416666666664881, 0.1666666666666668, 0.5000000000000019,
    1.0, 1.0)
_LN2 = 0.6931471805599453
_SQRT2_M1 = 0.41421356237309503
# (atanh(s)/s - 1) / s^2 as a polynomial in z = s^2 on [0, 0.02944] (|s| <= 3 - 2 sqrt 2),
# degree 6, highest first: 2 atanh(s) to 4.6e-18 relative.
_A6, _A5, _A4, _A3, _A2, _A1, _A0 = (
    0.07308224842521703, 0.07665860800278021, 0.09091444562630861, 0.1111110556739754,
    0.14285714312987743, 0.19999999999949752, 0.3333333333333335)


@njit(**_JIT)
def _exp_nonpos(x):
    """exp(x) for x <= 0 (-inf -> 0, NaN -> NaN), branch-free and without a libm call.

    x = k ln2 + r, k = round(x / ln2) by the shift constant, |r| <= ln2/2 by a
    Cody-Waite reduction with fma; e^r by a degree-11 polynomial (1.7e-17); 2^k as
    2^(k+64) built from the same bits of the shifted sum, times 2^-64, so that results
    in the subnormal range are rounded once, correctly. Below -745.2 (where float64 exp
    is 0, and where k + 1087 would leave the exponent field) the result is set to 0.
    Measured against glibc over [-745, 0]: <= 1 ulp for normal results.
    Not valid for x > 0 (not needed: arguments are z - max(z) and -|x|).
    """
    t = _fma(x, _LOG2E, _EXP_SHIFT)
    kf = t - _EXP_SHIFT  # exact: round(x / ln2)
    r = _fma(kf, -_LN2_HI, x)
    r = _fma(kf, -_LN2_LO, r)
    p = _fma(_E11, r, _E10)
    p = _fma(p, r, _E9)
    p = _fma(p, r, _E8)
    p = _fma(p, r, _E7)
    p = _fma(p, r, _E6)
    p = _fma(p, r, _E5)
    p = _fma(p, r, _E4)
    p = _fma(p, r, _E3)
    p = _fma(p, r, _E2)
    p = _fma(p, r, _E1)
    p = _fma(p, r, _E0)
    y = p * _f64_from_bits(_bits_from_f64(t) << 52) * _TWO_M64
    return 0.0 if x < _EXP_UNDERFLOW else y  # NaN: y is already NaN


@njit(**_JIT)
def _two_atanh(s):
    """2 atanh(s) for |s| <= 3 - 2 sqrt(2) = 0.1716: 2s + 2s z P(z), z = s^2."""
    z = s * s
    q = _fma(_A6, z, _A5)
    q = _fma(q, z, _A4)
    q = _fma(q, z, _A3)
    q = _fma(q, z, _A2)
    q = _fma(q, z, _A1)
    q = _fma(q, z, _A0)
    two_s = s + s
    return _fma(two_s * z, q, two_s)


@njit(**_JIT)
def _log1p_unit(e):
    """log1p(e) for e in [0, 1] (NaN -> NaN), branch-free and without a libm call.

    log(1 + e) = 2 atanh(s) with s = e / (2 + e) for e <= sqrt(2) - 1, and
    ln 2 + 2 atanh(s) with s = (e - 1) / (e + 3) above; either way |s| <= 0.1716 and
    1 + e is never rounded. (Sharing one division with BCE's sigmoid was measured
    slower: the divider is not the bottleneck.)
    """
    small = e <= _SQRT2_M1  # NaN goes to the second form and stays NaN
    num = e if small else e - 1.0
    den = (2.0 + e) if small else (3.0 + e)
    return (0.0 if small else _LN2) + _two_atanh(num / den)


# bits of sqrt(1/2): subtracting them from a float64's bits puts the exponent k of the
# factorisation x = 2^k f, f in [sqrt(1/2), sqrt(2)), in the bits above the mantissa.
_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD
# fdlibm's e_log.c minimax polynomial Lg1..Lg7, highest first, for the remainder R(z),
# z = s^2, of log1p(f) (|s| <= 0.1716, error < 2^-58.45); the Cython tier's fl_log uses it.
_LG7, _LG6, _LG5, _LG4, _LG3, _LG2, _LG1 = (
    1.479819860511658591e-01, 1.531383769920937332e-01, 1.818357216161805012e-01,
    2.222219843214978396e-01, 2.857142874366239149e-01, 3.999999999940941908e-01,
    6.666666666666735130e-01)


@njit(**_JIT)
def _log_ge1(x):
    """log(x) for x >= 1 (NaN -> NaN), branch-free and without a libm call: the
    cross-entropy row sums (>= 1: the max entry contributes exp(0) = 1), taken for a whole
    block of rows in one vectorized loop (a libm log per row cost ~5.6 ns of a ~37 ns
    C=10 row, one thread).

    x = 2^k (1 + f) with 1 + f in [sqrt(1/2), sqrt(2)) read off the bits (f is exact), then
    fdlibm's log1p(f) = f - (f^2/2 - s (f^2/2 + R(s^2))), s = f / (2 + f), plus k ln 2 in
    the Cody-Waite split. The large term f is exact and the rest a small correction, so
    near x = 1 the result stays within 1 ulp (2 atanh(s) computed from the rounded s was
    2 ulp there). Measured against math.log on 4e6 points over [1, 1.2e6] and powers of 2:
    <= 1 ulp. Not valid for x < 1 (nothing needs it).
    """
    bits = _bits_from_f64(x)
    k = (bits - _SQRT_HALF_BITS) >> 52
    f = _f64_from_bits(bits - (k << 52)) - 1.0
    s = f / (2.0 + f)
    z = s * s
    R = _fma(_LG7, z, _LG6)
    R = _fma(R, z, _LG5)
    R = _fma(R, z, _LG4)
    R = _fma(R, z, _LG3)
    R = _fma(R, z, _LG2)
    R = _fma(R, z, _LG1)
    R = R * z
    hfsq = 0.5 * f * f
    kf = np.float64(k)
    r = kf * _LN2_HI + (f - (hfsq - (s * (hfsq + R) + kf * _LN2_LO)))
    return r + (x - x)  # NaN stays NaN (its bits would give a finite r)


# ---------------------------------------------------------------------------
# float32 versions for float32 arrays (BCE; exp also for the cross-entropy blocks in
# scores.py): the same reductions in float32 arithmetic, so that LLVM computes 16 lanes
# per 512-bit vector instead of 8. Every constant is an np.float32: a Python float would
# be typed float64 and widen the whole expression (and ``_fma`` refuses mixed types).
# Fits: Chebyshev, mpmath, rounded to float32; errors measured against float64 np.exp /
# np.log1p, in float32 ulps.

_F0, _F1, _F2, _F3 = np.float32(0.0), np.float32(1.0), np.float32(2.0), np.float32(3.0)
_LOG2E_F = np.float32(1.442695)
# ln 2 = _LN2_HI_F + _LN2_LO_F to 1e-16. With fma, x - k _LN2_HI_F is exact for |k| <= 150:
# both are multiples of 2^-24 and the difference is below 1/2.
_LN2_HI_F = np.float32(0.6931472)
_LN2_LO_F = np.float32(-1.9046542e-09)
# 1.5 * 2**23 + 127 + 64: the float32 addition rounds x / ln2 to an integer k held in the
# low mantissa bits, offset so that the low 9 of them are the biased exponent of 2^(k + 64)
# for every k in [-150, 0] (see _expf_nonpos).
_EXP_SHIFT_F = np.float32(12583103.0)
_TWO_M64_F = np.float32(2.0 ** -64)
# exp(x) rounds to 0 in float32 below ln(2^-150) = -103.972; above -104, k >= -150.
_EXP_UNDERFLOW_F = np.float32(-104.0)
# (e^r - 1 - r) / r^2 on |r| <= ln2/2, degree 4, highest power first: e^r to 1e-8 relative
# (0.08 ulp) with these float32 coefficients.
_EF6, _EF5, _EF4, _EF3, _EF2 = (np.float32(0.0013926176), np.float32(0.008363173),
                                np.float32(0.041666556), np.float32(0.16666578), np.float32(0.5))
_LN2_F = np.float32(0.6931472)
_SQRT2_M1_F = np.float32(0.41421357)
# (atanh(s)/s - 1) / s^2 as a polynomial in z = s^2 on [0, 0.02944], degree 2, highest
# first: 2 atanh(s) to 2.5e-9 relative (0.02 ulp) with these float32 coefficients.
_AF2, _AF1, _AF0 = np.float32(0.14789975), np.float32(0.1999439), np.float32(0.33333343)


@njit(**_JIT)
def _expf_nonpos(x):
    """exp(x) in float32 arithmetic for a float32 x <= 0 (-inf -> 0, NaN -> NaN),
    branch-free: as ``_exp_nonpos``. k = round(x / ln2) by the shift constant, r = x - k ln2
    by fma (|r| <= ln2/2), e^r = 1 + r + r^2 P(r) with P of degree 4; 2^k as 2^(k+64) from
    the bits of the shifted sum, times 2^-64, so a subnormal result is rounded once (from
    the float32 polynomial value). Below -104 (where float32 exp is 0, and where k + 191
    would leave the 8-bit exponent field) the result is set to 0; between -104 and
    -103.972 the product itself rounds to 0.
    Measured against float64 np.exp (5 million random points of [-104, 0] and every
    float32 in [-104, -64], [-2, -1], [-0.5, -0.25]): <= 0.94 ulp for normal results,
    subnormal results within 0.88 units of 2^-149; ~94 % correctly rounded.
    """
    t = _fma(x, _LOG2E_F, _EXP_SHIFT_F)
    kf = t - _EXP_SHIFT_F  # exact: round(x / ln2)
    r = _fma(kf, -_LN2_HI_F, x)
    r = _fma(kf, -_LN2_LO_F, r)
    p = _fma(_EF6, r, _EF5)
    p = _fma(p, r, _EF4)
    p = _fma(p, r, _EF3)
    p = _fma(p, r, _EF2)
    p = _fma(p, r, _F1)
    p = _fma(p, r, _F1)
    y = p * _f32_bits_shl23(t) * _TWO_M64_F
    return _F0 if x < _EXP_UNDERFLOW_F else y  # NaN: y is already NaN


@njit(**_JIT)
def _two_atanhf(s):
    """2 atanh(s) in float32 for |s| <= 0.1716: 2s + 2s z P(z), z = s^2."""
    z = s * s
    q = _fma(_AF2, z, _AF1)
    q = _fma(q, z, _AF0)
    two_s = s + s
    return _fma(two_s * z, q, two_s)


@njit(**_JIT)
def _log1pf_unit(e):
    """log1p(e) in float32 arithmetic for a float32 e in [0, 1] (NaN -> NaN), branch-free:
    as ``_log1p_unit``, 2 atanh(s) with s = e / (2 + e) up to sqrt(2) - 1, else
    ln 2 + 2 atanh((e - 1) / (e + 3)). Measured against float64 np.log1p (5 million
    random points and every float32 in [0.125, 1] and [2^-10, 2^-9]): <= 1.91 ulp, from
    the roundings of 2 + e and of the division; a subnormal e gives 0 (s = e/2 underflows:
    off by at most 2^-149). A division shared with BCE's sigmoid, as the Cython tier does
    (r = 1 / ((1 + e) den)), measured 6 % slower here and 3.8 ulp.
    """
    small = e <= _SQRT2_M1_F  # NaN goes to the second form and stays NaN
    num = e if small else e - _F1
    den = (_F2 + e) if small else (_F3 + e)
    return (_F0 if small else _LN2_F) + _two_atanhf(num / den)


def _exp_nonpos_any(x):
    """exp(x) for x <= 0 in the precision of x: ``_expf_nonpos`` for a float32 x, else
    ``_exp_nonpos``; chosen when numba types the caller (the overload below)."""
    raise NotImplementedError("called from numba-compiled code only")


@overload(_exp_nonpos_any, jit_options=_JIT, inline="always")
def _exp_nonpos_for_type(x):
    exp = _expf_nonpos if x == types.float32 else _exp_nonpos

    def impl(x):
        return exp(x)
    return impl


# ---------------------------------------------------------------------------
# Chunking shared by every numba kernel.

@njit(**_JIT)
def _chunking(n, grain):
    """(number of chunks, chunk size) for n items: depends on n and grain only."""
    nch = min(MAX_CHUNKS, max(1, n // grain))
    return nch, (n + nch - 1) // nch


@njit(**_JIT)
def _ordered_sum(partial):
    """Sum of the per-chunk partial sums, always in chunk order (deterministic)."""
    total = 0.0
    for c in range(partial.shape[0]):
        total += partial[c]
    return total


@njit(**_JIT)
def _sum(buf):
    """float64 sum of a buffer in a loop that only loads: vectorized through ``_acc``,
    and its order depends on the length alone (see "Reductions" in the module doc).
    A float32 buffer is widened exactly, element by element."""
    s = 0.0
    for k in range(buf.shape[0]):
        s = _acc(s, np.float64(buf[k]))
    return s


def _sums_apart(x):
    """True for float64 arrays, False for float32 (a compile-time constant: the overload
    below): whether the hinge and squared hinge kernels sum a block's losses in a loop of
    their own that recomputes them from the inputs, or buffer them in the gradient loop
    (see "Reductions" in the module doc)."""
    raise NotImplementedError("called from numba-compiled code only")


@overload(_sums_apart, jit_options=_JIT, inline="always")
def _sums_apart_for_type(x):
    apart = x.dtype == types.float64

    def impl(x):
        return apart
    return impl


# ---------------------------------------------------------------------------
# Kernels. Each has
#   _X_block: one loop over one block, no loop both storing and summing ("Reductions"):
#             with a gradient array, the gradient (and loss_out unless it is None) and,
#             for hinge / squared hinge on float32, the losses into the block buffer
#             ``lb``; with grad None, the
#             loss sum only (loads only). Hinge and squared hinge also count their
#             off-sign targets (see fastloss.loop.elementwise) in the loop that sums;
#   _X_range: the blocks of one chunk: per block the gradient loop, then the sum loop
#             or _sum of the buffer (hinge / squared hinge on float32; ``_sums_apart``);
#   _X_part:  slices one chunk and picks the compile-time specialisation (None for
#             the absent optional arrays);
#   X:        the public kernel: chunking and prange.

@njit(**_JIT)
def _ceil_to(dtype, x):
    """The smallest value of ``dtype`` (float32 or float64) >= the float64 x: then for any
    v of that dtype, v < x <=> v < _ceil_to(dtype, x) (no value of it lies in between)."""
    c = dtype(x)
    if np.float64(c) < x:
        c = np.nextafter(c, dtype(np.inf))
    return c


@njit(**_JIT)
def _hinge_block(pred, target, margin, scale, loss_out, grad, lb):
    """One block: the gradient (and loss_out) and, for float32, the losses into lb; with
    grad None, the loss sum instead (loads only). Returns (loss sum or 0, the number of
    targets that are neither -1 nor +1, counted in the loop that sums).

    In the input's precision where that is exact, so that float32 loops stay 16 lanes wide
    (every widening or narrowing of a float32 vector costs two conversions): with t = +-1,
    tp = t p is exact and (float64)tp = t p; t p < margin <=> tp < _ceil_to(margin); the
    float64 gradient -t scale rounded to float32 is -t float32(scale)."""
    _wide_vectors_f32(pred)  # float32: 512-bit vectors (see _wide_vectors_f32)
    apart = _sums_apart(pred)
    ty = pred.dtype.type
    one, zero, sc, am = ty(1), ty(0), ty(scale), _ceil_to(ty, margin)
    s = 0.0
    off = 0
    for k in range(pred.shape[0]):
        t = target[k]
        tp = t * pred[k]
        gap = margin - np.float64(tp)
        loss = 0.0 if gap <= 0 else gap  # "not gap <= 0": a NaN gap is active, stays NaN
        if grad is None or not apart:
            off += (t != one) & (t != -one)
        if grad is None:
            s = _acc(s, loss)
            continue
        if not apart:
            lb[k] = loss
        if loss_out is not None:
            loss_out[k] = loss
        g = -t * sc if tp < am else zero
        grad[k] = tp if tp != tp else g  # NaN: NaN (two selects: faster than three branches)
    return s, off


@njit(**_JIT)
def _hinge_range(pred, target, margin, scale, loss_out, grad):
    n = pred.shape[0]
    apart = _sums_apart(pred)
    buf = np.empty(0 if apart else min(BLOCK, n))
    total = 0.0
    off = 0
    for b0 in range(0, n, BLOCK):
        b1 = min(n, b0 + BLOCK)
        p, t, lb = pred[b0:b1], target[b0:b1], buf[:b1 - b0]
        # the gradient loop's count is the block's for float32 (its sum is 0)
        if loss_out is None:
            _, bo = _hinge_block(p, t, margin, scale, None, grad[b0:b1], lb)
        else:
            _, bo = _hinge_block(p, t, margin, scale, loss_out[b0:b1], grad[b0:b1], lb)
        if apart:
            bs, bo = _hinge_block(p, t, margin, scale, None, None, lb)
        else:
            bs = _sum(lb)
        total += bs
        off += bo
    return total, off


@njit(**_JIT)
def _hinge_part(pred, target, margin, scale, loss_out, grad, lo, hi):
    if loss_out.shape[0] == 0:
        return _hinge_range(pred[lo:hi], target[lo:hi], margin, scale, None, grad[lo:hi])
    return _hinge_range(pred[lo:hi], target[lo:hi], margin, scale, loss_out[lo:hi], grad[lo:hi])


@njit(**_KERNEL)
def hinge(pred, target, margin, scale, loss_out, grad):
    """l = max(0, margin - t p);  dl/dp = -t where t p < margin, else 0 (strict: 0 at
    the kink). A NaN gap gives a NaN loss and gradient (the "not <= 0" rule). Returns
    (loss sum, number of targets not -1 or +1), counted in the same pass."""
    n = pred.shape[0]
    nch, size = _chunking(n, GRAIN)
    if nch == 1:
        return _hinge_part(pred, target, margin, scale, loss_out, grad, 0, n)
    partial = np.empty(nch)
    offs = np.empty(nch, np.int64)
    old = _dynamic_schedule()
    for c in prange(nch):
        partial[c], offs[c] = _hinge_part(pred, target, margin, scale, loss_out, grad,
                                          min(n, c * size), min(n, (c + 1) * size))
    _set_chunksize(old)
    return _ordered_sum(partial), offs.sum()


@njit(**_JIT)
def _squared_hinge_block(pred, target, margin, scale, loss_out, grad, lb):
    """As _hinge_block (tp = t p in the input's precision)."""
    _wide_vectors_f32(pred)  # float32: 512-bit vectors (see _wide_vectors_f32)
    apart = _sums_apart(pred)
    ty = pred.dtype.type
    one = ty(1)
    s = 0.0
    off = 0
    for k in range(pred.shape[0]):
        t = target[k]
        gap = margin - np.float64(t * pred[k])
        if gap <= 0:
            gap = 0.0  # NaN fails the test and stays NaN
        loss = gap * gap
        if grad is None or not apart:
            off += (t != one) & (t != -one)
        if grad is None:
            s = _acc(s, loss)
            continue
        if not apart:
            lb[k] = loss
        if loss_out is not None:
            loss_out[k] = loss
        # -2 t gap scale rounded once: its magnitude rounded, then the sign of -t.
        grad[k] = -t * ty(2.0 * gap * scale)
    return s, off


@njit(**_JIT)
def _squared_hinge_range(pred, target, margin, scale, loss_out, grad):
    n = pred.shape[0]
    apart = _sums_apart(pred)
    buf = np.empty(0 if apart else min(BLOCK, n))
    total = 0.0
    off = 0
    for b0 in range(0, n, BLOCK):
        b1 = min(n, b0 + BLOCK)
        p, t, lb = pred[b0:b1], target[b0:b1], buf[:b1 - b0]
        # the gradient loop's count is the block's for float32 (its sum is 0)
        if loss_out is None:
            _, bo = _squared_hinge_block(p, t, margin, scale, None, grad[b0:b1], lb)
        else:
            _, bo = _squared_hinge_block(p, t, margin, scale, loss_out[b0:b1], grad[b0:b1],
                                         lb)
        if apart:
            bs, bo = _squared_hinge_block(p, t, margin, scale, None, None, lb)
        else:
            bs = _sum(lb)
        total += bs
        off += bo
    return total, off


@njit(**_JIT)
def _squared_hinge_part(pred, target, margin, scale, loss_out, grad, lo, hi):
    if loss_out.shape[0] == 0:
        return _squared_hinge_range(pred[lo:hi], target[lo:hi], margin, scale, None, grad[lo:hi])
    return _squared_hinge_range(pred[lo:hi], target[lo:hi], margin, scale, loss_out[lo:hi],
                                grad[lo:hi])


@njit(**_KERNEL)
def squared_hinge(pred, target, margin, scale, loss_out, grad):
    """l = max(0, margin - t p)^2;  dl/dp = -2 t max(0, margin - t p). NaN propagates.
    Returns as hinge."""
    n = pred.shape[0]
    nch, size = _chunking(n, GRAIN)
    if nch == 1:
        return _squared_hinge_part(pred, target, margin, scale, loss_out, grad, 0, n)
    partial = np.empty(nch)
    offs = np.empty(nch, np.int64)
    old = _dynamic_schedule()
    for c in prange(nch):
        partial[c], offs[c] = _squared_hinge_part(pred, target, margin, scale, loss_out,
                                                  grad, min(n, c * size), min(n, (c + 1) * size))
    _set_chunksize(old)
    return _ordered_sum(partial), offs.sum()


@njit(**_JIT)
def _mse_block(pred, target, scale, loss_out, grad):
    """One block: the gradient (and loss_out); with grad None, the loss sum instead (loads
    only). In the input's precision, the sum in float64 (see "Arithmetic")."""
    _wide_vectors_f32(pred)  # float32: 512-bit vectors (see _wide_vectors_f32)
    sc = pred.dtype.type(2.0 * scale)
    s = 0.0
    for k in range(pred.shape[0]):
        d = pred[k] - target[k]
        loss = d * d
        if grad is None:
            s = _acc(s, np.float64(loss))
            continue
        if loss_out is not None:
            loss_out[k] = loss
        grad[k] = d * sc
    return s


@njit(**_JIT)
def _mse_range(pred, target, scale, loss_out, grad):
    n = pred.shape[0]
    total = 0.0
    for b0 in range(0, n, BLOCK):
        b1 = min(n, b0 + BLOCK)
        p, t = pred[b0:b1], target[b0:b1]
        if loss_out is None:
            _mse_block(p, t, scale, None, grad[b0:b1])
        else:
            _mse_block(p, t, scale, loss_out[b0:b1], grad[b0:b1])
        total += _mse_block(p, t, scale, None, None)
    return total


@njit(**_JIT)
def _mse_part(pred, target, scale, loss_out, grad, lo, hi):
    if loss_out.shape[0] == 0:
        return _mse_range(pred[lo:hi], target[lo:hi], scale, None, grad[lo:hi])
    return _mse_range(pred[lo:hi], target[lo:hi], scale, loss_out[lo:hi], grad[lo:hi])


@njit(**_KERNEL)
def mse(pred, target, scale, loss_out, grad):
    """l = (p - t)^2;  dl/dp = 2 (p - t)."""
    n = pred.shape[0]
    nch, size = _chunking(n, GRAIN)
    if nch == 1:
        return _mse_part(pred, target, scale, loss_out, grad, 0, n)
    partial = np.empty(nch)
    old = _dynamic_schedule()
    for c in prange(nch):
        partial[c] = _mse_part(pred, target, scale, loss_out, grad,
                               min(n, c * size), min(n, (c + 1) * size))
    _set_chunksize(old)
    return _ordered_sum(partial)


@njit(**_JIT)
def _l1_block(pred, target, scale, loss_out, grad):
    """As _mse_block."""
    _wide_vectors_f32(pred)  # float32: 512-bit vectors (see _wide_vectors_f32)
    ty = pred.dtype.type
    zero, sc = ty(0), ty(scale)
    s = 0.0
    for k in range(pred.shape[0]):
        p, t = pred[k], target[k]
        loss = abs(p - t)
        if grad is None:
            s = _acc(s, np.float64(loss))
            continue
        if loss_out is not None:
            loss_out[k] = loss
        # sign(p - t) decided by comparing p with t (a difference rounded to 0 or inf
        # keeps its sign anyway); +-scale rounded to the dtype is +-ty(scale).
        g = (p - t) * zero  # sign(+-0) = +-0, sign(NaN) = NaN
        g = sc if p > t else g
        grad[k] = -sc if p < t else g
    return s


@njit(**_JIT)
def _l1_range(pred, target, scale, loss_out, grad):
    n = pred.shape[0]
    total = 0.0
    for b0 in range(0, n, BLOCK):
        b1 = min(n, b0 + BLOCK)
        p, t = pred[b0:b1], target[b0:b1]
        if loss_out is None:
            _l1_block(p, t, scale, None, grad[b0:b1])
        else:
            _l1_block(p, t, scale, loss_out[b0:b1], grad[b0:b1])
        total += _l1_block(p, t, scale, None, None)
    return total


@njit(**_JIT)
def _l1_part(pred, target, scale, loss_out, grad, lo, hi):
    if loss_out.shape[0] == 0:
        return _l1_range(pred[lo:hi], target[lo:hi], scale, None, grad[lo:hi])
    return _l1_range(pred[lo:hi], target[lo:hi], scale, loss_out[lo:hi], grad[lo:hi])


@njit(**_KERNEL)
def l1(pred, target, scale, loss_out, grad):
    """l = |p - t|;  dl/dp = sign(p - t), with sign(0) = 0 and sign(NaN) = NaN."""
    n = pred.shape[0]
    nch, size = _chunking(n, GRAIN)
    if nch == 1:
        return _l1_part(pred, target, scale, loss_out, grad, 0, n)
    partial = np.empty(nch)
    old = _dynamic_schedule()
    for c in prange(nch):
        partial[c] = _l1_part(pred, target, scale, loss_out, grad,
                              min(n, c * size), min(n, (c + 1) * size))
    _set_chunksize(old)
    return _ordered_sum(partial)


@njit(**_JIT)
def _huber_block(pred, target, delta, scale, loss_out, grad):
    """As _mse_block. delta's comparisons are exact in float32 too: |d| < delta <=>
    |d| < _ceil_to(delta), d > delta <=> d > -_ceil_to(-delta) (no float32 between)."""
    _wide_vectors_f32(pred)  # float32: 512-bit vectors (see _wide_vectors_f32)
    ty = pred.dtype.type
    dl, half, sc = ty(delta), ty(0.5), ty(scale)
    up, down = _ceil_to(ty, delta), -_ceil_to(ty, -delta)  # the kink, rounded up / down
    s = 0.0
    for k in range(pred.shape[0]):
        d = pred[k] - target[k]
        a = abs(d)
        if a < up:
            loss = half * d * d
        else:
            loss = dl * (a - half * dl)  # NaN lands here and stays NaN
        if grad is None:
            s = _acc(s, np.float64(loss))
            continue
        if loss_out is not None:
            loss_out[k] = loss
        # d if |d| <= delta else delta sign(d), as a clamp: two compares and selects
        # (NaN fails both and stays NaN).
        g = dl if d > down else d
        g = -dl if g < -down else g
        grad[k] = g * sc
    return s


@njit(**_JIT)
def _huber_range(pred, target, delta, scale, loss_out, grad):
    n = pred.shape[0]
    total = 0.0
    for b0 in range(0, n, BLOCK):
        b1 = min(n, b0 + BLOCK)
        p, t = pred[b0:b1], target[b0:b1]
        if loss_out is None:
            _huber_block(p, t, delta, scale, None, grad[b0:b1])
        else:
            _huber_block(p, t, delta, scale, loss_out[b0:b1], grad[b0:b1])
        total += _huber_block(p, t, delta, scale, None, None)
    return total


@njit(**_JIT)
def _huber_part(pred, target, delta, scale, loss_out, grad, lo, hi):
    if loss_out.shape[0] == 0:
        return _huber_range(pred[lo:hi], target[lo:hi], delta, scale, None, grad[lo:hi])
    return _huber_range(pred[lo:hi], target[lo:hi], delta, scale, loss_out[lo:hi], grad[lo:hi])


@njit(**_KERNEL)
def huber(pred, target, delta, scale, loss_out, grad):
    """d = p - t;  l = d^2 / 2 if |d| < delta else delta (|d| - delta / 2);
    dl/dp = d if |d| <= delta else delta sign(d)  (as torch.nn.functional.huber_loss)."""
    n = pred.shape[0]
    nch, size = _chunking(n, GRAIN)
    if nch == 1:
        return _huber_part(pred, target, delta, scale, loss_out, grad, 0, n)
    partial = np.empty(nch)
    old = _dynamic_schedule()
    for c in prange(nch):
        partial[c] = _huber_part(pred, target, delta, scale, loss_out, grad,
                                 min(n, c * size), min(n, (c + 1) * size))
    _set_chunksize(old)
    return _ordered_sum(partial)


@njit(**_JIT)
def _bce_block_f64(logits, target, weight, pos_weight, scale, loss_out, grad, lb, eb):
    # exp(-|x|) in a loop of its own (into the float64 buffer eb): LLVM interleaves the
    # short loop, which made the whole block 1.3x faster than one long loop (measured).
    # A third loop, log1p (and the sigmoid) into buffers before the combine as in the
    # Cython tier, measured 1.2x (1.7x) slower here, and 1.15x slower for float32.
    _wide_vectors()  # compute-bound: 512-bit vectors (see elementwise._wide_vectors)
    for k in range(logits.shape[0]):
        eb[k] = _exp_nonpos(-abs(np.float64(logits[k])))
    for k in range(logits.shape[0]):
        x = np.float64(logits[k])
        t = np.float64(target[k])
        e = eb[k]  # exp(-|x|): shared by both softplus terms and sigmoid
        lp = _log1p_unit(e)
        sp_pos = (x if x > 0.0 else 0.0) + lp  # softplus(x)
        sp_neg = (-x if x < 0.0 else 0.0) + lp  # softplus(-x)
        # sigmoid(x): 1/(1+e) for x >= 0, e/(1+e) below (NaN takes the second form)
        s = (1.0 if x >= 0.0 else e) / (1.0 + e)
        one_m_t = 1.0 - t
        if pos_weight is None:
            loss = t * sp_neg + one_m_t * sp_pos
            g = one_m_t * s - t * (1.0 - s)
        else:
            q = np.float64(pos_weight[k])
            loss = q * t * sp_neg + one_m_t * sp_pos
            g = one_m_t * s - q * t * (1.0 - s)
        if weight is not None:
            w = np.float64(weight[k])
            loss = w * loss
            g = w * g
        lb[k] = loss
        if loss_out is not None:
            loss_out[k] = loss
        grad[k] = g * scale


@njit(**_JIT)
def _bce_block_f32(logits, target, weight, pos_weight, scale, loss_out, grad, lb, eb):
    # _bce_block_f64 in float32 arithmetic, for float32 arrays (lb and eb are float32):
    # both loops run 16 lanes per 512-bit vector. No float64 here at all: LLVM sizes a
    # loop's vectors by its widest type, and storing the loss into a float64 lb made the
    # second loop 8 lanes wide and the block 1.25x slower (measured); ``_sum`` widens lb
    # instead, which adds the same float64 values (exact widening). The gradient is
    # scaled in float32 (scale rounded once: <= 1 ulp instead of 0.5; a float64 product
    # measured 7 % slower).
    _wide_vectors()  # compute-bound: 512-bit vectors (see elementwise._wide_vectors)
    for k in range(logits.shape[0]):
        eb[k] = _expf_nonpos(-abs(logits[k]))
    scale_f = np.float32(scale)
    for k in range(logits.shape[0]):
        x = logits[k]
        t = target[k]
        e = eb[k]
        lp = _log1pf_unit(e)
        sp_pos = (x if x > _F0 else _F0) + lp  # softplus(x)
        sp_neg = (-x if x < _F0 else _F0) + lp  # softplus(-x)
        # sigmoid(x) and 1 - sigmoid(x) as 1/(1+e) and e/(1+e), picked by the sign of x
        # (NaN: x >= 0 is false, both NaN). Not 1 - s: in float32 s rounds to 1 from
        # |x| > 17 on and the gradient of a saturated element would be 0 instead of e
        # (costs one multiply: 2 % of the block, measured).
        inv = _F1 / (_F1 + e)
        e_inv = e * inv
        s = inv if x >= _F0 else e_inv
        s_c = e_inv if x >= _F0 else inv
        one_m_t = _F1 - t
        if pos_weight is None:
            loss = t * sp_neg + one_m_t * sp_pos
            g = one_m_t * s - t * s_c
        else:
            q = pos_weight[k]
            loss = q * t * sp_neg + one_m_t * sp_pos
            g = one_m_t * s - q * t * s_c
        if weight is not None:
            w = weight[k]
            loss = w * loss
            g = w * g
        lb[k] = loss
        if loss_out is not None:
            loss_out[k] = loss
        grad[k] = g * scale_f


def _bce_block(logits, target, weight, pos_weight, scale, loss_out, grad, lb, eb):
    """One block of BCE: ``_bce_block_f32`` for float32 logits, else ``_bce_block_f64``;
    chosen when numba types the caller (the overload below)."""
    raise NotImplementedError("called from numba-compiled code only")


@overload(_bce_block, jit_options=_JIT, inline="always")
def _bce_block_for_dtype(logits, target, weight, pos_weight, scale, loss_out, grad, lb, eb):
    # inline="always": numba splices this wrapper into the caller, which then calls the
    # block itself (left as a call of its own, it cost the float64 kernel 2 %, measured)
    block = _bce_block_f32 if logits.dtype == types.float32 else _bce_block_f64

    def impl(logits, target, weight, pos_weight, scale, loss_out, grad, lb, eb):
        block(logits, target, weight, pos_weight, scale, loss_out, grad, lb, eb)
    return impl


@njit(**_JIT)
def _bce_range(logits, target, weight, pos_weight, scale, loss_out, grad):
    n = logits.shape[0]
    # the losses and exp(-|x|) in the block's precision (see _bce_block_f32)
    buf = np.empty(min(BCE_BLOCK, n), logits.dtype)
    ebuf = np.empty(min(BCE_BLOCK, n), logits.dtype)
    total = 0.0
    for b0 in range(0, n, BCE_BLOCK):
        b1 = min(n, b0 + BCE_BLOCK)
        x, t, g = logits[b0:b1], target[b0:b1], grad[b0:b1]
        lb, eb = buf[:b1 - b0], ebuf[:b1 - b0]
        # every combination of None spelled out: each is its own compiled loop
        if loss_out is None:
            if weight is None:
                if pos_weight is None:
                    _bce_block(x, t, None, None, scale, None, g, lb, eb)
                else:
                    _bce_block(x, t, None, pos_weight[b0:b1], scale, None, g, lb, eb)
            elif pos_weight is None:
                _bce_block(x, t, weight[b0:b1], None, scale, None, g, lb, eb)
            else:
                _bce_block(x, t, weight[b0:b1], pos_weight[b0:b1], scale, None, g, lb, eb)
        else:
            lo_ = loss_out[b0:b1]
            if weight is None:
                if pos_weight is None:
                    _bce_block(x, t, None, None, scale, lo_, g, lb, eb)
                else:
                    _bce_block(x, t, None, pos_weight[b0:b1], scale, lo_, g, lb, eb)
            elif pos_weight is None:
                _bce_block(x, t, weight[b0:b1], None, scale, lo_, g, lb, eb)
            else:
                _bce_block(x, t, weight[b0:b1], pos_weight[b0:b1], scale, lo_, g, lb, eb)
        total += _sum(lb)
    return total


@njit(**_JIT)
def _bce_part(logits, target, weight, pos_weight, scale, loss_out, grad, lo, hi):
    x, t, g = logits[lo:hi], target[lo:hi], grad[lo:hi]
    has_w, has_q = weight.shape[0] != 0, pos_weight.shape[0] != 0
    if loss_out.shape[0] == 0:
        if has_w and has_q:
            return _bce_range(x, t, weight[lo:hi], pos_weight[lo:hi], scale, None, g)
        if has_w:
            return _bce_range(x, t, weight[lo:hi], None, scale, None, g)
        if has_q:
            return _bce_range(x, t, None, pos_weight[lo:hi], scale, None, g)
        return _bce_range(x, t, None, None, scale, None, g)
    lo_ = loss_out[lo:hi]
    if has_w and has_q:
        return _bce_range(x, t, weight[lo:hi], pos_weight[lo:hi], scale, lo_, g)
    if has_w:
        return _bce_range(x, t, weight[lo:hi], None, scale, lo_, g)
    if has_q:
        return _bce_range(x, t, None, pos_weight[lo:hi], scale, lo_, g)
    return _bce_range(x, t, None, None, scale, lo_, g)


@njit(**_KERNEL)
def bce_with_logits(logits, target, weight, pos_weight, scale, loss_out, grad):
    """x = logit, t = target, w = weight (1 if absent), q = pos_weight (1 if absent):
    l = w (q t softplus(-x) + (1 - t) softplus(x));
    dl/dx = w ((1 - t) sigmoid(x) - q t (1 - sigmoid(x))).
    softplus(x) = max(x, 0) + log1p(exp(-|x|)) and the sign-branched sigmoid share the
    one exp(-|x|) per element (``_exp_nonpos``, ``_log1p_unit``: vectorized). The
    loop tier multiplies by 1.0 where a weight is absent; here the four weight cases are
    compiled separately, which gives the same numbers.
    float32 logits compute in float32 (``_bce_block_f32``; loss sums in float64): measured
    against the float64 formulas on 2 million float32 inputs, per-element losses within
    3 ulp (9 ulp with both weights), gradients within 1.7e-7 max|g| (s - t cancels)."""
    n = logits.shape[0]
    nch, size = _chunking(n, GRAIN)
    if nch == 1:
        return _bce_part(logits, target, weight, pos_weight, scale, loss_out, grad, 0, n)
    partial = np.empty(nch)
    old = _dynamic_schedule()
    for c in prange(nch):
        partial[c] = _bce_part(logits, target, weight, pos_weight, scale, loss_out, grad,
                               min(n, c * size), min(n, (c + 1) * size))
    _set_chunksize(old)
    return _ordered_sum(partial)
