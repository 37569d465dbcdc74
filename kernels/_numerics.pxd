# cython: language_level=3
"""Shared inline numerics of the Cython tier's prediction-level kernels (elementwise.pyx,
scores.pyx): vectorizable exp / log1p, softplus and sigmoid, lane-wise sums and the chunking
rule. Everything here is ``inline`` and ``nogil``: no compiled module of its own.

Why own exp / log1p: the logit losses (BCE, cross-entropy) spend their time in exp. glibc's
scalar ``exp`` is an opaque call (~5 ns here) that stops the loop around it from vectorizing,
and gcc only swaps in glibc's vector versions (libmvec) under -ffast-math, which we must not
use (it makes isnan() false). ``fl_exp_nonpos``/``fl_expf_nonpos`` below are plain branch-free
arithmetic (ternaries become blends), so gcc -O3 vectorizes every loop that calls them:
measured on this AVX-512 machine 0.8 ns (double) and 0.3 ns (float) per element against 5-6 ns
for libm. All callers need exp only of arguments <= 0 (max-shifted logits, -|x|).

* exp, double (the numba tier's ``_exp_nonpos``, same constants): x = k ln2 + r with
  k = round(x / ln2) by the 1.5 * 2^52 shifter, Cody-Waite split of ln2 (fdlibm's ln2_hi /
  ln2_lo, so k ln2_hi is exact), a degree-11 minimax polynomial of e^r on |r| <= ln2/2
  (1.7e-17), then 2^k as 2^(k+64) from the low bits of the shifted sum, times 2^-64, so the
  last product rounds once to a subnormal or 0 exactly where exp does; 0 below -745.2. x > 0
  is clamped to 0. Measured against glibc (4e7 points on [-746, 0]): <= 1 ulp for normal
  results, subnormal ones within 1 unit of 2^-1074; exp(-inf) = 0, NaN -> NaN. It replaced a
  degree-13 Taylor polynomial with a 2^(n+537) split and a two-sided clamp: BCE float64
  1.40 -> 1.15 ns per element (one core, in L2).
* exp, float: the same reduction in float32 with a degree-4 fit of (e^r - 1 - r) / r^2 and
  a zero below -104 (see ``fl_expf_nonpos``): <= 0.94 ulp, 6 fmas.
* log1p(e) for 0 <= e <= 1 (all the callers need: e = exp(-|x|)), as the numba tier's
  ``_log1p_unit``: 2 atanh(s) with s = e / (2 + e), or ln2 + 2 atanh(s) with
  s = (e - 1) / (e + 3) when e > sqrt(2) - 1 (|s| <= 0.1716 either way, 1 + e never rounded);
  2 atanh(s) = 2s + 2s z P(z), z = s^2, P of degree 6 (4.6e-18 relative). Max error 2 ulp
  measured (2e7 points on [0, 1] and powers of 2 down to 1e-300); NaN -> NaN. ``fl_log``
  (for the cross-entropy row sums >= 1) reads k and f off the exponent bits and uses fdlibm's
  e_log.c kernel (``fl_lg_poly``): 1 ulp.
  float: 2 atanh(s) with a degree-2 fit in s^2 (``fl_atanh2f``), 2 ulp.
* softplus(x) = max(x, 0) + log1p(exp(-|x|)) and the sigmoid branched on the sign of x so
  exp only sees -|x| (the branch scikit-learn's ``sklearn/_loss/_loss.pyx`` uses) share one
  e = exp(-|x|); formulas as ``fastloss.loop.elementwise``.

Lane sums: without -ffast-math the compiler may not reorder a floating-point sum, so a scalar
``total += v`` loop does not vectorize. ``lane_sum`` keeps LANES independent float64 partial
sums (plain elementwise code, vectorizes) and adds them in a fixed order: deterministic.
``fl_lane_add`` / ``lane_fold`` do the same with SUM_LANES sums in vector registers, for the
long elementwise reductions.
"""
from cython cimport floating

cdef extern from *:
    """
    #include <math.h>
    #include <stdint.h>
    #include <string.h>

    /* log(1 + f) = f - (hfsq - s (hfsq + R(z))), s = f / (2 + f), z = s^2, hfsq = f^2 / 2,
       |s| <= 0.1716: fdlibm's e_log.c minimax polynomial (Lg1..Lg7, error < 2^-58.45). */
    static inline double fl_lg_poly(double z) {
        return 6.666666666666735130e-01 + z * (3.999999999940941908e-01
               + z * (2.857142874366239149e-01 + z * (2.222219843214978396e-01
               + z * (1.818357216161805012e-01 + z * (1.531383769920937332e-01
               + z * 1.479819860511658591e-01)))));
    }

    /* exp(x) for x <= 0 or NaN only (all the losses need: max-shifted logits, -|x|); x > 0
       is clamped to 0 (returns 1). See the module docstring; the numba tier's _exp_nonpos. */
    static inline double fl_exp_nonpos(double x) {
        const double shift = 6755399441055744.0 + 1087.0;   /* 1.5 * 2^52 + 1023 + 64 */
        double xc = x > 0.0 ? 0.0 : x;                      /* NaN stays NaN */
        double t = xc * 1.4426950408889634 + shift;
        double k = t - shift;                               /* exact: round(x / ln2) */
        double r = xc - k * 6.93147180369123816490e-01;     /* k ln2_hi exact */
        r = r - k * 1.90821492927058770002e-10;
        double p = 2.5110037605963777e-08;
        p = p * r + 2.763263963904103e-07;
        p = p * r + 2.755724091857897e-06;
        p = p * r + 2.4801485482328494e-05;
        p = p * r + 0.00019841269890047113;
        p = p * r + 0.0013888888952314775;
        p = p * r + 0.008333333333319601;
        p = p * r + 0.0416666666664881;
        p = p * r + 0.1666666666666668;
        p = p * r + 0.5000000000000019;
        p = p * r + 1.0;
        p = p * r + 1.0;
        int64_t bits;
        memcpy(&bits, &t, 8);
        bits = (int64_t)((uint64_t)bits << 52);             /* (k + 1087) << 52: 2^(k+64) */
        double s1;
        memcpy(&s1, &bits, 8);
        double y = (p * s1) * 0x1p-64;
        return xc < -745.2 ? 0.0 : y;
    }

    /* float32 exp for x <= 0 or NaN: k = round(x / ln2) by a shift constant that also leaves
       k + 191 (the biased exponent of 2^(k+64)) in the low mantissa bits of t; r = x - k ln2
       with the float32 Cody-Waite pair (fma: k ln2_hi exact for |k| <= 150); e^r =
       1 + r + r^2 P(r), P of degree 4 (Chebyshev fit, 1e-8 relative on |r| <= ln2/2, the
       numba tier's coefficients); 2^(k+64) from the bits of t, times 2^-64 so a subnormal
       result rounds once. x < -104 (exp rounds to 0, and k + 191 would leave the exponent
       field) gives 0, -inf too; NaN stays NaN. <= 0.94 ulp for normal results (numba
       tier's measurement of the same formula). 6 fmas and one select, against 8 and two clamps
       for the Taylor-7 version it replaced: the float32 BCE / cross-entropy loops are
       compute-bound on this. */
    static inline float fl_expf_nonpos(float x) {
        const float shift = 12583103.0f;                 /* 1.5 * 2^23 + 127 + 64 */
        float t = x * 1.44269504f + shift;
        float k = t - shift;                             /* exact: round(x / ln2) */
        float r = x - k * 0.693147182f;                  /* ln2_hi, contracted to one fma */
        r = r - k * -1.9046542e-09f;                     /* ln2_lo */
        float p = 0.0013926176f;
        p = p * r + 0.008363173f;
        p = p * r + 0.041666556f;
        p = p * r + 0.16666578f;
        p = p * r + 0.5f;
        p = p * r + 1.0f;
        p = p * r + 1.0f;
        int32_t bits;
        memcpy(&bits, &t, 4);
        bits = (int32_t)((uint32_t)bits << 23);          /* (k + 191) << 23: 2^(k+64) */
        float s1;
        memcpy(&s1, &bits, 4);
        float y = (p * s1) * 0x1p-64f;
        return x < -104.0f ? 0.0f : y;                   /* NaN: the test fails, y is NaN */
    }

    /* log(x) for finite x >= DBL_MIN (normal) or NaN, branch-free: x = 2^k f with
       f in [sqrt(1/2), sqrt(2)) read off the bits, log f = 2 atanh((f-1)/(f+1)) as in
       fl_log1p01. Max error 2 ulp measured; NaN -> NaN (via + (x - x)). */
    static inline double fl_log(double x) {
        uint64_t bits, fb;
        memcpy(&bits, &x, 8);
        int64_t k = (int64_t)(bits - 0x3fe6a09e667f3bcdULL) >> 52;  /* relative to sqrt(1/2) */
        fb = bits - ((uint64_t)k << 52);
        double f;
        memcpy(&f, &fb, 8);
        f = f - 1.0;                                        /* exact: f in [sqrt(1/2), sqrt(2)) */
        double s = f / (2.0 + f);
        double z = s * s;
        double hfsq = 0.5 * f * f;
        double R = z * fl_lg_poly(z);
        double kd = (double)k;
        double r = kd * 6.93147180369123816490e-01
                   + (f - (hfsq - (s * (hfsq + R) + kd * 1.90821492927058770002e-10)));
        return r + (x - x);
    }

    /* max(a[:n]) as one vectorized reduction (vmaxpd) when built with OpenMP: gcc never
       vectorizes a floating max reduction by itself without -ffast-math, but may under
       "omp simd". Which value a NaN yields is then unspecified (NaN or the max of the rest);
       the callers only need m >= every non-NaN entry and get NaN rows from exp(NaN) anyway. */
    static inline double fl_max_d(const double* a, Py_ssize_t n) {
        double m = -INFINITY;
        #pragma omp simd reduction(max:m)
        for (Py_ssize_t j = 0; j < n; j++) m = a[j] > m ? a[j] : m;
        return m;
    }

    static inline float fl_max_f(const float* a, Py_ssize_t n) {
        float m = -INFINITY;
        #pragma omp simd reduction(max:m)
        for (Py_ssize_t j = 0; j < n; j++) m = a[j] > m ? a[j] : m;
        return m;
    }

    /* acc[k] += a[j] for every j < n with j mod 32 == k: 32 float64 partial sums in four
       independent 8-wide chains, a fixed order (deterministic). In GCC vector types because
       gcc keeps a local double[32] on the stack when it vectorizes the loop that sums into
       it: each step then waits on a store and a reload (measured ~0.07 ns per element, a
       third of the float32 hinge loop). */
    static inline void fl_lane_add(double* acc, const double* a, Py_ssize_t n) {
        Py_ssize_t j = 0;
    #if defined(__GNUC__)
        typedef double fl_v8d __attribute__((vector_size(64)));
        fl_v8d s0, s1, s2, s3, v0, v1, v2, v3;
        memcpy(&s0, acc, 64); memcpy(&s1, acc + 8, 64);
        memcpy(&s2, acc + 16, 64); memcpy(&s3, acc + 24, 64);
        for (; j + 32 <= n; j += 32) {
            memcpy(&v0, a + j, 64); memcpy(&v1, a + j + 8, 64);
            memcpy(&v2, a + j + 16, 64); memcpy(&v3, a + j + 24, 64);
            s0 += v0; s1 += v1; s2 += v2; s3 += v3;
        }
        memcpy(acc, &s0, 64); memcpy(acc + 8, &s1, 64);
        memcpy(acc + 16, &s2, 64); memcpy(acc + 24, &s3, 64);
    #else
        for (; j + 32 <= n; j += 32)
            for (int k = 0; k < 32; k++) acc[k] += a[j + k];
    #endif
        for (Py_ssize_t k = 0; j + k < n; k++) acc[k] += a[j + k];
    }

    /* fl_lane_add for float entries, each widened exactly to double as it is added (the
       cross-entropy row sums of float32 rows). */
    static inline void fl_lane_add_f(double* acc, const float* a, Py_ssize_t n) {
        Py_ssize_t j = 0;
    #if defined(__GNUC__)
        typedef double fl_v8d __attribute__((vector_size(64)));
        typedef float fl_v8f __attribute__((vector_size(32)));
        fl_v8d s0, s1, s2, s3;
        fl_v8f v0, v1, v2, v3;
        memcpy(&s0, acc, 64); memcpy(&s1, acc + 8, 64);
        memcpy(&s2, acc + 16, 64); memcpy(&s3, acc + 24, 64);
        for (; j + 32 <= n; j += 32) {
            memcpy(&v0, a + j, 32); memcpy(&v1, a + j + 8, 32);
            memcpy(&v2, a + j + 16, 32); memcpy(&v3, a + j + 24, 32);
            s0 += __builtin_convertvector(v0, fl_v8d); s1 += __builtin_convertvector(v1, fl_v8d);
            s2 += __builtin_convertvector(v2, fl_v8d); s3 += __builtin_convertvector(v3, fl_v8d);
        }
        memcpy(acc, &s0, 64); memcpy(acc + 8, &s1, 64);
        memcpy(acc + 16, &s2, 64); memcpy(acc + 24, &s3, 64);
    #else
        for (; j + 32 <= n; j += 32)
            for (int k = 0; k < 32; k++) acc[k] += a[j + k];
    #endif
        for (Py_ssize_t k = 0; j + k < n; k++) acc[k] += a[j + k];
    }

    /* x, rounded to double and opaque to the optimizer: products passed through it are never
       fused into an FMA with a later add, so a few scalar formulas can repeat the loop tier's
       rounding step for step (an empty asm statement on gcc/clang, else a volatile round trip;
       used once per row, not per element). */
    static inline double fl_rounded(double x) {
    #if defined(__GNUC__) && (defined(__x86_64__) || (defined(__i386__) && defined(__SSE2__)))
        __asm__("" : "+x"(x));  /* empty, but the compiler must treat x as recomputed */
        return x;
    #elif defined(__GNUC__) && defined(__aarch64__)
        __asm__("" : "+w"(x));
        return x;
    #else
        volatile double v = x;
        return v;
    #endif
    }

    /* log1p(e) for 0 <= e <= 1 or NaN; see _numerics.pxd. */
    static inline double fl_log1p01(double e) {
        int small = e <= 0.41421356237309503;            /* NaN: the second form, stays NaN */
        double num = small ? e : e - 1.0;
        double den = small ? 2.0 + e : 3.0 + e;
        double s = num / den;                            /* |s| <= 3 - 2 sqrt(2) */
        double z = s * s;
        double q = 0.07308224842521703;
        q = q * z + 0.07665860800278021;
        q = q * z + 0.09091444562630861;
        q = q * z + 0.1111110556739754;
        q = q * z + 0.14285714312987743;
        q = q * z + 0.19999999999949752;
        q = q * z + 0.3333333333333335;
        double two_s = s + s;
        double lf = (two_s * z) * q + two_s;             /* 2 atanh(s) */
        return (small ? 0.0 : 0.6931471805599453) + lf;
    }

    /* float32 log1p(e) for 0 <= e <= 1 or NaN: 2 atanh(s), s = e / (2 + e), or ln2 +
       2 atanh(s), s = (e - 1) / (e + 3) when 1 + e > sqrt(2) (|s| <= 0.1716 either way);
       2 atanh(s) = 2s + 2s z P(z), z = s^2, P of degree 2 (Chebyshev fit, 2.5e-9 relative;
       the numba tier's coefficients). <= 2 ulp. */
    static inline float fl_atanh2f(float s) {
        float z = s * s;
        float q = 0.14789975f;
        q = q * z + 0.1999439f;
        q = q * z + 0.33333343f;
        float two_s = s + s;
        return (two_s * z) * q + two_s;
    }

    static inline float fl_log1p01f(float e) {
        int big = e > 0.41421356f;
        float s = (big ? e - 1.0f : e) / (big ? e + 3.0f : e + 2.0f);
        float lf = fl_atanh2f(s);
        return big ? lf + 0.693147181f : lf;
    }
    """
    double fl_exp_nonpos(double x) noexcept nogil
    float fl_expf_nonpos(float x) noexcept nogil
    double fl_log1p01(double e) noexcept nogil
    float fl_log1p01f(float e) noexcept nogil
    double fl_rounded(double x) noexcept nogil
    double fl_log(double x) noexcept nogil
    double fl_max_d(const double* a, Py_ssize_t n) noexcept nogil
    float fl_max_f(const float* a, Py_ssize_t n) noexcept nogil
    void fl_lane_add(double* acc, const double* a, Py_ssize_t n) noexcept nogil
    void fl_lane_add_f(double* acc, const float* a, Py_ssize_t n) noexcept nogil


cdef enum:
    LANES = 8           # independent float64 partial sums (one 64-byte vector of doubles)
    SUM_LANES = 32      # float64 partial sums of fl_lane_add: four 64-byte vectors, so four
                        # independent add chains hide the add latency (one chain of 8 lanes
                        # capped the float32 elementwise loops near 0.4 cycles per element)
    CHUNKS_MAX = 16     # fixed upper bound on parallel chunks: per-chunk partial sums are
                        # added in chunk order, so results do not depend on the thread count


cdef inline floating vexp(floating x) noexcept nogil:
    """exp(x) for x <= 0 or NaN (x > 0 gives 1) in the precision of ``floating``, vectorizable."""
    if floating is float:
        return fl_expf_nonpos(x)
    else:
        return fl_exp_nonpos(x)


cdef inline floating vlog1p01(floating e) noexcept nogil:
    """log1p(e) for 0 <= e <= 1, vectorizable."""
    if floating is float:
        return fl_log1p01f(e)
    else:
        return fl_log1p01(e)


cdef inline double lane_sum(const double* a, Py_ssize_t n) noexcept nogil:
    """sum(a[:n]) in float64 through LANES partial sums combined in a fixed order."""
    cdef double acc[LANES]
    cdef Py_ssize_t j, k, nv = n - n % LANES
    cdef double total = 0.0
    for k in range(LANES):
        acc[k] = 0.0
    for j in range(nv // LANES):
        for k in range(LANES):
            acc[k] += a[j * LANES + k]
    for j in range(nv, n):
        acc[j - nv] += a[j]
    for k in range(LANES):
        total += acc[k]
    return total


cdef inline double lane_fold(const double* acc) noexcept nogil:
    """The sum of SUM_LANES partial sums in a fixed order (pairwise: deterministic)."""
    cdef double t[SUM_LANES]
    cdef Py_ssize_t k, m = SUM_LANES // 2
    for k in range(m):
        t[k] = acc[k] + acc[k + m]
    while m > 1:
        m //= 2
        for k in range(m):
            t[k] = t[k] + t[k + m]
    return t[0]


cdef inline double lane_sum_long(const floating* a, Py_ssize_t n) noexcept nogil:
    """sum(a[:n]) in float64 through SUM_LANES partial sums in four independent chains
    (``fl_lane_add`` / ``fl_lane_add_f``) folded in a fixed order: for long rows, where the
    one chain of LANES sums of ``lane_sum_f`` waits on the add latency."""
    cdef double acc[SUM_LANES]
    cdef Py_ssize_t k
    for k in range(SUM_LANES):
        acc[k] = 0.0
    if floating is float:
        fl_lane_add_f(acc, a, n)
    else:
        fl_lane_add(acc, a, n)
    return lane_fold(acc)


cdef inline double lane_sum_f(const floating* a, Py_ssize_t n) noexcept nogil:
    """sum(a[:n]) accumulated in float64 (also for float32 entries), LANES partial sums."""
    cdef double acc[LANES]
    cdef Py_ssize_t j, k, nv = n - n % LANES
    cdef double total = 0.0
    if n < 2 * LANES:  # short rows (C = 10): the lane set-up and fold would cost more
        for j in range(n):
            total += <double>a[j]
        return total
    for k in range(LANES):
        acc[k] = 0.0
    for j in range(nv // LANES):
        for k in range(LANES):
            acc[k] += <double>a[j * LANES + k]
    for j in range(nv, n):
        acc[j - nv] += <double>a[j]
    for k in range(LANES):
        total += acc[k]
    return total


cdef inline Py_ssize_t chunk_size(Py_ssize_t n, Py_ssize_t min_per_chunk, Py_ssize_t align) noexcept nogil:
    """Items per parallel chunk: at most CHUNKS_MAX chunks of at least ``min_per_chunk`` items,
    a multiple of ``align``. Depends on n only (never on the thread count), so the chunk
    boundaries and with them the rounding of the sums are reproducible. Returns n when one
    chunk is enough: the caller then runs serially, without entering an OpenMP region."""
    cdef Py_ssize_t nch = n // min_per_chunk
    cdef Py_ssize_t cs
    if nch <= 1:
        return n
    if nch > CHUNKS_MAX:
        nch = CHUNKS_MAX
    cs = (n + nch - 1) // nch
    cs = (cs + align - 1) // align * align
    return cs if cs < n else n
