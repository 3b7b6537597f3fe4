"""WaveNet (van den Oord et al. 2016): p(x_t | x_<t, mel, speaker) with dilated causal convolutions.

Tensors are channel-first ``(B, C, T)``. The network is fed the waveform shifted right by one sample
(``x_in[t] = x[t - 1]``, ``x_in[0]`` = silence), so output ``t`` sees samples ``< t`` and the
conditioning at ``t``, and predicts sample ``t``. Outputs are either the logits of ``classes`` mu-law
bins (softmax, the paper's) or the parameters of a discretized mixture of logistics (16-bit audio).

Generation (naive, cached torch queues, compiled CPU loop, batched, folded) lives in
:mod:`wavetron.generate`; :meth:`WaveNet.generate` is the entry point.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .layers import MelEncoder, ResidualLayer, UpsampleNetwork, upsample_margin
from .mol import mol_nll


def mulaw_quantize(x: torch.Tensor, classes: int = 256) -> torch.Tensor:
    """Waveform in [-1, 1] -> mu-law class indices in [0, classes), ``long``, same shape."""
    mu = classes - 1
    x = x.clamp(-1.0, 1.0)
    y = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
    return torch.floor((y + 1) / 2 * mu + 0.5).long()


def mulaw_expand(q: torch.Tensor, classes: int = 256) -> torch.Tensor:
    """Mu-law class indices -> waveform in [-1, 1] (float32), inverse of :func:`mulaw_quantize`."""
    mu = classes - 1
    y = 2 * q.float() / mu - 1
    return torch.sign(y) * ((1 + mu) ** y.abs() - 1) / mu


def preemphasize(audio: torch.Tensor, coef: float) -> torch.Tensor:
    """``y[t] = x[t] - coef * x[t - 1]`` along the last axis (``x[-1] = 0``); the input when ``coef`` is 0.

    Modelling the pre-emphasised signal and inverting after generation (:func:`deemphasize`, a
    low-pass) shapes the 8-bit mu-law noise like the speech spectrum, under which it is masked, as
    LPCNet does: on speech, mu-law coding alone then scores a far higher PESQ.
    """
    if not coef:
        return audio
    return torch.cat([audio[..., :1], audio[..., 1:] - coef * audio[..., :-1]], dim=-1)


def deemphasize(audio: torch.Tensor, coef: float) -> torch.Tensor:
    """Inverse of :func:`preemphasize`: ``x[t] = y[t] + coef * x[t - 1]`` (float32, same shape)."""
    if not coef:
        return audio
    from scipy.signal import lfilter

    out = lfilter([1.0], [1.0, -coef], audio.detach().cpu().double().numpy(), axis=-1)
    return torch.from_numpy(out).float().to(audio.device)


@dataclass
class WaveNetDims:
    """Everything needed to rebuild a WaveNet; saved with checkpoints via the config."""

    layers: int = 12
    stacks: int = 2
    residual_channels: int = 64
    gate_channels: int = 128
    skip_channels: int = 64
    kernel_size: int = 3
    output: str = "softmax"  # or "mol"
    classes: int = 256  # mu-law classes of the softmax output
    mixtures: int = 10
    log_scale_min: float = -7.0
    cond_channels: int = 80  # mel bins; 0: no local conditioning
    upsample_scales: tuple[int, ...] = (4, 4, 4, 4)
    hop_length: int = 256
    encoder_blocks: int = 0  # residual conv blocks over the mel frames before upsampling (MelEncoder)
    encoder_channels: int = 128
    encoder_kernel: int = 3
    preemphasis: float = 0.0  # model x[t] - a * x[t-1]; generated audio is de-emphasised
    excitation: str = "none"  # "lpc": predict the excitation of linear prediction from the mel (LPCNet)
    lpc_order: int = 16
    excitation_noise: float = 0.0  # training only: std in mu-law classes of errors injected into the coded past
    n_speakers: int = 0  # > 1: global conditioning
    speaker_channels: int = 16
    dropout: float = 0.0


class WaveNet(nn.Module):
    """Dilated causal convolution stacks with gated units, skip connections and an output head.

    With ``excitation="lpc"`` (LPCNet, Valin & Skoglund 2019) the network does not model the signal
    ``s`` itself: linear prediction from the mel (:mod:`wavetron.audio.lpc`) gives ``p_t`` from the
    past samples, and the network predicts the mu-law class of the excitation ``e_t = s_t - p_t``
    from three inputs per step: the previous sample, the current prediction and the previous
    excitation (each a mu-law class with its own embedding). Generation samples ``e_t`` and adds ``p_t``.

    Args:
        dims: the shape (see :class:`WaveNetDims`). Raises ``ValueError`` when the upsampling scales
            do not multiply to ``hop_length`` or the layers do not divide into the stacks.
        audio: the :class:`~wavetron.config.AudioConfig` of the mels; the excitation model needs it.
    """

    def __init__(self, dims: WaveNetDims, audio=None) -> None:
        super().__init__()
        if dims.excitation not in ("none", "lpc"):
            raise ValueError(f"excitation must be none or lpc, got {dims.excitation!r}")
        if dims.excitation == "lpc" and (audio is None or dims.output != "softmax" or not dims.cond_channels):
            raise ValueError("the excitation model needs softmax output, mel conditioning and the audio settings")
        self.audio = audio
        if dims.layers % dims.stacks:
            raise ValueError(f"layers ({dims.layers}) must be a multiple of stacks ({dims.stacks})")
        if dims.output not in ("softmax", "mol"):
            raise ValueError(f"output must be softmax or mol, got {dims.output!r}")
        self.dims = dims
        per_stack = dims.layers // dims.stacks
        self.dilations = [2 ** (i % per_stack) for i in range(dims.layers)]
        R, S = dims.residual_channels, dims.skip_channels
        if dims.output == "softmax":
            self.input = nn.Embedding(dims.classes, R)  # = a 1x1 conv of the one-hot input, without the zeros
            self.out_channels = dims.classes
            if dims.excitation == "lpc":  # the prediction p_t and the excitation e_{t-1}
                self.input_prediction = nn.Embedding(dims.classes, R)
                self.input_excitation = nn.Embedding(dims.classes, R)
        else:
            self.input = nn.Conv1d(1, R, 1)
            self.out_channels = 3 * dims.mixtures
        self.upsample = UpsampleNetwork(dims.upsample_scales, dims.hop_length) if dims.cond_channels else None
        self.encoder = (MelEncoder(dims.cond_channels, dims.encoder_channels, dims.encoder_kernel, dims.encoder_blocks)
                        if dims.cond_channels and dims.encoder_blocks else None)
        self.speaker = nn.Embedding(dims.n_speakers, dims.speaker_channels) if dims.n_speakers > 1 else None
        global_channels = dims.speaker_channels if self.speaker is not None else 0
        self.layers = nn.ModuleList(
            ResidualLayer(R, dims.gate_channels, S, dims.kernel_size, d, dims.cond_channels, global_channels,
                          residual_out=i < dims.layers - 1, dropout=dims.dropout)
            for i, d in enumerate(self.dilations))
        self.head1 = nn.Conv1d(S, S, 1)
        self.head2 = nn.Conv1d(S, self.out_channels, 1)
        # the sum of L skip outputs grows like sqrt(L); r9y9 scales it back
        self.skip_scale = math.sqrt(1.0 / dims.layers)

    # ----- shape facts -----
    @property
    def receptive_field(self) -> int:
        """Samples of audio history that one output sees (including the current input)."""
        return (self.dims.kernel_size - 1) * sum(self.dilations) + 1

    @property
    def conditional(self) -> bool:
        return self.upsample is not None

    @property
    def excitation(self) -> bool:
        """Whether the network models the LPC excitation (inputs ``(B, 3, T)``) rather than the signal."""
        return self.dims.excitation == "lpc"

    def start_value(self) -> int | float:
        """The input fed before the first sample: silence (the mu-law class of 0.0, or 0.0)."""
        if self.dims.output == "softmax":
            return int(mulaw_quantize(torch.zeros(()), self.dims.classes))
        return 0.0

    def encode_audio(self, audio: torch.Tensor) -> torch.Tensor:
        """Waveform ``(B, T)`` in [-1, 1] -> what the network reads and predicts (classes or values).

        With ``preemphasis`` the network models ``x[t] - a * x[t - 1]`` (clipped to [-1, 1]).
        """
        audio = preemphasize(audio, self.dims.preemphasis)
        return mulaw_quantize(audio, self.dims.classes) if self.dims.output == "softmax" else audio.clamp(-1, 1)

    def decode_audio(self, x: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`encode_audio`: ``(B, T)`` classes or values -> float waveform."""
        audio = mulaw_expand(x, self.dims.classes) if self.dims.output == "softmax" else x.float()
        return deemphasize(audio, self.dims.preemphasis)

    def shift(self, x: torch.Tensor) -> torch.Tensor:
        """Targets ``(B, T)`` -> network input ``(B, T)``: right by one, silence first."""
        start = torch.full_like(x[:, :1], self.start_value())
        return torch.cat([start, x[:, :-1]], dim=1)

    # ----- forward -----
    def embed_input(self, x_in: torch.Tensor) -> torch.Tensor:
        """``(B, T)`` classes (long) or values -> ``(B, R, T)``.

        The excitation model reads ``(B, 3, T)`` classes: previous sample, prediction, previous excitation.
        """
        if self.excitation:
            x = self.input(x_in[:, 0]) + self.input_prediction(x_in[:, 1]) + self.input_excitation(x_in[:, 2])
            return x.transpose(1, 2)
        if self.dims.output == "softmax":
            return self.input(x_in).transpose(1, 2)
        return self.input(x_in.unsqueeze(1).to(self.input.weight.dtype))

    def condition(self, mel: torch.Tensor | None, speakers: torch.Tensor | None, mel_context: int = 0,
                  ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Upsampled mel ``(B, n_mels, (frames - 2 * mel_context) * hop)`` and speaker embedding ``(B, E, 1)``.

        Either is None when unused. ``mel_context`` frames on each side of ``mel`` are read but not
        upsampled into the output (see :class:`~wavetron.data.AudioMelDataset`).
        """
        cond = None
        if self.upsample is not None:
            self.check_mel(mel)
            cond = self.upsample(self.encode_mel(mel))
            if mel_context:
                hop = self.dims.hop_length
                cond = cond[..., mel_context * hop:cond.shape[-1] - mel_context * hop]
        return cond, self.speaker_term(speakers)

    def encode_mel(self, mel: torch.Tensor) -> torch.Tensor:
        """``(B, n_mels, F)`` -> the frames the layers are conditioned on (the mel encoder's, when present)."""
        return mel if self.encoder is None else self.encoder(mel)

    def forward(self, x_in: torch.Tensor, mel: torch.Tensor | None = None,
                speakers: torch.Tensor | None = None, mel_context: int = 0) -> torch.Tensor:
        """The parallel (teacher-forced) pass.

        Args:
            x_in: ``(B, T)`` shifted input (see :meth:`shift`), classes or values.
            mel: ``(B, n_mels, frames)`` with ``(frames - 2 * mel_context) * hop >= T``.
            speakers: ``(B,)`` speaker ids. mel_context: frames of ``mel`` before (and after) the audio's.
        Returns: ``(B, out_channels, T)`` logits or mixture parameters.
        """
        glob = self.speaker_term(speakers)
        terms = self.conditioning_terms(mel, x_in.shape[-1], mel_context) if self.upsample is not None else None
        return self.run(x_in, None, glob, terms)

    def check_mel(self, mel: torch.Tensor | None) -> None:
        """Raise ``ValueError`` unless ``mel`` is ``(B, n_mels, frames)`` with this conditioned WaveNet's bins."""
        if mel is None:
            raise ValueError("this WaveNet is conditioned on mel: pass mel (B, n_mels, frames)")
        if mel.shape[1] != self.dims.cond_channels:
            raise ValueError(f"mel has {mel.shape[1]} bins, the WaveNet expects {self.dims.cond_channels}")

    def projected_frames(self, mel: torch.Tensor) -> torch.Tensor:
        """Every layer's 1x1 conditioning conv on the encoded frames, in one matmul: ``(B, L*G, F)``."""
        weight = torch.cat([layer.cond.weight[:, :, 0] for layer in self.layers])  # (L*G, n_mels)
        return torch.matmul(weight, self.encode_mel(mel))

    def speaker_term(self, speakers: torch.Tensor | None) -> torch.Tensor | None:
        """The speaker embedding ``(B, E, 1)``, or None for a model without speakers."""
        if self.speaker is None:
            return None
        if speakers is None:
            raise ValueError("this WaveNet is conditioned on a speaker: pass speakers (B,)")
        return self.speaker(speakers).unsqueeze(-1)

    def conditioning_terms(self, mel: torch.Tensor, length: int, mel_context: int = 0) -> list[torch.Tensor]:
        """What each layer's 1x1 conditioning conv adds, computed at frame rate: ``layers x (B, G, length)``.

        The convs are applied to the encoded frames in one matmul, then interpolated to samples with
        :meth:`UpsampleNetwork.frame_weights` (the upsampler is linear and per-bin, so the two commute):
        a projected frame serves ``hop_length`` samples, instead of one conv per sample and layer.
        Equals ``layer.cond(condition(mel)[0])`` for every layer, up to rounding.
        Args: mel ``(B, n_mels, frames)`` with ``mel_context`` frames on each side of the audio's.
        """
        self.check_mel(mel)
        hop, m = self.dims.hop_length, self.upsample.margin
        frames = -(-length // hop)
        if mel.shape[-1] - 2 * mel_context < frames:
            raise ValueError(f"conditioning covers {(mel.shape[-1] - 2 * mel_context) * hop} samples, input has {length}")
        projected = self.projected_frames(mel)  # (B, L*G, F)
        # window j of the padded frames is centred on frame j: keep the audio's frames only
        windows = F.pad(projected, (m, m)).unfold(-1, 2 * m + 1, 1)[:, :, mel_context:mel_context + frames]
        weights = self.upsample.frame_weights().t()  # (2m+1, hop)
        B, G = mel.shape[0], self.dims.gate_channels
        # one matmul per layer: each layer's gradient then flows back on its own, with no
        # (B, L*G, T) stack of all of them in the backward pass
        return [torch.matmul(windows[:, l * G:(l + 1) * G], weights).reshape(B, G, frames * hop)[..., :length]
                for l in range(self.dims.layers)]

    def run(self, x_in: torch.Tensor, cond: torch.Tensor | None, glob: torch.Tensor | None,
            cond_terms: list[torch.Tensor] | None = None) -> torch.Tensor:
        """The layer stack on prepared conditioning (see :meth:`condition`, :meth:`conditioning_terms`).

        Args: x_in ``(B, T)`` (``(B, 3, T)`` for the excitation model); cond ``(B, n_mels, >= T)`` or None;
            glob ``(B, E, 1)`` or None; cond_terms: per layer ``(B, G, T)``, used instead of ``cond``.
        Returns: ``(B, out_channels, T)``.
        """
        T = x_in.shape[-1]
        if cond is not None:
            if cond.shape[-1] < T:
                raise ValueError(f"conditioning covers {cond.shape[-1]} samples, input has {T}")
            cond = cond[..., :T]
        x = self.embed_input(x_in)
        skips = 0
        for i, layer in enumerate(self.layers):
            x, skip = layer(x, cond, glob, None if cond_terms is None else cond_terms[i])
            skips = skips + skip
        return self.head(skips)

    def head(self, skips: torch.Tensor) -> torch.Tensor:
        """Sum of skip outputs ``(B, S, T)`` -> ``(B, out_channels, T)``."""
        h = F.relu(skips * self.skip_scale)
        return self.head2(F.relu(self.head1(h)))

    def frame_conditioning(self, mel: torch.Tensor | None, speakers: torch.Tensor | None, batch: int = 1,
                           ) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor | None]:
        """The conditioning of all layers at frame rate, for the generators.

        Every layer's 1x1 conditioning conv is applied to the (zero-padded, encoded) mel frames in one matmul,
        before upsampling: the upsampling network is linear and per-bin, so the two commute, and a
        frame projected once serves ``hop_length`` samples. A sample's term is then
        ``sum_q u[j, q] * frames[f + q]`` with ``u`` from :meth:`UpsampleNetwork.frame_weights`.

        Args: mel ``(B, n_mels, F)`` or None; speakers ``(B,)`` or None; batch: B when both are None.
        Returns:
            frames: ``(B, F + 2 * margin, layers, gate_channels)`` projected padded frames, or None.
            const: ``(B, layers, gate_channels)`` conv biases plus the speaker terms.
            u: ``(hop, 2 * margin + 1)`` interpolation weights, or None.
        """
        L, G = self.dims.layers, self.dims.gate_channels
        if self.upsample is not None:
            self.check_mel(mel)  # checked, not upsampled: the frames are projected below
        glob = self.speaker_term(speakers)
        batch = mel.shape[0] if mel is not None else (speakers.shape[0] if speakers is not None else batch)
        const = torch.stack([layer.conv.bias for layer in self.layers]).expand(batch, L, G)  # (B, L, G)
        if glob is not None:
            weight = torch.cat([layer.glob.weight[:, :, 0] for layer in self.layers])  # (L*G, E)
            const = const + (glob[:, :, 0] @ weight.t()).view(batch, L, G)
        if self.upsample is None:
            return None, const.contiguous(), None
        m = self.upsample.margin
        padded = F.pad(self.projected_frames(mel), (m, m))  # (B, L*G, F + 2m)
        frames = padded.transpose(1, 2).reshape(batch, -1, L, G)
        return frames.contiguous(), const.contiguous(), self.upsample.frame_weights()

    def layer_conditioning(self, frames: torch.Tensor | None, const: torch.Tensor, u: torch.Tensor | None,
                           start: int, length: int) -> torch.Tensor:
        """Per-sample conditioning of all layers for samples ``start .. start + length - 1``.

        Args: the outputs of :meth:`frame_conditioning`.
        Returns: ``(B, length, layers, gate_channels)``: what each layer adds to its dilated conv.
        """
        B, L, G = const.shape
        out = const.unsqueeze(1).expand(B, length, L, G)
        if frames is None:
            return out.contiguous()
        hop = self.dims.hop_length
        t = torch.arange(start, start + length, device=const.device)
        frame, phase = t // hop, t % hop
        for q in range(u.shape[1]):
            out = out + u[phase, q].view(1, length, 1, 1) * frames[:, frame + q]
        return out

    # ----- linear prediction (excitation model) -----
    def lpc_coefficients(self, mel: torch.Tensor, length: int, mel_context: int = 0) -> torch.Tensor:
        """Per-sample predictor coefficients ``(B, length, lpc_order)`` of the modelled (pre-emphasised) signal.

        Args: mel ``(B, n_mels, frames)`` whose frame ``mel_context`` is centred on sample 0; the
            frames after the audio (right context) let the last hop interpolate as in the whole utterance.
        """
        from ..audio.lpc import mel_lpc

        frames = mel[..., mel_context:]
        return mel_lpc(frames, self.audio, self.dims.lpc_order, self.dims.preemphasis, length)

    def excitation_inputs(self, coded: dict[str, torch.Tensor]) -> torch.Tensor:
        """The network input ``(B, 3, T)`` of a closed-loop coding (see :func:`~wavetron.audio.lpc.closed_loop_excitation`).

        Step ``t`` reads the class of ``s~_{t-1}``, of ``p_t`` and the excitation class sent at ``t - 1``.
        """
        sent = coded["sent"]
        excitation = torch.cat([torch.full_like(sent[:, :1], self.start_value()), sent[:, :-1]], dim=1)
        return torch.stack([coded["previous_class"], coded["prediction_class"], excitation], dim=1)

    def code_excitation(self, audio: torch.Tensor, mel: torch.Tensor, mel_context: int = 0,
                        noise: float = 0.0, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Audio ``(B, T)`` -> its closed-loop excitation coding: ``signal``, ``prediction``, ``target``,
        ``sent`` ``(B, T)``, and ``inputs`` ``(B, 3, T)`` for the network.

        ``noise`` > 0 adds Gaussian class errors of that std to the coded past (LPCNet's noise injection):
        the inputs then carry errors like the network's own sampling, while ``prediction + target``
        still rebuilds the clean sample.
        """
        from ..audio.lpc import closed_loop_excitation

        signal = preemphasize(audio, self.dims.preemphasis).clamp(-1, 1)
        coefficients = self.lpc_coefficients(mel, audio.shape[1], mel_context)
        offsets = None
        if noise > 0:
            scale = torch.rand(audio.shape[0], 1, generator=generator) * noise  # per item, as LPCNet varies it
            offsets = torch.round(torch.randn(audio.shape, generator=generator) * scale).long()
        coded = closed_loop_excitation(signal, coefficients, self.dims.classes, offsets)
        coded["inputs"] = self.excitation_inputs(coded)
        return coded

    # ----- training -----
    def loss(self, batch) -> dict[str, torch.Tensor]:
        """Next-sample loss on ``batch.audio (B, T)`` with ``batch.mels (B, n_mels, T / hop)``.

        Positions past ``batch.audio_lengths`` are masked. Returns ``{"loss", "wavenet/ce"}`` (softmax,
        nats) or ``{"loss", "wavenet/nll"}`` (mixture of logistics, nats per sample).
        """
        audio = batch.audio
        mel = batch.mels if self.conditional else None
        speakers = batch.speakers if self.speaker is not None else None
        context = getattr(batch, "mel_context", 0)
        if self.excitation:
            coded = self.code_excitation(audio, mel, context, self.dims.excitation_noise if self.training else 0.0)
            target, x_in = coded["target"], coded["inputs"]
        else:
            target = self.encode_audio(audio)
            x_in = self.shift(target)
        out = self(x_in, mel, speakers, context)
        mask = None
        if batch.audio_lengths is not None:
            mask = torch.arange(audio.shape[1], device=audio.device)[None] < batch.audio_lengths[:, None]
        if self.dims.output == "softmax":
            ce = F.cross_entropy(out, target, reduction="none")  # (B, T)
            value = ce[mask].mean() if mask is not None else ce.mean()
            return {"loss": value, "wavenet/ce": value.detach()}
        if mask is not None and not bool(mask.all()):
            lengths = batch.audio_lengths.tolist()
            parts = [mol_nll(out[i:i + 1, :, :n], target[i:i + 1, :n], 65536, self.dims.log_scale_min) * n
                     for i, n in enumerate(lengths)]
            value = torch.stack(parts).sum() / sum(lengths)
        else:
            value = mol_nll(out, target, 65536, self.dims.log_scale_min)
        return {"loss": value, "wavenet/nll": value.detach()}

    # ----- sampling -----
    @torch.no_grad()
    def generate(self, mel: torch.Tensor | None = None, speakers: torch.Tensor | None = None,
                 length: int | None = None, prompt: torch.Tensor | None = None, method: str = "auto",
                 temperature: float = 1.0, seed: int = 0, sharpen: float = 0.0) -> torch.Tensor:
        """Sample audio. See :func:`wavetron.generate.generate`; returns a waveform ``(B, T)`` in [-1, 1]."""
        from ..generate import generate

        return generate(self, mel=mel, speakers=speakers, length=length, prompt=prompt, method=method,
                        temperature=temperature, seed=seed, sharpen=sharpen).audio


def dims_from_config(config) -> WaveNetDims:
    """The :class:`WaveNetDims` of a root :class:`~wavetron.config.Config` (``wavenet:`` + ``audio:``)."""
    w, a = config.wavenet, config.audio
    return WaveNetDims(
        layers=w.layers, stacks=w.stacks, residual_channels=w.residual_channels, gate_channels=w.gate_channels,
        skip_channels=w.skip_channels, kernel_size=w.kernel_size, output=w.output, classes=a.mulaw_channels,
        mixtures=w.mixtures, log_scale_min=w.log_scale_min, cond_channels=a.n_mels if w.local_conditioning else 0,
        upsample_scales=tuple(w.upsample_scales), hop_length=a.hop_length, encoder_blocks=w.encoder_blocks,
        encoder_channels=w.encoder_channels, encoder_kernel=w.encoder_kernel, preemphasis=w.preemphasis,
        excitation=w.excitation, lpc_order=w.lpc_order, excitation_noise=w.excitation_noise, n_speakers=w.n_speakers,
        speaker_channels=w.speaker_channels, dropout=w.dropout)


# ---------------------------------------------------------------------- training hookup
class WaveNetVocoder(WaveNet):
    """A :class:`WaveNet` that knows its audio settings: logs generated audio at validation.

    ``audio`` (an :class:`~wavetron.config.AudioConfig`) lets a vocoder refuse mels made with other
    settings and gives validation audio its sample rate.
    """

    def __init__(self, dims: WaveNetDims, audio=None, validation_seconds: float = 0.5) -> None:
        super().__init__(dims, audio)
        self.validation_seconds = validation_seconds

    @torch.no_grad()
    def validation_outputs(self, batch) -> dict:
        """Audio generated from the first item's mel (up to ``validation_seconds``), next to the real clip."""
        if self.validation_seconds <= 0 or batch.audio is None:
            return {}
        rate = self.audio.sample_rate if self.audio is not None else 22050
        hop, c = self.dims.hop_length, getattr(batch, "mel_context", 0)
        frames = batch.mels.shape[-1] if self.conditional else 0
        if batch.mel_lengths is not None and self.conditional:
            frames = int(batch.mel_lengths[0])
        frames -= 2 * c
        length = int(batch.audio_lengths[0]) if batch.audio_lengths is not None else batch.audio.shape[1]
        length = min(length, max(hop, int(self.validation_seconds * rate) // hop * hop))
        mel = batch.mels[:1, :, c:c + min(frames, -(-length // hop))] if self.conditional else None
        speakers = batch.speakers[:1] if self.speaker is not None else None
        wave = self.generate(mel, speakers, length=length, seed=0)[0]
        real = batch.audio[0, :length]
        return {"audio": {"generated": (wave.float().cpu(), rate), "target": (real.float().cpu(), rate)}}


def build_wavenet(config) -> WaveNetVocoder:
    """The WaveNet of a root config (``wavenet:`` and ``audio:``); bad shapes raise ConfigError."""
    from ..errors import ConfigError

    dims = dims_from_config(config)
    try:
        return WaveNetVocoder(dims, config.audio, config.wavenet.validation_seconds)
    except ValueError as err:
        key = "wavenet.upsample_scales" if "upsample" in str(err) else "wavenet"
        raise ConfigError(f"{key}: {err}") from None


def mel_reach(dims: WaveNetDims) -> int:
    """Mel frames on each side of a sample's frame that its conditioning depends on (a bound)."""
    return upsample_margin(dims.upsample_scales) + dims.encoder_blocks * (dims.encoder_kernel // 2)


def wavenet_datasets(features_dir, config):
    """Random windows of ``wavenet.window_frames`` frames for training; the same windows (epoch 0) for validation.

    Windows carry :func:`mel_reach` frames of mel context on each side, so that the conditioning of
    every sample of a window is what it is in the whole utterance, as in generation.
    """
    from ..data import window_datasets

    dims = dims_from_config(config)
    context = mel_reach(dims) if dims.cond_channels else 0
    return window_datasets(features_dir, config, config.wavenet.window_frames, context)


def _register() -> None:
    from .registry import ModelSpec, register_model

    register_model(ModelSpec(name="wavenet", section="wavenet", build=build_wavenet, datasets=wavenet_datasets))


_register()

__all__ = ["WaveNet", "WaveNetDims", "WaveNetVocoder", "build_wavenet", "deemphasize", "dims_from_config",
           "mel_reach", "mulaw_expand", "mulaw_quantize", "preemphasize", "wavenet_datasets"]
