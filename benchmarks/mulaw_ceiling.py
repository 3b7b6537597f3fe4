"""The best PESQ-WB a mu-law WaveNet can reach: recordings coded to its classes and back, no network.

A WaveNet with a softmax over mu-law classes can at best reproduce the recording's own classes, so the
PESQ of mu-law coding alone bounds its copy synthesis. The table gives that bound for plain mu-law (the
baseline) and for mu-law of the pre-emphasised signal (``wavenet.preemphasis``), side by side on the
same recordings, with the ratio to the baseline.

    .venv/bin/python benchmarks/mulaw_ceiling.py FEATURES [--split val] [--count 20] [--coefs 0.85,0.95]
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from wavetron.data import FeatureSet
from wavetron.metrics.perceptual import pesq_wb, stoi
from wavetron.models.wavenet import deemphasize, mulaw_expand, mulaw_quantize, preemphasize


def code(audio: torch.Tensor, classes: int, coef: float) -> torch.Tensor:
    """``audio (T,)`` through mu-law coding of its pre-emphasised signal and back."""
    emphasised = preemphasize(audio[None], coef)
    return deemphasize(mulaw_expand(mulaw_quantize(emphasised, classes), classes), coef)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("features", help="a folder written by `wavetron preprocess`")
    parser.add_argument("--split", default="val")
    parser.add_argument("--count", type=int, default=20, help="recordings to code (the first of the split)")
    parser.add_argument("--classes", type=int, default=256)
    parser.add_argument("--coefs", default="0.85,0.95", help="pre-emphasis coefficients to compare")
    args = parser.parse_args()

    features = FeatureSet(args.features)
    rate = features.audio_config.sample_rate
    items = features.items(args.split)[:args.count]
    coefs = [0.0] + [float(c) for c in args.coefs.split(",") if c]
    scores: dict[float, list[tuple[float, float]]] = {c: [] for c in coefs}
    for item in items:
        audio = features.load_audio(item)
        ref = audio.numpy().astype(np.float64)
        for coef in coefs:
            gen = code(audio, args.classes, coef).clamp(-1, 1).numpy().astype(np.float64)
            scores[coef].append((pesq_wb(ref, gen, rate, aligned=True), stoi(ref, gen, rate, aligned=True)))
    base = np.mean([p for p, _ in scores[0.0]])
    print(f"{len(items)} recordings of {args.features} ({args.split}), {args.classes} mu-law classes")
    print(f"{'pre-emphasis':>12} {'PESQ-WB':>8} {'STOI':>6} {'PESQ / plain':>13}")
    for coef in coefs:
        pesq = np.mean([p for p, _ in scores[coef]])
        print(f"{coef:>12.2f} {pesq:>8.3f} {np.mean([s for _, s in scores[coef]]):>6.3f} {pesq / base:>12.2f}x")


if __name__ == "__main__":
    main()
