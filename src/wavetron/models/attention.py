"""Location-sensitive attention (Chorowski et al. 2015, as in Tacotron 2), guided attention loss
(Tachibana et al. 2017) and scores of how well an alignment is formed.

Alignments are ``(B, steps, tokens)``: one row of attention weights per decoder step.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class AttentionMemory:
    """What attention needs of the encoder output, computed once per utterance batch.

    Attributes:
        values: ``(B, L, M)`` encoder outputs that contexts are averaged from.
        keys: ``(B, L, A)`` their projection into the attention space.
        mask_bias: ``(B, L)`` 0 at real tokens, -inf at padding.
        location_weight: ``(2 * K, A)`` the location convolution and its dense layer folded into one
            matrix over windows of the two alignment rows (both are linear, so their product is exact).
            Each step multiplies the ``(B, L, 2 * K)`` windows by it: one GEMM forward and backward,
            where a tiny ``conv1d`` costs twice as long on CPU, mostly in its backward.
    """

    values: Tensor
    keys: Tensor
    mask_bias: Tensor
    location_weight: Tensor


class LocationSensitiveAttention(nn.Module):
    """Additive attention whose energies also see the previous and cumulative alignments.

    ``e_{t,n} = v^T tanh(W q_t + V h_n + U (F * [a_{t-1}, sum a_{<t}])_n)``; the cumulative
    term pushes the alignment forward and is what lets Tacotron 2 align long sentences.

    Args:
        query_dim: size of the decoder state that queries (the first decoder LSTM's output).
        memory_dim: size of the encoder outputs.
        attention_dim: size of the shared attention space.
        location_filters, location_kernel: the location convolution over the two alignment rows.
    """

    def __init__(self, query_dim: int, memory_dim: int, attention_dim: int = 128, location_filters: int = 32,
                 location_kernel: int = 31) -> None:
        super().__init__()
        if location_kernel % 2 != 1:
            raise ValueError(f"location_kernel must be odd, got {location_kernel}")
        self.query = nn.Linear(query_dim, attention_dim, bias=False)
        self.memory = nn.Linear(memory_dim, attention_dim, bias=False)
        self.location_conv = nn.Conv1d(2, location_filters, location_kernel, padding=location_kernel // 2,
                                       bias=False)
        self.location_dense = nn.Linear(location_filters, attention_dim, bias=False)
        self.score = nn.Linear(attention_dim, 1, bias=False)  # a bias would cancel in the softmax
        self.padding = location_kernel // 2

    def prepare(self, memory: Tensor, mask: Tensor) -> AttentionMemory:
        """Project the encoder outputs once per batch.

        Args:
            memory: ``(B, L, M)`` encoder outputs.
            mask: ``(B, L)`` bool, True at real tokens.
        """
        keys = self.memory(memory)  # (B, L, A)
        bias = torch.zeros(mask.shape, dtype=memory.dtype, device=memory.device).masked_fill_(~mask, float("-inf"))
        # (A, F) x (F, 2, K) -> (2 * K, A)
        location = torch.einsum("af,fck->cka", self.location_dense.weight, self.location_conv.weight).flatten(0, 1)
        return AttentionMemory(values=memory, keys=keys, mask_bias=bias, location_weight=location)

    def forward(self, query: Tensor, memory: AttentionMemory, previous: Tensor, cumulative: Tensor
                ) -> tuple[Tensor, Tensor]:
        """One decoder step.

        Args:
            query: ``(B, query_dim)``.
            previous, cumulative: ``(B, L)`` the last alignment row and the sum of all earlier ones.
        Returns:
            context ``(B, M)`` and weights ``(B, L)`` (rows sum to 1 over real tokens).
        """
        return self.step(self.query(query), memory, previous, cumulative)

    def step(self, projected_query: Tensor, memory: AttentionMemory, previous: Tensor, cumulative: Tensor
             ) -> tuple[Tensor, Tensor]:
        """:meth:`forward` with the query already projected to ``(B, A)``."""
        windows = location_windows(torch.stack((previous, cumulative), 1), self.padding)  # (B, L, 2K)
        location = windows @ memory.location_weight  # (B, L, A): the location conv and dense layer
        hidden = torch.tanh(location + memory.keys + projected_query.unsqueeze(1))  # (B, L, A)
        energies = (hidden @ self.score.weight.t()).squeeze(-1) + memory.mask_bias  # (B, L)
        weights = torch.softmax(energies, dim=-1)
        context = torch.bmm(weights.unsqueeze(1), memory.values).squeeze(1)  # (B, M)
        return context, weights


def location_windows(rows: Tensor, padding: int) -> Tensor:
    """``(B, C, L)`` rows -> ``(B, L, C * K)`` zero-padded windows of ``K = 2 * padding + 1`` around each
    position, channel-major: ``windows @ weight.flatten(0, 1)`` with a ``(C, K, A)`` weight equals
    ``conv1d(rows, weight.permute(2, 0, 1), padding=padding).transpose(1, 2)``."""
    batch, _, length = rows.shape
    padded = F.pad(rows, (padding, padding))  # (B, C, L + K - 1)
    return padded.unfold(2, 2 * padding + 1, 1).transpose(1, 2).reshape(batch, length, -1)


def lengths_mask(lengths: Tensor, max_length: int | None = None) -> Tensor:
    """``(B, max_length)`` bool, True where the position is below the row's length."""
    width = int(lengths.max()) if max_length is None else max_length
    return torch.arange(width, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


def guide_matrix(steps: Tensor, tokens: Tensor, max_steps: int, max_tokens: int, sigma: float) -> Tensor:
    """Penalty ``W[b, t, n] = 1 - exp(-(n/N_b - t/T_b)^2 / (2 sigma^2))``, 0 outside each item's lengths.

    Args:
        steps, tokens: ``(B,)`` decoder steps and tokens of each item.
    Returns:
        ``(B, max_steps, max_tokens)``.
    """
    t = torch.arange(max_steps, device=steps.device).unsqueeze(0) / steps.clamp_min(1).unsqueeze(1)  # (B, T)
    n = torch.arange(max_tokens, device=steps.device).unsqueeze(0) / tokens.clamp_min(1).unsqueeze(1)  # (B, N)
    guide = 1.0 - torch.exp(-((n.unsqueeze(1) - t.unsqueeze(2)) ** 2) / (2 * sigma ** 2))
    valid = lengths_mask(steps, max_steps).unsqueeze(2) & lengths_mask(tokens, max_tokens).unsqueeze(1)
    return guide * valid


def guided_attention_loss(alignments: Tensor, steps: Tensor, tokens: Tensor, sigma: float = 0.2) -> Tensor:
    """Guided attention loss of Tachibana et al. 2017: attention mass far from the diagonal.

    Near 0 for a diagonal alignment, near 1 for an anti-diagonal one.

    Args:
        alignments: ``(B, T, N)`` attention weights.
        steps, tokens: ``(B,)`` valid decoder steps and tokens per item.
    Returns:
        scalar: the penalty averaged over valid decoder steps.
    """
    guide = guide_matrix(steps, tokens, alignments.shape[1], alignments.shape[2], sigma)
    return (alignments.float() * guide).sum() / steps.sum().clamp_min(1)


@torch.no_grad()
def alignment_scores(alignments: Tensor, steps: Tensor, tokens: Tensor, band: float = 0.2) -> dict[str, Tensor]:
    """Per-item quality of alignments.

    - ``focus``: mean over steps of the largest attention weight (1 = every step attends to one token).
    - ``diagonality``: share of attention mass within ``band`` (relative position) of the diagonal.
    - ``coverage``: share of tokens that are some step's most attended token.

    Args:
        alignments: ``(B, T, N)``; steps, tokens: ``(B,)`` valid sizes.
    Returns:
        name -> ``(B,)`` float scores in [0, 1].
    """
    alignments = alignments.float()
    step_mask = lengths_mask(steps, alignments.shape[1])  # (B, T)
    token_mask = lengths_mask(tokens, alignments.shape[2])  # (B, N)
    count = steps.clamp_min(1).float()
    focus = (alignments.amax(dim=2) * step_mask).sum(1) / count
    near = guide_matrix(steps, tokens, alignments.shape[1], alignments.shape[2], band / 3.0)
    # guide < 1 - exp(-4.5) exactly where |n/N - t/T| < band; use that as the band indicator.
    inside = (near < 1 - torch.exp(torch.tensor(-4.5))) & step_mask.unsqueeze(2) & token_mask.unsqueeze(1)
    diagonality = (alignments * inside).sum((1, 2)) / count
    width = alignments.shape[2]
    peaks = alignments.argmax(dim=2).masked_fill(~step_mask, width)  # (B, T); padding steps hit a spare column
    hit = torch.zeros(alignments.shape[0], width + 1, dtype=torch.bool, device=alignments.device)
    hit.scatter_(1, peaks, True)
    coverage = (hit[:, :width] & token_mask).sum(1).float() / tokens.clamp_min(1).float()
    return {"focus": focus, "diagonality": diagonality, "coverage": coverage}
