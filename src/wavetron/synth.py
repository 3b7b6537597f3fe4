"""Text -> mel -> audio: a trained Tacotron, then a WaveNet vocoder or Griffin-Lim.

    >>> from wavetron import Synthesizer
    >>> audio, sample_rate = Synthesizer().synthesize("Hello there.")  # the shipped voice
    >>> audio, sample_rate = Synthesizer(tacotron="runs/taco", vocoder="runs/wavenet").synthesize("Hello there.")

Long text is normalised, split at sentence ends (and at commas or spaces when a sentence is
still too long for the decoder's step limit), and the sentences are decoded as padded batches
of similar length; the audio is joined in the original order with a short pause between them.
A vocoder trained on mels of other audio settings than the Tacotron's is refused.
"""
from __future__ import annotations

import math
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from .config import AudioConfig, Config, TextConfig, to_dict
from .errors import ConfigError, DataError, TextError
from .threads import torch_threads

GRIFFIN_LIM = "griffin-lim"
AUTO = "auto"
MIN_SPEED, MAX_SPEED = 0.25, 4.0  # the range of time_scale (and of OpenAI's speech API)
_SENTENCE_END = re.compile(r"(?<=[.?!;])\s+")


@dataclass
class Sentence:
    """One synthesised sentence: its normalised text, mel ``(n_mels, frames)``, alignment and audio ``(T,)``."""

    text: str
    mel: torch.Tensor
    alignment: torch.Tensor
    stopped: bool
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))


def split_sentences(text: str, max_chars: int = 200) -> list[str]:
    """Normalise ``text`` and cut it into sentences of at most ``max_chars`` characters.

    Sentences end at ``. ? ! ;``; a longer one is cut at its last comma (else space) before the limit.

    Raises:
        TextError: nothing speakable in ``text``.
    """
    from .text import normalize_text

    pieces = []
    for sentence in _SENTENCE_END.split(normalize_text(text)):
        sentence = sentence.strip()
        while len(sentence) > max_chars:
            cut = sentence.rfind(",", 0, max_chars)
            cut = cut + 1 if cut > 0 else sentence.rfind(" ", 0, max_chars)
            cut = cut if cut > 0 else max_chars
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if any(char.isalpha() for char in sentence):
            pieces.append(sentence)
    if not pieces:
        raise TextError(f"nothing to say in {text[:60]!r}")
    return pieces


def _load(source: str | Path | nn.Module, what: str, device: str) -> tuple[nn.Module, Config | None]:
    """A model object as given, or rebuilt from a run folder, checkpoint folder or export file."""
    if isinstance(source, nn.Module):
        return source.to(device).eval(), None
    from .train import load_model_checkpoint

    path = Path(source)
    if not path.exists():
        raise DataError(f"{path}: {what} checkpoint not found (expected a run folder, a checkpoint folder "
                        "or an exported .safetensors file)")
    return load_model_checkpoint(path, device=device)


def _audio_of(model: nn.Module, config: Config | None) -> AudioConfig | None:
    if config is not None:
        return config.audio
    return getattr(model, "audio", None)


def check_audio_settings(tacotron: AudioConfig, vocoder: AudioConfig, tacotron_name: str, vocoder_name: str) -> None:
    """Raise ConfigError naming the first audio setting in which the two models differ."""
    if tacotron.feature_hash() == vocoder.feature_hash():
        return
    mine, theirs = to_dict(tacotron), to_dict(vocoder)
    key = next(k for k in mine if mine[k] != theirs.get(k))
    raise ConfigError(f"vocoder {vocoder_name} was trained on mels with audio.{key}={theirs.get(key)!r} but "
                      f"tacotron {tacotron_name} makes mels with audio.{key}={mine[key]!r} "
                      f"(vocoder: {vocoder.describe()}; tacotron: {tacotron.describe()}); "
                      "use a vocoder trained on the Tacotron's features, or --vocoder griffin-lim")


class Synthesizer:
    """Speech from text with a trained Tacotron and a vocoder.

    Args:
        tacotron: a run folder, checkpoint folder, ``.safetensors`` export, or a Tacotron module;
            None: the shipped default voice's (:mod:`wavetron.voice`).
        vocoder: the same for a WaveNet, or ``"griffin-lim"`` / None for Griffin-Lim; ``"auto"`` (the
            default): with the shipped Tacotron, the vocoder its voice card names (the one that measured
            better, :func:`wavetron.voice.default_voice`); Griffin-Lim with any other Tacotron.
        device: ``cpu`` or ``cuda``.
        batch_size: sentences decoded together.
        griffin_lim_iters: Griffin-Lim iterations when no WaveNet is given.
        mel2linear: a mel -> linear network (:mod:`wavetron.models.mel2linear`; path or module) whose
            spectra Griffin-Lim inverts instead of the mel filterbank's pseudo-inverse; ``"auto"`` (the
            default): the shipped voice's with the shipped Tacotron, none with any other; None: none.
            Used when Griffin-Lim vocodes, and by ``refine_mel``.
        max_decoder_steps, stop_threshold, attention_window: override the Tacotron config's inference
            guard, threshold and attention window (``[back, forward]`` tokens; ``[]``: none).
        seed: seeds the prenet dropout and the vocoder's sampling.
        pause: seconds of silence between sentences.
        text_config: the text front end, when ``tacotron`` is a module (a checkpoint carries its own).
        fold_frames, fold_overlap: the WaveNet vocodes every sentence in segments of ``fold_frames``
            frames overlapping by ``fold_overlap``, all generated as one batch on all CPU threads.
        sharpen: in [0, 1); the WaveNet samples voiced frames at temperature ``1 - sharpen * voicing``
            (:func:`wavetron.generate.generate`); 0 is plain sampling. None (the default): the voice card's
            value with the shipped voice's own WaveNet, 0 with any other.
        mel_match: steps of :func:`wavetron.audio.match_mel` that pull each sentence's audio, whatever the
            vocoder, onto its decoded mel (0: none). None (the default): the voice card's text-to-speech value
            with the shipped Tacotron, 0 with any other.
        refine_mel: the WaveNet vocodes the mel of the mel -> linear network's spectrum
            (:meth:`wavetron.models.mel2linear.MelToLinear.refine`) instead of the Tacotron's own, sharper where
            the Tacotron over-smooths. None (the default): the voice card's ``refine_mel`` with the shipped voice's
            own WaveNet (and its mel -> linear network), off with any other.
        precision: the WaveNet's fast-path weights (:func:`wavetron.generate.fast.pack_weights`: ``auto``,
            ``fastest``, ``float32``, ``float16``, ``bfloat16``). None (the default): the voice card's with the
            shipped voice's own WaveNet, ``auto`` with any other.
    """

    def __init__(self, tacotron: str | Path | nn.Module | None = None, vocoder: str | Path | nn.Module | None = AUTO,
                 device: str = "cpu", batch_size: int = 8, griffin_lim_iters: int = 60,
                 max_decoder_steps: int | None = None, stop_threshold: float | None = None, seed: int = 0,
                 pause: float = 0.25, text_config: TextConfig | None = None, fold_frames: int = 64,
                 fold_overlap: int = 8, mel2linear: str | Path | nn.Module | None = AUTO, sharpen: float | None = None,
                 attention_window: list[int] | None = None, mel_match: int | None = None,
                 refine_mel: bool | None = None, precision: str | None = None) -> None:
        from .models.tacotron import Tacotron
        from .voice import default_voice, is_default

        voice = default_voice() if tacotron is None or is_default(tacotron) else None
        if tacotron is None:
            tacotron = voice.tacotron
        if isinstance(vocoder, str) and vocoder == AUTO:
            vocoder = voice.vocoder if voice is not None and voice.default_vocoder == "wavenet" else None
        own = (voice is not None and isinstance(vocoder, (str, Path))
               and Path(vocoder).resolve() == voice.vocoder.resolve())  # the shipped voice's own WaveNet
        if sharpen is None:
            sharpen = voice.tts_sharpen if own else 0.0
        if refine_mel is None:
            refine_mel = voice.refine_mel if own else False
        if precision is None:
            precision = voice.precision if own else "auto"
        if mel_match is None:
            mel_match = voice.tts_mel_match if voice is not None else 0
        if isinstance(mel2linear, str) and mel2linear == AUTO:
            mel2linear = None if voice is None else voice.mel2linear_file if refine_mel and own else voice.mel2linear
        self.device = device
        self.tacotron, config = _load(tacotron, "tacotron", device)
        if not isinstance(self.tacotron, Tacotron):
            raise DataError(f"{tacotron}: not a Tacotron model ({type(self.tacotron).__name__}); "
                            "pass a WaveNet as vocoder=")
        self.audio: AudioConfig = self.tacotron.audio
        self.text_config = text_config or (config.text if config is not None else TextConfig())
        self.vocoder: nn.Module | None = None
        if vocoder is not None and str(vocoder) != GRIFFIN_LIM:
            self.vocoder, vocoder_config = _load(vocoder, "vocoder", device)
            if isinstance(self.vocoder, Tacotron) or not hasattr(self.vocoder, "generate"):
                raise DataError(f"{vocoder}: not a vocoder ({type(self.vocoder).__name__}); expected a WaveNet")
            vocoder_audio = _audio_of(self.vocoder, vocoder_config)
            if vocoder_audio is not None:
                check_audio_settings(self.audio, vocoder_audio, str(tacotron), str(vocoder))
        self.mel2linear: nn.Module | None = None
        if not isinstance(refine_mel, bool):
            raise ConfigError(f"refine_mel {refine_mel!r}: expected True or False")
        if refine_mel and (self.vocoder is None or mel2linear is None):
            raise ConfigError("refine_mel: needs a WaveNet vocoder and a mel2linear network (mel2linear=)")
        self.refine_mel = refine_mel
        if mel2linear is not None and (self.vocoder is None or refine_mel):
            self.mel2linear, converter_config = _load(mel2linear, "mel2linear", device)
            if not hasattr(self.mel2linear, "magnitude"):
                raise DataError(f"{mel2linear}: not a mel -> linear network ({type(self.mel2linear).__name__})")
            converter_audio = _audio_of(self.mel2linear, converter_config)
            check_audio_settings(self.audio, converter_audio, str(tacotron), str(mel2linear))
        self.batch_size, self.griffin_lim_iters = batch_size, griffin_lim_iters
        self.max_decoder_steps, self.stop_threshold = max_decoder_steps, stop_threshold
        if attention_window is not None:
            from .config import check_attention_window

            check_attention_window(list(attention_window), "attention_window")
        self.attention_window = attention_window
        self.seed, self.pause = seed, pause
        self.fold_frames, self.fold_overlap = fold_frames, fold_overlap
        if not 0.0 <= sharpen < 1.0:
            raise ConfigError(f"sharpen {sharpen}: expected a value in [0, 1)")
        if sharpen and self.vocoder is not None and self.vocoder.dims.output != "softmax":
            raise ConfigError(f"sharpen: vocoder {vocoder} outputs a {self.vocoder.dims.output} distribution; "
                              "sharpening applies to a softmax WaveNet")
        self.sharpen = sharpen
        if isinstance(mel_match, bool) or not isinstance(mel_match, int) or mel_match < 0:
            raise ConfigError(f"mel_match {mel_match!r}: expected a whole number >= 0")
        self.mel_match = mel_match
        if self.vocoder is not None:  # checked here, not at the first sentence
            from .generate.fast import PRECISIONS, resolve_backend

            if precision not in PRECISIONS:
                raise ConfigError(f"precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
            if precision in ("float16", "bfloat16") and device == "cpu":
                try:
                    resolve_backend("auto", precision)
                except (RuntimeError, ValueError) as err:
                    raise ConfigError(f"precision {precision}: {err}") from None
        self.precision = precision
        self.last_sentences: list[Sentence] = []
        self.last_timings: dict[str, float] = {}  # seconds spent in "tacotron" and "vocoder" by the last call

    @property
    def sample_rate(self) -> int:
        return self.audio.sample_rate

    def synthesize(self, text: str, speaker: int = 0, progress: bool = False,
                   speed: float = 1.0) -> tuple[np.ndarray, int]:
        """Speak ``text``; returns float32 audio ``(T,)`` in [-1, 1] and its sample rate.

        ``speed`` > 1 speaks faster (see :func:`time_scale`). The sentences, their mels and alignments
        stay in :attr:`last_sentences`.
        """
        sentences = self.synthesize_sentences(split_sentences(text), speaker, progress, speed)
        gap = np.zeros(int(self.pause * self.sample_rate), dtype=np.float32)
        parts: list[np.ndarray] = []
        for index, sentence in enumerate(sentences):
            parts.extend([gap, sentence.audio] if index else [sentence.audio])
        return np.concatenate(parts).astype(np.float32), self.sample_rate

    def synthesize_sentences(self, texts: Sequence[str], speaker: int = 0, progress: bool = False,
                             speed: float = 1.0) -> list[Sentence]:
        """Decode and vocode each text (already split), in padded batches of similar length.

        ``speed``: the decoded mels are time-scaled by ``1 / speed`` before the vocoder (:func:`time_scale`).
        """
        if not MIN_SPEED <= speed <= MAX_SPEED:
            raise ConfigError(f"speed {speed}: expected {MIN_SPEED} to {MAX_SPEED}")
        from tqdm import tqdm

        from .text import texts_to_ids

        ids = texts_to_ids(list(texts), self.text_config)
        limit = self.tacotron.config.n_speakers
        if speaker and not 0 <= speaker < max(limit, 1):
            raise ConfigError(f"speaker {speaker}: this Tacotron has {max(limit, 1)} speaker(s) (0..{max(limit, 1) - 1})")
        self.last_timings = {"tacotron": 0.0, "vocoder": 0.0}
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        results: list[Sentence | None] = [None] * len(ids)
        with tqdm(total=len(ids), unit="sentence", disable=not progress, leave=False) as bar:
            for start in range(0, len(order), self.batch_size):
                chunk = order[start: start + self.batch_size]
                for index, sentence in zip(chunk, self._batch([ids[i] for i in chunk], speaker, speed)):
                    sentence.text = texts[index]
                    results[index] = sentence
                bar.update(len(chunk))
        self.last_sentences = [s for s in results if s is not None]
        stuck = [s.text for s in self.last_sentences if not s.stopped]
        if stuck:
            warnings.warn(f"{len(stuck)} sentence(s) hit the decoder step limit and were cut: {stuck[0][:60]!r}",
                          RuntimeWarning, stacklevel=2)
        return self.last_sentences

    @torch.no_grad()
    def _batch(self, ids: list[list[int]], speaker: int, speed: float = 1.0) -> list[Sentence]:
        lengths = torch.tensor([len(x) for x in ids], device=self.device)
        tokens = torch.zeros(len(ids), int(lengths.max()), dtype=torch.long, device=self.device)
        for row, seq in enumerate(ids):
            tokens[row, : len(seq)] = torch.tensor(seq)
        speakers = torch.full((len(ids),), speaker, dtype=torch.long, device=self.device)
        # a decoder step is a few small matmuls: on CPU the step loop runs on one thread
        with torch_threads(1 if torch.device(self.device).type == "cpu" else None), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # reported once per call, by synthesize_sentences
            started = time.perf_counter()
            result = self.tacotron.infer(tokens, lengths, speakers, stop_threshold=self.stop_threshold,
                                         max_decoder_steps=self.max_decoder_steps, seed=self.seed,
                                         attention_window=self.attention_window)
        steps = [math.ceil(int(n) / self.tacotron.r) for n in result.lengths.tolist()]  # before time_scale
        if speed != 1.0:
            result = time_scale(result, speed)
        decoded = time.perf_counter()
        audio = self._vocode(result, speakers)
        self.last_timings["tacotron"] += decoded - started
        self.last_timings["vocoder"] += time.perf_counter() - decoded
        sentences = []
        for row in range(len(ids)):
            frames = int(result.lengths[row])
            sentences.append(Sentence(text="", mel=result.mels[row, :, :frames].cpu(),
                                      alignment=result.alignments[row, : steps[row], : len(ids[row])].cpu(),
                                      stopped=bool(result.finished[row]),
                                      audio=audio[row, : frames * self.audio.hop_length]))
        return sentences

    def _vocode(self, result, speakers: torch.Tensor) -> np.ndarray:
        """``(B, T)`` float32 audio of a batch of inferred mels (padding frames are silent)."""
        from .audio import griffin_lim, mel_to_audio

        if self.vocoder is not None:
            from .generate import generate_folded_batch

            # every sentence is folded into ~1 s segments, all generated as one batch over the cores
            mels = result.mels
            if self.refine_mel:
                mels = self.mel2linear.refine(mels.float(), result.lengths.to(mels.device))
            mels = [mels[row, :, : int(result.lengths[row])] for row in range(len(speakers))]
            ids = speakers.tolist() if self.vocoder.speaker is not None else None
            pieces = generate_folded_batch(self.vocoder, mels, ids, segment_frames=self.fold_frames,
                                           overlap_frames=self.fold_overlap, seed=self.seed,
                                           threads=torch.get_num_threads(), precision=self.precision,
                                           sharpen=self.sharpen)
            wave = torch.zeros(len(pieces), result.mels.shape[-1] * self.audio.hop_length)
            for row, piece in enumerate(pieces):
                wave[row, : piece.numel()] = piece
        elif result.linear is not None:  # Tacotron 1: invert its own linear spectrogram
            magnitude = result.linear.float().exp()
            wave = griffin_lim(magnitude, self.audio, n_iter=self.griffin_lim_iters, seed=self.seed)
        elif self.mel2linear is not None:
            magnitude = self.mel2linear.magnitude(result.mels.float(), result.lengths.to(result.mels.device))
            wave = griffin_lim(magnitude, self.audio, n_iter=self.griffin_lim_iters, seed=self.seed)
        else:
            wave = mel_to_audio(result.mels.float(), self.audio, n_iter=self.griffin_lim_iters, seed=self.seed)
        wave = wave.float().cpu()
        if self.mel_match:
            from .audio import match_mel

            for row in range(len(speakers)):  # each sentence over its own frames: padding stays silent
                frames = int(result.lengths[row])
                length = frames * self.audio.hop_length
                wave[row, :length] = match_mel(wave[row, :length], result.mels[row, :, :frames].float().cpu(),
                                               self.audio, self.mel_match)
        return wave.clamp(-1, 1).numpy()


def time_scale(result, speed: float):
    """A Tacotron inference with its frames stretched by ``1 / speed`` (linear interpolation in time).

    The mel (and Tacotron 1's linear spectrogram) is resampled along time before the vocoder, so the
    speech gets faster or slower while every frame keeps its spectrum: the pitch does not change. The
    alignment stays in decoder steps of the unscaled mel.

    Args:
        result: a ``TacotronInference`` (mels ``(B, n_mels, T)``, lengths ``(B,)``).
        speed: 0.25 to 4; 2 halves the number of frames.
    """
    from dataclasses import replace

    import torch.nn.functional as F

    lengths = [max(1, round(int(n) / speed)) for n in result.lengths.tolist()]

    def scaled(spec: torch.Tensor) -> torch.Tensor:
        out = torch.full((spec.shape[0], spec.shape[1], max(lengths)), float(spec.amin()), dtype=spec.dtype,
                         device=spec.device)  # padded with the floor of the input (the log of silence)
        for row, (old, new) in enumerate(zip(result.lengths.tolist(), lengths)):
            piece = spec[row: row + 1, :, : int(old)].float()
            out[row, :, :new] = F.interpolate(piece, size=new, mode="linear", align_corners=True)[0].to(spec.dtype)
        return out

    return replace(result, mels=scaled(result.mels), lengths=torch.tensor(lengths, device=result.lengths.device),
                   linear=scaled(result.linear) if result.linear is not None else None)


def save_alignments(path: str | Path, sentences: Sequence[Sentence]) -> None:
    """Plot each sentence's alignment (decoder steps against tokens) into one image file, atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .io import atomic_path

    rows = len(sentences)
    figure, axes = plt.subplots(rows, 1, figsize=(8, 2.6 * rows), squeeze=False)
    for axis, sentence in zip(axes[:, 0], sentences):
        axis.imshow(sentence.alignment.T.numpy(), aspect="auto", origin="lower", interpolation="none")
        axis.set_title(sentence.text[:80] + ("" if sentence.stopped else "  [no stop]"), fontsize=8)
        axis.set_xlabel("decoder step")
        axis.set_ylabel("token")
    figure.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=100)
    plt.close(figure)


__all__ = ["GRIFFIN_LIM", "Sentence", "Synthesizer", "check_audio_settings", "save_alignments", "split_sentences",
           "time_scale"]
