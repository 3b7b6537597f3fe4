"""WaveNet generation speed: cached torch queues (path 2) vs the compiled CPU loop (path 3).

For the small and big presets: samples/s and real-time factor (compute seconds per second of
22,050 Hz audio) of path 2 and of path 3 on one thread at batch 1 (its numba kernel, and its C kernel
with float32 and with float16 weights); of batched generation (8 streams) and of folded generation of a
long utterance on --threads threads (C kernel, float16 weights); each as a ratio to path 2, measured in
the same run. Also FLOPs per sample,
the fraction of the machine's measured matmul peak, and a training step in fp32 vs bf16 autocast.

Then the shipped vocoder (src/wavetron/voices/default/vocoder.safetensors) at batch 1 on one thread:
the C kernel with float32 and float16 weights (and bfloat16 where the CPU has AVX-512 BF16), what
``precision="auto"`` and ``"fastest"`` (the voice card's) pick on this CPU, and the same shape as an
excitation model (linear prediction in the loop); its RTF at the voice's own sample rate; and auto's and
fastest's picks on eight streams. Beside the FLOP floor, the roofline a batch-1 loop meets first: it
reads every weight once per sample, so a sample takes at least the weights' bytes over the rate this core
streams a buffer of their size from cache (measured here, aligned, 64-byte loads where the CPU has them);
"% stream floor" is the kernel's samples/s against that bound.

The machine may be shared: every figure is the median of --repeats runs, single-thread figures are
also given in CPU time (less sensitive to other processes), and the CPU model, its flags and the load are
printed (benchmarks/machine.py). "% peak" divides the FLOPs done per wall second by the wall-clock matmul
peak; "% peak(cpu)" divides those per CPU second by the matmul peak in thread CPU time, both measured in
this run: on a loaded core the second is the kernel's own efficiency, the first also pays for the load.

    .venv/bin/python benchmarks/wavenet_generate.py [--presets small big] [--seconds 10] [--repeats 3]
    taskset -c 1 .venv/bin/python benchmarks/wavenet_generate.py --threads 1   # pinned to one core
    taskset -c 1 .venv/bin/python benchmarks/wavenet_generate.py --presets --repeats 7   # the vocoder rows only
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe, load, matmul_peak, timed as timed_runs  # noqa: E402

from wavetron.config import load_config
from wavetron.generate import generate_folded, make_request
from wavetron.generate.cached import generate_cached
from wavetron.generate.fast import _aligned, bfloat16_available, c_kernel_available, generate_fast, pack_weights
from wavetron.models.wavenet import build_wavenet

RATE = 22050
CONFIGS = Path(__file__).resolve().parents[1] / "configs"
VOCODER = Path(__file__).resolve().parents[1] / "src" / "wavetron" / "voices" / "default" / "vocoder.safetensors"


def macs_per_sample(model) -> int:
    """Multiply-adds of one generated sample (conditioning interpolation excluded: < 3%)."""
    d = model.dims
    H = d.gate_channels // 2
    per_layer = d.kernel_size * d.residual_channels * d.gate_channels + H * (d.skip_channels + d.residual_channels)
    last_fix = H * d.residual_channels  # the last layer has no residual output
    return d.layers * per_layer - last_fix + d.skip_channels * d.skip_channels + d.skip_channels * model.out_channels


def preset_path(name: str) -> Path:
    """``small`` -> configs/wavenet-small.yaml; a config's own name (``voice-wavenet``) names it directly."""
    return CONFIGS / f"{name}.yaml" if (CONFIGS / f"{name}.yaml").exists() else CONFIGS / f"wavenet-{name}.yaml"


def timed(fn, repeats: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``fn()``."""
    wall, cpu, _ = timed_runs(fn, repeats)
    return wall, cpu


def bench_preset(name: str, seconds: float, repeats: int, cached_samples: int, fast_samples: int,
                 threads: int) -> dict:
    torch.manual_seed(0)
    model = build_wavenet(load_config(preset_path(name))).eval()
    hop = model.dims.hop_length
    rows = {}

    def mel(batch: int, samples: int) -> torch.Tensor:
        return torch.randn(batch, 80, -(-samples // hop))

    torch.set_num_threads(1)
    req = make_request(model, mel(1, cached_samples), length=cached_samples, seed=0)
    wall, cpu = timed(lambda: generate_cached(model, req), max(1, repeats - 1))
    rows["path 2 cached, batch 1, 1 thread"] = (cached_samples, wall, cpu)
    req = make_request(model, mel(1, fast_samples), length=fast_samples, seed=0)
    kernels = [("numba", "float32")] + ([("c", "float32"), ("c", "float16")] if c_kernel_available() else []) + (
        [("c", "bfloat16")] if bfloat16_available() else [])
    for backend, precision in kernels:
        weights = pack_weights(model, backend, precision)
        generate_fast(model, make_request(model, mel(1, hop)), weights=weights)  # compile / load the kernel
        wall, cpu = timed(lambda: generate_fast(model, req, weights=weights), repeats)
        rows[f"path 3 {backend} {precision}, batch 1, 1 thread"] = (fast_samples, wall, cpu)

    torch.set_num_threads(threads)
    precision = "float16" if c_kernel_available() else "float32"
    req = make_request(model, mel(8, fast_samples // 2), length=fast_samples // 2, seed=0)
    wall, cpu = timed(lambda: generate_fast(model, req, threads=threads, weights=weights), repeats)
    rows[f"path 3 {precision}, 8 streams, {threads} thread(s)"] = (8 * (fast_samples // 2), wall, cpu)
    frames = int(seconds * RATE) // hop
    long_mel = torch.randn(80, frames)
    wall, cpu = timed(lambda: generate_folded(model, long_mel, segment_frames=max(16, frames // 16), overlap_frames=4,
                                              method="fast", threads=threads, precision=precision), 1)
    rows[f"path 3 {precision} folded {seconds:g} s, {threads} thread(s)"] = (frames * hop, wall, cpu)
    return {"model": model, "rows": rows}


def cpu_matmul_peak(size: int = 1536, repeats: int = 7) -> float:
    """GFLOP/s of a one-thread fp32 matmul in thread CPU time (best of ``repeats``): the peak the kernel's
    CPU-time rate compares with; time other processes take from a shared core is not counted in either."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the matmul runs on this thread, whose CPU time is measured
    try:
        a, b = torch.randn(size, size), torch.randn(size, size)
        a @ b
        best = float("inf")
        for _ in range(repeats):
            start = time.thread_time()
            a @ b
            best = min(best, time.thread_time() - start)
    finally:
        torch.set_num_threads(previous)
    return 2 * size ** 3 / best / 1e9


def bench_vocoder(repeats: int, samples: int) -> dict:
    """The shipped vocoder at batch 1, one thread: the C kernel's precisions, auto's and fastest's picks, the
    excitation twin; then auto's and fastest's picks on eight streams (the segments ``Synthesizer`` folds a
    sentence into, which share each weight load), one thread.

    Median wall and thread CPU seconds of ``repeats`` runs each, the rows interleaved."""
    from dataclasses import replace

    from wavetron.train import load_model_checkpoint

    model, config = load_model_checkpoint(VOCODER)
    hop = model.dims.hop_length
    torch.manual_seed(0)
    mel = torch.randn(1, model.dims.cond_channels, -(-samples // hop)) - 4  # a log-mel's range
    req = make_request(model, mel, length=samples, seed=0)
    torch.set_num_threads(1)
    choices = [("numba", "float32")] + ([("c", "float32"), ("c", "float16")] if c_kernel_available() else []) + (
        [("c", "bfloat16")] if bfloat16_available() else [])
    runs = {}
    for backend, precision in choices:
        weights = pack_weights(model, backend, precision)
        generate_fast(model, make_request(model, mel[..., :2], length=hop), weights=weights)  # load / compile
        runs[f"vocoder {backend} {precision}, batch 1, 1 thread"] = (model, req, weights)
    auto = pack_weights(model)
    runs[f"vocoder auto (= {auto.backend} {auto.precision}), batch 1, 1 thread"] = (model, req, auto)
    fastest = pack_weights(model, precision="fastest")  # the voice card's
    runs[f"vocoder fastest (= {fastest.backend} {fastest.precision}), batch 1, 1 thread"] = (model, req, fastest)
    length = samples // 8 // hop * hop  # the same audio in eight segments
    folded = make_request(model, mel[..., : 8 * (length // hop)].reshape(model.dims.cond_channels, 8, -1)
                          .transpose(0, 1).contiguous(), length=length, seed=0)
    for precision in ("auto", "fastest"):
        packed = pack_weights(model, precision=precision, streams=8)
        runs[f"vocoder {precision} (= {packed.backend} {packed.precision}), 8 streams, 1 thread"] = (
            model, folded, packed)
    twin = build_wavenet(replace(config, wavenet=replace(config.wavenet, excitation="lpc"))).eval()
    weights = pack_weights(twin, "c" if c_kernel_available() else "numba", "float32")
    generate_fast(twin, make_request(twin, mel[..., :2], length=hop), weights=weights)
    runs[f"excitation twin {weights.backend} float32, batch 1, 1 thread"] = (
        twin, make_request(twin, mel, length=samples, seed=0), weights)
    # the rows take turns (ABBA): a change of load on a shared core hits them alike
    times = {label: ([], []) for label in runs}
    for index in range(repeats):
        for label in list(runs) if index % 2 == 0 else reversed(list(runs)):
            net, request, packed = runs[label]
            wall, cpu = time.perf_counter(), time.thread_time()
            generate_fast(net, request, weights=packed)
            times[label][0].append(time.perf_counter() - wall)
            times[label][1].append(time.thread_time() - cpu)
    rows = {label: (runs[label][1].batch * runs[label][1].length, statistics.median(w), statistics.median(c))
            for label, (w, c) in times.items()}
    packs = {label: packed for label, (_, request, packed) in runs.items()
             if packed.backend == "c" and request.batch == 1}
    return {"model": model, "rows": rows, "rate": config.audio.sample_rate, "packs": packs}


def weight_bytes(packed) -> int:
    """Bytes of the matrices one sample reads (every layer's, the head's), as the kernel stores them."""
    return sum(a.nbytes for a in (packed.wd, packed.wsr, packed.w1, packed.w2))


def stream_rate(nbytes: int, repeats: int = 5) -> float:
    """GB/s at which this core reads an aligned buffer of ``nbytes`` again and again (best of ``repeats``
    runs of about 1 GB each): the cache bandwidth that bounds a product reading each weight once."""
    from wavetron.generate.fast import _ckernel

    buffer = _aligned(np.ones(-(-nbytes // 256) * 64, np.float32))
    passes = max(1, int(1e9 / buffer.nbytes))
    _ckernel.stream(buffer, 1)
    return buffer.nbytes * passes / min(_ckernel.stream(buffer, passes) for _ in range(repeats)) / 1e9


def print_roofline(rows: dict, packs: dict) -> None:
    """For each C-kernel row of ``packs``: weight bytes per sample, the stream floor, the row's share of it.
    Rows whose weights are the same size share one measured rate."""
    rates = {}
    for label, packed in packs.items():
        nbytes = weight_bytes(packed)
        if nbytes not in rates:
            rates[nbytes] = stream_rate(nbytes)
        rate = rates[nbytes]
        floor = rate * 1e9 / nbytes  # samples/s if reading the weights were all a sample cost
        samples, wall, _ = rows[label]
        print(f"{label:52s} weights {nbytes / 1024:6.0f} KiB/sample, streamed at {rate:6.1f} GB/s: "
              f"floor {floor:8.0f} samples/s, {100 * samples / wall / floor:5.1f}% stream floor")


def print_rows(rows: dict, flops: float, rate_hz: int, peaks: dict, cpu_peak: float, threads: int) -> None:
    """One line per row: samples/s, RTF at ``rate_hz`` (wall and CPU), ratio to the first row, % of the peaks."""
    base = None
    print(f"{'':52s} {'samples/s':>10s} {'RTF':>7s} {'RTF(cpu)':>9s} {'x first':>8s} {'% peak':>7s} "
          f"{'% peak(cpu)':>11s}")
    for label, (samples, wall, cpu) in rows.items():
        rate = samples / wall
        base = base or rate
        one = ", 1 thread" in label
        peak = peaks[1 if one else threads]
        # CPU time of several threads adds up: the CPU-time fraction is only meaningful on one thread
        cpu_share = f"{100 * samples / cpu * flops / 1e9 / cpu_peak:10.1f}%" if one else f"{'':>11s}"
        print(f"{label:52s} {rate:10.0f} {rate_hz / rate:7.3f} {cpu / (samples / rate_hz):9.3f} {rate / base:8.2f} "
              f"{100 * rate * flops / 1e9 / peak:6.1f}% {cpu_share}")


def train_step_times(name: str, steps: int, threads: int) -> dict[str, float]:
    """Seconds per optimiser step (batch 8 windows of 8 frames) in fp32 and bf16 autocast."""
    from types import SimpleNamespace

    torch.set_num_threads(threads)
    out = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        model = build_wavenet(load_config(preset_path(name))).train()
        optim = torch.optim.Adam(model.parameters(), lr=1e-3)
        batch = SimpleNamespace(audio=torch.rand(8, 2048) * 1.6 - 0.8, mels=torch.randn(8, 80, 8),
                                audio_lengths=None, speakers=None)

        def step():
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
                loss = model.loss(batch)["loss"]
            optim.zero_grad()
            loss.backward()
            optim.step()

        step()
        out[precision] = timed(step, steps)[0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="*", default=["small", "big"])
    parser.add_argument("--vocoder-samples", type=int, default=32000, help="0: no shipped-vocoder rows")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the folded utterance")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cached-samples", type=int, default=1000)
    parser.add_argument("--fast-samples", type=int, default=11025)
    parser.add_argument("--train-steps", type=int, default=3, help="0: no training-step rows")
    parser.add_argument("--threads", type=int, default=2, help="threads of the batched, folded and training rows")
    args = parser.parse_args()

    print(describe(1))
    peak1 = matmul_peak(1, size=1536)
    peaks = {1: peak1, args.threads: matmul_peak(args.threads, size=1536) if args.threads != 1 else peak1}
    print(f"fp32 matmul peak (1536 x 1536, the '% peak' column's): {peak1:.1f} GFLOP/s on 1 thread"
          + (f", {peaks[args.threads]:.1f} on {args.threads}" if args.threads != 1 else ""))
    cpu_peak = cpu_matmul_peak()
    print(f"fp32 matmul peak in thread CPU time (the '% peak(cpu)' column's): {cpu_peak:.1f} GFLOP/s on 1 thread")
    for name in args.presets:
        result = bench_preset(name, args.seconds, args.repeats, args.cached_samples, args.fast_samples, args.threads)
        model, rows = result["model"], result["rows"]
        flops = 2 * macs_per_sample(model)
        print(f"\n== {name} preset: {model.dims.layers} layers / {model.dims.stacks} stacks, "
              f"{model.dims.residual_channels}/{model.dims.gate_channels}/{model.dims.skip_channels} channels, "
              f"receptive field {model.receptive_field}; {flops / 1e6:.2f} MFLOP per sample")
        print_rows(rows, flops, RATE, peaks, cpu_peak, args.threads)
        if not args.train_steps:
            continue
        steps = train_step_times(name, args.train_steps, args.threads)
        print(f"training step (8 x 2048 samples, {args.threads} thread(s)): fp32 {steps['fp32'] * 1e3:.0f} ms, "
              f"bf16 autocast {steps['bf16'] * 1e3:.0f} ms ({steps['fp32'] / steps['bf16']:.2f}x)")
    if args.vocoder_samples:
        result = bench_vocoder(args.repeats, args.vocoder_samples)
        model, rate_hz = result["model"], result["rate"]
        flops = 2 * macs_per_sample(model)
        d = model.dims
        print(f"\n== shipped vocoder ({VOCODER.name}): {d.layers} layers, {d.residual_channels}/{d.gate_channels}/"
              f"{d.skip_channels} channels, {model.out_channels} classes; {flops / 1e6:.3f} MFLOP per sample; "
              f"RTF at its {rate_hz} Hz; {load()}")
        print_rows(result["rows"], flops, rate_hz, peaks, cpu_peak, args.threads)
        if result["packs"]:
            print("\nroofline of the batch-1 rows: reading each weight once per sample")
            print_roofline(result["rows"], result["packs"])
    if not c_kernel_available():
        print("\nthe C kernel is not built on this machine: path 3 ran its numba kernel only")
    print(f"\nafter: {load()}")


if __name__ == "__main__":
    main()
