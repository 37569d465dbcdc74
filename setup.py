"""Build the Cython tier: every kernels/<name>.pyx becomes fastloss._cython.<name>.

The compiler is probed once for OpenMP (``-fopenmp`` at compile *and* link time):
with it the kernels' ``prange`` loops run in parallel, without it Cython compiles
the same loops serially, so the package still builds with any C compiler.
"""
import os
import sys
import tempfile
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).parent


def _compiler_accepts(compiler, flags, source="int main(void) { return 0; }\n", libs=()):
    """True if ``compiler`` compiles and links ``source`` with ``flags``."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(source)
        try:
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=list(flags))
            compiler.link_executable(objs, os.path.join(tmp, "probe"),
                                     extra_postargs=list(flags), libraries=list(libs))
        except Exception:
            return False
    return True


OPENMP_PROBE = """
#include <omp.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    return omp_get_max_threads() > 0 ? 0 : 1;
}
"""


# Modules built for 512-bit vectors where the compiler takes -mprefer-vector-width=512: gcc's
# tuning for Intel's AVX-512 server cores prefers 256 bits for the loops it vectorizes itself.
# Measured on the Intel machine (two threads): the linear kernel's lane-accumulator dot
# products ran on ymm registers, cross-entropy N=1e5 C=1000 136 -> 113 ms (float64). The
# elementwise losses are built both ways (elementwise_wide.pyx includes elementwise.pyx):
# their memory-bound float64 loops are faster at 256 bits, their float32 loops and BCE at
# 512 (see elementwise_wide.pyx); fastloss._cython picks the build per call.
WIDE_VECTOR_MODULES = {"linear", "scores", "elementwise_wide"}
# ...and the one module whose loops want 256 bits asks for them instead of relying on the
# compiler's tuning: gcc 12 reads the family 6 model 207 Xeon as cooperlake with generic
# tuning, which vectorized elementwise.pyx's float64 loops with zmm registers, and its MSE /
# Huber ran at 60-69% of the triad there. Measured on that CPU (N=1e7 float64, two threads,
# gradient reused, medians of 15 calls, three alternating processes per build): MSE
# 15.7-16.8 -> 11.2-12.3 ms, Huber 11.4-12.5 -> 10.5-11.1 ms; L1, hinge and squared hinge
# 0.4-0.6 ms (4-5%) slower. On the model 167 CPU gcc's tuning gave 256 bits anyway.
NARROW_VECTOR_MODULES = {"elementwise"}


class BuildExtProbing(build_ext):
    """build_ext that adds optimisation and OpenMP flags the compiler accepts."""

    def build_extensions(self):
        cc = self.compiler
        wide_flags, narrow_flags = [], []
        if sys.platform == "win32":
            compile_flags, omp_flags = ["/O2"], ["/openmp"]
        else:
            compile_flags = ["-O3"]
            # The extension is built on the machine that runs it (pip install from
            # source), so tuning for the host CPU is safe and gives AVX-512 here.
            if os.environ.get("FASTLOSS_NO_NATIVE") != "1" and _compiler_accepts(cc, ["-march=native"]):
                compile_flags.append("-march=native")
                # gcc's tuning for Intel's AVX-512 server cores (-march=native reads as
                # rocketlake on the Intel machine) prefers 256-bit vectors for the loops
                # it vectorizes itself: the lane-accumulator dot products of linear.pyx
                # and the exp loops of scores.pyx then ran on ymm registers while the
                # explicit vector-type tiles used zmm. Only the compute-bound modules ask
                # for 512 bits (WIDE_VECTOR_MODULES) and the float64 elementwise build for
                # 256 (NARROW_VECTOR_MODULES); without AVX-512 neither changes anything.
                if _compiler_accepts(cc, ["-march=native", "-mprefer-vector-width=512"]):
                    wide_flags = ["-mprefer-vector-width=512"]
                    narrow_flags = ["-mprefer-vector-width=256"]
            omp_flags = ["-fopenmp"]
        use_omp = os.environ.get("FASTLOSS_NO_OPENMP") != "1" and _compiler_accepts(
            cc, omp_flags, OPENMP_PROBE)
        print(f"fastloss: building Cython tier with OpenMP={'on' if use_omp else 'off'}, "
              f"flags={compile_flags}, {wide_flags} for {sorted(WIDE_VECTOR_MODULES)}, "
              f"{narrow_flags} for {sorted(NARROW_VECTOR_MODULES)}")
        for ext in self.extensions:
            name = ext.name.rsplit(".", 1)[-1]
            width = (wide_flags if name in WIDE_VECTOR_MODULES
                     else narrow_flags if name in NARROW_VECTOR_MODULES else [])
            ext.extra_compile_args = compile_flags + width + (omp_flags if use_omp else [])
            ext.extra_link_args = omp_flags if use_omp and sys.platform != "win32" else []
        super().build_extensions()


def cython_extensions():
    from Cython.Build import cythonize

    exts = [
        Extension(f"fastloss._cython.{pyx.stem}", [str(pyx.relative_to(HERE))])
        for pyx in sorted((HERE / "kernels").glob("*.pyx"))
    ]
    return cythonize(
        exts,
        include_path=["kernels"],
        compiler_directives={
            "language_level": 3,
            # Kernels run on inputs the API layer has already validated and
            # normalised; bounds checks inside the hot loops would only cost time.
            "boundscheck": False,
            "wraparound": False,
            "initializedcheck": False,
            "cdivision": True,
        },
    )


setup(ext_modules=cython_extensions(), cmdclass={"build_ext": BuildExtProbing})
