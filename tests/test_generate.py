"""The three generation paths agree with the parallel forward pass and with each other."""
from __future__ import annotations

import pytest
import torch

from wavetron.generate import generate
from wavetron.models.wavenet import WaveNet, WaveNetDims

PATHS = ("naive", "cached", "fast")


def tiny(**kw) -> WaveNet:
    torch.manual_seed(0)
    base = dict(layers=6, stacks=2, residual_channels=16, gate_channels=32, skip_channels=16, cond_channels=8,
                upsample_scales=(2, 2), hop_length=4)
    base.update(kw)
    model = WaveNet(WaveNetDims(**base)).eval()
    with torch.no_grad():  # untrained but not timid: larger weights make the argmax depend on the input
        for p in model.parameters():
            p.mul_(2.0)
    return model


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("kind", ["softmax", "mol", "speaker", "unconditional", "encoder", "preemphasis"])
def test_teacher_forced_logits_match_forward(kind):
    kw = {"mol": dict(output="mol", mixtures=4), "speaker": dict(n_speakers=3, speaker_channels=4),
          "unconditional": dict(cond_channels=0),
          "encoder": dict(encoder_blocks=2, encoder_channels=12, encoder_kernel=3),
          "preemphasis": dict(preemphasis=0.85)}.get(kind, {})
    model = tiny(**kw)
    if model.encoder is not None:  # its output convs start at zero: make the encoder do something
        torch.nn.init.normal_(model.encoder.blocks[0][2].weight, std=0.3)
    T = 150
    audio = torch.rand(2, T) * 1.8 - 0.9
    target = model.encode_audio(audio)
    mel = torch.randn(2, 8, T // 4 + 1) if model.conditional else None
    speakers = torch.tensor([2, 0]) if model.speaker is not None else None
    ref = model(model.shift(target), mel, speakers)  # (B, C, T)
    for path in PATHS:
        out = generate(model, mel, speakers, length=T, prompt=target, method=path, record_logits=True)
        assert out.logits.shape == ref.shape
        assert (out.logits - ref).abs().max() < 1e-4, path
        assert torch.equal(out.samples.to(target.dtype), target)  # a full prompt is reproduced as given
        assert torch.allclose(out.audio, model.decode_audio(target), atol=1e-6)


def test_argmax_paths_identical_for_2000_steps():
    model = tiny()
    mel = torch.randn(1, 8, 500)
    runs = {path: generate(model, mel, length=2000, method=path, temperature=0).samples for path in PATHS}
    assert runs["naive"].shape == (1, 2000)
    assert len(torch.unique(runs["naive"])) > 10  # a real sequence, not a fixed point
    assert torch.equal(runs["naive"], runs["cached"])
    assert torch.equal(runs["naive"], runs["fast"])


def test_argmax_paths_identical_mixture_output():
    model = tiny(output="mol", mixtures=4)
    mel = torch.randn(2, 8, 100)
    runs = [generate(model, mel, length=400, method=path, temperature=0).samples for path in PATHS]
    assert torch.allclose(runs[0], runs[1], atol=1e-5) and torch.allclose(runs[0], runs[2], atol=1e-5)


def test_fixed_seed_reproduces_and_paths_share_draws():
    model = tiny()
    mel = torch.randn(3, 8, 60)
    a = generate(model, mel, method="fast", seed=7).samples
    assert torch.equal(a, generate(model, mel, method="fast", seed=7).samples)
    assert not torch.equal(a, generate(model, mel, method="fast", seed=8).samples)
    # cached and fast compute the same logits and read the same uniforms: same samples almost always
    b = generate(model, mel, method="cached", seed=7).samples
    assert (a == b).float().mean() > 0.99
    assert a.shape == (3, 240) and a.dtype == torch.long


def test_temperature_narrows_the_distribution():
    model = tiny()
    mel = torch.randn(1, 8, 200)
    greedy = generate(model, mel, method="fast", temperature=0).samples.float()
    cold = generate(model, mel, method="fast", temperature=0.05, seed=1).samples.float()
    hot = generate(model, mel, method="fast", temperature=1.0, seed=1).samples.float()
    assert (cold - greedy).abs().mean() < (hot - greedy).abs().mean()


def test_threads_split_streams_without_changing_them():
    model = tiny()
    mel = torch.randn(5, 8, 40)
    one = generate(model, mel, method="fast", seed=3, threads=1).samples
    two = generate(model, mel, method="fast", seed=3, threads=2).samples
    assert torch.equal(one, two)


def test_unconditional_generates_from_nothing_and_continues_a_prompt():
    model = tiny(cond_channels=0)
    free = generate(model, length=300, method="fast", seed=1)
    assert free.audio.shape == (1, 300) and free.audio.abs().max() <= 1.0
    prompt = free.samples[:, :100]
    cont = generate(model, length=300, prompt=prompt, method="fast", seed=1)
    assert torch.equal(cont.samples[:, :100], prompt)
    assert torch.equal(cont.samples, free.samples)  # same seed, same history: the same continuation
    with pytest.raises(ValueError, match="length"):
        generate(model, method="fast")


def test_conditioned_model_requires_mel():
    with pytest.raises(ValueError, match="mel"):
        generate(tiny(), length=10)


def test_batched_generation_equals_one_by_one():
    from wavetron.generate import generate_batch

    model = tiny()
    mels = [torch.randn(8, n) for n in (30, 17, 25)]
    batched = generate_batch(model, mels, method="fast", temperature=0)
    assert [w.shape[0] for w in batched] == [120, 68, 100]
    for mel, wave in zip(mels, batched):
        alone = generate(model, mel, method="fast", temperature=0).audio[0]
        assert wave.shape == alone.shape
        # the upsampler looks a couple of frames ahead, so only the padding's reach may differ
        keep = (mel.shape[-1] - model.upsample.margin) * 4
        assert torch.equal(wave[:keep], alone[:keep])


def test_fold_plan_covers_the_utterance():
    from wavetron.generate import fold_plan

    assert fold_plan(100, 40, 8) == [0, 32, 64]
    assert fold_plan(10, 40, 8) == [0]
    with pytest.raises(ValueError):
        fold_plan(100, 8, 8)


def test_folded_generation_crossfades_segments():
    """Every segment, not only the first, is the segment generated alone, cross-faded linearly at the joins."""
    from wavetron.generate import generate_folded

    model = tiny()
    hop, segment, overlap = 4, 24, 4
    mel = torch.randn(8, 64)  # segments start at frames 0, 20 and 40; the last ends at the mel's end
    folded = generate_folded(model, mel, segment_frames=segment, overlap_frames=overlap, method="fast",
                             temperature=0)
    assert folded.shape == (64 * hop,) and folded.abs().max() <= 1.0
    alone = [generate(model, mel[:, s:s + segment], method="fast", temperature=0).audio[0] for s in (0, 20, 40)]
    fade = overlap * hop
    rise = torch.arange(1, fade + 1) / (fade + 1)  # the weight of the entering segment across a join
    for i, s in enumerate((0, 20, 40)):
        begin = s * hop + (fade if i > 0 else 0)
        end = (s + segment) * hop - (fade if i < 2 else 0)
        assert torch.equal(folded[begin:end], alone[i][begin - s * hop:end - s * hop]), f"segment {i}"
    for i, join in enumerate((20, 40)):
        leaving, entering = alone[i][-fade:], alone[i + 1][:fade]
        expected = (1 - rise) * leaving + rise * entering
        assert torch.allclose(folded[join * hop:join * hop + fade], expected, atol=1e-6), f"join {i}"
        assert not torch.equal(leaving, entering)  # the two segments differ there: the fade is seen
    whole = generate(model, mel, method="fast", temperature=0).audio[0]
    assert torch.equal(folded[:20 * hop], whole[:20 * hop])  # the first segment is the unfolded start
