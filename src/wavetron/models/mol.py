"""Discretized mixture of logistics (Salimans et al. 2017, PixelCNN++), the 16-bit WaveNet output.

The network emits ``3 * mixtures`` channels per sample: mixture logits, means and log scales.
A sample value ``x`` in [-1, 1] is the bin of width ``2 / (bins - 1)`` around it; its probability
is the logistic CDF difference over the bin, with the edge bins open towards +-infinity.
"""
from __future__ import annotations

import math

import torch
from torch.nn import functional as F


def split_params(params: torch.Tensor, log_scale_min: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(B, 3M, T)`` -> mixture logits, means, log scales, each ``(B, M, T)``; log scales clamped below."""
    logits, means, log_scales = params.chunk(3, dim=1)
    return logits, means, log_scales.clamp(min=log_scale_min)


def mol_nll(params: torch.Tensor, target: torch.Tensor, bins: int = 65536, log_scale_min: float = -7.0) -> torch.Tensor:
    """Mean negative log-likelihood (nats per sample) of ``target`` under the mixture.

    Args:
        params: ``(B, 3M, T)`` network output.
        target: ``(B, T)`` waveform in [-1, 1].
        bins: number of quantisation levels (65536 for 16-bit audio).
    Returns: a scalar tensor.
    """
    logits, means, log_scales = split_params(params, log_scale_min)
    x = target.unsqueeze(1)  # (B, 1, T) broadcasts over the M components
    centered = x - means
    inv_s = torch.exp(-log_scales)
    half_bin = 1.0 / (bins - 1)
    plus = inv_s * (centered + half_bin)
    minus = inv_s * (centered - half_bin)
    cdf_plus = torch.sigmoid(plus)
    cdf_minus = torch.sigmoid(minus)
    # log CDF at the left edge bin and log(1 - CDF) at the right edge, in the stable softplus forms
    log_cdf_plus = plus - F.softplus(plus)
    log_one_minus_cdf_minus = -F.softplus(minus)
    cdf_delta = cdf_plus - cdf_minus
    mid = inv_s * centered
    # where the bin mass underflows, approximate it by density * bin width
    log_pdf_mid = mid - log_scales - 2.0 * F.softplus(mid)
    inner = torch.where(cdf_delta > 1e-5, torch.log(cdf_delta.clamp(min=1e-12)),
                        log_pdf_mid - math.log((bins - 1) / 2))
    log_probs = torch.where(x < -0.999, log_cdf_plus, torch.where(x > 0.999, log_one_minus_cdf_minus, inner))
    log_probs = log_probs + F.log_softmax(logits, dim=1)
    return -torch.logsumexp(log_probs, dim=1).mean()


def mol_sample(params: torch.Tensor, uniforms: torch.Tensor, temperature: float = 1.0,
               log_scale_min: float = -7.0) -> torch.Tensor:
    """Draw one value per position by inverse CDFs, reproducible from the given uniforms.

    Args:
        params: ``(B, 3M)`` network output at one step.
        uniforms: ``(B, 2)`` in [0, 1): the first picks the component, the second the logistic sample.
        temperature: scales the logistic spread; 0 gives the mean of the most likely component.
    Returns: ``(B,)`` values in [-1, 1].
    """
    logits, means, log_scales = split_params(params.unsqueeze(-1), log_scale_min)
    logits, means, log_scales = logits[..., 0], means[..., 0], log_scales[..., 0]  # (B, M)
    if temperature <= 0:
        pick = logits.argmax(dim=1, keepdim=True)
        return means.gather(1, pick)[:, 0].clamp(-1.0, 1.0)
    cdf = torch.softmax(logits, dim=1).cumsum(dim=1)
    pick = torch.searchsorted(cdf, uniforms[:, :1] * cdf[:, -1:]).clamp(max=logits.shape[1] - 1)
    u = uniforms[:, 1].clamp(1e-5, 1.0 - 1e-5)
    value = means.gather(1, pick)[:, 0] + temperature * torch.exp(log_scales.gather(1, pick)[:, 0]) * (
        torch.log(u) - torch.log1p(-u))
    return value.clamp(-1.0, 1.0)
