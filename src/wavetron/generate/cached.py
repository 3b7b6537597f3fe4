"""Path 2: incremental generation with per-layer input queues (Paine et al. 2016, fast-wavenet), in torch.

Each layer keeps a ring buffer of its last ``(kernel_size - 1) * dilation + 1`` inputs, so one step
costs one small matmul per layer instead of a pass over the receptive field. Works on any device
and for any batch of streams. The conditioning terms of all layers are computed per chunk from projected frames.
"""
from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from .common import ExcitationLoop, Generated, Request, sample_softmax, step_temperature
from ..models.mol import mol_sample
from ..models.wavenet import deemphasize


class _Weights:
    """The model's weights in the layouts one step reads: ``(in, out)`` matrices for ``addmm``."""

    def __init__(self, model) -> None:
        K = model.dims.kernel_size
        self.dilated = []  # (K * R, G): row k*R + i is tap k, input channel i
        self.skip_res = []  # (G/2, S + R): the skip and residual 1x1 convs fused into one matmul
        self.skip_res_bias = []
        for layer in model.layers:
            w = layer.conv.weight  # (G, R, K)
            self.dilated.append(w.permute(2, 1, 0).reshape(K * w.shape[1], w.shape[0]).contiguous())
            mats = [layer.skip.weight[:, :, 0]] + ([layer.res.weight[:, :, 0]] if layer.res is not None else [])
            biases = [layer.skip.bias] + ([layer.res.bias] if layer.res is not None else [])
            self.skip_res.append(torch.cat(mats).t().contiguous())
            self.skip_res_bias.append(torch.cat(biases))
        self.head1 = model.head1.weight[:, :, 0].t().contiguous()
        self.head2 = model.head2.weight[:, :, 0].t().contiguous()


@torch.no_grad()
def generate_cached(model, req: Request, chunk: int = 2048) -> Generated:
    """Sample ``req.length`` steps for ``req.batch`` streams with cached layer inputs.

    Args:
        model: a :class:`~wavetron.models.wavenet.WaveNet` (in eval mode).
        req: the request. chunk: samples whose conditioning is precomputed at once.
    """
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    dims = model.dims
    B, T, K = req.batch, req.length, dims.kernel_size
    R, S, H = dims.residual_channels, dims.skip_channels, dims.gate_channels // 2
    softmax = dims.output == "softmax"
    weights = _Weights(model)
    sizes = [(K - 1) * d + 1 for d in model.dilations]
    queues = [torch.zeros(B, n, R, device=device, dtype=dtype) for n in sizes]  # (B, slots, R)
    # taps[l][p]: the slots read at phase p, oldest tap first (the order of the conv kernel)
    taps = [[torch.tensor([(p - (K - 1 - k) * d) % n for k in range(K)], device=device) for p in range(n)]
            for d, n in zip(model.dilations, sizes)]
    uniforms = torch.from_numpy(req.uniforms).to(device)
    samples = torch.empty(B, T, dtype=torch.long if softmax else dtype, device=device)
    prev = torch.full((B,), model.start_value(), dtype=samples.dtype, device=device)
    logits = []
    half = math.sqrt(0.5)
    frames, const, u = model.frame_conditioning(req.mel, req.speakers, B)
    loop = ExcitationLoop(model, req) if model.excitation else None
    for c0 in range(0, T, chunk):
        c1 = min(T, c0 + chunk)
        layer_cond = model.layer_conditioning(frames, const, u, c0, c1 - c0)  # (B, Tc, L, G)
        for t in range(c0, c1):
            x_in = loop.inputs(t)[:, :, None] if loop is not None else prev[:, None]
            x = model.embed_input(x_in)[:, :, 0]  # (B, R)
            skip = None
            for l, queue in enumerate(queues):
                phase = t % sizes[l]
                queue[:, phase] = x
                window = queue.index_select(1, taps[l][phase]).reshape(B, K * R)
                h = torch.addmm(layer_cond[:, t - c0, l], window, weights.dilated[l])  # (B, G)
                z = torch.tanh(h[:, :H]) * torch.sigmoid(h[:, H:])
                out = torch.addmm(weights.skip_res_bias[l], z, weights.skip_res[l])  # (B, S [+ R])
                skip = out[:, :S] if skip is None else skip + out[:, :S]
                if out.shape[1] > S:
                    x = (x + out[:, S:]) * half
            hidden = F.relu(torch.addmm(model.head1.bias, F.relu(skip * model.skip_scale), weights.head1))
            out = torch.addmm(model.head2.bias, hidden, weights.head2)  # (B, C)
            if req.record_logits:
                logits.append(out)
            if t < req.prompt_length:
                prev = req.prompt[:, t].to(device=device, dtype=samples.dtype)
            elif softmax:
                prev = sample_softmax(out, uniforms[:, t, 0], step_temperature(req, t, device))
            else:
                prev = mol_sample(out, uniforms[:, t], req.temperature, dims.log_scale_min).to(dtype)
            samples[:, t] = prev
            if loop is not None:
                loop.push(t, prev)
    audio = (deemphasize(loop.signal.float(), dims.preemphasis) if loop is not None
             else model.decode_audio(samples))
    return Generated(samples, audio, torch.stack(logits, dim=2) if logits else None)
