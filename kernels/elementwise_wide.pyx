# cython: language_level=3
"""elementwise.pyx compiled a second time, for 512-bit vectors (setup.py lists this module in
WIDE_VECTOR_MODULES), as ``fastloss._cython.elementwise_wide``.

gcc's tuning for Intel's AVX-512 server cores (``-march=native``) prefers 256-bit vectors for
the loops it vectorizes. That suits the memory-bound float64 loops (measured on the Intel
machine, N=1e7, two threads, gradient reused: MSE 7.6 -> 8.9 ms, Huber 7.2 -> 8.4 ms with
512-bit vectors) but not the float32 loops nor BCE, which are compute-bound at that width:
float32 squared hinge 3.8 -> 2.9 ms, Huber 3.7 -> 3.0 ms, hinge 3.1 -> 2.8 ms; BCE float64
22.4 -> 14.0 ms, float32 6.3 -> 4.1 ms. gcc's per-function ``target("prefer-vector-width=512")``
attribute gave only part of that (BCE float64 16.2 ms; the float32 hinge loops stayed on
32-byte vectors), so the whole module is built twice and ``fastloss._cython`` picks the
build per call: float32 arrays and BCE here, float64 in ``elementwise``. Same source, same
arithmetic: only the vector width differs (and the order of nothing: every loss sum adds
SUM_LANES partial sums in a fixed order in both builds). setup.py asks for the 256 bits of
``elementwise`` explicitly (NARROW_VECTOR_MODULES): gcc's generic tuning for the family 6
model 207 Xeon gave it zmm loops, and its float64 MSE ran at 60% of the triad there.
"""
include "elementwise.pyx"
