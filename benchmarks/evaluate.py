"""What `wavetron evaluate` costs: seconds per pair for each metric on 20 corpus sentences.

Each pair is a real espeak sentence and a degraded copy (white noise at 20 dB SNR, then 3% slower
through resampling, so lengths differ as they do for generated speech). Timings include loading and
the shared WORLD analysis (charged to ``mcd``; ``f0`` then only walks the DTW path) and the shared
cross-correlation alignment (charged to the first of lsd/mrstft/mel_l1/pesq/stoi that runs).

    .venv/bin/python benchmarks/evaluate.py [--pairs 20] [--metrics all]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402


def make_pairs(folder: Path, count: int) -> tuple[Path, Path, Path, float]:
    from wavetron.corpus import build_corpus

    corpus = folder / "corpus"
    build_corpus(corpus, size=count, seed=0, engine="espeak")
    ref, gen = corpus / "wavs", folder / "gen"
    gen.mkdir()
    rng = np.random.default_rng(0)
    seconds = 0.0
    for wav in sorted(ref.glob("*.wav")):
        audio, rate = sf.read(wav, dtype="float64")
        seconds += audio.size / rate
        noise = rng.standard_normal(audio.size)
        noise *= np.sqrt(np.mean(audio ** 2) / 10 ** 2.0 / np.mean(noise ** 2))  # 20 dB SNR
        slower = soxr.resample(audio + noise, rate, int(rate * 1.03))  # played at `rate`: 3% longer
        sf.write(gen / wav.name, np.clip(slower, -1, 1), rate)
    return ref, gen, corpus / "metadata.csv", seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--metrics", default="all")
    args = parser.parse_args()
    print(describe(peak=False))
    torch.set_num_threads(1)  # evaluate is single-threaded numpy/C code; keep torch from competing

    from wavetron.evaluate import attach_texts, evaluate_pair, pair_files, parse_metrics

    metrics = parse_metrics(args.metrics)
    with tempfile.TemporaryDirectory() as tmp:
        ref, gen, metadata, seconds = make_pairs(Path(tmp), args.pairs)
        pairing = pair_files(ref, gen)
        attach_texts(pairing, metadata)
        evaluate_pair(pairing.pairs[0], metrics)  # warm-up: model loads, first-call compilation
        timings: dict[str, float] = {}
        values: dict[str, list[float]] = {}
        start = time.perf_counter()
        for pair in pairing.pairs:
            result = evaluate_pair(pair, metrics, timings)
            for key, value in result.values.items():
                if value is not None:
                    values.setdefault(key, []).append(value)
        total = time.perf_counter() - start
    count = len(pairing.pairs)
    print(f"{count} pairs, {seconds / count:.2f} s of reference speech per pair on average")
    print(f"{'metric':<8} {'s/pair':>8} {'s per s of audio':>17}")
    for name in metrics:
        print(f"{name:<8} {timings[name] / count:>8.3f} {timings[name] / seconds:>17.3f}")
    print(f"{'all':<8} {total / count:>8.3f} {total / seconds:>17.3f}")
    print("mean values: " + ", ".join(f"{k}={np.mean(v):.3f}" for k, v in values.items()))


if __name__ == "__main__":
    main()
