"""A mel -> linear-spectrogram network: Tacotron 1's CBHG post-net as a model of its own.

Griffin-Lim needs a linear magnitude. The pseudo-inverse of the mel filterbank gives one in which
every harmonic above a few hundred hertz is smeared over its mel band; this network predicts the
log linear magnitude from the log-mel instead, so Griffin-Lim gets harmonics back. Trained on a
Tacotron's ground-truth-aligned mels (:mod:`wavetron.preprocess.gta`) it also learns to sharpen
that Tacotron's over-smoothed output.

Registered as ``mel2linear``; trained on windows of a features folder (``mel2linear.window_frames``
frames of mel and the matching audio, whose STFT is the target).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..config import AudioConfig, Config, Mel2LinearConfig
from .attention import lengths_mask
from .tacotron_layers import LinearPostnet


class MelToLinear(nn.Module):
    """Log-mel ``(B, n_mels, T)`` -> log linear magnitude ``(B, n_fft // 2 + 1, T)``.

    Args:
        config: the ``mel2linear:`` section.
        audio: the features' audio settings (mel size, FFT size, log floor).
    """

    def __init__(self, config: Mel2LinearConfig, audio: AudioConfig) -> None:
        super().__init__()
        self.config, self.audio = config, audio
        self.n_freq = audio.n_fft // 2 + 1
        self.postnet = LinearPostnet(audio.n_mels, self.n_freq, config.channels, config.banks, config.highways)
        self.pad_value = math.log(audio.log_floor)
        # STFT frames within this many frames of a window's edge see zero padding instead of the
        # neighbouring audio, so they are left out of the loss
        self.edge = math.ceil(audio.n_fft / 2 / audio.hop_length)

    def forward(self, mels: Tensor, lengths: Tensor | None = None) -> Tensor:
        """``(B, n_mels, T)`` log-mels and lengths ``(B,)`` -> ``(B, n_freq, T)`` log magnitudes."""
        if mels.ndim != 3 or mels.shape[1] != self.audio.n_mels:
            raise ValueError(f"expected log-mels shaped (B, {self.audio.n_mels}, T), got {tuple(mels.shape)}")
        out = self.postnet(mels, lengths)
        if lengths is not None:
            out = out.masked_fill(~lengths_mask(lengths, mels.shape[-1]).unsqueeze(1), self.pad_value)
        return out

    @torch.no_grad()
    def magnitude(self, mels: Tensor, lengths: Tensor | None = None) -> Tensor:
        """``|STFT|`` for Griffin-Lim: ``(B, n_mels, T)`` or ``(n_mels, T)`` -> ``(B, n_freq, T)`` or ``(n_freq, T)``."""
        batched = mels.ndim == 3
        log = self(mels if batched else mels.unsqueeze(0), lengths).float()
        magnitude = log.clamp(max=math.log(self.audio.n_fft)).exp()  # no STFT of [-1, 1] audio is larger
        return magnitude if batched else magnitude.squeeze(0)

    @torch.no_grad()
    def refine(self, mels: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The log-mel of the predicted spectrum: ``(B, n_mels, T)`` -> ``(B, n_mels, T)``, padding frames at the floor.

        Trained on a Tacotron's ground-truth-aligned mels, the network maps that Tacotron's over-smoothed
        output towards the spectra of real recordings; the mel of its prediction is then a sharper mel,
        in the features' own units (``log(max(filterbank @ |STFT| ** power, log_floor))``), for a vocoder.
        """
        from ..audio import mel_filterbank

        basis = mel_filterbank(self.audio, mels.device)  # (n_mels, n_freq)
        power = self.magnitude(mels, lengths).pow(self.audio.power)  # (B, n_freq, T)
        out = torch.log((basis @ power).clamp_min(self.audio.log_floor)).to(mels.dtype)
        if lengths is not None:
            out = out.masked_fill(~lengths_mask(lengths, mels.shape[-1]).unsqueeze(1), self.pad_value)
        return out

    def loss(self, batch) -> dict[str, Tensor]:
        """Masked L1 between predicted and real log linear magnitudes: keys ``loss`` and ``linear/l1``.

        ``batch``: :class:`wavetron.data.Batch` with ``mels`` ``(B, n_mels, F)``, ``mel_lengths`` and the
        aligned ``audio`` ``(B, F * hop)``. Frames within ``edge`` of a window's ends are left out.
        """
        from ..audio import log_magnitude

        frames = batch.mels.shape[-1]
        lengths = batch.mel_lengths if batch.mel_lengths is not None else torch.full(
            (batch.mels.shape[0],), frames, device=batch.mels.device)
        predicted = self(batch.mels, lengths).float()
        target = log_magnitude(batch.audio.float(), self.audio)[..., :frames]  # (B, n_freq, F)
        mask = lengths_mask(lengths - self.edge, frames)  # (B, F)
        mask[:, : self.edge] = False
        if not bool(mask.any()):  # windows too short for an interior frame: use every frame
            mask = lengths_mask(lengths, frames)
        mask = mask.unsqueeze(1).float()
        l1 = ((predicted - target).abs() * mask).sum() / (mask.sum() * self.n_freq)
        return {"loss": l1, "linear/l1": l1.detach()}


def build_mel2linear(config: Config) -> MelToLinear:
    """The network of a root config (``mel2linear:`` and ``audio:``)."""
    return MelToLinear(config.mel2linear, config.audio)


def mel2linear_datasets(features_dir, config: Config):
    """Windows of ``mel2linear.window_frames`` frames of a features folder (ground-truth or GTA mels)."""
    from ..data import window_datasets

    return window_datasets(features_dir, config, config.mel2linear.window_frames)


def _register() -> None:
    from .registry import ModelSpec, register_model

    register_model(ModelSpec(name="mel2linear", section="mel2linear", build=build_mel2linear,
                             datasets=mel2linear_datasets))


_register()

__all__ = ["MelToLinear", "build_mel2linear", "mel2linear_datasets"]
