"""Path 3: the compiled CPU generator. Packs the weights once, then runs :func:`kernels.run_steps`.

The mel frames are projected for all layers by one matmul in torch (at frame rate); the compiled
loop does the rest, interpolation included, with no Python per sample. Several streams (a batch, or the segments of a folded
utterance) are split into contiguous groups that run on separate threads without any per-sample
synchronisation (the kernel releases the GIL).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from .common import Generated, Request
from . import kernels

@dataclass
class PackedWeights:
    """A WaveNet's weights as float32 numpy arrays in the layouts the kernel reads (``(out, in)``)."""

    wd: np.ndarray  # (L, G, K*R) dilated conv; column k*R + i is tap k of input channel i
    wsr: np.ndarray  # (L, S+R, G/2) skip and residual 1x1 convs stacked
    bsr: np.ndarray  # (L, S+R)
    w1: np.ndarray  # (S, S)
    b1: np.ndarray
    w2: np.ndarray  # (C, S)
    b2: np.ndarray
    emb: np.ndarray  # (classes, R) input embedding; (0, R) for the mixture output
    in_w: np.ndarray  # (R,) input 1x1 conv of the mixture output
    in_b: np.ndarray
    dilations: np.ndarray  # (L,) int64
    offsets: np.ndarray  # (L,) first ring-buffer row of each layer
    masks: np.ndarray  # (L,) ring size - 1 (sizes are powers of two)
    rows: int  # ring-buffer rows in all
    skip_scale: float
    mol: bool
    log_scale_min: float


def _np(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().to("cpu", torch.float32).numpy())


def pack_weights(model) -> PackedWeights:
    """Copy ``model``'s weights into the kernel's layouts."""
    dims = model.dims
    L, R, S, G, K = dims.layers, dims.residual_channels, dims.skip_channels, dims.gate_channels, dims.kernel_size
    # (L, G, K*R): column k*R + i is tap k (oldest first) of input channel i
    wd = torch.stack([layer.conv.weight.permute(0, 2, 1).reshape(G, K * R) for layer in model.layers])
    wsr = torch.zeros(L, S + R, G // 2)
    bsr = torch.zeros(L, S + R)
    for l, layer in enumerate(model.layers):
        wsr[l, :S] = layer.skip.weight[:, :, 0]
        bsr[l, :S] = layer.skip.bias
        if layer.res is not None:
            wsr[l, S:] = layer.res.weight[:, :, 0]
            bsr[l, S:] = layer.res.bias
    mol = dims.output == "mol"
    if mol:
        emb = torch.zeros(0, R)
        in_w, in_b = model.input.weight[:, 0, 0], model.input.bias
    else:
        emb, in_w, in_b = model.input.weight, torch.zeros(R), torch.zeros(R)
    sizes = [1 << ((K - 1) * d).bit_length() for d in model.dilations]  # power of two > (K-1)*d
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return PackedWeights(
        wd=_np(wd), wsr=_np(wsr), bsr=_np(bsr), w1=_np(model.head1.weight[:, :, 0]), b1=_np(model.head1.bias),
        w2=_np(model.head2.weight[:, :, 0]), b2=_np(model.head2.bias), emb=_np(emb), in_w=_np(in_w),
        in_b=_np(in_b), dilations=np.asarray(model.dilations, np.int64), offsets=offsets,
        masks=np.asarray(sizes, np.int64) - 1, rows=int(sum(sizes)), skip_scale=float(model.skip_scale), mol=mol,
        log_scale_min=float(dims.log_scale_min))


class _Group:
    """The state of a contiguous group of streams run by one thread."""

    def __init__(self, begin: int, end: int, w: PackedWeights, req: Request, start: int | float) -> None:
        B, T = end - begin, req.length
        self.begin, self.end = begin, end
        self.queues = np.zeros((B, w.rows, w.in_w.shape[0]), np.float32)
        self.prev_cls = np.full(B, int(start) if not w.mol else 0, np.int64)
        self.prev_val = np.full(B, float(start) if w.mol else 0.0, np.float32)
        P = req.prompt_length
        prompt = req.prompt[begin:end].cpu() if P else None
        self.prompt_cls = prompt.numpy().astype(np.int64) if P and not w.mol else np.zeros((B, 0), np.int64)
        self.prompt_val = prompt.numpy().astype(np.float32) if P and w.mol else np.zeros((B, 0), np.float32)
        self.out_cls = np.zeros((B, T), np.int64)
        self.out_val = np.zeros((B, T), np.float32)
        C = w.w2.shape[0]
        self.logits = np.zeros((B, T, C), np.float32) if req.record_logits else np.zeros((0, 0, C), np.float32)

    def run(self, w: PackedWeights, req: Request, frames: np.ndarray, const: np.ndarray, u: np.ndarray) -> None:
        b, e = self.begin, self.end
        kernels.run_steps(
            0, req.length, frames[b:e], const[b:e], u, self.queues, w.offsets, w.masks, w.dilations, w.wd, w.wsr,
            w.bsr, w.w1, w.b1, w.w2, w.b2, np.float32(w.skip_scale), w.emb, w.in_w, w.in_b, w.mol, self.prev_cls,
            self.prev_val, self.prompt_cls, self.prompt_val, req.uniforms[b:e], np.float32(req.temperature),
            np.float32(w.log_scale_min), self.out_cls, self.out_val, self.logits)


def conditioning_arrays(model, req: Request) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:meth:`WaveNet.frame_conditioning` of the request as float32 numpy arrays for the kernel."""
    L, G = model.dims.layers, model.dims.gate_channels
    frames, const, u = model.frame_conditioning(req.mel, req.speakers, req.batch)
    if frames is None:
        return np.zeros((req.batch, 0, L, G), np.float32), _np(const), np.zeros((1, 0), np.float32)
    return _np(frames), _np(const), _np(u)


@torch.no_grad()
def generate_fast(model, req: Request, threads: int | None = None, weights: PackedWeights | None = None,
                  ) -> Generated:
    """Sample ``req.length`` steps on the CPU with the compiled loop.

    Args:
        model: a :class:`~wavetron.models.wavenet.WaveNet` (any device; the loop runs on the CPU).
        req: the request.
        threads: threads to split the streams among (default 1; at most one per stream).
        weights: :func:`pack_weights` of the model, to skip repacking across calls.
    """
    w = weights if weights is not None else pack_weights(model)
    B = req.batch
    threads = max(1, min(threads or 1, B))
    bounds = np.linspace(0, B, threads + 1).round().astype(int)
    groups = [_Group(int(a), int(b), w, req, model.start_value()) for a, b in zip(bounds[:-1], bounds[1:])]
    frames, const, u = conditioning_arrays(model, req)
    if threads == 1:
        groups[0].run(w, req, frames, const, u)
    else:  # the kernel releases the GIL: the groups run in parallel with no per-sample synchronisation
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda g: g.run(w, req, frames, const, u), groups))
    samples = torch.from_numpy(np.concatenate([g.out_val if w.mol else g.out_cls for g in groups]))
    logits = None
    if req.record_logits:
        logits = torch.from_numpy(np.concatenate([g.logits for g in groups])).transpose(1, 2)
    return Generated(samples, model.decode_audio(samples), logits)
