"""Sharpened sampling in voiced frames against plain sampling: copy synthesis of held-out recordings.

For every run folder (a WaveNet trained by ``wavetron train wavenet``; its newest checkpoint, EMA weights),
each held-out recording's mel (the model's own audio settings) is vocoded with the fast path on one thread
at ``sharpen`` 0 (plain sampling) and at each other value, with the same seeds, and scored against the
recording with PESQ-WB and STOI (wavetron.metrics). The table gives the mean and standard deviation over
sentences and seeds, the mean paired difference to plain sampling (same sentence, same seed) with how many
pairs improved, and, as the yardstick of sampling noise, the mean absolute difference between two seeds of
plain sampling. ``voiced`` is the mean voicing strength (wavetron.audio.voicing) of the frames scored.

    taskset -c 0 env OMP_NUM_THREADS=1 .venv/bin/python benchmarks/sharpen.py \\
        --runs /work/data/runs/exc /work/data/runs/plain --count 10 --sharpen 0,0.2,0.4,0.6 --seeds 0,1
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
from machine import describe  # noqa: E402

from wavetron.audio import load, mel_spectrogram  # noqa: E402
from wavetron.audio.voicing import voicing_strength  # noqa: E402
from wavetron.generate import generate  # noqa: E402
from wavetron.metrics.perceptual import pesq_wb, stoi  # noqa: E402
from wavetron.train.export import load_model_checkpoint  # noqa: E402


def newest_checkpoint(run: Path) -> str:
    steps = sorted((run / "checkpoints").glob("step-*"), key=lambda p: int(p.name.split("-")[-1]))
    return steps[-1].name if steps else "none"


def recordings(held: Path, wavs: Path, count: int, audio) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """``(id, waveform (frames * hop,), log-mel (n_mels, frames))`` of the first ``count`` held-out ids."""
    out = []
    for name in [line.strip() for line in held.read_text().splitlines() if line.strip()][:count]:
        wave, _ = load(wavs / f"{name}.wav", audio.sample_rate)
        frames = wave.shape[-1] // audio.hop_length
        wave = wave[:frames * audio.hop_length].float()
        out.append((name, wave, mel_spectrogram(wave, audio)[:, :frames]))  # as `wavetron vocode` cuts it
    return out


def score_run(run: Path, args, sharpens: list[float], seeds: list[int]) -> None:
    model, config = load_model_checkpoint(run)
    audio = config.audio
    items = recordings(Path(args.held), Path(args.wavs), args.count, audio)
    kind = "excitation (lpc)" if model.excitation else "plain"
    seconds = sum(w.numel() for _, w, _ in items) / audio.sample_rate
    print(f"\n{run} ({kind} WaveNet, {newest_checkpoint(run)}, EMA weights): {len(items)} sentences, "
          f"{seconds:.1f} s of audio, seeds {seeds}")
    voiced = statistics.mean(float(voicing_strength(mel, audio).mean()) for _, _, mel in items)
    scores: dict[tuple[float, int], list[tuple[float, float]]] = {}
    elapsed: dict[float, float] = {s: 0.0 for s in sharpens}
    for name, wave, mel in items:
        for sharpen in sharpens:
            for seed in seeds:
                started = time.process_time()
                gen = generate(model, mel, method="fast", threads=1, temperature=args.temperature, seed=seed,
                               sharpen=sharpen).audio[0]
                elapsed[sharpen] += time.process_time() - started
                ref, out = wave.numpy(), gen.numpy()
                scores.setdefault((sharpen, seed), []).append((pesq_wb(ref, out, audio.sample_rate),
                                                              stoi(ref, out, audio.sample_rate)))
    print(f"mean voicing strength of the frames: {voiced:.2f}; temperature {args.temperature}")
    print(f"{'sharpen':>7} | {'PESQ-WB':>13} | {'STOI':>13} | {'dPESQ vs 0':>17} | {'dSTOI vs 0':>18} | RTF(cpu)")
    base = [p for seed in seeds for p in scores[(sharpens[0], seed)]]
    for sharpen in sharpens:
        pairs = [p for seed in seeds for p in scores[(sharpen, seed)]]
        pesq_values, stoi_values = [p for p, _ in pairs], [s for _, s in pairs]
        d_pesq = [p - b for (p, _), (b, _) in zip(pairs, base)]
        d_stoi = [s - b for (_, s), (_, b) in zip(pairs, base)]
        if sharpen == sharpens[0]:
            paired = f"{'(baseline)':>17} | {'(baseline)':>18}"
        else:
            paired = (f"{statistics.mean(d_pesq):+6.3f} ({sum(d > 0 for d in d_pesq):2d}/{len(d_pesq)} up) | "
                      f"{statistics.mean(d_stoi):+7.4f} ({sum(d > 0 for d in d_stoi):2d}/{len(d_stoi)} up)")
        print(f"{sharpen:7.2f} | {statistics.mean(pesq_values):5.3f} ± {statistics.stdev(pesq_values):5.3f} | "
              f"{statistics.mean(stoi_values):5.3f} ± {statistics.stdev(stoi_values):5.3f} | {paired} | "
              f"{elapsed[sharpen] / (seconds * len(seeds)):.3f}")
    if len(seeds) > 1:
        first, second = scores[(sharpens[0], seeds[0])], scores[(sharpens[0], seeds[1])]
        noise_pesq = statistics.mean(abs(a[0] - b[0]) for a, b in zip(first, second))
        noise_stoi = statistics.mean(abs(a[1] - b[1]) for a, b in zip(first, second))
        print(f"sampling noise (plain, seed {seeds[0]} vs {seeds[1]}, mean |difference| per sentence): "
              f"PESQ {noise_pesq:.3f}, STOI {noise_stoi:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", nargs="+", default=["/work/data/runs/exc", "/work/data/runs/plain"],
                        help="WaveNet run folders (their newest checkpoint is used)")
    parser.add_argument("--held", default="/work/data/part/held.txt", help="held-out ids, one a line")
    parser.add_argument("--wavs", default="/work/data/voice/corpus/wavs", help="folder of ID.wav")
    parser.add_argument("--count", type=int, default=10, help="held-out sentences (the first of the list)")
    parser.add_argument("--sharpen", default="0,0.2,0.4,0.6", help="values to compare; the first is the baseline")
    parser.add_argument("--seeds", default="0,1", help="sampling seeds; each sentence runs with each")
    parser.add_argument("--temperature", type=float, default=1.0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(describe(1, peak=False))
    sharpens = [float(s) for s in args.sharpen.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    for run in args.runs:
        score_run(Path(run), args, sharpens, seeds)


if __name__ == "__main__":
    main()
