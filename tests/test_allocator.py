"""keep_freed_memory: after it, a large tensor comes from the heap instead of a fresh mmap (glibc)."""
import ctypes
import subprocess
import sys

import pytest

PROBE = """
import ctypes, torch
from wavetron.allocator import keep_freed_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2

def mmapped_while_held():
    before = libc.mallinfo2().hblkhd
    block = torch.empty(100 << 20, dtype=torch.uint8)
    grown = libc.mallinfo2().hblkhd - before
    del block
    return grown

print(mmapped_while_held(), keep_freed_memory(), mmapped_while_held())
"""


def _has_mallinfo2() -> bool:
    try:
        return hasattr(ctypes.CDLL("libc.so.6"), "mallinfo2")
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _has_mallinfo2(), reason="needs glibc >= 2.33")
def test_large_blocks_come_from_the_heap_once_applied():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout.split()
    default, applied, after = int(out[0]), out[1], int(out[2])
    assert default >= 100 << 20  # glibc's default: a 100 MiB block is its own mapping
    assert applied == "True"
    assert after == 0
