"""Evaluate a voice (by default the shipped one) on the held-out sentences of its features folder.

    python recipes/evaluate_voice.py WORK_DIR [--out DIR] [--voice DIR] [--limit N] [--jobs 2]
                                     [--vocoders wavenet,griffinlim,mel2linear] [--write-card]

WORK_DIR is that of ``recipes/default_voice.sh`` (it reads ``WORK_DIR/features``). Systems, each a
folder of wavs under ``--out`` (default ``WORK_DIR/evaluation``):

- ``reference``: the held-out recordings as the models saw them (trimmed, peak-normalised);
- ``tts-wavenet``: text -> the voice's Tacotron -> its WaveNet (what ``wavetron synth`` does);
- ``tts-griffinlim``: the same mels through Griffin-Lim (the mel filterbank's pseudo-inverse);
- ``tts-mel2linear``: the same mels through the voice's mel -> linear network, then Griffin-Lim;
- ``copy-wavenet``, ``copy-griffinlim``, ``copy-mel2linear``: the reference's own mel through each.

The ``mel2linear`` rows are there when the voice has a ``mel2linear.safetensors``. ``--vocoders`` measures
only the named systems (after retraining one model, say); ``--write-card`` needs them all.

Each is scored with ``wavetron evaluate`` against ``reference`` (TTS: MCD-DTW, F0, recogniser WER;
copy synthesis: PESQ-WB, STOI, MCD-DTW, WER; the reference's own WER as the recogniser's floor), and
``summary.md`` / ``summary.json`` hold the mean table, the real-time factors and the validation focus
score of the Tacotron's alignments. Wavs already written are kept, so an interrupted run resumes.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from wavetron.audio import griffin_lim, mel_to_audio, save
from wavetron.data import FeatureSet
from wavetron.generate import generate_folded_batch
from wavetron.io import atomic_write_text
from wavetron.models.attention import alignment_scores
from wavetron.synth import Synthesizer
from wavetron.voice import MEL2LINEAR_FILE, default_voice

TTS_METRICS = "mcd,f0,wer"
COPY_METRICS = "pesq,stoi,mcd,wer"
VOCODERS = ("wavenet", "griffinlim", "mel2linear")


def write_references(features: FeatureSet, items, folder: Path) -> None:
    """The processed held-out audio as wavs, plus a metadata.csv with the texts the recogniser is scored on."""
    folder.mkdir(parents=True, exist_ok=True)
    rate = features.audio_config.sample_rate
    for item in items:
        path = folder / f"{item.id}.wav"
        if not path.exists():
            save(path, features.load_audio(item).numpy(), rate)
    lines = [f"{item.id}|{item.text}|{item.normalized_text}" for item in items]
    atomic_write_text(folder / "metadata.csv", "\n".join(lines) + "\n")


def synthesize(synthesizer: Synthesizer, items, folder: Path, batch: int = 8) -> tuple[float, float, dict]:
    """Speak every item's text into ``folder``; (seconds of compute, seconds of audio, mean alignment scores)."""
    folder.mkdir(parents=True, exist_ok=True)
    todo = [item for item in items if not (folder / f"{item.id}.wav").exists()]
    compute = audio_seconds = 0.0
    scores: dict[str, list[float]] = {"focus": [], "diagonality": [], "stopped": []}
    for start in range(0, len(todo), batch):
        chunk = todo[start:start + batch]
        began = time.perf_counter()
        sentences = synthesizer.synthesize_sentences([item.normalized_text for item in chunk])
        compute += time.perf_counter() - began
        for item, sentence in zip(chunk, sentences):
            save(folder / f"{item.id}.wav", sentence.audio, synthesizer.sample_rate)
            audio_seconds += len(sentence.audio) / synthesizer.sample_rate
            alignment = sentence.alignment.unsqueeze(0)
            steps = torch.tensor([alignment.shape[1]])
            tokens = torch.tensor([alignment.shape[2]])
            for key, value in alignment_scores(alignment, steps, tokens).items():
                if key in scores:
                    scores[key].append(float(value))
            scores["stopped"].append(float(sentence.stopped))
    return compute, audio_seconds, {k: float(np.mean(v)) for k, v in scores.items() if v}


def copy_synthesize(features: FeatureSet, items, folder: Path, vocoder, threads: int,
                    mel2linear=None) -> tuple[float, float]:
    """Each reference's mel through ``vocoder`` (a WaveNet, or None for Griffin-Lim, through ``mel2linear``
    when given) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    todo = [item for item in items if not (folder / f"{item.id}.wav").exists()]
    rate = features.audio_config.sample_rate
    compute = audio_seconds = 0.0
    for start in range(0, len(todo), 8):
        chunk = todo[start:start + 8]
        mels = [features.load_mel(item) for item in chunk]
        began = time.perf_counter()
        if vocoder is not None:
            with torch.no_grad():
                waves = generate_folded_batch(vocoder, mels, threads=threads)
        elif mel2linear is not None:
            waves = [griffin_lim(mel2linear.magnitude(mel), features.audio_config) for mel in mels]
        else:
            waves = [mel_to_audio(mel, features.audio_config) for mel in mels]
        compute += time.perf_counter() - began
        for item, wave in zip(chunk, waves):
            wave = wave.float().clamp(-1, 1).numpy()
            save(folder / f"{item.id}.wav", wave, rate)
            audio_seconds += len(wave) / rate
    return compute, audio_seconds


def score(out: Path, system: str, metrics: str) -> dict:
    """``wavetron evaluate reference SYSTEM`` in a subprocess; its mean values."""
    report = out / f"{system}.json"
    if not report.exists():
        subprocess.run([sys.executable, "-m", "wavetron", "evaluate", str(out / "reference"), str(out / system),
                        "--text", str(out / "reference" / "metadata.csv"), "--metrics", metrics,
                        "--json", str(report)], check=True, stdout=subprocess.DEVNULL)
    data = json.loads(report.read_text())
    return data["mean"] if "mean" in data else data


def write_card(folder: Path, means: dict) -> None:
    """voice.json: the vocoder of higher copy-synthesis PESQ speaks by default, unless the other one's held-out
    WER is lower by more than 5 points. Griffin-Lim inverts through the mel -> linear network when the voice
    has one and it lowers the held-out WER."""
    griffin_key, copy_gl_key, extra = "tts-griffinlim", "copy-griffinlim", {}
    if "tts-mel2linear" in means:
        extra["mel2linear"] = means["tts-mel2linear"]["wer"] <= means["tts-griffinlim"]["wer"]
        if extra["mel2linear"]:
            griffin_key, copy_gl_key = "tts-mel2linear", "copy-mel2linear"
    wavenet, griffin = means["tts-wavenet"], means[griffin_key]
    copy_wn, copy_gl = means["copy-wavenet"], means[copy_gl_key]
    gap = wavenet["wer"] - griffin["wer"]  # > 0: the WaveNet is less intelligible
    better = (copy_wn["pesq"] >= copy_gl["pesq"] and gap <= 0.05) or gap < -0.05
    why = (f"held-out WER {wavenet['wer']:.2f} with the WaveNet, {griffin['wer']:.2f} with Griffin-Lim; "
           f"copy-synthesis PESQ {copy_wn['pesq']:.2f} against {copy_gl['pesq']:.2f}")
    card = {"vocoder": "wavenet" if better else "griffin-lim", **extra, "why": why}
    atomic_write_text(folder / "voice.json", json.dumps(card, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path, help="the recipe's WORK_DIR (holds features/)")
    parser.add_argument("--out", type=Path, help="output folder (default WORK_DIR/evaluation)")
    parser.add_argument("--voice", type=Path, help="folder with tacotron.safetensors and vocoder.safetensors "
                                                   "(default: the shipped voice)")
    parser.add_argument("--limit", type=int, help="only the first N held-out sentences")
    parser.add_argument("--jobs", type=int, default=2, help="evaluate processes run side by side")
    parser.add_argument("--write-card", action="store_true",
                        help="record in the voice's voice.json which vocoder measured better (its default)")
    parser.add_argument("--vocoders", default=",".join(VOCODERS),
                        help="comma-separated systems to measure, of " + ", ".join(VOCODERS) + " (default all)")
    args = parser.parse_args()
    vocoders = [v for v in args.vocoders.split(",") if v]
    unknown = sorted(set(vocoders) - set(VOCODERS))
    if unknown or not vocoders:
        parser.error(f"--vocoders: expected a comma-separated list of {', '.join(VOCODERS)}, got {args.vocoders!r}")
    if args.write_card and set(vocoders) != set(VOCODERS):
        parser.error("--write-card compares every vocoder: leave out --vocoders")
    out = args.out or args.work / "evaluation"
    voice = default_voice(args.voice) if args.voice else default_voice()
    features = FeatureSet(args.work / "features")
    items = features.items("val")[: args.limit]
    write_references(features, items, out / "reference")

    threads = torch.get_num_threads()
    mel2linear = voice.tacotron.parent / MEL2LINEAR_FILE  # measured whether or not the card enables it
    synthesizers = {}
    if "wavenet" in vocoders:
        synthesizers["wavenet"] = Synthesizer(tacotron=voice.tacotron, vocoder=voice.vocoder)
    if "griffinlim" in vocoders:
        synthesizers["griffinlim"] = Synthesizer(tacotron=voice.tacotron, vocoder=None, mel2linear=None)
    if "mel2linear" in vocoders and mel2linear.is_file():
        synthesizers["mel2linear"] = Synthesizer(tacotron=voice.tacotron, vocoder=None, mel2linear=mel2linear)
    speed, jobs, alignment = {}, {}, {}
    for name, synthesizer in synthesizers.items():
        compute, seconds, scores = synthesize(synthesizer, items, out / f"tts-{name}")
        alignment = alignment or scores
        speed[f"tts-{name}"] = (compute, seconds)
        speed[f"copy-{name}"] = copy_synthesize(features, items, out / f"copy-{name}", synthesizer.vocoder, threads,
                                                synthesizer.mel2linear)
        jobs |= {f"tts-{name}": TTS_METRICS, f"copy-{name}": COPY_METRICS}
    if not jobs:
        parser.error(f"--vocoders {args.vocoders}: the voice has no {MEL2LINEAR_FILE}")
    first_tts = next(iter(jobs))
    jobs[first_tts] += ",wer_ref"  # the recordings' own WER, once
    with ThreadPoolExecutor(args.jobs) as pool:
        means = dict(zip(jobs, pool.map(lambda kv: score(out, *kv), jobs.items())))

    keys = ["wer", "cer", "mcd", "f0_rmse_cents", "vuv_error", "pesq", "stoi"]
    lines = [f"Voice: {voice.tacotron.parent}; {len(items)} held-out sentences; {threads} threads.", "",
             "| system | " + " | ".join(keys) + " | RTF |", "|---" * (len(keys) + 2) + "|"]
    for system, values in means.items():
        cells = [f"{values[k]:.3f}" if isinstance(values.get(k), (int, float)) else "" for k in keys]
        compute, seconds = speed[system]
        rtf = f"{compute / seconds:.3f}" if seconds else "(kept)"
        lines.append(f"| {system} | " + " | ".join(cells) + f" | {rtf} |")
    reference = means[first_tts]
    lines.append(f"| reference | {reference.get('wer_ref', float('nan')):.3f} | "
                 f"{reference.get('cer_ref', float('nan')):.3f} |" + " |" * (len(keys) - 1))
    if alignment:
        lines += ["", "Tacotron alignments on these sentences: " +
                  ", ".join(f"{k} {v:.3f}" for k, v in alignment.items())]
    table = "\n".join(lines) + "\n"
    if args.write_card:
        write_card(voice.tacotron.parent, means)
    atomic_write_text(out / "summary.md", table)
    atomic_write_text(out / "summary.json", json.dumps({"means": means, "alignment": alignment,
                                                        "rtf": {k: c / s for k, (c, s) in speed.items() if s},
                                                        "sentences": len(items)}, indent=1))
    print(table)


if __name__ == "__main__":
    main()
