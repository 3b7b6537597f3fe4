"""What every generation path shares: the request, the result, the random numbers and the sampler.

Every path draws its randomness from the same table of uniforms, ``(B, T, 2)`` float32 from
``numpy.random.default_rng(seed)``, and samples by inverse CDF. A fixed seed therefore reproduces
the output of a path, and paths that compute the same logits draw the same samples.

The temperature is one number for the whole request, or, where ``Request.temperatures`` is set, one
float32 per stream and sample (e.g. lower in voiced frames, see :func:`frame_temperatures_to_samples`);
every path divides the logits of step ``t`` of stream ``b`` by ``temperatures[b, t]`` then, and draws
the argmax where it is 0.
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
        temperatures: ``(B, length)`` float32 per-sample temperatures that replace ``temperature``, or
            None; softmax output only (the mixture's sampler takes one temperature).
    """

    mel: torch.Tensor | None
    speakers: torch.Tensor | None
    batch: int
    length: int
    prompt: torch.Tensor | None
    temperature: float
    uniforms: np.ndarray
    record_logits: bool = False
    temperatures: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.temperatures is not None:
            self.temperatures = np.ascontiguousarray(self.temperatures, dtype=np.float32)
            if self.temperatures.shape != (self.batch, self.length):
                raise ValueError(f"temperatures are {self.temperatures.shape}, expected (batch, length) = "
                                 f"{(self.batch, self.length)}")
            if not np.isfinite(self.temperatures).all():
                raise ValueError("temperatures hold NaN or infinite values")

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


def frame_temperatures_to_samples(frame_temperatures: torch.Tensor, hop_length: int, length: int) -> np.ndarray:
    """Per-frame temperatures ``(B, F)`` -> per-sample ``(B, length)`` float32, linearly interpolated.

    Frame ``f`` is centred on sample ``f * hop_length`` (the STFT's ``center``); samples past the last
    frame's centre hold its value.
    """
    values = frame_temperatures.detach().double().cpu()
    frames = values.shape[1]
    position = torch.arange(length, dtype=torch.float64) / hop_length
    left = position.floor().long().clamp(max=frames - 1)
    right = (left + 1).clamp(max=frames - 1)
    weight = (position - left).clamp(0.0, 1.0)
    out = values[:, left] * (1 - weight) + values[:, right] * weight
    return np.ascontiguousarray(out.numpy().astype(np.float32))


def step_temperature(req: Request, t: int, device: torch.device | str) -> float | torch.Tensor:
    """The temperature of step ``t``: the request's scalar, or its column ``(B,)`` of per-sample temperatures."""
    if req.temperatures is None:
        return req.temperature
    return torch.from_numpy(req.temperatures[:, t]).to(device)


def sample_softmax(logits: torch.Tensor, uniforms: torch.Tensor, temperature: float | torch.Tensor) -> torch.Tensor:
    """Inverse-CDF draw from ``softmax(logits / temperature)``.

    Args: logits ``(B, C)``; uniforms ``(B,)``; temperature: a number, or ``(B,)`` float32 (one per row; 0 is
        that row's argmax). Returns ``(B,)`` long class indices.
    """
    if isinstance(temperature, torch.Tensor):
        return _sample_softmax_rows(logits, uniforms, temperature)
    if temperature <= 0:
        return logits.argmax(dim=1)
    probs = torch.softmax(logits.float() / temperature, dim=1)
    cdf = probs.cumsum(dim=1)
    # first class whose CDF exceeds u * total (the total is 1 up to rounding)
    pick = torch.searchsorted(cdf, (uniforms * cdf[:, -1]).unsqueeze(1), right=True)[:, 0]
    return pick.clamp(max=logits.shape[1] - 1)


def _sample_softmax_rows(logits: torch.Tensor, uniforms: torch.Tensor, temperature: torch.Tensor) -> torch.Tensor:
    """:func:`sample_softmax` with a float32 temperature per row: the same arithmetic, row by row."""
    greedy = temperature <= 0
    scale = torch.where(greedy, torch.ones_like(temperature), temperature).float()
    probs = torch.softmax(logits.float() / scale[:, None], dim=1)
    cdf = probs.cumsum(dim=1)
    pick = torch.searchsorted(cdf, (uniforms * cdf[:, -1]).unsqueeze(1), right=True)[:, 0]
    return torch.where(greedy, logits.argmax(dim=1), pick.clamp(max=logits.shape[1] - 1))


class ExcitationLoop:
    """The linear-prediction side of generating with an excitation WaveNet, one step at a time (torch, float64).

    Before step ``t`` it predicts ``p_t = -sum_k a_k(t) s_{t-k}`` from the generated signal and gives the
    network's three input classes; after the step it adds the sampled excitation: ``s_t = p_t + e_t``,
    clipped to [-1, 1]. The arithmetic is that of :func:`wavetron.audio.lpc.closed_loop_excitation`
    (float64, the same expansion table), so a teacher-forced run reproduces training's inputs exactly.

    Args: model: an excitation :class:`~wavetron.models.wavenet.WaveNet`; req: the request (its mel).
    """

    def __init__(self, model, req: Request) -> None:
        from ..audio.lpc import expansion_table
        from ..models.wavenet import mulaw_quantize

        self.quantize, self.classes = mulaw_quantize, model.dims.classes
        self.coefficients = model.lpc_coefficients(req.mel, req.length).double()  # (B, T, order)
        B, order = req.batch, self.coefficients.shape[-1]
        device = req.mel.device
        self.table = torch.from_numpy(expansion_table(self.classes)).to(device)
        self.history = torch.zeros(B, order, dtype=torch.float64, device=device)  # s_{t-1}, ..., s_{t-order}
        self.signal = torch.zeros(B, req.length, dtype=torch.float64, device=device)
        self.previous_class = torch.full((B,), model.start_value(), dtype=torch.long, device=device)
        self.prediction = torch.zeros(B, dtype=torch.float64, device=device)

    def inputs(self, t: int) -> torch.Tensor:
        """The input classes of step ``t``: ``(B, 3)`` long (previous sample, prediction, previous excitation)."""
        order = min(t, self.history.shape[1])
        # the same order of summation as the closed loop: k = 1, 2, ...
        p = torch.zeros_like(self.prediction)
        for k in range(order):
            p = p - self.coefficients[:, t, k] * self.history[:, k]
        self.prediction = p
        previous = self.quantize(self.history[:, 0], self.classes)
        return torch.stack([previous, self.quantize(p.clamp(-1, 1), self.classes), self.previous_class], dim=1)

    def push(self, t: int, excitation_class: torch.Tensor) -> None:
        """Add the sampled excitation class ``(B,)`` of step ``t`` to the signal."""
        sample = (self.prediction + self.table[excitation_class]).clamp(-1, 1)
        self.signal[:, t] = sample
        self.history = torch.cat([sample[:, None], self.history[:, :-1]], dim=1)
        self.previous_class = excitation_class
