"""Sharpened sampling in voiced frames against plain sampling: copy synthesis of held-out recordings.

For every run folder (a WaveNet trained by ``wavetron train wavenet``; its newest checkpoint, EMA weights),
each held-out recording's mel (the model's own audio settings) is vocoded with the fast path on one thread
at ``sharpen`` 0 (plain sampling) and at each other value, with the same seeds, and scored against the
recording with PESQ-WB and STOI (wavetron.metrics). The table gives the mean and standard deviation over
sentences and seeds, the mean paired difference to plain sampling (same sentence, same seed) with how many
pairs improved, and, as the yardstick of sampling noise, the mean absolute difference between two seeds of
plain sampling. ``voiced`` is the mean voicing strength (wavetron.audio.voicing) of the frames scored.
``voiced RMS``: the median, over frames with voicing above 0.8, of the generated frame RMS over the
recording's (median over sentences and seeds). ``--control`` adds rows ``uS``: plain sampling of each
sentence at the one temperature that is the mean of what sharpen ``S`` gives its frames, to tell the
voicing's part from that of colder draws overall.

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


def voiced_level(ref: np.ndarray, gen: np.ndarray, strength: np.ndarray, hop: int) -> float:
    """Median over frames of voicing > 0.8 of the generated frame RMS over the recording's (1: same level)."""
    frames = min(ref.size // hop, strength.size)
    rms = [np.sqrt(np.mean(x[:frames * hop].reshape(frames, hop) ** 2, axis=1)) for x in (ref, gen)]
    voiced = strength[:frames] > 0.8
    return float(np.median(rms[1][voiced] / np.maximum(rms[0][voiced], 1e-9))) if voiced.any() else float("nan")


def score_run(run: Path, args, sharpens: list[float], seeds: list[int]) -> None:
    model, config = load_model_checkpoint(run)
    audio = config.audio
    items = recordings(Path(args.held), Path(args.wavs), args.count, audio)
    kind = "excitation (lpc)" if model.excitation else "plain"
    seconds = sum(w.numel() for _, w, _ in items) / audio.sample_rate
    print(f"\n{run} ({kind} WaveNet, {newest_checkpoint(run)}, EMA weights): {len(items)} sentences, "
          f"{seconds:.1f} s of audio, seeds {seeds}")
    strengths = [voicing_strength(mel, audio) for _, _, mel in items]
    voiced = statistics.mean(float(v.mean()) for v in strengths)
    # (label, sharpen, temperature of sentence i): sharpened rows, and with --control the same mean
    # temperature spread uniformly over the sentence (is it the voicing that helps, or the colder draws?)
    rows = [(f"{sharpen:.2f}", sharpen, lambda i: args.temperature) for sharpen in sharpens]
    if args.control:
        rows += [(f"u{sharpen:.2f}", 0.0, lambda i, s=sharpen: args.temperature * (1 - s * float(strengths[i].mean())))
                 for sharpen in sharpens[1:]]
    scores: dict[tuple[str, int], list[tuple[float, float]]] = {}
    levels: dict[str, list[float]] = {}  # per run: median over voiced frames of generated / recorded frame RMS
    elapsed = {label: 0.0 for label, _, _ in rows}
    for i, (name, wave, mel) in enumerate(items):
        for label, sharpen, temperature in rows:
            for seed in seeds:
                started = time.process_time()
                gen = generate(model, mel, method="fast", threads=1, temperature=temperature(i), seed=seed,
                               sharpen=sharpen).audio[0]
                elapsed[label] += time.process_time() - started
                ref, out = wave.numpy(), gen.numpy()
                levels.setdefault(label, []).append(voiced_level(ref, out, strengths[i].numpy(), audio.hop_length))
                scores.setdefault((label, seed), []).append((pesq_wb(ref, out, audio.sample_rate),
                                                            stoi(ref, out, audio.sample_rate)))
    print(f"mean voicing strength of the frames: {voiced:.2f}; temperature {args.temperature}"
          + ("; uS rows: plain sampling at each sentence's mean temperature of sharpen S" if args.control else ""))
    print(f"{'sharpen':>7} | {'PESQ-WB':>13} | {'STOI':>13} | {'dPESQ vs 0':>17} | {'dSTOI vs 0':>18} | "
          "voiced RMS | RTF(cpu)")
    baseline = rows[0][0]
    base = [p for seed in seeds for p in scores[(baseline, seed)]]
    for label, _, _ in rows:
        pairs = [p for seed in seeds for p in scores[(label, seed)]]
        pesq_values, stoi_values = [p for p, _ in pairs], [s for _, s in pairs]
        d_pesq = [p - b for (p, _), (b, _) in zip(pairs, base)]
        d_stoi = [s - b for (_, s), (_, b) in zip(pairs, base)]
        if label == baseline:
            paired = f"{'(baseline)':>17} | {'(baseline)':>18}"
        else:
            paired = (f"{statistics.mean(d_pesq):+6.3f} ({sum(d > 0 for d in d_pesq):2d}/{len(d_pesq)} up) | "
                      f"{statistics.mean(d_stoi):+7.4f} ({sum(d > 0 for d in d_stoi):2d}/{len(d_stoi)} up)")
        print(f"{label:>7} | {statistics.mean(pesq_values):5.3f} ± {statistics.stdev(pesq_values):5.3f} | "
              f"{statistics.mean(stoi_values):5.3f} ± {statistics.stdev(stoi_values):5.3f} | {paired} | "
              f"{statistics.median(levels[label]):10.2f} | {elapsed[label] / (seconds * len(seeds)):.3f}")
    if len(seeds) > 1:
        first, second = scores[(baseline, seeds[0])], scores[(baseline, seeds[1])]
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
    parser.add_argument("--control", action="store_true",
                        help="also sample each sentence plainly at the mean temperature each sharpen gives it")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(describe(1, peak=False))
    sharpens = [float(s) for s in args.sharpen.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    for run in args.runs:
        score_run(Path(run), args, sharpens, seeds)


if __name__ == "__main__":
    main()
