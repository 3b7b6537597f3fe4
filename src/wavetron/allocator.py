"""Let the C library keep freed memory for reuse instead of handing it back to the kernel.

glibc's malloc serves every block above its mmap threshold (at most 32 MiB) with a fresh ``mmap`` and
returns it with ``munmap`` when freed. A training step whose activations are tens of MiB therefore
page-faults and zero-fills the same memory again on every step: training the default voice's WaveNet on
one CPU core spent a quarter of its time in the kernel that way. With mmap off and the trim threshold
raised, freed blocks stay in the heap and the next step reuses them (``benchmarks/allocator.py``).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1  # mallopt parameters, from glibc's malloc.h
M_MMAP_MAX = -4
KEEP_BYTES = 1 << 30  # freed memory at the top of the heap is returned to the kernel above this


def keep_freed_memory(keep_bytes: int = KEEP_BYTES) -> bool:
    """Serve large blocks from the heap and keep up to ``keep_bytes`` freed memory for reuse (process-wide).

    Returns True when applied; False (and changes nothing) where the C library is not glibc.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl has no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, min(keep_bytes, 2**31 - 1)))
