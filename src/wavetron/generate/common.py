"""What every generation path shares: the request, the result, the random numbers and the sampler.

Every path draws its randomness from the same table of uniforms, ``(B, T, 2)`` float32 from
``numpy.random.default_rng(seed)``, and samples by inverse CDF. A fixed seed therefore reproduces
the output of a path, and paths that compute the same logits draw the same samples.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Request:
    """A generation job with its length and randomness fixed.

    Attributes:
        mel: ``(B, n_mels, frames)`` on the model's device, or None (unconditional).
        speakers: ``(B,)`` speaker ids, or None.
        batch: number of streams ``B``. length: samples per stream.
        prompt: ``(B, P)`` encoded samples (classes or values) imposed on the first ``P`` steps; the
            network still runs on them, so with ``P == length`` the run is teacher-forced.
        temperature: softmax temperature; 0 takes the argmax (the mean of the likeliest logistic).
        uniforms: ``(B, length, 2)`` float32 in [0, 1).
        record_logits: keep the network output of every step.
    """

    mel: torch.Tensor | None
    speakers: torch.Tensor | None
    batch: int
    length: int
    prompt: torch.Tensor | None
    temperature: float
    uniforms: np.ndarray
    record_logits: bool = False

    @property
    def prompt_length(self) -> int:
        return 0 if self.prompt is None else int(self.prompt.shape[1])


@dataclass
class Generated:
    """The result of a generation path.

    Attributes:
        samples: ``(B, T)`` encoded samples (long mu-law classes, or float values for the mixture output).
        audio: ``(B, T)`` float32 waveform in [-1, 1].
        logits: ``(B, out_channels, T)`` network outputs of every step when recorded, else None.
    """

    samples: torch.Tensor
    audio: torch.Tensor
    logits: torch.Tensor | None = None


def draw_uniforms(seed: int, batch: int, length: int) -> np.ndarray:
    """The uniforms of :class:`Request`: ``(batch, length, 2)`` float32 in [0, 1), from ``seed``."""
    return np.random.default_rng(seed).random((batch, length, 2), dtype=np.float32)


def sample_softmax(logits: torch.Tensor, uniforms: torch.Tensor, temperature: float) -> torch.Tensor:
    """Inverse-CDF draw from ``softmax(logits / temperature)``.

    Args: logits ``(B, C)``; uniforms ``(B,)``. Returns ``(B,)`` long class indices.
    """
    if temperature <= 0:
        return logits.argmax(dim=1)
    probs = torch.softmax(logits.float() / temperature, dim=1)
    cdf = probs.cumsum(dim=1)
    # first class whose CDF exceeds u * total (the total is 1 up to rounding)
    pick = torch.searchsorted(cdf, (uniforms * cdf[:, -1]).unsqueeze(1), right=True)[:, 0]
    return pick.clamp(max=logits.shape[1] - 1)
