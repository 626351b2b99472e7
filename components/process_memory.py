"""Handing the memory a step freed back to the system, before the next one starts.

glibc's malloc keeps what a process frees in its heaps for later
allocations; a step's freed arrays, tensors and Beam bundles stay in the
process's resident memory, and the next step, whose threads allocate from
other heaps (one per thread, up to 8 per core), adds to them. Between two
large steps the pipeline's process collects its reference cycles and asks
malloc to return every free page (``malloc_trim``), so its resident memory
is what the process still uses.
"""

import ctypes
import ctypes.util
import gc
import logging

logger = logging.getLogger(__name__)


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


_LIBC = _libc()


def release_freed_memory() -> bool:
    """Collects garbage and returns the C heap's free pages to the system; False where malloc cannot.

    Only glibc has ``malloc_trim``; elsewhere (macOS, musl) the garbage is
    still collected and nothing else is done.
    """
    gc.collect()
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is None:
        return False
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    trim(0)
    return True
