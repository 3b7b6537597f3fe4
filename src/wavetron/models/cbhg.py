"""CBHG (Wang et al. 2017, Tacotron 1): a 1-D convolution bank, highway network and bidirectional GRU.

Used as Tacotron 1's encoder (over prenet outputs of the symbol embeddings) and as its post-net
(mel frames -> linear spectrogram). Sequences are channel-first ``(B, C, T)``; padding is masked
to zero before every convolution and skipped by the GRU, so in eval mode a padded item gets the
same output as the item alone (in training, batch-norm statistics include padding frames).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class BatchNormConv(nn.Module):
    """Conv1d (same padding, no bias) -> optional ReLU -> BatchNorm, as in the Tacotron paper."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, relu: bool) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False)
        self.norm = nn.BatchNorm1d(out_channels)
        self.relu = relu
        self.trim = 1 - kernel_size % 2  # even kernels give one extra frame

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C_in, T) -> (B, C_out, T)``."""
        x = self.conv(x)
        if self.trim:
            x = x[..., : x.shape[-1] - self.trim]
        return self.norm(F.relu(x) if self.relu else x)


class Highway(nn.Module):
    """``y = T(x) * relu(H(x)) + (1 - T(x)) * x`` over the last dim (Srivastava et al. 2015)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.both = nn.Linear(dim, 2 * dim)  # H and T in one matmul
        nn.init.constant_(self.both.bias[dim:], -1.0)  # carry the input at first, as the paper advises

    def forward(self, x: Tensor) -> Tensor:
        hidden, gate = self.both(x).chunk(2, dim=-1)
        gate = torch.sigmoid(gate)
        return gate * F.relu(hidden) + (1 - gate) * x


class CBHG(nn.Module):
    """Convolution bank + highway + bidirectional GRU.

    Args:
        in_channels: input size; the projections map back to it for the residual connection.
        bank_size: kernels 1..bank_size in the bank.
        channels: channels of every bank convolution, the highway layers and each GRU direction.
        projections: channels of the projection convolutions (the last must equal ``in_channels``).
        highways: number of highway layers.
    Output: ``(B, 2 * channels, T)``.
    """

    def __init__(self, in_channels: int, bank_size: int = 16, channels: int = 128,
                 projections: tuple[int, ...] = (128, 128), highways: int = 4) -> None:
        super().__init__()
        if projections[-1] != in_channels:
            raise ValueError(f"last projection has {projections[-1]} channels, expected in_channels {in_channels}")
        self.bank = nn.ModuleList(BatchNormConv(in_channels, channels, k, relu=True)
                                  for k in range(1, bank_size + 1))
        sizes = (bank_size * channels, *projections)
        self.projections = nn.ModuleList(
            BatchNormConv(sizes[i], sizes[i + 1], 3, relu=i < len(projections) - 1) for i in range(len(projections)))
        self.pre_highway = nn.Linear(in_channels, channels, bias=False) if in_channels != channels else None
        self.highways = nn.ModuleList(Highway(channels) for _ in range(highways))
        self.gru = nn.GRU(channels, channels, batch_first=True, bidirectional=True)
        self.out_channels = 2 * channels

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """``(B, in_channels, T)`` and lengths ``(B,)`` -> ``(B, 2 * channels, T)`` (zeros at padding)."""
        mask = None
        if lengths is not None:
            mask = (torch.arange(x.shape[-1], device=x.device).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(1)
            x = x * mask
        residual = x
        y = torch.cat([conv(x) for conv in self.bank], dim=1)  # (B, bank * C, T)
        if mask is not None:  # the pool must not see padding frames, exactly as for the item alone
            y = y.masked_fill(~mask, float("-inf"))
        y = F.max_pool1d(F.pad(y, (0, 1), value=float("-inf")), kernel_size=2, stride=1)  # keeps T
        for conv in self.projections:
            y = conv(y.masked_fill(~mask, 0.0) if mask is not None else y)
        y = (y + residual).transpose(1, 2)  # (B, T, in_channels)
        if self.pre_highway is not None:
            y = self.pre_highway(y)
        for layer in self.highways:
            y = layer(y)
        if lengths is not None:
            packed = nn.utils.rnn.pack_padded_sequence(y, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, _ = self.gru(packed)
            y, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[-1])
        else:
            y, _ = self.gru(y)
        return y.transpose(1, 2)  # (B, 2C, T)
