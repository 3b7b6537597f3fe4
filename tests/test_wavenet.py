"""WaveNet model: shapes, causality, receptive field, conditioning checks, losses."""
from __future__ import annotations

import pytest
import torch

from wavetron.config import Config, load_config
from wavetron.errors import ConfigError
from wavetron.models.layers import UpsampleNetwork
from wavetron.models.wavenet import WaveNet, WaveNetDims, mulaw_expand, mulaw_quantize


def tiny(**kw) -> WaveNet:
    torch.manual_seed(0)
    base = dict(layers=6, stacks=2, residual_channels=16, gate_channels=32, skip_channels=16, cond_channels=8,
                upsample_scales=(2, 2), hop_length=4)
    base.update(kw)
    return WaveNet(WaveNetDims(**base)).eval()


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("batch,frames", [(1, 5), (3, 7)])
@pytest.mark.parametrize("output", ["softmax", "mol"])
def test_shapes(batch, frames, output):
    model = tiny(output=output, mixtures=3)
    T = frames * 4 - 1  # odd length, shorter than the mel
    audio = torch.rand(batch, T) * 2 - 1
    out = model(model.shift(model.encode_audio(audio)), torch.randn(batch, 8, frames))
    assert out.shape == (batch, 256 if output == "softmax" else 9, T)


def test_receptive_field_is_measured():
    model = tiny(cond_channels=0)
    # dilations 1, 2, 4, 1, 2, 4 with kernel 3: 2 * 14 + 1
    assert model.receptive_field == 29
    x = torch.randint(0, 256, (1, 80))
    base = model(x)
    for back in (model.receptive_field - 1, model.receptive_field):
        changed = x.clone()
        changed[0, 60 - back] = (changed[0, 60 - back] + 100) % 256
        differs = (model(changed)[0, :, 60] - base[0, :, 60]).abs().max() > 0
        assert differs == (back < model.receptive_field)


@pytest.mark.parametrize("output", ["softmax", "mol"])
def test_causality(output):
    model = tiny(output=output, mixtures=3)
    mel = torch.randn(2, 8, 30)
    audio = torch.rand(2, 120) * 2 - 1
    x = model.shift(model.encode_audio(audio))
    base = model(x, mel)
    for t in (0, 37, 119):
        changed = x.clone()
        changed[:, t] = (changed[:, t] + 50) % 256 if output == "softmax" else -changed[:, t] + 0.5
        out = model(changed, mel)
        assert torch.equal(out[..., :t], base[..., :t])
        assert (out[..., t] - base[..., t]).abs().max() > 0


def test_upsample_scales_must_multiply_to_hop():
    with pytest.raises(ValueError, match="multiply to 8, expected hop_length 256"):
        UpsampleNetwork([2, 4], 256)
    cfg = load_config(None, ["wavenet.upsample_scales=[4,4,4]"])
    from wavetron.models.wavenet import build_wavenet

    with pytest.raises(ConfigError, match="wavenet.upsample_scales"):
        build_wavenet(cfg)


def test_frame_weights_reproduce_upsampling():
    net = UpsampleNetwork([2, 3], 6)
    with torch.no_grad():
        for conv in net.convs:
            conv.weight.normal_()
        mel = torch.randn(2, 5, 9)
        up = net(mel)  # (B, C, 54)
        u = net.frame_weights()
        m = net.margin
        padded = torch.nn.functional.pad(mel, (m, m))
        t = torch.arange(54)
        rebuilt = sum(u[t % 6, q] * padded[..., t // 6 + q] for q in range(2 * m + 1))
    assert torch.allclose(up, rebuilt, atol=1e-5)


def test_mulaw_round_trip():
    x = torch.linspace(-1, 1, 1001)
    q = mulaw_quantize(x)
    assert q.min() == 0 and q.max() == 255
    assert (mulaw_expand(q) - x).abs().max() < 0.032  # the widest bin, near +-1
    assert int(mulaw_quantize(torch.zeros(()))) == tiny().start_value() == 128


def test_loss_masks_padding():
    from types import SimpleNamespace

    model = tiny()
    audio = torch.rand(2, 40) * 1.6 - 0.8
    mel = torch.randn(2, 8, 10)
    full = model.loss(SimpleNamespace(audio=audio, mels=mel, audio_lengths=None, speakers=None))
    assert set(full) == {"loss", "wavenet/ce"} and full["loss"].requires_grad
    padded = audio.clone()
    padded[1, 20:] = 0.9
    short = model.loss(SimpleNamespace(audio=padded, mels=mel, audio_lengths=torch.tensor([40, 20]), speakers=None))
    again = model.loss(SimpleNamespace(audio=audio, mels=mel, audio_lengths=torch.tensor([40, 20]), speakers=None))
    assert torch.allclose(short["loss"], again["loss"])  # what lies past the length does not count
    mol = tiny(output="mol", mixtures=3).loss(SimpleNamespace(audio=audio, mels=mel, audio_lengths=None, speakers=None))
    assert set(mol) == {"loss", "wavenet/nll"} and torch.isfinite(mol["loss"])


def test_speaker_conditioning_changes_output():
    model = tiny(n_speakers=3, speaker_channels=4)
    x = torch.randint(0, 256, (2, 20))
    mel = torch.randn(2, 8, 5)
    a = model(x, mel, torch.tensor([0, 0]))
    b = model(x, mel, torch.tensor([0, 2]))
    assert torch.equal(a[0], b[0]) and not torch.allclose(a[1], b[1])


def test_presets_load_and_build():
    from pathlib import Path

    from wavetron.models.wavenet import build_wavenet

    root = Path(__file__).resolve().parents[1] / "configs"
    small = build_wavenet(load_config(root / "wavenet-small.yaml"))
    big = build_wavenet(load_config(root / "wavenet-big.yaml"))
    voc = build_wavenet(load_config(root / "wavenet-vocoder.yaml"))
    assert (small.dims.layers, small.dims.stacks, small.dims.residual_channels, small.dims.gate_channels,
            small.dims.skip_channels) == (12, 2, 64, 128, 64)
    assert (big.dims.layers, big.dims.stacks, big.dims.residual_channels, big.dims.gate_channels,
            big.dims.skip_channels) == (24, 4, 128, 256, 128)
    for m in (small, big, voc):
        assert m.dims.kernel_size == 3 and m.dims.cond_channels == 80 and m.out_channels == 256
        assert m.dims.upsample_scales == (4, 4, 4, 4)
    assert small.receptive_field == 253 and big.receptive_field == 505
    assert isinstance(Config(), Config)


def test_mel_encoder_starts_as_the_identity_and_then_changes_the_output():
    plain, encoded = tiny(), tiny(encoder_blocks=2, encoder_channels=12, encoder_kernel=3)
    encoded.load_state_dict({**encoded.state_dict(), **plain.state_dict()})
    x = torch.randint(0, 256, (2, 40))
    mel = torch.randn(2, 8, 10)
    assert torch.equal(plain(x, mel), encoded(x, mel))
    torch.nn.init.normal_(encoded.encoder.blocks[1][2].weight, std=0.3)
    assert (plain(x, mel) - encoded(x, mel)).abs().max() > 1e-3


def test_mel_context_gives_the_whole_utterance_conditioning():
    """A window with mel_reach frames of context on each side sees what the whole utterance sees."""
    from wavetron.models.wavenet import mel_reach

    model = tiny(encoder_blocks=2, encoder_channels=12, encoder_kernel=3)
    torch.nn.init.normal_(model.encoder.blocks[0][2].weight, std=0.3)
    c = mel_reach(model.dims)
    mel = torch.randn(1, 8, 30)
    cond, _ = model.condition(mel, None)  # (1, 8, 120)
    start, frames = 10, 6
    window, _ = model.condition(mel[..., start - c:start + frames + c], None, mel_context=c)
    assert window.shape == (1, 8, frames * 4)
    assert torch.allclose(window, cond[..., start * 4:(start + frames) * 4], atol=1e-5)
    bare, _ = model.condition(mel[..., start:start + frames], None)  # no context: the edges see zeros
    assert not torch.allclose(bare, cond[..., start * 4:(start + frames) * 4], atol=1e-3)


def test_encoder_kernel_must_be_odd():
    with pytest.raises(ConfigError, match="wavenet.encoder_kernel"):
        load_config(None, ["wavenet.encoder_kernel=4"])


def test_preemphasis_is_modelled_and_undone():
    from wavetron.models.wavenet import deemphasize, preemphasize

    t = torch.arange(4000) / 16000
    audio = (0.5 * torch.sin(2 * torch.pi * 150 * t) + 0.05 * torch.sin(2 * torch.pi * 5000 * t))[None]
    emphasised = preemphasize(audio, 0.85)
    assert torch.allclose(emphasised[0, 1:], audio[0, 1:] - 0.85 * audio[0, :-1]) and emphasised[0, 0] == audio[0, 0]
    assert torch.allclose(deemphasize(emphasised, 0.85), audio, atol=1e-6)
    assert emphasised.abs().max() < 0.6 * audio.abs().max()  # the low tone is damped, the high one kept
    model = tiny(preemphasis=0.85)
    assert torch.equal(model.encode_audio(audio), mulaw_quantize(emphasised))
    # 8-bit mu-law noise, de-emphasised, follows the speech-like spectrum: little of it above 1 kHz
    plain = torch.fft.rfft(mulaw_expand(mulaw_quantize(audio))[0] - audio[0]).abs().pow(2)
    shaped = torch.fft.rfft(model.decode_audio(model.encode_audio(audio))[0] - audio[0]).abs().pow(2)
    high = slice(4000 * 1000 // 16000, None)  # bins above 1 kHz
    assert shaped.sum() < plain.sum() and shaped[high].sum() < 0.2 * plain[high].sum()
    with pytest.raises(ConfigError, match="wavenet.preemphasis"):
        load_config(None, ["wavenet.preemphasis=1.0"])


def test_conditioning_terms_equal_each_layers_conv_at_sample_rate_and_so_do_their_gradients():
    model = tiny(encoder_blocks=1, encoder_channels=12, encoder_kernel=3).train()
    mel = torch.randn(2, 8, 10, requires_grad=True)  # 8 frames of 4 samples and one of context each side
    terms = model.conditioning_terms(mel, 30, mel_context=1)
    cond, _ = model.condition(mel, None, mel_context=1)
    direct = [layer.cond(cond[..., :30]) for layer in model.layers]
    weights = [torch.randn_like(term) for term in terms]
    grads = []
    for outputs in (terms, direct):
        assert len(outputs) == model.dims.layers
        loss = sum((out * w).sum() for out, w in zip(outputs, weights))
        grads.append(torch.autograd.grad(loss, [mel] + [layer.cond.weight for layer in model.layers]))
    for term, conv in zip(terms, direct):
        assert term.shape == conv.shape == (2, 32, 30)
        assert torch.allclose(term, conv, atol=1e-5)
    for fast, slow in zip(*grads):
        assert torch.allclose(fast, slow, atol=1e-4, rtol=1e-4)


def test_gated_unit_has_autograds_gradient():
    from wavetron.models.layers import _GatedTanh, gated_tanh

    h = torch.randn(2, 8, 5, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(_GatedTanh.apply, (h,))
    h = torch.randn(3, 16, 7, requires_grad=True)
    g = torch.randn(3, 8, 7)
    a, b = h.chunk(2, dim=1)
    expected_out = torch.tanh(a) * torch.sigmoid(b)
    (expected,) = torch.autograd.grad(expected_out, h, g)
    out = gated_tanh(h)
    (got,) = torch.autograd.grad(out, h, g)
    assert torch.equal(out, expected_out) and torch.equal(got, expected)
    with torch.no_grad():
        assert torch.equal(gated_tanh(h), expected_out)
