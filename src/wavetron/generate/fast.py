"""Path 3: the compiled CPU generator. Packs the weights once, then runs the compiled per-sample loop:
the C kernel (``_ckernel.c``: AVX2/FMA, float32 or float16 weights; bfloat16 weights on CPUs with
AVX-512 BF16) where it is built and the CPU supports it, otherwise the numba kernel
(:func:`kernels.run_steps`, float32).

The excitation model (``wavenet.excitation: lpc``) runs in both kernels: the linear prediction of each
step (about ``lpc_order`` multiply-adds, in double) is done in the loop, in the order of
:class:`~wavetron.generate.common.ExcitationLoop`, so a teacher-forced run reads exactly training's inputs.

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

from .common import Generated, Request, draw_uniforms
from . import kernels

try:
    from . import _ckernel
except ImportError:  # not built (no C compiler at install time, or not x86-64)
    _ckernel = None

BACKENDS = ("auto", "c", "numba")
PRECISIONS = ("auto", "float32", "float16", "bfloat16", "fastest")  # the kernel numbers the middle three 0, 1, 2
SUPPORTS_EXCITATION = True  # generate.run_request routes excitation models here


def c_kernel_available() -> bool:
    """Whether the C kernel is built and this CPU runs it (x86-64 with AVX2, FMA and F16C)."""
    return _ckernel is not None and _ckernel.supported()


def bfloat16_available() -> bool:
    """Whether the C kernel runs bfloat16 weights here (AVX-512F and AVX-512 BF16, e.g. Sapphire Rapids, Zen 4)."""
    return c_kernel_available() and _ckernel.bfloat16_supported()


def resolve_backend(backend: str = "auto", precision: str = "auto") -> str:
    """The kernel that runs: ``auto`` is ``c`` where available, else ``numba``; errors name what is missing."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown fast-path backend {backend!r} (known: {', '.join(BACKENDS)})")
    if precision not in PRECISIONS:
        raise ValueError(f"unknown weight precision {precision!r} (known: {', '.join(PRECISIONS)})")
    if backend == "auto":
        backend = "c" if c_kernel_available() else "numba"
    if backend == "c" and not c_kernel_available():
        raise RuntimeError("the C kernel of the fast path is not available (not built, or the CPU lacks "
                           "AVX2/FMA/F16C): use backend='numba'")
    if backend == "numba" and precision in ("float16", "bfloat16"):
        raise ValueError(f"the numba kernel runs float32 weights only; {precision} needs the C kernel")
    if precision == "bfloat16" and not bfloat16_available():
        raise RuntimeError("bfloat16 weights need a CPU with AVX-512 BF16 (this one lacks it): use float32 or float16")
    return backend

@dataclass
class PackedWeights:
    """A WaveNet's weights as numpy arrays in the layouts the kernel of ``backend`` reads.

    numba: matrices ``(out, in)`` float32. c: matrices blocked ``(ceil(out/8), in, 8)`` (each input's
    eight outputs of a block contiguous; padded rows are zero), in float32 or float16, or for bfloat16
    ``(ceil(out/16), ceil(in/2), 16, 2)`` uint16 bit patterns. Vectors are float32.
    """

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
    dims: tuple[int, int, int, int, int, int, int]  # L, R, G, S, C, K, hop
    backend: str = "numba"
    precision: str = "float32"
    table: np.ndarray | None = None  # (C,) float64 class values: the excitation model (emb is then (3C, R))


def _np(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().to("cpu", torch.float32).numpy())


def _aligned(a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` starting on a 64-byte boundary: a vector load that straddles two cache lines costs
    two reads (numpy aligns to 16 bytes; a 64-byte stream read from L2 measured 103 against 172 GB/s)."""
    raw = np.empty(a.nbytes + 64, np.uint8)
    start = -raw.ctypes.data % 64
    out = raw[start:start + a.nbytes].view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


def _blocked(w: torch.Tensor, precision: str) -> np.ndarray:
    """``(..., O, I)`` -> ``(..., ceil(O/8), I, 8)``: the C kernel's layout, zero-padded rows.

    bfloat16: ``(..., ceil(O/16), ceil(I/2), 16, 2)`` (inputs paired, an odd one with a zero column), as
    uint16 bit patterns rounded to nearest even."""
    *lead, O, I = w.shape
    width = 16 if precision == "bfloat16" else 8
    w = torch.nn.functional.pad(w.detach().to("cpu", torch.float32), (0, I % 2 if width == 16 else 0, 0, -O % width))
    O, I = w.shape[-2:]
    if precision == "bfloat16":
        w = w.reshape(*lead, O // 16, 16, I // 2, 2).transpose(-3, -2)
        return _aligned(w.to(torch.bfloat16).contiguous().view(torch.int16).numpy().view(np.uint16))
    w = w.reshape(*lead, O // 8, 8, I).transpose(-1, -2)
    return _aligned(w.numpy().astype(np.float16 if precision == "float16" else np.float32))


def _matrices(model) -> list[torch.Tensor]:
    return [p for layer in model.layers for p in (layer.conv.weight, layer.skip.weight)
            + ((layer.res.weight,) if layer.res is not None else ())] + [model.head1.weight, model.head2.weight]


def float16_exact(model) -> bool:
    """Whether every weight matrix the kernel reads is exactly a float16 value (e.g. a float16 export)."""
    return all(torch.equal(m, m.detach().to(torch.float16).to(m.dtype)) for m in _matrices(model))


def pack_weights(model, backend: str = "auto", precision: str = "auto", streams: int = 1) -> PackedWeights:
    """Copy ``model``'s weights into the layouts of the kernel ``backend`` (see :func:`resolve_backend`).

    ``precision="float16"`` stores the matrices in half precision (C kernel only): half the weight
    traffic per sample, activations and sums stay float32; the logits move by about 1e-4 relative.
    ``"bfloat16"`` (C kernel on CPUs with AVX-512 BF16) stores them in bfloat16 and rounds each product's
    input to bfloat16 too, summing in float32: the same traffic as float16 with no conversion per weight,
    and the logits move by about 5e-3 relative (8 bits of mantissa). ``auto`` never picks it: it changes
    what the model computes.
    ``auto`` considers float16 only where it is lossless (:func:`float16_exact`, e.g. the shipped voice,
    stored in float16) and the C kernel runs, and then takes it only if it measures faster on this CPU
    for this shape and ``streams`` per thread (:func:`faster_precision`); float32 otherwise.
    ``fastest`` is bfloat16 where the CPU has AVX-512 BF16 (measured faster than float16 there: 1.1x at
    batch 1, 1.4x folded, the shipped vocoder on Zen 4; ``benchmarks/wavenet_generate.py``), else what
    ``auto`` picks: for a model measured not to suffer from bfloat16 (a voice card's ``"precision":
    "fastest"``, :mod:`wavetron.voice`). It is a feature check, not a timing, so that a machine makes the
    same audio from one run to the next.
    """
    backend = resolve_backend(backend, precision)
    if precision == "fastest":
        precision = "bfloat16" if backend == "c" and bfloat16_available() else "auto"
    if precision == "auto":
        precision = "float32"
        if backend == "c" and float16_exact(model):
            packed = {p: _pack(model, backend, p) for p in ("float32", "float16")}
            return packed[faster_precision(packed["float32"], packed["float16"], streams)]
    return _pack(model, backend, precision)


def _pack(model, backend: str, precision: str) -> PackedWeights:
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
    elif model.excitation:  # previous sample, prediction, previous excitation: three tables stacked
        emb = torch.cat([model.input.weight, model.input_prediction.weight, model.input_excitation.weight])
        in_w, in_b = torch.zeros(R), torch.zeros(R)
    else:
        emb, in_w, in_b = model.input.weight, torch.zeros(R), torch.zeros(R)
    w1, w2 = model.head1.weight[:, :, 0], model.head2.weight[:, :, 0]
    if backend == "c":
        matrices = [_blocked(m, precision) for m in (wd, wsr, w1, w2)]
    else:
        matrices = [_np(m) for m in (wd, wsr, w1, w2)]
    sizes = [1 << ((K - 1) * d).bit_length() for d in model.dilations]  # power of two > (K-1)*d
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return PackedWeights(
        wd=matrices[0], wsr=matrices[1], bsr=_np(bsr), w1=matrices[2], b1=_np(model.head1.bias),
        w2=matrices[3], b2=_np(model.head2.bias), emb=_np(emb), in_w=_np(in_w),
        in_b=_np(in_b), dilations=np.asarray(model.dilations, np.int64), offsets=offsets,
        masks=np.asarray(sizes, np.int64) - 1, rows=int(sum(sizes)), skip_scale=float(model.skip_scale), mol=mol,
        log_scale_min=float(dims.log_scale_min), dims=(L, R, G, S, model.out_channels, K, dims.hop_length),
        backend=backend, precision=precision, table=_expansion_table(model))


def _expansion_table(model) -> np.ndarray | None:
    if not model.excitation:
        return None
    from ..audio.lpc import expansion_table

    return np.ascontiguousarray(expansion_table(model.dims.classes), dtype=np.float64)


class _Group:
    """The state of a contiguous group of streams run by one thread.

    ``coef``: the excitation model's predictor coefficients ``(B_all, T, order)`` float32, or None (then
    any excitation weights run as a plain model, e.g. to time the kernel).
    """

    def __init__(self, begin: int, end: int, w: PackedWeights, req: Request, start: int | float,
                 coef: np.ndarray | None = None) -> None:
        B, T = end - begin, req.length
        self.begin, self.end = begin, end
        self.queues = np.zeros((B, w.rows, w.dims[1]), np.float32)
        self.prev_cls = np.full(B, int(start) if not w.mol else 0, np.int64)
        self.prev_val = np.full(B, float(start) if w.mol else 0.0, np.float32)
        P = req.prompt_length
        prompt = req.prompt[begin:end].cpu() if P else None
        self.prompt_cls = prompt.numpy().astype(np.int64) if P and not w.mol else np.zeros((B, 0), np.int64)
        self.prompt_val = prompt.numpy().astype(np.float32) if P and w.mol else np.zeros((B, 0), np.float32)
        self.out_cls = np.zeros((B, T), np.int64)
        self.out_val = np.zeros((B, T), np.float32)
        C = w.dims[4]
        self.logits = np.zeros((B, T, C), np.float32) if req.record_logits else np.zeros((0, 0, C), np.float32)
        order = coef.shape[2] if coef is not None else 0
        self.coef = coef[begin:end] if coef is not None else np.zeros((B, 0, 0), np.float32)
        self.table = w.table if coef is not None else np.zeros(0, np.float64)
        self.history = np.zeros((B, order), np.float64)  # s_{t-1}, ..., s_{t-order}
        self.signal = np.zeros((B, T if order else 0), np.float64)

    def run(self, w: PackedWeights, req: Request, frames: np.ndarray, const: np.ndarray, u: np.ndarray) -> None:
        b, e = self.begin, self.end
        args = (frames[b:e], const[b:e], u, self.queues, w.offsets, w.masks, w.dilations, w.wd, w.wsr, w.bsr,
                w.w1, w.b1, w.w2, w.b2)
        tail = (self.prev_cls, self.prev_val, self.prompt_cls, self.prompt_val, req.uniforms[b:e])
        outs = (self.out_cls, self.out_val, self.logits)
        lpc = (self.coef, self.table, self.history, self.signal)
        per_sample = req.temperatures is not None
        temperatures = req.temperatures[b:e] if per_sample else np.zeros((e - b, 0), np.float32)
        if w.backend == "numba":
            kernels.run_steps(0, req.length, *args, np.float32(w.skip_scale), w.emb, w.in_w, w.in_b, w.mol, *tail,
                              np.float32(req.temperature), np.float32(w.log_scale_min), *outs, *lpc, temperatures)
            return
        L, R, G, S, C, K, hop = w.dims
        ints = (0, req.length, e - b, R, G, S, C, L, K, hop, u.shape[1], frames.shape[1], int(w.mol),
                PRECISIONS.index(w.precision) - 1, int(req.record_logits), tail[2 + w.mol].shape[1], w.rows,
                self.history.shape[1], self.coef.shape[1], int(per_sample))  # precision: 0 float32, 1 float16, 2 bfloat16
        _ckernel.run_steps(ints, (w.skip_scale, req.temperature, w.log_scale_min), *args, w.emb, w.in_w, w.in_b,
                           *tail, *outs, *lpc, temperatures)


def conditioning_arrays(model, req: Request) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The conditioning of the request at frame rate (:meth:`WaveNet.frame_conditioning`) as float32 numpy arrays."""
    L, G = model.dims.layers, model.dims.gate_channels
    frames, const, u = model.frame_conditioning(req.mel, req.speakers, req.batch)
    if frames is None:
        return np.zeros((req.batch, 0, L, G), np.float32), _np(const), np.zeros((1, 0), np.float32)
    return _np(frames), _np(const), _np(u)


_FASTER: dict[tuple, str] = {}


def faster_precision(w32: PackedWeights, w16: PackedWeights, streams: int = 1) -> str:
    """``"float32"`` or ``"float16"``: whichever runs the C kernel faster on this CPU, timed once per process.

    Which wins depends on the CPU and the model's size, not on a feature flag: float16 halves the weight
    traffic but each weight load costs a conversion on the ports the multiply-adds need, so it pays off
    only where the weights stream from beyond the cache that holds them in float32. A short run of each
    (a few ms, interleaved, best of five in thread CPU time, robust to a loaded machine) decides; the
    answer is kept per shape and per streams-per-thread class (one, or grouped by four).
    """
    group = 4 if streams >= 4 else 1
    key = (w32.dims, w32.rows, group)
    if key not in _FASTER:
        import time

        L, R, G, S, C, K, hop = w32.dims
        macs = L * (K * R * G + G // 2 * (S + R)) + S * S + S * C
        steps = int(min(1000, max(16, 4e7 / (2 * macs * group))))  # a few milliseconds per run
        req = Request(mel=None, speakers=None, batch=group, length=steps, prompt=None, temperature=1.0,
                      uniforms=draw_uniforms(0, group, steps))
        cond = (np.zeros((group, 0, L, G), np.float32), np.zeros((group, L, G), np.float32), np.zeros((1, 0), np.float32))
        best = {}
        for trial in range(6):  # the first round only warms the caches
            for w in (w32, w16):
                g = _Group(0, group, w, req, 0)
                start = time.thread_time()
                g.run(w, req, *cond)
                elapsed = time.thread_time() - start
                if trial:
                    best[w.precision] = min(best.get(w.precision, elapsed), elapsed)
        _FASTER[key] = "float16" if best["float16"] < best["float32"] else "float32"
    return _FASTER[key]


@torch.no_grad()
def generate_fast(model, req: Request, threads: int | None = None, weights: PackedWeights | None = None,
                  backend: str = "auto", precision: str = "auto") -> Generated:
    """Sample ``req.length`` steps on the CPU with the compiled loop.

    Args:
        model: a :class:`~wavetron.models.wavenet.WaveNet` (any device; the loop runs on the CPU).
        req: the request.
        threads: threads to split the streams among (default 1; at most one per stream).
        weights: :func:`pack_weights` of the model, to skip repacking across calls (its backend and
            precision then apply).
        backend, precision: see :func:`pack_weights`.
    Returns: :class:`Generated`; for the excitation model ``samples`` are the excitation classes and
        ``audio`` the de-emphasised signal of the linear-prediction loop.
    """
    B = req.batch
    threads = max(1, min(threads or 1, B))
    w = weights if weights is not None else pack_weights(model, backend, precision, streams=-(-B // threads))
    if model.excitation != (w.table is not None):
        raise ValueError("the packed weights are not this model's (excitation and plain WaveNets differ)")
    coef = None
    if model.excitation:
        coef = _np(model.lpc_coefficients(req.mel, req.length))  # (B, T, order)
    bounds = np.linspace(0, B, threads + 1).round().astype(int)
    groups = [_Group(int(a), int(b), w, req, model.start_value(), coef) for a, b in zip(bounds[:-1], bounds[1:])]
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
    if model.excitation:
        from ..models.wavenet import deemphasize

        signal = torch.from_numpy(np.concatenate([g.signal for g in groups]))
        return Generated(samples, deemphasize(signal.float(), model.dims.preemphasis), logits)
    return Generated(samples, model.decode_audio(samples), logits)
