# Thread control of the Cython tier's OpenMP runtime. The C block compiles with and
# without OpenMP (setup.py probes -fopenmp), so the module always exists and says
# whether OpenMP is really there.
cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static void fl_set_num_threads(int n) { omp_set_num_threads(n); }
    static int fl_get_max_threads(void) { return omp_get_max_threads(); }
    static int fl_have_openmp(void) { return 1; }
    #else
    static void fl_set_num_threads(int n) { (void)n; }
    static int fl_get_max_threads(void) { return 1; }
    static int fl_have_openmp(void) { return 0; }
    #endif
    """
    void fl_set_num_threads(int n) nogil
    int fl_get_max_threads() nogil
    int fl_have_openmp() nogil

# The version of the Cython that generated this module's C (its CYTHON_HEX_VERSION line):
# a tier built in pip's isolated build environment has no importable Cython to ask.
cdef extern from *:
    """
    #ifndef CYTHON_HEX_VERSION
    #define CYTHON_HEX_VERSION 0
    #endif
    static unsigned long fl_cython_hex_version(void) { return CYTHON_HEX_VERSION; }
    """
    unsigned long fl_cython_hex_version() nogil


def set_num_threads(int n):
    """Threads for the following parallel regions started from the calling thread."""
    fl_set_num_threads(n)


def get_num_threads():
    """OpenMP's current thread count for the calling thread (1 without OpenMP)."""
    return fl_get_max_threads()


def have_openmp():
    """True if the Cython tier was compiled with OpenMP."""
    return bool(fl_have_openmp())


def cython_version():
    """The version of Cython that compiled the tier, e.g. '3.0.11' or '3.1.0b1' (from the
    generated C's CYTHON_HEX_VERSION: major, minor, micro, release level and serial in one
    byte each, level 0xA alpha, 0xB beta, 0xC release candidate, 0xF final); None if
    that line was missing."""
    cdef unsigned long v = fl_cython_hex_version()
    if v == 0:
        return None
    text = f"{v >> 24}.{(v >> 16) & 0xFF}.{(v >> 8) & 0xFF}"
    level, serial = (v >> 4) & 0xF, v & 0xF
    return text + {0xA: f"a{serial}", 0xB: f"b{serial}", 0xC: f"rc{serial}"}.get(level, "")
