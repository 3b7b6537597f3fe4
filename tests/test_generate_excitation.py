"""Generating with the excitation WaveNet (wavenet.excitation: lpc): every path, the fast path's kernels and
precisions included, reproduces training's parallel pass when teacher-forced, and the paths agree."""
from __future__ import annotations

import pytest
import torch

from wavetron.config import AudioConfig
from wavetron.generate import generate, generate_batch, generate_folded, make_request
from wavetron.generate.fast import bfloat16_available, c_kernel_available, generate_fast, pack_weights
from wavetron.models.wavenet import WaveNet, WaveNetDims, deemphasize

pytestmark = pytest.mark.usefixtures("one_torch_thread")
needs_c = pytest.mark.skipif(not c_kernel_available(), reason="C kernel not built for this machine")
# (backend, precision, tolerance on the logits relative to their largest magnitude)
FAST = [("numba", "float32", 1e-5)] + ([("c", "float32", 1e-5), ("c", "float16", 2e-3)] if c_kernel_available()
                                        else []) + ([("c", "bfloat16", 1.5e-2)] if bfloat16_available() else [])
AUDIO = AudioConfig(sample_rate=16000, n_fft=64, hop_length=4, win_length=64, n_mels=8, f_max=8000.0)


def tiny_excitation(**kw) -> WaveNet:
    torch.manual_seed(0)
    base = dict(layers=6, stacks=2, residual_channels=16, gate_channels=32, skip_channels=16, cond_channels=8,
                upsample_scales=(2, 2), hop_length=4, excitation="lpc", lpc_order=16, preemphasis=0.85)
    base.update(kw)
    model = WaveNet(WaveNetDims(**base), AUDIO).eval()
    with torch.no_grad():  # untrained but not timid: larger weights make the argmax depend on the input
        for p in model.parameters():
            p.mul_(2.0)
    return model


def speech_like(streams: int, T: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Audio ``(streams, T)``: decaying resonances excited by a pulse train and noise (what LPC predicts well),
    and a log-mel ``(streams, 8, T / 4 + 1)`` with a formant-like bump, so the filters are not flat."""
    g = torch.Generator().manual_seed(3)
    t = torch.arange(T, dtype=torch.float64)
    audio = []
    for i in range(streams):
        pulses = (t % (40 + 7 * i) == 0).double() + 0.05 * torch.randn(T, generator=g, dtype=torch.float64)
        wave = torch.zeros(T, dtype=torch.float64)
        for n in range(T):  # a two-pole resonance
            wave[n] = pulses[n] + (1.6 * wave[n - 1] - 0.81 * wave[n - 2] if n > 1 else 0.0)
        audio.append(0.6 * wave / wave.abs().max())
    frames = T // 4 + 1
    bins = torch.arange(8, dtype=torch.float32)
    mel = -4 + 3 * torch.exp(-0.5 * (bins - 2.5) ** 2)[None, :, None] + 0.3 * torch.randn(streams, 8, frames, generator=g)
    return torch.stack(audio).float(), mel


def teacher_forced_run(model, streams: int = 5, T: int = 120):
    """The closed-loop coding of speech-like audio, and the forward pass on its inputs."""
    audio, mel = speech_like(streams, T)
    coded = model.code_excitation(audio, mel)
    with torch.no_grad():
        ref = model(coded["inputs"], mel)  # (B, C, T)
    return coded, mel, ref


def check_teacher_forced(model, out, coded, ref, tolerance: float) -> None:
    assert out.logits.shape == ref.shape
    assert (out.logits - ref).abs().max() / ref.abs().max() < tolerance
    assert torch.equal(out.samples, coded["sent"])  # a full prompt is reproduced as given
    # the generator's linear-prediction loop rebuilt training's coded signal exactly
    assert torch.equal(out.audio, deemphasize(coded["signal"].float(), model.dims.preemphasis))


@pytest.mark.parametrize("path", ["naive", "cached"])
def test_torch_paths_teacher_forced_reproduce_the_parallel_pass(path):
    model = tiny_excitation()
    coded, mel, ref = teacher_forced_run(model, streams=2)
    out = generate(model, mel, length=ref.shape[-1], prompt=coded["sent"], method=path, record_logits=True)
    check_teacher_forced(model, out, coded, ref, 1e-5)


@pytest.mark.parametrize("backend, precision, tolerance", FAST)
def test_fast_kernels_teacher_forced_reproduce_the_parallel_pass(backend, precision, tolerance):
    model = tiny_excitation()
    coded, mel, ref = teacher_forced_run(model)  # five streams: four run together, one alone
    req = make_request(model, mel, length=ref.shape[-1], prompt=coded["sent"], record_logits=True)
    out = generate_fast(model, req, weights=pack_weights(model, backend, precision))
    assert len(torch.unique(coded["inputs"][:, 1])) > 20  # the prediction input really varies
    check_teacher_forced(model, out, coded, ref, tolerance)
    if precision != "float32":  # and really half precision: further off than float32
        exact = generate_fast(model, req, weights=pack_weights(model, backend, "float32"))
        assert (out.logits - ref).abs().max() > (exact.logits - ref).abs().max()


def test_argmax_paths_generate_the_same_excitation_and_audio():
    model = tiny_excitation()
    _, mel = speech_like(2, 300)
    runs = {path: generate(model, mel, length=300, method=path, temperature=0) for path in ("naive", "cached")}
    for backend, precision, _ in FAST:
        if precision == "float32":
            req = make_request(model, mel, length=300, temperature=0)
            runs[backend] = generate_fast(model, req, weights=pack_weights(model, backend, precision))
    first = runs["naive"]
    # argmax picks few excitation classes, but the loop's signal moves: a real sequence, not a fixed point
    assert len(torch.unique(first.samples)) >= 3 and len(torch.unique(first.audio)) > 400
    for name, run in runs.items():
        assert torch.equal(run.samples, first.samples), name
        assert torch.equal(run.audio, first.audio), name


def test_sampling_with_a_seed_matches_cached_and_auto_runs_the_fast_path():
    model = tiny_excitation()
    _, mel = speech_like(3, 240)
    fast = generate(model, mel, method="fast", seed=5)
    assert torch.equal(generate(model, mel, method="auto", seed=5).samples, fast.samples)
    cached = generate(model, mel, method="cached", seed=5)
    assert (fast.samples == cached.samples).float().mean() > 0.99  # same logits, same uniforms
    assert not torch.equal(fast.samples, generate(model, mel, method="fast", seed=6).samples)
    two = generate(model, mel, method="fast", seed=5, threads=2)  # streams split among threads
    assert torch.equal(two.samples, fast.samples) and torch.equal(two.audio, fast.audio)


@pytest.mark.parametrize("backend", [b for b, p, _ in FAST if p == "float32"])
def test_batched_streams_equal_one_by_one(backend):
    model = tiny_excitation()
    _, mel = speech_like(1, 160)
    mels = [mel[0, :, :n] for n in (41, 23, 30)]
    batched = generate_batch(model, mels, method="fast", temperature=0)
    for m, wave in zip(mels, batched):
        req = make_request(model, m, temperature=0)
        alone = generate_fast(model, req, weights=pack_weights(model, backend, "float32")).audio[0]
        assert wave.shape == alone.shape
        # the upsampler (and the filters' interpolation) look ahead: only the padding's reach may differ
        keep = (m.shape[-1] - model.upsample.margin - 1) * 4
        assert torch.equal(wave[:keep], alone[:keep])


def test_folded_segments_start_from_silence_and_are_cross_faded():
    model = tiny_excitation()
    _, mel = speech_like(1, 280)
    mel = mel[0]  # (8, 71)
    segment, overlap, hop = 24, 4, 4
    folded = generate_folded(model, mel, segment_frames=segment, overlap_frames=overlap, method="fast", temperature=0)
    assert folded.shape == (mel.shape[-1] * hop,)
    starts = list(range(0, mel.shape[-1] - overlap, segment - overlap))
    # every segment is vocoded as a fresh utterance: its own linear-prediction loop, from silence
    alone = []
    for s in starts:
        piece = mel[:, s:s + segment]
        piece = torch.cat([piece, piece[:, -1:].expand(-1, segment - piece.shape[-1])], dim=1)
        alone.append(generate(model, piece, method="fast", temperature=0).audio[0])
    fade = overlap * hop
    ramp = torch.arange(1, fade + 1, dtype=torch.float32) / (fade + 1)
    for i, s in enumerate(starts):
        begin = s * hop
        inner = slice(begin + (fade if i else 0), min(begin + segment * hop - fade, folded.shape[0]))
        assert torch.equal(folded[inner], alone[i][inner.start - begin:inner.stop - begin])
        if i:  # the overlap with the previous segment: a linear cross-fade of the two
            mix = alone[i - 1][-fade:] * (1 - ramp) + alone[i][:fade] * ramp
            assert torch.allclose(folded[begin:begin + fade], mix, atol=1e-6)
    whole = generate(model, mel, method="fast", temperature=0).audio[0]
    assert torch.equal(folded[:(segment - overlap) * hop], whole[:(segment - overlap) * hop])
