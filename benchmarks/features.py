"""Log-mel extraction speed and parity: wavetron (torch, batched) against librosa, on the same files.

    python benchmarks/features.py                 # builds 50 espeak-ng sentences in a temporary folder
    python benchmarks/features.py --data DIR      # or uses the .wav files under DIR

Two stages are timed, each as the median of ``--repeats`` runs after one untimed warm-up,
librosa and wavetron taking turns so that both see the same load on the machine:
- features: log-mels from audio already decoded into memory (librosa gets numpy arrays,
  wavetron gets tensors); nothing else is inside the timer;
- load + features: reading and decoding every file as well (librosa.load vs wavetron.audio.load).
librosa runs both with numpy's default BLAS threads and with one (spinning BLAS threads lose
badly on a busy machine); its faster time is the baseline.
Parity is the largest relative error ||a - b|| / ||b|| (Frobenius) between the two mels of a file.
"""
from __future__ import annotations

import argparse
import os

# Idle OpenMP workers of torch sleep instead of spinning: on a machine shared with other jobs
# spinning threads steal each other's time slices and 2 threads ran 10x slower than 1.
# Set before torch loads its OpenMP runtime; an explicit setting in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import statistics
import sys
import tempfile
import time
from pathlib import Path

import librosa
import numpy as np
import torch

from wavetron.audio import load, mel_spectrogram, mel_spectrograms
from wavetron.config import AudioConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402


def librosa_log_mels(arrays: list[np.ndarray], c: AudioConfig, log: bool = True) -> list[np.ndarray]:
    mels = [librosa.feature.melspectrogram(
        y=y, sr=c.sample_rate, n_fft=c.n_fft, hop_length=c.hop_length, win_length=c.win_length, n_mels=c.n_mels,
        fmin=c.f_min, fmax=c.f_max, power=c.power, norm=c.mel_norm, htk=c.htk, center=c.center,
        pad_mode=c.pad_mode) for y in arrays]
    return [np.log(np.maximum(m, c.log_floor)) for m in mels] if log else mels


def median_times(functions, repeats: int) -> list[tuple[float, float]]:
    """Median (wall seconds, process CPU seconds) of each function, run in turn so all see the same load.

    CPU time sums every thread of the process: it measures the work done, which a machine
    busy with other jobs changes far less than the wall time.
    """
    for fn in functions:
        fn()  # warm-up: caches, lazy imports, allocator
    times: list[list[tuple[float, float]]] = [[] for _ in functions]
    for _ in range(repeats):
        for fn, out in zip(functions, times):
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            out.append((time.perf_counter() - wall, time.process_time() - cpu))
    return [(statistics.median(w for w, _ in t), statistics.median(c for _, c in t)) for t in times]


def single_blas(fn):
    """``fn`` run with numpy's BLAS on one thread (librosa's FFT is single-threaded anyway)."""
    from threadpoolctl import threadpool_limits

    def run():
        with threadpool_limits(1, user_api="blas"):
            return fn()
    return run


def find_wavs(args: argparse.Namespace, scratch: Path) -> list[Path]:
    if args.data:
        wavs = sorted(Path(args.data).rglob("*.wav"))
        if not wavs:
            sys.exit(f"{args.data}: no .wav files found")
        return wavs
    from wavetron.corpus import build_corpus

    print(f"building {args.size} espeak-ng sentences in {scratch} ...", flush=True)
    build_corpus(scratch, size=args.size, seed=0, engine="espeak")
    return sorted((scratch / "wavs").glob("*.wav"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="folder of .wav files (default: build a corpus)")
    parser.add_argument("--size", type=int, default=50, help="sentences to build without --data")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores)")
    parser.add_argument("--device", default="cpu", help="torch device for wavetron, e.g. cuda")
    args = parser.parse_args()
    print(describe(peak=False))
    torch.set_num_threads(args.threads)
    config = AudioConfig()
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    with tempfile.TemporaryDirectory() as scratch:
        wavs = find_wavs(args, Path(scratch))
        tensors = [load(path, config.sample_rate)[0] for path in wavs]
        arrays = [t.numpy() for t in tensors]
        on_device = [t.to(device) for t in tensors]
        seconds = sum(len(a) for a in arrays) / config.sample_rate

        def ours_features():
            mels = mel_spectrograms(on_device, config)
            sync()
            return mels

        def ours_end_to_end():
            audio = [load(path, config.sample_rate)[0].to(device) for path in wavs]
            mels = mel_spectrograms(audio, config)
            sync()
            return mels

        def librosa_end_to_end():
            return librosa_log_mels([librosa.load(path, sr=config.sample_rate)[0] for path in wavs], config)

        # librosa is timed with numpy's default BLAS threads and with one; the faster one counts.
        rows = []
        for name, theirs, ours in (
                ("features (decoded audio)", lambda: librosa_log_mels(arrays, config), ours_features),
                ("load + features", librosa_end_to_end, ours_end_to_end)):
            default, single, mine = median_times([theirs, single_blas(theirs), ours], args.repeats)
            rows.append((name, default, single, mine))
        ours_mel = [m.cpu().numpy() for m in mel_spectrograms(on_device, config, log=False)]
        ours_log = [m.cpu().numpy() for m in ours_features()]

    ref_mel = librosa_log_mels(arrays, config, log=False)
    relative = max(float(np.linalg.norm(a - b) / np.linalg.norm(b)) for a, b in zip(ours_mel, ref_mel))
    log_diff = max(float(np.abs(a - np.log(np.maximum(b, config.log_floor))).max())
                   for a, b in zip(ours_log, ref_mel))
    one_by_one = max(float(np.linalg.norm(mel_spectrogram(t.to(device), config, log=False).cpu().numpy() - b)
                       / np.linalg.norm(b)) for t, b in zip(tensors[:5], ref_mel[:5]))

    print(f"\n{len(wavs)} files, {seconds:.1f} s of audio; torch {torch.__version__} on {device} "
          f"with {torch.get_num_threads()} threads; librosa {librosa.__version__}; {config.describe()}")
    print(f"{'stage':<26} {'librosa s':>10} {'wavetron s':>11} {'speed-up':>9} {'x real time':>12}"
          f" {'CPU s librosa':>14} {'CPU s wavetron':>15} {'CPU ratio':>10}")
    for name, default, one_blas, ours in rows:
        theirs = min(default, one_blas)  # librosa's better BLAS setting, by wall time
        print(f"{name:<26} {theirs[0]:>10.3f} {ours[0]:>11.3f} {theirs[0] / ours[0]:>8.1f}x "
              f"{seconds / ours[0]:>11.0f}x {theirs[1]:>14.3f} {ours[1]:>15.3f} {theirs[1] / ours[1]:>9.1f}x")
        print(f"{'':<26} librosa wall s with default BLAS threads {default[0]:.3f}, with 1 thread {one_blas[0]:.3f}")
    print(f"parity: max relative error of the mel over files {relative:.2e} (batched), {one_by_one:.2e} (one by one); "
          f"max |log-mel difference| {log_diff:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
