"""The mel match (wavetron.audio.match_mel) on copy synthesis: which start it needs, how many steps.

Each held-out recording's mel (the vocoder's audio settings) is turned into audio three ways: the WaveNet
(fast path, one thread, the given sharpen and seed), Griffin-Lim (60 iterations, the filterbank's
pseudo-inverse) and white noise (a twentieth of full scale: no vocoder at all). Each start is then pulled
onto the mel by 0 (not for noise), 8, 16, ... steps and scored against the recording with PESQ-WB and STOI
(wavetron.metrics), beside its mel distance (mean |log-mel difference|). The WaveNet's and Griffin-Lim's
own time and the match's are CPU seconds per second of audio (RTF) on this thread.

    taskset -c 0 env OMP_NUM_THREADS=1 .venv/bin/python benchmarks/mel_match.py \\
        --held HELD --wavs WORK/corpus/wavs --count 20 --steps 0,8,16,32,64

``--starts WaveNet --precision bfloat16`` (or float32, float16) measures only the WaveNet, with the given
fast-path weights: how a weight precision changes what the vocoder sounds like.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402
from sharpen import recordings  # noqa: E402

from wavetron.audio import match_mel, mel_spectrogram, mel_to_audio  # noqa: E402
from wavetron.generate import generate  # noqa: E402
from wavetron.metrics.perceptual import pesq_wb, stoi  # noqa: E402
from wavetron.train.export import load_model_checkpoint  # noqa: E402
from wavetron.voice import VOICE_DIR  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vocoder", default=str(VOICE_DIR / "vocoder.safetensors"),
                        help="WaveNet (run folder or export; default the shipped voice's)")
    parser.add_argument("--held", required=True, help="held-out ids, one a line")
    parser.add_argument("--wavs", required=True, help="folder of ID.wav")
    parser.add_argument("--count", type=int, default=20, help="held-out sentences (the first of the list)")
    parser.add_argument("--steps", default="0,8,16,32,64", help="comma-separated step counts")
    parser.add_argument("--sharpen", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precision", default="auto", help="the WaveNet's fast-path weights (auto, float32, "
                        "float16, bfloat16)")
    parser.add_argument("--starts", default="WaveNet,Griffin-Lim,noise", help="comma-separated starts to measure")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(describe(1, peak=False))
    model, config = load_model_checkpoint(args.vocoder)
    audio = config.audio
    items = recordings(Path(args.held), Path(args.wavs), args.count, audio)
    seconds = sum(w.numel() for _, w, _ in items) / audio.sample_rate
    steps = [int(s) for s in args.steps.split(",")]
    noise = torch.Generator().manual_seed(args.seed)
    starts = {"WaveNet": lambda mel, n: generate(model, mel, method="fast", threads=1, seed=args.seed,
                                                 sharpen=args.sharpen, precision=args.precision).audio[0],
              "Griffin-Lim": lambda mel, n: mel_to_audio(mel.unsqueeze(0), audio, length=n)[0],
              "noise": lambda mel, n: 0.05 * torch.randn(n, generator=noise)}
    starts = {name: starts[name] for name in args.starts.split(",")}
    print(f"\n{args.vocoder}: {len(items)} held-out sentences, {seconds:.1f} s of audio; WaveNet sharpen "
          f"{args.sharpen}, seed {args.seed}, {args.precision} weights")
    print(f"{'start':>11} | {'steps':>5} | {'PESQ-WB':>13} | {'STOI':>13} | mel distance | RTF (start + match)")
    for name, start in starts.items():
        waves, began = [], time.process_time()
        for _, wave, mel in items:
            waves.append(start(mel, wave.numel()).float())
        start_rtf = (time.process_time() - began) / seconds
        for n in steps:
            if name == "noise" and n == 0:
                continue  # PESQ finds no speech in it
            began, outs = time.process_time(), []
            for (_, _, mel), wave in zip(items, waves):
                outs.append(match_mel(wave, mel, audio, n))
            match_rtf = (time.process_time() - began) / seconds
            pesq = [pesq_wb(ref.numpy(), out.numpy(), audio.sample_rate) for (_, ref, _), out in zip(items, outs)]
            intel = [stoi(ref.numpy(), out.numpy(), audio.sample_rate) for (_, ref, _), out in zip(items, outs)]
            dist = [float((mel_spectrogram(out, audio)[:, :mel.shape[-1]] - mel).abs().mean())
                    for (_, _, mel), out in zip(items, outs)]
            print(f"{name:>11} | {n:5d} | {statistics.mean(pesq):5.3f} ± {statistics.stdev(pesq):5.3f} | "
                  f"{statistics.mean(intel):5.3f} ± {statistics.stdev(intel):5.3f} | {statistics.mean(dist):12.3f} | "
                  f"{start_rtf:.3f} + {match_rtf:.3f}", flush=True)


if __name__ == "__main__":
    main()
