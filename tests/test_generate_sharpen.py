"""Per-sample temperatures and voiced-frame sharpening: every generation path honours them the same way, and
``sharpen=0`` is the plain sampler."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from wavetron.audio import mel_spectrogram
from wavetron.audio.voicing import voicing_strength
from wavetron.config import AudioConfig
from wavetron.generate import (draw_uniforms, generate, generate_batch, generate_folded, make_request,
                               run_request, sample_softmax)
from wavetron.generate.fast import bfloat16_available, c_kernel_available, generate_fast, pack_weights
from wavetron.models.wavenet import WaveNet, WaveNetDims

pytestmark = pytest.mark.usefixtures("one_torch_thread")
# 40 bands at 16 kHz: enough below 1.5 kHz for the voicing measure; hop 4 as the tiny model's upsampler
AUDIO = AudioConfig(sample_rate=16000, n_fft=512, hop_length=4, win_length=512, n_mels=40, f_max=8000.0)
KERNELS = [("numba", "float32")] + ([("c", "float32"), ("c", "float16")] if c_kernel_available() else []) + (
    [("c", "bfloat16")] if bfloat16_available() else [])


def tiny_excitation() -> WaveNet:
    torch.manual_seed(0)
    dims = WaveNetDims(layers=6, stacks=2, residual_channels=16, gate_channels=32, skip_channels=16,
                       cond_channels=40, upsample_scales=(2, 2), hop_length=4, excitation="lpc", lpc_order=16,
                       preemphasis=0.85)
    model = WaveNet(dims, AUDIO).eval()
    with torch.no_grad():  # untrained but not timid: larger weights make the draws depend on the input
        for p in model.parameters():
            p.mul_(2.0)
    return model


def voiced_and_unvoiced_mel(streams: int, frames: int) -> torch.Tensor:
    """``(streams, 40, frames)``: runs of 8 frames of a 250 Hz pulse train's mel, then 8 of white noise's."""
    g = torch.Generator().manual_seed(4)
    pulses = torch.zeros(6000)
    pulses[::64] = 0.5
    voiced = mel_spectrogram(pulses, AUDIO)[:, 300:-300]  # (40, F) away from the edges
    noise = mel_spectrogram(0.2 * torch.randn(6000, generator=g), AUDIO)[:, 300:-300]
    mels = []
    for s in range(streams):
        columns = [(voiced if (f // 8 + s) % 2 == 0 else noise)[:, 11 * f + 7 * s] for f in range(frames)]
        mels.append(torch.stack(columns, dim=1))
    return torch.stack(mels)


def schedule(batch: int, length: int) -> np.ndarray:
    """Per-sample temperatures ``(batch, length)`` that change every 10 samples, argmax (0) included."""
    levels = np.array([1.0, 0.3, 0.0, 0.7, 1.3], np.float32)
    t = np.arange(length)
    return np.stack([levels[(t // 10 + b) % len(levels)] for b in range(batch)]).astype(np.float32)


def run(model, req, path: str):
    """One generation path on a prepared request: naive, cached, or a fast kernel ``backend/precision``."""
    if "/" in path:
        backend, precision = path.split("/")
        return generate_fast(model, req, weights=pack_weights(model, backend, precision))
    return run_request(model, req, method=path)


PATHS = ["naive", "cached"] + [f"{b}/{p}" for b, p in KERNELS]


@pytest.mark.parametrize("path", PATHS)
def test_every_path_draws_each_sample_at_its_own_temperature(path):
    model = tiny_excitation()
    mel = voiced_and_unvoiced_mel(2, 30)
    T = 110
    temperatures = schedule(2, T)
    req = make_request(model, mel, length=T, seed=3, record_logits=True, temperatures=temperatures)
    out = run(model, req, path)
    # the sample of step t is the inverse-CDF draw from softmax(logits_t / temperatures[:, t]) with u_t
    uniforms = torch.from_numpy(req.uniforms[:, :, 0])
    redrawn = torch.stack([sample_softmax(out.logits[:, :, t], uniforms[:, t], torch.from_numpy(temperatures[:, t]))
                           for t in range(T)], dim=1)
    assert torch.equal(out.samples, redrawn)
    greedy = temperatures == 0
    assert torch.equal(out.samples[greedy], out.logits.argmax(dim=1)[greedy])
    assert len(torch.unique(out.samples[~greedy])) > 20  # real draws, not argmax everywhere
    # the temperatures do read: the same seed at the scalar temperature draws other samples
    plain = run(model, make_request(model, mel, length=T, seed=3), path)
    assert not torch.equal(plain.samples, out.samples)


@pytest.mark.parametrize("path", PATHS)
def test_constant_per_sample_temperature_is_the_scalar_and_teacher_forcing_ignores_it(path):
    model = tiny_excitation()
    mel = voiced_and_unvoiced_mel(2, 24)
    T = 90
    scalar = run(model, make_request(model, mel, length=T, temperature=0.7, seed=1), path)
    constant = run(model, make_request(model, mel, length=T, seed=1, temperatures=np.full((2, T), 0.7, np.float32)),
                   path)
    assert torch.equal(constant.samples, scalar.samples) and torch.equal(constant.audio, scalar.audio)
    # teacher-forced: the prompt is imposed, so the network's outputs are the plain run's, bit for bit
    prompt = scalar.samples
    forced = run(model, make_request(model, mel, length=T, prompt=prompt, record_logits=True), path)
    sharp = run(model, make_request(model, mel, length=T, prompt=prompt, record_logits=True,
                                    temperatures=schedule(2, T)), path)
    assert torch.equal(sharp.logits, forced.logits) and torch.equal(sharp.samples, prompt)


def test_paths_draw_the_same_samples_with_per_sample_temperatures():
    model = tiny_excitation()
    mel = voiced_and_unvoiced_mel(3, 50)
    T = 200
    runs = {}
    for path in [p for p in PATHS if not p.endswith("float16")]:  # half-precision weights move the logits
        req = make_request(model, mel, length=T, seed=11, temperatures=schedule(3, T))
        runs[path] = run(model, req, path)
    first = runs["naive"]
    for path, out in runs.items():
        assert torch.equal(out.samples, first.samples), path
        assert torch.equal(out.audio, first.audio), path
    two = generate_fast(model, make_request(model, mel, length=T, seed=11, temperatures=schedule(3, T)), threads=2)
    assert torch.equal(two.samples, runs[PATHS[2]].samples)  # streams split among threads


def test_sharpen_lowers_the_temperature_of_voiced_frames_only():
    model = tiny_excitation()
    mel = voiced_and_unvoiced_mel(2, 48)
    T = 48 * 4
    assert make_request(model, mel, sharpen=0.0).temperatures is None  # the plain sampler, untouched
    req = make_request(model, mel, temperature=0.9, sharpen=0.5)
    strength = voicing_strength(mel, AUDIO)  # (2, 48)
    assert strength[0, 1:7].min() > 0.9 and strength[0, 9:15].max() < strength[0, 1:7].min()
    # frame f is centred on sample 4 f
    frame_values = torch.from_numpy(req.temperatures[:, ::4])
    assert torch.allclose(frame_values, (0.9 * (1 - 0.5 * strength)).float(), atol=1e-6)
    assert req.temperatures.shape == (2, T) and req.temperatures.dtype == np.float32
    assert req.temperatures.min() >= 0.45 - 1e-6 and req.temperatures.max() <= 0.9 + 1e-6
    # the same seed, plain and sharpened: identical wherever the voicing is 0, colder draws elsewhere
    plain = generate(model, mel, method="fast", temperature=0.9, seed=2)
    assert torch.equal(generate(model, mel, method="fast", temperature=0.9, seed=2, sharpen=0.0).samples,
                       plain.samples)
    sharp = generate(model, mel, method="fast", temperature=0.9, seed=2, sharpen=0.5)
    assert not torch.equal(sharp.samples, plain.samples)
    assert torch.equal(generate(model, mel, method="fast", temperature=0, sharpen=0.5).samples,
                       generate(model, mel, method="fast", temperature=0).samples)  # argmax stays argmax
    with pytest.raises(ValueError, match="sharpen must lie"):
        make_request(model, mel, sharpen=1.0)


@pytest.mark.parametrize("backend", [b for b, p in KERNELS if p == "float32"])
def test_batched_and_folded_generation_honour_sharpen(backend):
    model = tiny_excitation()
    mel = voiced_and_unvoiced_mel(1, 70)[0]  # (40, 70)
    mels = [mel[:, :n] for n in (41, 23, 30)]
    batched = generate_batch(model, mels, method="fast", seed=4, sharpen=0.6)
    weights = pack_weights(model, backend, "float32")
    table = draw_uniforms(4, len(mels), 41 * 4)  # the batch's uniforms: row i is utterance i's
    for i, (m, wave) in enumerate(zip(mels, batched)):
        req = make_request(model, m, seed=4, sharpen=0.6)
        req.uniforms = np.ascontiguousarray(table[i:i + 1, :req.length])
        alone = generate_fast(model, req, weights=weights).audio[0]
        keep = (m.shape[-1] - model.upsample.margin - 1) * 4  # the padding's reach may differ
        assert torch.equal(wave[:keep], alone[:keep])
    # folded: every segment samples at the temperatures of its own frames, as a batch
    segment, overlap, hop = 24, 4, 4
    folded = generate_folded(model, mel, segment_frames=segment, overlap_frames=overlap, method="fast", seed=4,
                             sharpen=0.6)
    starts = list(range(0, mel.shape[-1] - overlap, segment - overlap))
    pieces = []
    for s in starts:
        piece = mel[:, s:s + segment]
        pieces.append(torch.cat([piece, piece[:, -1:].expand(-1, segment - piece.shape[-1])], dim=1))
    segments = generate(model, torch.stack(pieces), method="fast", seed=4, sharpen=0.6).audio
    plain = generate(model, torch.stack(pieces), method="fast", seed=4).audio
    fade = overlap * hop
    for i, s in enumerate(starts):
        begin = s * hop
        inner = slice(begin + (fade if i else 0), min(begin + segment * hop - fade, folded.shape[0]))
        assert torch.equal(folded[inner], segments[i][inner.start - begin:inner.stop - begin])
    assert not torch.equal(segments, plain)


def write_tiny_export(path) -> None:
    """A tiny excitation WaveNet for the voice's 16 kHz, 80-band mels, written as a wavetron export."""
    import json

    from safetensors.torch import save_file

    from wavetron.config import Config, from_dict, to_dict
    from wavetron.models.registry import get_model

    config = from_dict(Config, {
        "audio": {"sample_rate": 16000, "n_fft": 1024, "hop_length": 256, "win_length": 1024, "n_mels": 80,
                  "f_max": 8000.0},
        "wavenet": {"layers": 4, "stacks": 1, "residual_channels": 8, "gate_channels": 16, "skip_channels": 8,
                    "upsample_scales": [4, 4, 4, 4], "encoder_blocks": 0, "preemphasis": 0.85,
                    "excitation": "lpc", "lpc_order": 16}})
    torch.manual_seed(0)
    model = get_model("wavenet").build(config)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path),
              metadata={"format": "wavetron-model", "model_name": "wavenet", "config": json.dumps(to_dict(config)),
                        "step": "0", "weights": "model", "dtype": "float32"})


def test_vocode_command_sharpens_and_refuses_values_out_of_range(tmp_path, capsys):
    import soundfile as sf

    from wavetron.cli import main

    vocoder = tmp_path / "tiny.safetensors"
    write_tiny_export(vocoder)
    t = np.arange(12000) / 16000
    wav = tmp_path / "in.wav"  # a 180 Hz vowel-like buzz, then noise: voiced frames and unvoiced ones
    buzz = sum(np.cos(2 * np.pi * 180 * k * t) / k for k in range(1, 20)) * (t < 0.4)
    sf.write(wav, (0.1 * buzz + 0.05 * np.random.default_rng(0).standard_normal(t.size) * (t >= 0.4)), 16000)
    outs = {}
    for name, extra in (("plain", []), ("zero", ["--sharpen", "0"]), ("sharp", ["--sharpen", "0.5"])):
        outs[name] = tmp_path / f"{name}.wav"
        assert main(["vocode", str(wav), "--vocoder", str(vocoder), "--out", str(outs[name]), *extra]) == 0
    plain, zero, sharp = (sf.read(outs[n])[0] for n in ("plain", "zero", "sharp"))
    assert plain.shape == sharp.shape == (12000 // 256 * 256,)
    assert np.array_equal(plain, zero) and not np.array_equal(plain, sharp)
    capsys.readouterr()
    assert main(["vocode", str(wav), "--vocoder", str(vocoder), "--out", str(tmp_path / "x.wav"),
                 "--sharpen", "1.2"]) == 2
    assert "--sharpen 1.2: expected a value in [0, 1)" in capsys.readouterr().err
    assert not (tmp_path / "x.wav").exists()
