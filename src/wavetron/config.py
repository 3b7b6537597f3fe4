"""Configuration: one dataclass per concern, YAML in and out, overrides from the CLI.

A config file is YAML with one mapping per section (``audio:``, ``text:``, ``data:`` ...).
Every key must exist in its dataclass: an unknown key raises :class:`ConfigError`
naming the full dotted key, so a typo never passes silently.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, TypeVar

import yaml

from .errors import ConfigError

T = TypeVar("T")


@dataclass
class AudioConfig:
    """Signal and feature settings. Defaults are the LJSpeech / NVIDIA Tacotron 2 ones.

    Mel spectrograms are ``log(max(mel, log_floor))`` (natural log) of a magnitude
    (``power=1``) Slaney-normalised mel filterbank, as NVIDIA's Tacotron 2 and most
    vocoders trained on LJSpeech use, so mels can be exchanged with those tools.
    """

    sample_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 256
    win_length: int = 1024
    n_mels: int = 80
    f_min: float = 0.0
    f_max: float | None = 8000.0
    power: float = 1.0  # 1: magnitude, 2: power spectrogram
    mel_norm: str | None = "slaney"  # as librosa.filters.mel(norm=...)
    htk: bool = False
    center: bool = True
    pad_mode: str = "constant"  # librosa >= 0.10 default
    log_floor: float = 1e-5
    mulaw_channels: int = 256

    def __post_init__(self) -> None:
        _check(self.sample_rate > 0, "audio.sample_rate", "a positive integer", self.sample_rate)
        _check(self.n_fft > 0, "audio.n_fft", "a positive integer", self.n_fft)
        _check(0 < self.hop_length, "audio.hop_length", "a positive integer", self.hop_length)
        _check(0 < self.win_length <= self.n_fft, "audio.win_length", f"in 1..n_fft ({self.n_fft})", self.win_length)
        _check(self.n_mels > 0, "audio.n_mels", "a positive integer", self.n_mels)
        top = self.f_max if self.f_max is not None else self.sample_rate / 2
        _check(0 <= self.f_min < top <= self.sample_rate / 2, "audio.f_max",
               f"f_min < f_max <= sample_rate/2 ({self.sample_rate / 2:g})", self.f_max)
        _check(self.power in (1.0, 2.0), "audio.power", "1 (magnitude) or 2 (power)", self.power)
        _check(self.log_floor > 0, "audio.log_floor", "a positive number", self.log_floor)
        _check(self.mulaw_channels >= 2, "audio.mulaw_channels", "an integer >= 2", self.mulaw_channels)

    def feature_hash(self) -> str:
        """A short hash of every setting that changes the features; equal hashes mean exchangeable mels."""
        blob = json.dumps(dataclasses.asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def describe(self) -> str:
        """One line naming the settings, for error messages that compare two configs."""
        return (f"{self.sample_rate} Hz, n_fft {self.n_fft}, hop {self.hop_length}, win {self.win_length}, "
                f"{self.n_mels} mels {self.f_min:g}-{self.f_max} Hz, power {self.power:g}, floor {self.log_floor:g}")


@dataclass
class TextConfig:
    """Text front end: English normalisation, then characters or IPA phonemes."""

    phonemes: bool = False  # IPA through phonemizer + espeak-ng instead of characters
    language: str = "en-us"

    def __post_init__(self) -> None:
        _check(bool(self.language), "text.language", "a language code such as en-us", self.language)


@dataclass
class DataConfig:
    """Dataset preparation: trimming, loudness, filtering and the validation split."""

    trim_db: float | None = 60.0  # silence trimming threshold below peak; null disables
    normalize: str | None = "peak"  # "peak", "loudness" or null
    peak: float = 0.95  # target peak for "peak" normalisation
    loudness_db: float = -23.0  # target RMS level in dBFS for "loudness"
    min_seconds: float = 0.2
    max_seconds: float = 30.0
    validation_size: int = 50  # items held out; capped at 10% of the dataset
    seed: int = 1234

    def __post_init__(self) -> None:
        _check(self.normalize in (None, "peak", "loudness"), "data.normalize",
               "peak, loudness or null", self.normalize)
        _check(0 < self.peak <= 1, "data.peak", "a number in (0, 1]", self.peak)
        _check(0 <= self.min_seconds < self.max_seconds, "data.min_seconds", "0 <= min_seconds < max_seconds",
               self.min_seconds)
        _check(self.validation_size >= 0, "data.validation_size", "an integer >= 0", self.validation_size)


@dataclass
class TrainConfig:
    """The ``train:`` section: optimiser, schedule, precision, checkpoints and logging of ``wavetron.train``.

    Steps count optimiser updates; one update consumes ``accumulate`` batches of ``batch_size``
    on every distributed replica.
    """

    optimizer: str = "adam"  # adam (Tacotron 1 and 2) or adamw
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-6
    weight_decay: float = 0.0
    schedule: str = "constant"  # constant, exponential, noam (warm-up + inverse sqrt) or cosine
    warmup_steps: int = 0  # linear warm-up before every schedule
    decay_rate: float = 0.5  # exponential: lr * decay_rate ** (step / decay_steps)
    decay_steps: int = 50000
    min_lr: float = 1e-5  # floor of the exponential and cosine schedules
    milestones: list[int] = field(default_factory=list)  # from each of these steps on, the rate is
    milestone_factor: float = 0.1  # multiplied by this, on top of the schedule (torch's MultiStepLR)
    grad_clip: float | None = 1.0  # max global grad norm; null disables clipping
    accumulate: int = 1  # batches per optimiser step
    batch_size: int = 32
    max_steps: int = 100000
    epochs: int | None = None  # stop after this many epochs when reached before max_steps
    precision: str = "fp32"  # fp32, bf16 (CPU and CUDA autocast) or fp16 (CUDA, with a grad scaler)
    ema_decay: float | None = 0.9999  # EMA of the weights; null disables
    checkpoint_every: int = 1000
    keep_last: int = 3  # checkpoints kept besides the best by validation loss
    validate_every: int = 1000
    validation_batches: int | None = None  # cap on validation batches; null: the whole split
    log_every: int = 50
    seed: int = 1234
    num_workers: int = 0  # DataLoader worker processes
    nan_patience: int = 10  # non-finite steps in a row before reloading the last checkpoint
    nan_lr_factor: float = 0.5  # learning-rate factor applied at each such reload
    nan_max_reloads: int = 3  # reloads before the run stops with an error
    device: str = "auto"  # auto, cpu or cuda

    def __post_init__(self) -> None:
        _check(self.optimizer in ("adam", "adamw"), "train.optimizer", "adam or adamw", self.optimizer)
        _check(self.lr > 0, "train.lr", "a positive number", self.lr)
        _check(len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas), "train.betas",
               "two numbers in [0, 1)", self.betas)
        _check(self.eps > 0, "train.eps", "a positive number", self.eps)
        _check(self.weight_decay >= 0, "train.weight_decay", "a number >= 0", self.weight_decay)
        _check(self.schedule in ("constant", "exponential", "noam", "cosine"), "train.schedule",
               "constant, exponential, noam or cosine", self.schedule)
        _check(self.warmup_steps >= 0, "train.warmup_steps", "an integer >= 0", self.warmup_steps)
        _check(0 < self.decay_rate <= 1, "train.decay_rate", "a number in (0, 1]", self.decay_rate)
        _check(self.decay_steps > 0, "train.decay_steps", "a positive integer", self.decay_steps)
        _check(0 <= self.min_lr <= self.lr, "train.min_lr", f"a number in [0, lr ({self.lr:g})]", self.min_lr)
        _check(all(m > 0 for m in self.milestones) and list(self.milestones) == sorted(set(self.milestones)),
               "train.milestones", "increasing positive step numbers", self.milestones)
        _check(0 < self.milestone_factor <= 1, "train.milestone_factor", "a number in (0, 1]", self.milestone_factor)
        _check(self.grad_clip is None or self.grad_clip > 0, "train.grad_clip", "a positive number or null",
               self.grad_clip)
        for key in ("accumulate", "batch_size", "max_steps", "checkpoint_every", "validate_every", "log_every",
                    "nan_patience"):
            _check(getattr(self, key) > 0, f"train.{key}", "a positive integer", getattr(self, key))
        _check(self.epochs is None or self.epochs > 0, "train.epochs", "a positive integer or null", self.epochs)
        _check(self.validation_batches is None or self.validation_batches > 0, "train.validation_batches",
               "a positive integer or null", self.validation_batches)
        _check(self.precision in ("fp32", "bf16", "fp16"), "train.precision", "fp32, bf16 or fp16", self.precision)
        _check(self.ema_decay is None or 0 < self.ema_decay < 1, "train.ema_decay", "a number in (0, 1) or null",
               self.ema_decay)
        _check(self.keep_last >= 1, "train.keep_last", "an integer >= 1", self.keep_last)
        _check(self.num_workers >= 0, "train.num_workers", "an integer >= 0", self.num_workers)
        _check(0 < self.nan_lr_factor < 1, "train.nan_lr_factor", "a number in (0, 1)", self.nan_lr_factor)
        _check(self.nan_max_reloads >= 0, "train.nan_max_reloads", "an integer >= 0", self.nan_max_reloads)
        _check(self.device in ("auto", "cpu", "cuda"), "train.device", "auto, cpu or cuda", self.device)


@dataclass
class WaveNetConfig:
    """The ``wavenet:`` section: shape, output distribution and conditioning of the WaveNet vocoder.

    Mel size, hop length and the mu-law class count come from ``audio:`` so they cannot disagree.
    The defaults are the small preset (``configs/wavenet-small.yaml``).
    """

    layers: int = 12
    stacks: int = 2  # dilations 1, 2, 4 ... restart in every stack
    residual_channels: int = 64
    gate_channels: int = 128  # split in halves for tanh and sigmoid
    skip_channels: int = 64
    kernel_size: int = 3
    output: str = "softmax"  # softmax: mu-law classes (audio.mulaw_channels); mol: mixture of logistics, 16 bit
    mixtures: int = 10  # logistic components of output "mol"
    log_scale_min: float = -7.0  # floor of the logistic log scales
    local_conditioning: bool = True  # condition on mel; false: unconditional audio model
    upsample_scales: list[int] = field(default_factory=lambda: [4, 4, 4, 4])  # must multiply to audio.hop_length
    encoder_blocks: int = 0  # residual conv blocks over the mel frames before upsampling; 0: none
    encoder_channels: int = 128  # channels inside an encoder block
    encoder_kernel: int = 3  # frames seen by an encoder block's first conv (odd)
    preemphasis: float = 0.0  # model x[t] - a x[t-1] (a in [0, 1)); generated audio is de-emphasised
    excitation: str = "none"  # "lpc": linear prediction from the mel does the envelope, the net the excitation
    lpc_order: int = 16  # order of that prediction
    excitation_noise: float = 0.0  # training: std (mu-law classes) of the errors injected into the coded past
    n_speakers: int = 0  # > 1: global conditioning on a learned speaker embedding
    speaker_channels: int = 16
    dropout: float = 0.0
    window_frames: int = 8  # mel frames per training window (window_frames * hop_length samples)
    validation_seconds: float = 0.5  # audio generated per validation for the logs; 0 disables

    def __post_init__(self) -> None:
        for key in ("layers", "stacks", "residual_channels", "gate_channels", "skip_channels", "kernel_size",
                    "mixtures", "speaker_channels", "window_frames"):
            _check(getattr(self, key) > 0, f"wavenet.{key}", "a positive integer", getattr(self, key))
        _check(self.layers % self.stacks == 0, "wavenet.layers", f"a multiple of stacks ({self.stacks})", self.layers)
        _check(self.gate_channels % 2 == 0, "wavenet.gate_channels", "an even integer", self.gate_channels)
        _check(self.output in ("softmax", "mol"), "wavenet.output", "softmax or mol", self.output)
        _check(len(self.upsample_scales) > 0 and all(s > 0 for s in self.upsample_scales), "wavenet.upsample_scales",
               "a list of positive integers", self.upsample_scales)
        _check(self.n_speakers >= 0, "wavenet.n_speakers", "an integer >= 0", self.n_speakers)
        _check(0 <= self.preemphasis < 1, "wavenet.preemphasis", "a number in [0, 1)", self.preemphasis)
        _check(self.encoder_blocks >= 0, "wavenet.encoder_blocks", "an integer >= 0", self.encoder_blocks)
        _check(self.encoder_channels > 0, "wavenet.encoder_channels", "a positive integer", self.encoder_channels)
        _check(self.encoder_kernel > 0 and self.encoder_kernel % 2 == 1, "wavenet.encoder_kernel",
               "a positive odd integer", self.encoder_kernel)
        _check(0 <= self.dropout < 1, "wavenet.dropout", "a number in [0, 1)", self.dropout)
        _check(self.excitation in ("none", "lpc"), "wavenet.excitation", "none or lpc", self.excitation)
        _check(self.excitation == "none" or (self.output == "softmax" and self.local_conditioning),
               "wavenet.excitation", "none unless output is softmax and the model is mel-conditioned", self.excitation)
        _check(self.lpc_order > 0, "wavenet.lpc_order", "a positive integer", self.lpc_order)
        _check(self.excitation_noise >= 0, "wavenet.excitation_noise", "a number >= 0", self.excitation_noise)
        _check(self.validation_seconds >= 0, "wavenet.validation_seconds", "a number >= 0", self.validation_seconds)


@dataclass
class TacotronConfig:
    """The ``tacotron:`` section: structure, losses and inference of Tacotron 2 (or the Tacotron 1 variant).

    The defaults are the paper's Tacotron 2 sizes (``configs/tacotron2.yaml``). Mel size, the symbol
    count and the speaker count come from ``audio:``, ``text:`` and the features folder.
    """

    variant: str = "tacotron2"  # tacotron2: conv + BiLSTM encoder, conv postnet; tacotron1: CBHG both
    embedding_dim: int = 512
    encoder_convs: int = 3
    encoder_kernel: int = 5
    encoder_dim: int = 512  # encoder output size (both LSTM directions together)
    cbhg_banks: int = 16  # tacotron1: convolution bank of kernel sizes 1..cbhg_banks
    cbhg_highways: int = 4
    attention_dim: int = 128
    location_filters: int = 32
    location_kernel: int = 31
    prenet_dims: list[int] = field(default_factory=lambda: [256, 256])
    prenet_dropout: float = 0.5  # kept on at inference (Shen et al. 2018, section 2.3)
    decoder_dim: int = 1024  # both decoder LSTM layers
    decoder_dropout: float = 0.1
    reduction_factor: int = 1  # mel frames predicted per decoder step
    postnet_dim: int = 512
    postnet_convs: int = 5
    postnet_kernel: int = 5
    dropout: float = 0.5  # encoder and postnet convolutions
    n_speakers: int = 0  # > 1: learned speaker embedding; 0: taken from the features folder
    speaker_dim: int = 64
    stop_pos_weight: float = 5.0  # positive weight of the stop-token BCE (one stop frame per sentence)
    guided_attention_weight: float = 1.0  # Tachibana et al. 2017; 0 disables
    guided_attention_sigma: float = 0.2
    guided_attention_decay_steps: int = 5000  # the weight halves every this many training steps
    stop_threshold: float = 0.5
    max_decoder_steps: int = 1000  # inference guard (decoder steps, each reduction_factor frames)
    # Inference only: [back, forward] tokens around the last alignment peak that attention may look at
    # (ESPnet's attention constraint); it cannot skip ahead or fall back. Empty: unconstrained.
    attention_window: list[int] = field(default_factory=list)
    # Share of decoder steps fed the model's own previous frame instead of the recording's in training
    # (parallel scheduled sampling, Duckworth et al. 2019: a teacher-forced pass without gradient makes
    # the frames, a second pass learns from inputs mixed from both); 0 is plain teacher forcing.
    scheduled_sampling: float = 0.0

    def __post_init__(self) -> None:
        _check(self.variant in ("tacotron2", "tacotron1"), "tacotron.variant", "tacotron2 or tacotron1", self.variant)
        for key in ("embedding_dim", "encoder_convs", "encoder_kernel", "encoder_dim", "cbhg_banks", "attention_dim",
                    "location_filters", "location_kernel", "decoder_dim", "reduction_factor", "postnet_dim",
                    "postnet_convs", "postnet_kernel", "speaker_dim", "guided_attention_decay_steps",
                    "max_decoder_steps"):
            _check(getattr(self, key) > 0, f"tacotron.{key}", "a positive integer", getattr(self, key))
        _check(self.encoder_dim % 2 == 0, "tacotron.encoder_dim", "an even integer (two LSTM directions)",
               self.encoder_dim)
        _check(self.encoder_kernel % 2 == 1 and self.location_kernel % 2 == 1 and self.postnet_kernel % 2 == 1,
               "tacotron.encoder_kernel", "odd kernel sizes (encoder, location, postnet)",
               (self.encoder_kernel, self.location_kernel, self.postnet_kernel))
        _check(self.cbhg_highways >= 0, "tacotron.cbhg_highways", "an integer >= 0", self.cbhg_highways)
        _check(len(self.prenet_dims) > 0 and all(d > 0 for d in self.prenet_dims), "tacotron.prenet_dims",
               "a list of positive integers", self.prenet_dims)
        for key in ("prenet_dropout", "decoder_dropout", "dropout"):
            _check(0 <= getattr(self, key) < 1, f"tacotron.{key}", "a number in [0, 1)", getattr(self, key))
        _check(0 <= self.scheduled_sampling <= 1, "tacotron.scheduled_sampling", "a number in [0, 1]",
               self.scheduled_sampling)
        _check(self.n_speakers >= 0, "tacotron.n_speakers", "an integer >= 0", self.n_speakers)
        _check(self.stop_pos_weight > 0, "tacotron.stop_pos_weight", "a positive number", self.stop_pos_weight)
        _check(self.guided_attention_weight >= 0, "tacotron.guided_attention_weight", "a number >= 0",
               self.guided_attention_weight)
        _check(self.guided_attention_sigma > 0, "tacotron.guided_attention_sigma", "a positive number",
               self.guided_attention_sigma)
        _check(0 < self.stop_threshold < 1, "tacotron.stop_threshold", "a number in (0, 1)", self.stop_threshold)
        check_attention_window(self.attention_window, "tacotron.attention_window")


def check_attention_window(window, name: str) -> None:
    _check(len(window) == 0 or (len(window) == 2 and all(isinstance(v, int) for v in window)
                                and window[0] >= 0 and window[1] >= 1), name,
           "[] or [back >= 0, forward >= 1] (tokens)", window)


@dataclass
class Mel2LinearConfig:
    """The ``mel2linear:`` section: a mel -> linear-spectrogram network for Griffin-Lim.

    Tacotron 1's CBHG post-net (Wang et al. 2017) trained on its own: it restores the harmonics that
    the pseudo-inverse of the mel filterbank smears. Trained on a Tacotron's ground-truth-aligned mels
    (``wavetron gta``) it also undoes that Tacotron's smoothing. Mel size and ``n_fft`` come from ``audio:``.
    """

    channels: int = 128  # bank convolutions, highway layers and each GRU direction
    banks: int = 8  # convolution bank of kernel sizes 1..banks
    highways: int = 4
    window_frames: int = 64  # mel frames per training window

    def __post_init__(self) -> None:
        for key in ("channels", "banks", "window_frames"):
            _check(getattr(self, key) > 0, f"mel2linear.{key}", "a positive integer", getattr(self, key))
        _check(self.highways >= 0, "mel2linear.highways", "an integer >= 0", self.highways)
        _check(self.window_frames >= 8, "mel2linear.window_frames", "at least 8 frames", self.window_frames)


@dataclass
class Config:
    """The root of a configuration file: one section per concern."""

    audio: AudioConfig = field(default_factory=AudioConfig)
    text: TextConfig = field(default_factory=TextConfig)
    data: DataConfig = field(default_factory=DataConfig)
    wavenet: WaveNetConfig = field(default_factory=WaveNetConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    tacotron: TacotronConfig = field(default_factory=TacotronConfig)
    mel2linear: Mel2LinearConfig = field(default_factory=Mel2LinearConfig)


def _check(ok: bool, key: str, expected: str, value: Any) -> None:
    if not ok:
        raise ConfigError(f"{key}: expected {expected}, got {value!r}")


# YAML 1.1 reads an exponent without a decimal point ("3e-4") as a string
_EXPONENT_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """Check ``value`` against the type ``hint``; ints, and strings such as ``3e-4``, are accepted where
    floats are expected."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, key)
            except ConfigError as err:
                errors.append(err)
        raise errors[0]
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        (item,) = typing.get_args(hint)[:1] or (Any,)
        items = [_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, key)
    if hint is Any:
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str) and _EXPONENT_FLOAT.fullmatch(value.strip()):
        return float(value)
    if hint is bool and not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if hint in (int, float) and isinstance(value, bool):
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if isinstance(hint, type) and not isinstance(value, hint):
        raise ConfigError(f"{key}: expected {hint.__name__}, got {value!r}")
    return value


def from_dict(cls: type[T], data: Any, prefix: str = "") -> T:
    """Build dataclass ``cls`` from a mapping; unknown keys and wrong types raise ConfigError."""
    where = prefix or "config"
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of keys to values, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        key = f"{prefix}.{unknown[0]}" if prefix else str(unknown[0])
        raise ConfigError(f"unknown config key '{key}' (known: {', '.join(sorted(names))})")
    kwargs = {name: _coerce(value, hints[name], f"{prefix}.{name}" if prefix else name)
              for name, value in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as err:  # a missing required field
        raise ConfigError(f"{where}: {err}") from None


def to_dict(config: Any) -> dict:
    """Plain nested dict of a dataclass (tuples become lists, so YAML/JSON stay simple)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``section.key=value`` into its key path and a YAML-parsed value."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected section.key=value")
    key, raw = text.split("=", 1)
    path = [part for part in key.strip().split(".") if part]
    if not path:
        raise ConfigError(f"--set {text!r}: expected section.key=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return path, value


def apply_overrides(data: dict, overrides: Iterable[str]) -> dict:
    """Apply ``section.key=value`` overrides to a nested dict (in place) and return it."""
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {text!r}: '{part}' is a value, not a section")
        node[path[-1]] = value
    return data


def read_yaml(path: str | Path) -> dict:
    """Read a YAML mapping from ``path`` with one-line errors for a missing or malformed file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections (audio:, text:, ...), got {type(data).__name__}")
    return data


def load_config(path: str | Path | None = None, overrides: Iterable[str] = (), cls: type[T] = Config) -> T:
    """Defaults, then the YAML file ``path`` (if any), then ``--set`` overrides."""
    data = read_yaml(path) if path else {}
    apply_overrides(data, overrides)
    return from_dict(cls, data)


def save_config(config: Any, path: str | Path) -> None:
    """Write a dataclass config as YAML, atomically."""
    from .io import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(to_dict(config), sort_keys=False))
