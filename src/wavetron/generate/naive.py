"""Path 1, the reference: recompute the whole receptive field for every sample. Tests only."""
from __future__ import annotations

import torch

from .common import ExcitationLoop, Generated, Request, sample_softmax, step_temperature
from ..models.mol import mol_sample
from ..models.wavenet import deemphasize


@torch.no_grad()
def generate_naive(model, req: Request) -> Generated:
    """Sample ``req.length`` steps by running :meth:`WaveNet.run` on the last ``receptive_field`` inputs.

    Quadratic in nothing but slow in everything: ``receptive_field`` samples of work per output.
    """
    if model.excitation:
        return _generate_naive_excitation(model, req)
    rf = model.receptive_field
    B, T = req.batch, req.length
    device = next(model.parameters()).device
    softmax = model.dims.output == "softmax"
    dtype = torch.long if softmax else next(model.parameters()).dtype
    # x[:, t] is the input of step t; x[:, t + 1] the sample of step t
    x = torch.full((B, T + 1), model.start_value(), dtype=dtype, device=device)
    uniforms = torch.from_numpy(req.uniforms).to(device)
    cond, glob = model.condition(req.mel, req.speakers)
    logits = []
    for t in range(T):
        begin = max(0, t - rf + 1)
        window = cond[..., begin:t + 1] if cond is not None else None
        out = model.run(x[:, begin:t + 1], window, glob)[:, :, -1]  # (B, C)
        if req.record_logits:
            logits.append(out)
        if t < req.prompt_length:
            x[:, t + 1] = req.prompt[:, t].to(dtype)
        elif softmax:
            x[:, t + 1] = sample_softmax(out, uniforms[:, t, 0], step_temperature(req, t, device))
        else:
            x[:, t + 1] = mol_sample(out, uniforms[:, t], req.temperature, model.dims.log_scale_min).to(dtype)
    samples = x[:, 1:]
    return Generated(samples, model.decode_audio(samples), torch.stack(logits, dim=2) if logits else None)


def _generate_naive_excitation(model, req: Request) -> Generated:
    """The excitation model's reference loop: the network on the last ``receptive_field`` input triples."""
    rf = model.receptive_field
    B, T = req.batch, req.length
    device = next(model.parameters()).device
    loop = ExcitationLoop(model, req)
    x = torch.empty(B, 3, T, dtype=torch.long, device=device)
    samples = torch.empty(B, T, dtype=torch.long, device=device)
    uniforms = torch.from_numpy(req.uniforms).to(device)
    cond, glob = model.condition(req.mel, req.speakers)
    logits = []
    for t in range(T):
        x[:, :, t] = loop.inputs(t)
        begin = max(0, t - rf + 1)
        out = model.run(x[:, :, begin:t + 1], cond[..., begin:t + 1], glob)[:, :, -1]  # (B, C)
        if req.record_logits:
            logits.append(out)
        if t < req.prompt_length:
            samples[:, t] = req.prompt[:, t].long()
        else:
            samples[:, t] = sample_softmax(out, uniforms[:, t, 0], step_temperature(req, t, device))
        loop.push(t, samples[:, t])
    audio = deemphasize(loop.signal.float(), model.dims.preemphasis)
    return Generated(samples, audio, torch.stack(logits, dim=2) if logits else None)
