"""Peak extra memory of one call.

Measured on Linux from the kernel's own accounting, so allocations of every kind count
(NumPy, numba's runtime, Cython's malloc, BLAS buffers): writing "5" to
/proc/self/clear_refs resets the process's peak resident set size (VmHWM) to the
current one; after the call, VmHWM - VmRSS(before) is the extra memory the call had
resident at its peak. Freed memory the allocator reuses without returning it to the
kernel is not seen, so small temporaries can be undercounted; large arrays (NumPy
uses fresh mmap'd pages for them) are counted. Where /proc is not available the
function returns None.
"""
import re

_STATUS = "/proc/self/status"


def status_value(field):
    """The number on line ``field`` of /proc/self/status (kB for memory fields, a count for
    Threads). OSError where there is no /proc."""
    with open(_STATUS) as f:
        return int(re.search(rf"^{field}:\s+(\d+)", f.read(), re.M).group(1))


def peak_extra_bytes(fn):
    """Run ``fn()`` once; return the bytes of resident memory it added at its peak, or None."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = status_value("VmRSS")
    except (OSError, AttributeError):
        fn()
        return None
    fn()
    return max(0, status_value("VmHWM") - before) * 1024
