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


def set_num_threads(int n):
    """Threads for the following parallel regions started from the calling thread."""
    fl_set_num_threads(n)


def get_num_threads():
    """OpenMP's current thread count for the calling thread (1 without OpenMP)."""
    return fl_get_max_threads()


def have_openmp():
    """True if the Cython tier was compiled with OpenMP."""
    return bool(fl_have_openmp())
