"""Tacotron building blocks besides the decoder: prenet, encoders and post-nets.

- :class:`Prenet`: the decoder's bottleneck; dropout stays on at inference (Shen et al. 2018).
- :class:`Tacotron2Encoder`: symbol embedding -> 3 convolutions -> bidirectional LSTM.
- :class:`Tacotron1Encoder`: symbol embedding -> prenet -> CBHG (Wang et al. 2017).
- :class:`Postnet`: 5 convolutions predicting a residual added to the decoder's mel frames.
- :class:`LinearPostnet`: Tacotron 1's CBHG mapping mel frames to a log linear spectrogram.

Sequences are channel-first ``(B, C, T)`` between convolutions; encoders return ``(B, L, E)``
because attention reads one row per token.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .cbhg import CBHG


def _mask(lengths: Tensor, width: int) -> Tensor:
    """``(B, 1, width)`` float mask, 1 at real positions."""
    return (torch.arange(width, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(1).float()


class Prenet(nn.Module):
    """Fully connected ReLU layers with dropout that is always on.

    Tacotron 2 keeps this dropout at inference: it is the only source of variation that stops
    the autoregressive decoder from locking into a repeated frame.

    Args:
        in_dim: input size (n_mels for the decoder).
        dims: output size of each layer.
        dropout: drop probability.
        always_on: keep dropout at inference (the decoder's prenet); False follows train/eval.
    """

    def __init__(self, in_dim: int, dims: list[int], dropout: float = 0.5, always_on: bool = True) -> None:
        super().__init__()
        sizes = [in_dim, *dims]
        self.layers = nn.ModuleList(nn.Linear(sizes[i], sizes[i + 1], bias=False) for i in range(len(dims)))
        self.dropout = dropout
        self.always_on = always_on
        self.out_dim = dims[-1]

    def forward(self, x: Tensor) -> Tensor:
        """``(..., in_dim) -> (..., dims[-1])``."""
        for layer in self.layers:
            x = F.dropout(F.relu(layer(x)), p=self.dropout, training=self.always_on or self.training)
        return x


class ConvNorm(nn.Sequential):
    """Conv1d (same padding) -> BatchNorm -> activation -> dropout: ``(B, C_in, T) -> (B, C_out, T)``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, activation: str | None,
                 dropout: float) -> None:
        layers: list[nn.Module] = [nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2),
                                   nn.BatchNorm1d(out_channels)]
        if activation == "relu":
            layers.append(nn.ReLU())
        elif activation == "tanh":
            layers.append(nn.Tanh())
        layers.append(nn.Dropout(dropout))
        super().__init__(*layers)


class Tacotron2Encoder(nn.Module):
    """Symbols -> ``(B, L, encoder_dim)``: embedding, conv stack, bidirectional LSTM.

    Padding is zeroed before each convolution and skipped by the LSTM (packed sequences), so an
    item's encoding does not depend on how much its batch is padded (in eval mode).
    """

    def __init__(self, n_symbols: int, embedding_dim: int = 512, convs: int = 3, kernel_size: int = 5,
                 encoder_dim: int = 512, dropout: float = 0.5) -> None:
        super().__init__()
        self.embedding = nn.Embedding(n_symbols, embedding_dim)
        # Xavier-uniform as in the Tacotron 2 reference: std = sqrt(2 / (n_symbols + dim)) * sqrt(3)
        std = (2.0 / (n_symbols + embedding_dim)) ** 0.5
        nn.init.uniform_(self.embedding.weight, -std * 3 ** 0.5, std * 3 ** 0.5)
        self.convs = nn.ModuleList(ConvNorm(embedding_dim, embedding_dim, kernel_size, "relu", dropout)
                                   for _ in range(convs))
        self.lstm = nn.LSTM(embedding_dim, encoder_dim // 2, batch_first=True, bidirectional=True)
        self.out_dim = encoder_dim

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        """tokens ``(B, L)`` long, lengths ``(B,)`` -> ``(B, L, encoder_dim)`` (zeros at padding)."""
        mask = _mask(lengths, tokens.shape[1])
        x = self.embedding(tokens).transpose(1, 2)  # (B, E, L)
        for conv in self.convs:
            x = conv(x * mask)
        packed = nn.utils.rnn.pack_padded_sequence(x.transpose(1, 2), lengths.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=tokens.shape[1])
        return out


class Tacotron1Encoder(nn.Module):
    """Symbols -> ``(B, L, encoder_dim)``: embedding, prenet, CBHG (bank of ``banks`` kernels)."""

    def __init__(self, n_symbols: int, embedding_dim: int = 256, encoder_dim: int = 256, banks: int = 16,
                 highways: int = 4, dropout: float = 0.5) -> None:
        super().__init__()
        half = encoder_dim // 2
        self.embedding = nn.Embedding(n_symbols, embedding_dim)
        nn.init.normal_(self.embedding.weight, 0.0, 0.3)
        self.prenet = Prenet(embedding_dim, [embedding_dim, half], dropout, always_on=False)
        self.cbhg = CBHG(half, bank_size=banks, channels=half, projections=(half, half), highways=highways)
        self.out_dim = encoder_dim

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        """tokens ``(B, L)`` long, lengths ``(B,)`` -> ``(B, L, encoder_dim)``."""
        x = self.prenet(self.embedding(tokens))  # (B, L, E/2)
        return self.cbhg(x.transpose(1, 2), lengths).transpose(1, 2)


class Postnet(nn.Module):
    """Tacotron 2's post-net: ``(B, n_mels, T) -> (B, n_mels, T)`` residual (tanh convs, last linear)."""

    def __init__(self, n_mels: int, channels: int = 512, convs: int = 5, kernel_size: int = 5,
                 dropout: float = 0.5) -> None:
        super().__init__()
        sizes = [n_mels] + [channels] * (convs - 1) + [n_mels]
        self.convs = nn.ModuleList(
            ConvNorm(sizes[i], sizes[i + 1], kernel_size, "tanh" if i < convs - 1 else None, dropout)
            for i in range(convs))

    def forward(self, mels: Tensor) -> Tensor:
        x = mels
        for conv in self.convs:
            x = conv(x)
        return x


class LinearPostnet(nn.Module):
    """Tacotron 1's post-net: log-mel ``(B, n_mels, T)`` -> log linear magnitude ``(B, n_freq, T)``."""

    def __init__(self, n_mels: int, n_freq: int, channels: int = 128, banks: int = 8, highways: int = 4) -> None:
        super().__init__()
        self.cbhg = CBHG(n_mels, bank_size=banks, channels=channels, projections=(2 * channels, n_mels),
                         highways=highways)
        self.out = nn.Linear(2 * channels, n_freq)

    def forward(self, mels: Tensor, lengths: Tensor | None = None) -> Tensor:
        x = self.cbhg(mels, lengths).transpose(1, 2)  # (B, T, 2C)
        return self.out(x).transpose(1, 2)
