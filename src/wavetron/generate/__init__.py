"""Autoregressive WaveNet sampling: three paths that agree, plus batched and folded generation.

- ``naive``: recompute the receptive field per sample (the reference; tests only).
- ``cached``: per-layer input queues in torch; any device, any batch.
- ``fast``: the whole per-sample loop compiled for the CPU with numba.

:func:`generate_batch` vocodes several utterances as one batch; :func:`generate_folded` splits one long
utterance into overlapping segments generated as one batch, then cross-fades them.

All paths read the same precomputed conditioning and the same table of uniforms, so with a fixed
seed they reproduce their output, and with ``temperature=0`` (argmax) they produce the same samples.

``sharpen`` lowers the temperature where the mel is voiced (LPCNet's and FFTNet's sharper sampling of
voiced speech): frame ``f`` samples at ``temperature * (1 - sharpen * v_f)`` with ``v_f`` the voicing
strength of :func:`wavetron.audio.voicing.voicing_strength`, interpolated per sample. ``sharpen=0`` (the
default) is the plain sampler, unchanged.
"""
from __future__ import annotations

import numpy as np
import torch

from ..threads import torch_threads
from .common import Generated, Request, draw_uniforms, frame_temperatures_to_samples, sample_softmax

METHODS = ("auto", "naive", "cached", "fast")


def fast_supports_excitation() -> bool:
    """Whether the compiled path runs the excitation model (see :mod:`.fast`)."""
    from . import fast

    return getattr(fast, "SUPPORTS_EXCITATION", False)


def sharpened_temperatures(model, mel: torch.Tensor, length: int, temperature: float,
                           sharpen: float) -> np.ndarray:
    """Per-sample temperatures ``(B, length)`` float32 that sharpen the voiced frames of ``mel (B, n_mels, F)``.

    Frame ``f`` gets ``temperature * (1 - sharpen * v_f)`` (``v_f`` from
    :func:`~wavetron.audio.voicing.voicing_strength` with the model's audio settings), linearly
    interpolated between frame centres.
    """
    from ..audio.voicing import voicing_strength

    if model.audio is None:
        raise ValueError("sharpening reads the voicing off the mel: this WaveNet carries no audio settings")
    strength = voicing_strength(mel, model.audio)  # (B, F)
    frame_temperatures = temperature * (1.0 - sharpen * strength.double())
    return frame_temperatures_to_samples(frame_temperatures, model.dims.hop_length, length)


def make_request(model, mel: torch.Tensor | None = None, speakers: torch.Tensor | None = None,
                 length: int | None = None, prompt: torch.Tensor | None = None, temperature: float = 1.0,
                 seed: int = 0, record_logits: bool = False, sharpen: float = 0.0,
                 temperatures: np.ndarray | None = None) -> Request:
    """Condition ``model`` and fix the length and randomness of a generation job.

    Args:
        mel: ``(B, n_mels, frames)``; required by a conditioned model, ignored otherwise.
        speakers: ``(B,)`` ids for a speaker-conditioned model.
        length: samples to generate; defaults to ``frames * hop_length``, or the prompt length.
        prompt: ``(B, P)`` encoded samples (see :meth:`WaveNet.encode_audio`) imposed on the first steps.
        sharpen: in [0, 1): how much voiced frames lower the temperature (see :func:`sharpened_temperatures`);
            0 leaves the scalar ``temperature`` alone.
        temperatures: ``(B, length)`` per-sample temperatures to use instead (not with ``sharpen``).
    """
    if not 0.0 <= sharpen < 1.0:
        raise ValueError(f"sharpen must lie in [0, 1), got {sharpen}")
    if sharpen and temperatures is not None:
        raise ValueError("pass sharpen or per-sample temperatures, not both")
    device = next(model.parameters()).device
    if mel is not None:
        mel = mel.to(device=device, dtype=next(model.parameters()).dtype)
        if mel.dim() == 2:
            mel = mel.unsqueeze(0)
    if speakers is not None:
        speakers = torch.as_tensor(speakers, device=device).reshape(-1)
    if model.conditional and mel is None:
        raise ValueError("this WaveNet is conditioned on mel: pass mel (B, n_mels, frames)")
    if not model.conditional:
        mel = None
    if mel is not None and mel.shape[1] != model.dims.cond_channels:
        raise ValueError(f"mel has {mel.shape[1]} bins, the WaveNet expects {model.dims.cond_channels}")
    if model.speaker is None:
        speakers = None
    elif speakers is None:
        raise ValueError("this WaveNet is conditioned on a speaker: pass speakers (B,)")
    if prompt is not None:
        prompt = torch.as_tensor(prompt, device=device)
        prompt = prompt.unsqueeze(0) if prompt.dim() == 1 else prompt
    batch = next((t.shape[0] for t in (mel, speakers, prompt) if t is not None), 1)
    covered = mel.shape[-1] * model.dims.hop_length if mel is not None else None
    if length is None:
        if covered is not None:
            length = covered
        elif prompt is not None:
            length = prompt.shape[1]
        else:
            raise ValueError("an unconditional WaveNet needs a length (or a prompt) to generate")
    if covered is not None and covered < length:
        raise ValueError(f"mel covers {covered} samples, asked for {length}")
    if prompt is not None and prompt.shape[1] > length:
        prompt = prompt[:, :length]
    if (sharpen or temperatures is not None) and model.dims.output != "softmax":
        raise ValueError("per-sample temperatures (sharpen) apply to a softmax WaveNet; this one outputs "
                         f"{model.dims.output}")
    if sharpen and temperature > 0:  # at temperature 0 (argmax) there is nothing to sharpen
        if mel is None:
            raise ValueError("sharpen reads the voicing off the mel: an unconditional WaveNet has none")
        temperatures = sharpened_temperatures(model, mel, int(length), float(temperature), float(sharpen))
    return Request(mel=mel, speakers=speakers, batch=batch, length=int(length), prompt=prompt,
                   temperature=float(temperature), uniforms=draw_uniforms(seed, batch, int(length)),
                   record_logits=record_logits, temperatures=temperatures)


def run_request(model, req: Request, method: str = "auto", threads: int | None = None,
                precision: str = "auto") -> Generated:
    """Run one path on a prepared request. ``auto`` picks ``fast`` on CPU, ``cached`` elsewhere.

    ``precision`` is the fast path's weight storage (see :func:`wavetron.generate.fast.pack_weights`).
    """
    if method not in METHODS:
        raise ValueError(f"unknown generation method {method!r} (known: {', '.join(METHODS)})")
    device = next(model.parameters()).device
    if method == "auto":
        method = "fast" if device.type == "cpu" else "cached"
        if method == "fast" and model.excitation and not fast_supports_excitation():
            method = "cached"
    if precision in ("float16", "bfloat16") and method != "fast":
        raise ValueError(f"{precision} weights are a fast-path option; method {method!r} runs the model as it is")
    if req.temperatures is not None and model.dims.output != "softmax":
        raise ValueError("per-sample temperatures apply to a softmax WaveNet; this one outputs "
                         f"{model.dims.output}")
    was_training = model.training
    model.eval()
    # per-step ops are tiny: intra-op threads only add synchronisation (and stall badly on a busy machine)
    try:
        with torch_threads(1 if device.type == "cpu" and method != "fast" else None):
            if method == "naive":
                from .naive import generate_naive

                return generate_naive(model, req)
            if method == "cached":
                from .cached import generate_cached

                return generate_cached(model, req)
            from .fast import generate_fast

            return generate_fast(model, req, threads=threads, precision=precision)
    finally:
        model.train(was_training)


def generate(model, mel: torch.Tensor | None = None, speakers: torch.Tensor | None = None,
             length: int | None = None, prompt: torch.Tensor | None = None, method: str = "auto",
             temperature: float = 1.0, seed: int = 0, record_logits: bool = False,
             threads: int | None = None, precision: str = "auto", sharpen: float = 0.0) -> Generated:
    """Sample from a WaveNet.

    Args:
        model: a :class:`~wavetron.models.wavenet.WaveNet`.
        mel: ``(B, n_mels, frames)`` or ``(n_mels, frames)`` conditioning.
        speakers: ``(B,)`` speaker ids. length: samples per stream.
        prompt: ``(B, P)`` encoded samples to continue (or teacher-force, with ``P == length``).
        method: ``auto``, ``naive``, ``cached`` or ``fast``.
        temperature: softmax temperature; 0 is argmax.
        seed: fixes the random draws.
        record_logits: also return every step's network output.
        threads: CPU threads of the fast path (streams are split among them).
        precision: the fast path's weights: ``float32``, ``float16`` (C kernel; logits within about 3e-4
            relative), ``bfloat16`` (C kernel on CPUs with AVX-512 BF16; inputs rounded too, logits within
            about 5e-3 relative), ``auto`` (float16 only where lossless and measured faster on this CPU) or
            ``fastest`` (bfloat16 where the CPU has it, else as ``auto``; off the fast path, the model as it is).
        sharpen: in [0, 1); lowers the temperature of voiced frames to ``temperature * (1 - sharpen *
            voicing)`` (softmax output; see the module docstring). 0 is plain sampling.
    Returns: :class:`Generated` with ``samples`` and ``audio`` ``(B, T)``.
    """
    req = make_request(model, mel, speakers, length, prompt, temperature, seed, record_logits, sharpen)
    return run_request(model, req, method, threads, precision)


from .fold import fold_plan, generate_batch, generate_folded, generate_folded_batch  # noqa: E402  (fold calls generate)

__all__ = ["Generated", "Request", "draw_uniforms", "fold_plan", "frame_temperatures_to_samples", "generate",
           "generate_batch", "generate_folded", "generate_folded_batch", "make_request", "run_request",
           "sample_softmax", "sharpened_temperatures"]
