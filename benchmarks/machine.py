"""What every benchmark prints about the machine it ran on, and the in-run baselines it divides by.

A figure from another machine or another day is not a baseline: each benchmark prints the CPU model,
the instruction-set flags that decide which kernels run (AVX2, AVX-512, AMX, F16C, ...), the load and
the CPU affinity, and gives ratios only against what the same run measured: this machine's matmul
peak (:func:`matmul_peak`), its memory copy rate, or an in-process baseline timed interleaved with
the code under test (:func:`interleaved`).

    from machine import describe, matmul_peak   # benchmarks/ is on sys.path when a script runs
    print(describe(threads=1))
"""
from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Callable

# Flags of /proc/cpuinfo that change which kernels torch, oneDNN and wavetron's C kernel use.
FLAGS = ("avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16",
         "amx_int8", "avx_vnni")


def cpu_model() -> str:
    """The CPU's model name, e.g. ``"AMD EPYC 7B13"`` (``platform.processor()`` where /proc is absent)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> dict[str, bool]:
    """Which of :data:`FLAGS` the CPU reports."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            flags = next((line.split(":", 1)[1].split() for line in info if line.startswith("flags")), [])
    except OSError:
        flags = []
    return {flag: flag in flags for flag in FLAGS}


def load() -> str:
    """``"load 2.1/1.8/1.5 (1, 5, 15 min) on 2 cores, this process on cores [1]"``."""
    one, five, fifteen = os.getloadavg()
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return (f"load {one:.2f}/{five:.2f}/{fifteen:.2f} (1/5/15 min) on {os.cpu_count()} cores, "
            f"this process on cores {affinity}")


def matmul_peak(threads: int | None = None, size: int = 1024, repeats: int = 7, dtype: str = "float32") -> float:
    """GFLOP/s of a ``size`` x ``size`` matmul (the best of ``repeats``): the practical peak of the machine.

    The best, not the median: the peak is what the hardware can do when it is not interrupted.
    """
    import torch

    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        generator = torch.Generator().manual_seed(0)
        a = torch.randn(size, size, generator=generator).to(getattr(torch, dtype))
        b = torch.randn(size, size, generator=generator).to(getattr(torch, dtype))
        a @ b
        best = min(_seconds(lambda: a @ b) for _ in range(repeats))
    finally:
        torch.set_num_threads(previous)
    return 2 * size ** 3 / best / 1e9


def copy_bandwidth(megabytes: int = 64) -> float:
    """GB/s of a tensor copy (read + write counted): bounds steps that stream their weights."""
    import torch

    source = torch.ones(megabytes * 2 ** 20 // 4)
    target = torch.empty_like(source)
    target.copy_(source)
    best = min(_seconds(lambda: target.copy_(source)) for _ in range(5))
    return 2 * source.numel() * 4 / best / 1e9


def _seconds(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def describe(threads: int | None = None, peak: bool = True) -> str:
    """Lines naming the machine: CPU, flags, load, torch and its threads, and (with ``peak``) the matmul peak."""
    import torch

    flags = cpu_flags()
    have = [flag for flag, on in flags.items() if on]
    lacking = [flag for flag, on in flags.items() if not on]
    threads = threads or torch.get_num_threads()
    lines = [f"machine: {cpu_model()}; flags {' '.join(have) or 'none of ' + ' '.join(FLAGS)}"
             + (f" (no {' '.join(lacking)})" if lacking else ""),
             f"torch {torch.__version__}, {threads} thread(s); {load()}"]
    if peak:
        lines.append(f"measured here: fp32 matmul peak {matmul_peak(threads):.1f} GFLOP/s on {threads} thread(s), "
                     f"memory copy {copy_bandwidth():.1f} GB/s")
    return "\n".join(lines)


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float, list[float]]:
    """``(median wall s, median CPU s of this process, every wall time)`` of ``repeats`` calls of ``fn``."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), walls


def interleaved(candidates: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Wall seconds of each candidate, the candidates taking turns (ABBA order) so that a change of load
    on a shared machine hits them alike. Returns every time; take the median."""
    names = list(candidates)
    times: dict[str, list[float]] = {name: [] for name in names}
    for index in range(repeats):
        for name in names if index % 2 == 0 else reversed(names):
            times[name].append(_seconds(candidates[name]))
    return times


def median_runs(times: list[float], unit: float = 1.0, digits: int = 3) -> str:
    """``"0.123 (runs 0.120, 0.123, 0.130)"``: the median and every run, scaled by ``unit``."""
    return (f"{statistics.median(times) * unit:.{digits}f} "
            f"(runs {', '.join(f'{t * unit:.{digits}f}' for t in times)})")
