"""Tacotron speed on this machine: training step time (fp32 vs bf16) and the mel stage's real-time factor.

    .venv/bin/python benchmarks/tacotron.py                          # the paper-size preset
    .venv/bin/python benchmarks/tacotron.py --config configs/tacotron2-small.yaml --set tacotron.reduction_factor=1
    .venv/bin/python benchmarks/tacotron.py --config configs/voice-tacotron.yaml --batch 16 --frames 718 \
        --precisions fp32 --threads 1 --plain-autograd --skip-inference

Training: one optimiser step (forward, backward, Adam) on a synthetic batch of LJSpeech-like
lengths (``--tokens`` symbols and ``--frames`` mel frames for the longest item, the others
60-100% of that), median of ``--repeats`` after a warm-up. ``--plain-autograd`` also times the
same step with the decoder LSTMs' deferred weight gradients turned off (plain autograd), interleaved
with the deferred step, and prints the ratio. Inference: an untrained model whose
stop token is disabled decodes exactly ``--infer-seconds`` of mel frames; the real-time factor is
decoding time / audio duration (lower is faster), for one sentence and for a batch of sentences
(how ``wavetron synth`` decodes long text). Timings on a shared machine are noisy: the CPU model, its
flags and the load are printed (benchmarks/machine.py), the load again with every figure, and the only
ratios are against what this run measured (bf16 against fp32, plain against deferred autograd).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import describe, load  # noqa: E402
from wavetron.config import load_config  # noqa: E402
from wavetron.data import Batch  # noqa: E402
from wavetron.models.tacotron import build_tacotron  # noqa: E402
from wavetron.text import vocab_size  # noqa: E402


def synthetic_batch(size: int, tokens: int, frames: int, n_mels: int, n_symbols: int, seed: int = 0) -> Batch:
    generator = torch.Generator().manual_seed(seed)
    token_lengths = torch.randint(int(tokens * 0.6), tokens + 1, (size,), generator=generator)
    mel_lengths = torch.randint(int(frames * 0.6), frames + 1, (size,), generator=generator)
    token_lengths[0], mel_lengths[0] = tokens, frames
    ids = torch.randint(2, n_symbols, (size, tokens), generator=generator)
    ids = ids * (torch.arange(tokens)[None] < token_lengths[:, None])
    mels = torch.randn(size, n_mels, frames, generator=generator) - 5.0
    return Batch(ids=[str(i) for i in range(size)], tokens=ids, token_lengths=token_lengths, mels=mels,
                 mel_lengths=mel_lengths, speakers=torch.zeros(size, dtype=torch.long))


def train_step_seconds(model, optimizer, batch: Batch, precision: str) -> float:
    """Wall seconds of one optimiser step (forward, backward, Adam); its CPU seconds go to ``CPU_SECONDS``."""
    autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext())
    started, started_cpu = time.perf_counter(), time.process_time()
    with autocast:
        loss = model.loss(batch)["loss"]
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    CPU_SECONDS.append(time.process_time() - started_cpu)
    return time.perf_counter() - started


# CPU time of each timed step or decode, in order: on a busy machine less disturbed than wall time.
CPU_SECONDS: list[float] = []


def time_inference(model, sentences: int, steps: int, tokens: int, repeats: int, n_symbols: int) -> list[float]:
    ids = torch.randint(2, n_symbols, (sentences, tokens), generator=torch.Generator().manual_seed(0))
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the step limit is the point here
        for index in range(repeats + 1):
            started, started_cpu = time.perf_counter(), time.process_time()
            model.infer(ids, stop_threshold=1.01, max_decoder_steps=steps, seed=0)
            if index:
                times.append(time.perf_counter() - started)
                CPU_SECONDS.append(time.process_time() - started_cpu)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="configs/tacotron2.yaml")
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=150, help="symbols of the longest sentence")
    parser.add_argument("--frames", type=int, default=800, help="mel frames of the longest utterance")
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--infer-seconds", type=float, default=5.0)
    parser.add_argument("--infer-batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--skip-inference", action="store_true")
    parser.add_argument("--plain-autograd", action="store_true",
                        help="baseline: the same step with per-step gradients left to autograd")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = load_config(args.config, args.overrides)
    torch.manual_seed(0)
    model = build_tacotron(config)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    r = config.tacotron.reduction_factor
    bf16 = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    print(describe(args.threads))
    print(f"{args.config} {' '.join(args.overrides)}: {params:.1f} M parameters, r={r}, {args.threads} threads, "
          f"bf16 matmul in hardware (oneDNN): {bf16}")
    if not args.skip_training:
        batch = synthetic_batch(args.batch, args.tokens, args.frames, config.audio.n_mels, vocab_size(config.text))
        model.train()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
        modes = (True, False) if args.plain_autograd else (True,)
        medians: dict[str, float] = {}
        for precision in args.precisions.split(","):
            for mode in modes:  # a first step warms up allocators and kernels
                model.decoder.defer_weight_grads = mode
                train_step_seconds(model, optimizer, batch, precision)
            times: dict[bool, list[float]] = {mode: [] for mode in modes}
            cpu: list[float] = []
            for _ in range(args.repeats):  # interleaved, so that load changes hit both alike
                for mode in modes:
                    model.decoder.defer_weight_grads = mode
                    times[mode].append(train_step_seconds(model, optimizer, batch, precision))
                    if mode:
                        cpu.append(CPU_SECONDS[-1])
            model.decoder.defer_weight_grads = True
            median = medians[precision] = statistics.median(times[True])
            versus = (f"; fp32/{precision} {medians['fp32'] / median:.2f}x" if "fp32" in medians and precision != "fp32"
                      else "")
            print(f"train step  batch {args.batch}, {args.tokens} tokens, {args.frames} frames, {precision}: "
                  f"median {median:.2f} s (runs {', '.join(f'{t:.2f}' for t in times[True])}), "
                  f"CPU {statistics.median(cpu):.2f} s{versus}  [{load()}]")
            if args.plain_autograd:
                plain = statistics.median(times[False])
                print(f"            plain autograd: median {plain:.2f} s "
                      f"(runs {', '.join(f'{t:.2f}' for t in times[False])}); plain/deferred {plain / median:.2f}x")
    if args.skip_inference:
        return
    model.eval()
    hop, rate = config.audio.hop_length, config.audio.sample_rate
    steps = max(1, round(args.infer_seconds * rate / hop / r))
    seconds = steps * r * hop / rate
    for sentences in (1, args.infer_batch):
        del CPU_SECONDS[:]
        median = statistics.median(time_inference(model, sentences, steps, min(args.tokens, 80), args.repeats,
                                                  vocab_size(config.text)))
        rtf, cpu_rtf = median / (seconds * sentences), statistics.median(CPU_SECONDS) / (seconds * sentences)
        print(f"inference   {sentences} sentence(s) x {seconds:.2f} s of audio: {median:.2f} s, RTF {rtf:.4f} "
              f"(decoding seconds per second of audio; in CPU time {cpu_rtf:.4f})  [{load()}]")


if __name__ == "__main__":
    main()
