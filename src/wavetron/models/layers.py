"""Building blocks of the WaveNet: the mel encoder, mel upsampling and the gated residual layer.

Tensors are channel-first: ``(B, C, T)``.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class MelEncoder(nn.Module):
    """Residual convolutions over mel frames, before upsampling: ``mel + W_2 relu(W_1 * mel)`` per block.

    The per-layer conditioning of a WaveNet is linear in the (upsampled) log-mel; these blocks give it
    a nonlinear view of a few neighbouring frames at frame rate, where it costs a hop's fraction of a
    per-sample layer. Every block's output conv starts at zero, so a new encoder is the identity and
    weights of a WaveNet without one load unchanged. Channel count and frame count are kept.

    Args:
        channels: mel bins. hidden: channels inside a block. kernel: odd width of the first conv (frames).
        blocks: number of residual blocks.
    """

    def __init__(self, channels: int, hidden: int, kernel: int, blocks: int) -> None:
        super().__init__()
        if kernel % 2 == 0:
            raise ValueError(f"mel encoder kernel must be odd (centred on its frame), got {kernel}")
        self.blocks = nn.ModuleList()
        for _ in range(blocks):
            block = nn.Sequential(nn.Conv1d(channels, hidden, kernel, padding=kernel // 2), nn.ReLU(),
                                  nn.Conv1d(hidden, channels, 1))
            nn.init.zeros_(block[2].weight)
            nn.init.zeros_(block[2].bias)
            self.blocks.append(block)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """``(B, n_mels, F)`` -> ``(B, n_mels, F)``; frames outside the utterance count as zeros."""
        for block in self.blocks:
            mel = mel + block(mel)
        return mel


def upsample_margin(scales) -> int:
    """Frames of zero padding :class:`UpsampleNetwork` puts on each side: its reach in frames, rounded up, + 1."""
    reach, rate = 0.0, 1
    for scale in scales:
        rate *= int(scale)
        reach += int(scale) / rate
    return math.ceil(reach) + 1


class UpsampleNetwork(nn.Module):
    """Mel frames to sample rate: per scale, nearest-neighbour stretch then a smoothing conv over time.

    As in r9y9/wavenet_vocoder (``Stretch2d`` + ``Conv2d(1, 1, (1, 2s+1))``), the smoothing kernel is
    shared by all mel bins and starts as a moving average, so an untrained network already gives a
    smooth piecewise-linear-like conditioning signal. The network is linear and does not mix mel bins.

    Args:
        scales: stretch factors; their product must equal ``hop_length``.
        hop_length: samples per mel frame.
    """

    def __init__(self, scales: list[int] | tuple[int, ...], hop_length: int) -> None:
        super().__init__()
        scales = [int(s) for s in scales]
        if not scales or any(s < 1 for s in scales):
            raise ValueError(f"upsample scales must be positive integers, got {scales}")
        total = math.prod(scales)
        if total != hop_length:
            raise ValueError(f"upsample scales {scales} multiply to {total}, expected hop_length {hop_length}")
        self.scales = scales
        self.convs = nn.ModuleList()
        for scale in scales:
            conv = nn.Conv2d(1, 1, kernel_size=(1, 2 * scale + 1), padding=(0, scale), bias=False)
            nn.init.constant_(conv.weight, 1.0 / (2 * scale + 1))
            self.convs.append(conv)

        self.hop_length = hop_length
        # frames of zero padding on each side: at least the network's reach in frames, so every
        # output sample sees real or zero frames only, never a stage's own boundary effect. The map
        # frames -> samples is then exactly shift-invariant (see :meth:`frame_weights`).
        self.margin = upsample_margin(scales)

    def stages(self, mel: torch.Tensor) -> torch.Tensor:
        """The stretch + smoothing stages without padding: ``(B, C, F)`` -> ``(B, C, F * hop)``."""
        x = mel.unsqueeze(1)  # (B, 1, C, F): a one-channel image, time on the last axis
        for scale, conv in zip(self.scales, self.convs):
            x = x.repeat_interleave(scale, dim=-1)
            x = conv(x)
        return x.squeeze(1)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """Args: mel ``(B, n_mels, frames)``. Returns ``(B, n_mels, frames * hop_length)``."""
        m, hop = self.margin, self.hop_length
        return self.stages(F.pad(mel, (m, m)))[..., m * hop:-m * hop]

    def frame_weights(self) -> torch.Tensor:
        """The network as weights on frames: ``u (hop, 2*margin + 1)``.

        Output sample ``j`` of frame ``f`` is ``sum_q u[j, q] * mel[f + q - margin]`` (zero frames
        outside the utterance). The network is linear and does not mix bins, so it commutes with any
        per-frame channel projection: generators project the frames first, then interpolate.
        """
        m, hop = self.margin, self.hop_length
        probe = torch.zeros(1, 1, 4 * m + 1, device=self.convs[0].weight.device,
                            dtype=self.convs[0].weight.dtype)
        centre = 2 * m
        probe[..., centre] = 1.0
        response = self.stages(probe)[0, 0]  # ((4m + 1) * hop,)
        # sample j of frame f sees frame f + q - m with the weight the impulse at `centre` gives
        # to frame centre - (q - m)
        rows = [response[(centre - (q - m)) * hop:(centre - (q - m) + 1) * hop] for q in range(2 * m + 1)]
        return torch.stack(rows, dim=1)  # (hop, 2m + 1)


class _GatedTanh(torch.autograd.Function):
    """``tanh(h_a) * sigmoid(h_b)`` of ``h = [h_a; h_b]`` (halves of dim 1); the backward pass writes both
    halves of ``dh`` in place into one tensor (autograd's chunk would concatenate two)."""

    @staticmethod
    def forward(ctx, h: torch.Tensor) -> torch.Tensor:
        a, b = h.chunk(2, dim=1)
        t, s = torch.tanh(a), torch.sigmoid(b)
        ctx.save_for_backward(t, s)
        return t * s

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        t, s = ctx.saved_tensors
        dh = torch.empty((t.shape[0], 2 * t.shape[1]) + t.shape[2:], dtype=grad.dtype, device=grad.device)
        da, db = dh.chunk(2, dim=1)
        partial = grad * s  # d/dt of t * s
        torch.ops.aten.tanh_backward.grad_input(partial, t, grad_input=da)
        torch.mul(grad, t, out=partial)  # d/ds
        torch.ops.aten.sigmoid_backward.grad_input(partial, s, grad_input=db)
        return dh


def gated_tanh(h: torch.Tensor) -> torch.Tensor:
    """WaveNet's gated unit ``(B, 2H, T) -> (B, H, T)``: ``tanh`` of the first half times ``sigmoid`` of the second."""
    if not h.requires_grad:
        a, b = h.chunk(2, dim=1)
        return torch.tanh(a) * torch.sigmoid(b)
    return _GatedTanh.apply(h)


class ResidualLayer(nn.Module):
    """One dilated causal convolution with a gated tanh x sigmoid unit, skip and residual 1x1 outputs.

    ``h = conv(x) + cond``; ``z = tanh(h_a) * sigmoid(h_b)``; ``skip = W_s z``;
    ``out = (x + W_r z) * sqrt(0.5)`` (the scaling keeps the variance of the residual stream constant).
    The last layer of a network has no residual output (nothing reads it).

    Args:
        residual_channels, gate_channels, skip_channels: channel counts; ``gate_channels`` is split in two
            halves for the tanh and the sigmoid.
        kernel_size, dilation: of the causal convolution.
        cond_channels: channels of the upsampled local conditioning (0: none).
        global_channels: channels of the global (speaker) embedding (0: none).
        residual_out: whether this layer produces a residual output.
        dropout: on the layer input, during training.
    """

    def __init__(self, residual_channels: int, gate_channels: int, skip_channels: int, kernel_size: int,
                 dilation: int, cond_channels: int = 0, global_channels: int = 0, residual_out: bool = True,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if gate_channels % 2:
            raise ValueError(f"gate_channels must be even (split into tanh and sigmoid halves), got {gate_channels}")
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = (kernel_size - 1) * dilation
        self.dropout = dropout
        half = gate_channels // 2
        self.conv = nn.Conv1d(residual_channels, gate_channels, kernel_size, dilation=dilation)
        self.cond = nn.Conv1d(cond_channels, gate_channels, 1, bias=False) if cond_channels else None
        self.glob = nn.Conv1d(global_channels, gate_channels, 1, bias=False) if global_channels else None
        self.skip = nn.Conv1d(half, skip_channels, 1)
        self.res = nn.Conv1d(half, residual_channels, 1) if residual_out else None

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None,
                glob: torch.Tensor | None = None, cond_term: torch.Tensor | None = None,
                ) -> tuple[torch.Tensor | None, torch.Tensor]:
        """Args: x ``(B, R, T)``, cond ``(B, Cc, T)``, glob ``(B, Cg, 1)``; or instead of ``cond`` its
        projection ``cond_term = self.cond(cond)`` ``(B, G, T)``, computed at frame rate by the caller.

        Returns: (residual output ``(B, R, T)`` or None for the last layer, skip ``(B, S, T)``).
        """
        h = F.dropout(x, self.dropout, self.training)
        h = self.conv(F.pad(h, (self.padding, 0)))  # left padding only: causal
        if cond_term is not None:
            h = h + cond_term
        elif self.cond is not None and cond is not None:
            h = h + self.cond(cond)
        if self.glob is not None and glob is not None:
            h = h + self.glob(glob)
        z = gated_tanh(h)
        skip = self.skip(z)
        if self.res is None:
            return None, skip
        return (x + self.res(z)) * math.sqrt(0.5), skip
