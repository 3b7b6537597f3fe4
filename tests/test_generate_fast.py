"""The fast path's two kernels (C and numba) and its float16 and bfloat16 weights agree with the parallel forward pass."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from wavetron.generate import generate, make_request
from wavetron.generate import fast
from wavetron.generate.fast import (bfloat16_available, c_kernel_available, faster_precision, float16_exact,
                                    generate_fast, pack_weights, resolve_backend)
from test_generate import tiny

pytestmark = pytest.mark.usefixtures("one_torch_thread")
needs_c = pytest.mark.skipif(not c_kernel_available(), reason="C kernel not built for this machine")
BACKENDS = ["numba"] + (["c"] if c_kernel_available() else [])

KINDS = {"softmax": {}, "mol": dict(output="mol", mixtures=4), "speaker": dict(n_speakers=3, speaker_channels=4),
         "unconditional": dict(cond_channels=0), "odd-sizes": dict(residual_channels=12, gate_channels=20,
                                                                   skip_channels=10)}


def teacher_forced(model, backend: str, precision: str = "auto", streams: int = 5, T: int = 120):
    """Fast-path logits of ``streams`` teacher-forced streams (four run together, one alone) and the forward pass's."""
    torch.manual_seed(1)
    audio = torch.rand(streams, T) * 1.8 - 0.9
    target = model.encode_audio(audio)
    mel = torch.randn(streams, 8, T // 4 + 1) if model.conditional else None
    speakers = torch.arange(streams) % 3 if model.speaker is not None else None
    with torch.no_grad():
        ref = model(model.shift(target), mel, speakers)  # (B, C, T)
    req = make_request(model, mel, speakers, length=T, prompt=target, record_logits=True)
    out = generate_fast(model, req, weights=pack_weights(model, backend, precision))
    return out.logits, ref


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", list(KINDS))
def test_kernel_logits_match_forward(backend, kind):
    logits, ref = teacher_forced(tiny(**KINDS[kind]), backend)
    assert (logits - ref).abs().max() < 1e-4


@needs_c
def test_c_and_numba_draw_the_same_samples():
    model = tiny()
    mel = torch.randn(7, 8, 120)  # two threads: four streams (run together) and three (one by one)
    runs = {}
    for backend in ("numba", "c"):
        req = make_request(model, mel, length=480, temperature=0, seed=0)
        runs[backend] = generate_fast(model, req, threads=2, weights=pack_weights(model, backend)).samples
    assert len(torch.unique(runs["c"])) > 10
    assert torch.equal(runs["c"], runs["numba"])


@needs_c
def test_float16_weights_stay_close_and_auto_uses_them_only_where_lossless_and_faster():
    model = tiny()
    logits32, ref = teacher_forced(model, "c", "float32")
    logits16, _ = teacher_forced(model, "c", "float16")
    scale = ref.abs().max()
    # half-precision weights: close, not exact. Measured 3.7e-4 of the largest logit here and 3.3e-4 with the
    # shipped vocoder's weights moved off the float16 grid (float32: 3e-7); README.md says about 3e-4 relative.
    assert (logits16 - ref).abs().max() / scale < 1e-3
    assert (logits16 - ref).abs().max() > (logits32 - ref).abs().max()  # and really half precision
    fast._FASTER.clear()
    assert not float16_exact(model) and pack_weights(model).precision == "float32"
    assert not fast._FASTER  # lossy: not even timed

    with torch.no_grad():  # a float16 export: every weight exactly a float16 value
        for p in model.parameters():
            p.copy_(p.half().float())
    assert float16_exact(model)
    chosen = pack_weights(model).precision  # the one timed faster on this CPU, once per shape and grouping
    assert list(fast._FASTER.values()) == [chosen] and chosen in ("float32", "float16")
    w32, w16 = pack_weights(model, "c", "float32"), pack_weights(model, "c", "float16")
    assert faster_precision(w32, w16, streams=1) == chosen and len(fast._FASTER) == 1  # cached, not re-timed
    faster_precision(w32, w16, streams=8)
    assert len(fast._FASTER) == 2  # four streams sharing each weight load are timed apart
    auto, ref = teacher_forced(model, "c", "float16")
    exact, _ = teacher_forced(model, "c", "float32")
    assert (auto - exact).abs().max() < 1e-5
    assert (auto - ref).abs().max() < 1e-4


@needs_c
@pytest.mark.parametrize("kind", list(KINDS) + ["odd-inputs"])
def test_bfloat16_weights_stay_close_where_the_cpu_has_them(kind):
    kw = KINDS.get(kind, dict(residual_channels=11, gate_channels=18, skip_channels=7))  # odd inputs: paired with 0
    model = tiny(**kw)
    if not bfloat16_available():
        with pytest.raises(RuntimeError, match="AVX-512 BF16"):
            pack_weights(model, "c", "bfloat16")
        return
    logits16, ref = teacher_forced(model, "c", "float16")
    logits_bf, _ = teacher_forced(model, "c", "bfloat16")
    scale = ref.abs().max()
    # weights and each product's inputs rounded to 8 bits of mantissa, sums in float32: measured 3.8e-3 to
    # 5.4e-3 of the largest logit over these shapes (float16: 3.6e-4 to 4.8e-4), 6.6e-3 with the shipped vocoder
    assert (logits_bf - ref).abs().max() / scale < 1.5e-2
    assert (logits_bf - ref).abs().max() > (logits16 - ref).abs().max()  # and really bfloat16
    fast._FASTER.clear()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.bfloat16().float())  # even a bfloat16 export: auto never picks it (it rounds the inputs)
    assert pack_weights(model).precision in ("float32", "float16")


@needs_c
def test_fastest_is_bfloat16_where_the_cpu_has_it_else_what_auto_picks():
    model = tiny()
    with torch.no_grad():  # a float16 export, so that auto may take float16 too
        for p in model.parameters():
            p.copy_(p.half().float())
    auto = pack_weights(model).precision
    fastest = pack_weights(model, precision="fastest").precision
    assert fastest == ("bfloat16" if bfloat16_available() else auto)
    assert pack_weights(model, "numba", "fastest").precision == "float32"  # the numba kernel has only float32
    mel = torch.randn(1, model.dims.cond_channels, 6)
    req = make_request(model, mel, length=6 * model.dims.hop_length, seed=3)
    runs = [generate_fast(model, req, weights=pack_weights(model, precision="fastest")).samples for _ in range(2)]
    named = generate_fast(model, req, weights=pack_weights(model, "c", fastest)).samples
    assert torch.equal(runs[0], runs[1]) and torch.equal(runs[0], named)  # the same draws every time


@pytest.mark.parametrize("kind", ["speaker", "encoder"])
def test_frame_conditioning_equals_the_sample_rate_convs(kind):
    kw = dict(n_speakers=3, speaker_channels=4) if kind == "speaker" else dict(encoder_blocks=2, encoder_channels=12)
    model = tiny(**kw)
    if model.encoder is not None:  # its output convs start at zero: make the encoder do something
        torch.nn.init.normal_(model.encoder.blocks[0][2].weight, std=0.3)
    mel = torch.randn(3, 8, 17)
    speakers = torch.tensor([2, 0, 1]) if model.speaker is not None else None
    with torch.no_grad():  # frame rate, as every generator reads it, against each layer's convs at sample rate
        frames, const, u = model.frame_conditioning(mel, speakers)
        per_sample = model.layer_conditioning(frames, const, u, 0, 17 * 4)  # (B, T, L, G)
        cond, glob = model.condition(mel, speakers)
        for l, layer in enumerate(model.layers):
            expected = layer.cond(cond) + layer.conv.bias[:, None] + (layer.glob(glob) if glob is not None else 0)
            torch.testing.assert_close(per_sample[:, :, l], expected.transpose(1, 2), rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="bins"):
        model.frame_conditioning(mel[:, :5], speakers)


def test_backend_and_precision_errors():
    with pytest.raises(ValueError, match="unknown fast-path backend"):
        resolve_backend("fortran")
    with pytest.raises(ValueError, match="unknown weight precision"):
        resolve_backend("auto", "int4")
    with pytest.raises(ValueError, match="numba kernel runs float32"):
        resolve_backend("numba", "float16")
    with pytest.raises(ValueError, match="numba kernel runs float32"):
        resolve_backend("numba", "bfloat16")
    with pytest.raises(ValueError, match="fast-path option"):
        generate(tiny(), torch.randn(1, 8, 10), method="cached", precision="float16")


@needs_c
def test_c_kernel_refuses_short_buffers():
    from wavetron.generate import _ckernel
    from wavetron.generate.fast import _Group, conditioning_arrays

    model = tiny()
    req = make_request(model, torch.randn(1, 8, 10), length=40)
    w = pack_weights(model, "c")
    group = _Group(0, 1, w, req, model.start_value())
    w.wd = w.wd[:1].copy()  # one layer's dilated-conv weights where six are needed
    with pytest.raises(ValueError, match="wd holds"):
        group.run(w, req, *conditioning_arrays(model, req))
    assert _ckernel.supported() is True
    assert np.all(group.out_cls == 0)  # nothing ran


@needs_c
@pytest.mark.parametrize("precision", ["float32", "float16"] + (["bfloat16"] if bfloat16_available() else []))
def test_packed_matrices_start_on_cache_lines(precision):
    w = pack_weights(tiny(**KINDS["odd-sizes"]), "c", precision)
    for m in (w.wd, w.wsr, w.w1, w.w2):
        assert m.ctypes.data % 64 == 0 and m.flags["C_CONTIGUOUS"]
    exact = pack_weights(tiny(**KINDS["odd-sizes"]), "c", "float32")
    if precision == "float32":  # the copy keeps the values
        assert all(np.array_equal(a, b) for a, b in zip((w.wd, w.wsr, w.w1, w.w2), (exact.wd, exact.wsr, exact.w1, exact.w2)))


@needs_c
@pytest.mark.parametrize("precision", ["float32", "float16"] + (["bfloat16"] if bfloat16_available() else []))
def test_a_stream_computes_the_same_whatever_the_threads(precision):
    # one thread: four streams share each weight load and one runs alone; two threads: groups of 2 and 3, one
    # at a time. Each block sums its inputs in one order either way, so the logits agree to the last bit (a
    # last-bit difference, sampled cold, picks another class and the audio follows it)
    model = tiny(**KINDS["odd-sizes"])
    torch.manual_seed(4)
    mel = torch.randn(5, 8, 61)
    prompt = torch.randint(0, model.out_channels, (5, 120))
    runs = [generate_fast(model, make_request(model, mel, length=120, prompt=prompt, record_logits=True),
                          threads=threads, weights=pack_weights(model, "c", precision)) for threads in (1, 2)]
    assert torch.equal(runs[0].logits, runs[1].logits)
    cold = [generate_fast(model, make_request(model, mel, length=240, temperature=0.05, seed=2), threads=threads,
                          weights=pack_weights(model, "c", precision)).samples for threads in (1, 2)]
    assert torch.equal(cold[0], cold[1]) and len(torch.unique(cold[0])) > 10
