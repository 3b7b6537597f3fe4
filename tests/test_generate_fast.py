"""The fast path's two kernels (C and numba) and its float16 weights agree with the parallel forward pass."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from wavetron.generate import generate, make_request
from wavetron.generate.fast import (c_kernel_available, float16_exact, generate_fast, pack_weights,
                                    resolve_backend)
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
def test_float16_weights_stay_close_and_auto_uses_them_only_where_lossless():
    model = tiny()
    logits32, ref = teacher_forced(model, "c", "float32")
    logits16, _ = teacher_forced(model, "c", "float16")
    scale = ref.abs().max()
    assert (logits16 - ref).abs().max() / scale < 2e-3  # half-precision weights: close, not exact
    assert (logits16 - ref).abs().max() > (logits32 - ref).abs().max()  # and really half precision
    assert not float16_exact(model) and pack_weights(model).precision == "float32"

    with torch.no_grad():  # a float16 export: every weight exactly a float16 value
        for p in model.parameters():
            p.copy_(p.half().float())
    assert float16_exact(model) and pack_weights(model).precision == "float16"
    auto, ref = teacher_forced(model, "c", "auto")
    exact, _ = teacher_forced(model, "c", "float32")
    assert (auto - exact).abs().max() < 1e-5
    assert (auto - ref).abs().max() < 1e-4


def test_backend_and_precision_errors():
    with pytest.raises(ValueError, match="unknown fast-path backend"):
        resolve_backend("fortran")
    with pytest.raises(ValueError, match="unknown weight precision"):
        resolve_backend("auto", "int4")
    with pytest.raises(ValueError, match="numba kernel runs float32"):
        resolve_backend("numba", "float16")
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
