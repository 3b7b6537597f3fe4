"""Tacotron model: shapes, masks, attention, losses, inference and the fused decoder paths."""
from __future__ import annotations

import dataclasses
import warnings

import pytest
import torch

from wavetron.config import AudioConfig, Config, TacotronConfig, from_dict, load_config
from wavetron.data import Batch
from wavetron.errors import ConfigError
from wavetron.models.attention import (LocationSensitiveAttention, alignment_scores, guided_attention_loss,
                                       lengths_mask, location_windows)
from wavetron.models.tacotron import Tacotron, build_tacotron
from wavetron.models.tacotron_decoder import _gate_order, _lstm_update


pytestmark = pytest.mark.usefixtures("one_torch_thread")


AUDIO = AudioConfig(sample_rate=8000, n_fft=256, win_length=256, hop_length=64, n_mels=20, f_max=4000.0)
N_SYMBOLS = 40


def tiny_config(**changes) -> TacotronConfig:
    base = dict(embedding_dim=24, encoder_dim=32, attention_dim=16, location_filters=4, location_kernel=5,
                prenet_dims=[16, 16], decoder_dim=32, postnet_dim=16, cbhg_banks=4, cbhg_highways=2,
                speaker_dim=4, max_decoder_steps=40)
    return TacotronConfig(**(base | changes))


def tiny_model(seed: int = 0, **changes) -> Tacotron:
    torch.manual_seed(seed)
    return Tacotron(tiny_config(**changes), N_SYMBOLS, AUDIO)


def make_batch(token_lengths: list[int], mel_lengths: list[int], seed: int = 0, frames: int | None = None) -> Batch:
    """Random tokens and mels, padded as collate pads them (tokens 0, mels log floor, audio 0)."""
    generator = torch.Generator().manual_seed(seed)
    size = len(token_lengths)
    width = frames or max(mel_lengths)
    tokens = torch.randint(2, N_SYMBOLS, (size, max(token_lengths)), generator=generator)
    tokens = tokens * lengths_mask(torch.tensor(token_lengths))
    mels = torch.randn(size, AUDIO.n_mels, width, generator=generator)
    mels = mels.masked_fill(~lengths_mask(torch.tensor(mel_lengths), width).unsqueeze(1), -11.5129)
    audio = torch.randn(size, width * AUDIO.hop_length, generator=generator) * 0.1
    return Batch(ids=[str(i) for i in range(size)], tokens=tokens, token_lengths=torch.tensor(token_lengths),
                 mels=mels, mel_lengths=torch.tensor(mel_lengths), audio=audio,
                 speakers=torch.zeros(size, dtype=torch.long))


@pytest.mark.parametrize("variant", ["tacotron2", "tacotron1"])
@pytest.mark.parametrize("r", [1, 3])
@pytest.mark.parametrize("sizes", [([7], [11]), ([9, 4, 6], [13, 5, 8])])
def test_teacher_forced_shapes_and_finite_losses(variant, r, sizes):
    token_lengths, mel_lengths = sizes
    model = tiny_model(variant=variant, reduction_factor=r)
    batch = make_batch(token_lengths, mel_lengths)
    frames = -(-max(mel_lengths) // r) * r
    mels = torch.nn.functional.pad(batch.mels, (0, frames - batch.mels.shape[-1]), value=-11.5129)
    out = model(batch.tokens, batch.token_lengths, mels, batch.mel_lengths)
    size = len(token_lengths)
    assert out.mels.shape == (size, AUDIO.n_mels, frames)
    freq = AUDIO.n_mels if variant == "tacotron2" else AUDIO.n_fft // 2 + 1
    assert out.postnet.shape == (size, freq, frames)
    assert out.stop_logits.shape == (size, frames // r)
    assert out.alignments.shape == (size, frames // r, max(token_lengths))
    losses = model.loss(batch)  # frames not a multiple of r: the model pads them itself
    assert all(torch.isfinite(value) for value in losses.values())
    losses["loss"].backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters() if p.requires_grad
               and p is not getattr(model.speaker_embedding, "weight", None))


def test_attention_rows_sum_to_one_and_skip_padding():
    model = tiny_model()
    batch = make_batch([9, 4, 6], [12, 5, 8])
    out = model(batch.tokens, batch.token_lengths, batch.mels, batch.mel_lengths)
    sums = out.alignments.sum(-1)
    torch.testing.assert_close(sums, torch.ones_like(sums))
    padded = ~lengths_mask(batch.token_lengths, batch.tokens.shape[1])  # (B, L)
    assert out.alignments.masked_select(padded.unsqueeze(1).expand_as(out.alignments)).abs().max() == 0


def test_folded_location_filter_equals_conv_then_dense():
    torch.manual_seed(0)
    attention = LocationSensitiveAttention(12, 10, attention_dim=8, location_filters=3, location_kernel=5)
    memory = torch.randn(2, 7, 10)
    prepared = attention.prepare(memory, torch.ones(2, 7, dtype=torch.bool))
    rows = torch.rand(2, 2, 7)
    folded = location_windows(rows, 2) @ prepared.location_weight  # (B, L, A)
    reference = attention.location_dense(attention.location_conv(rows).transpose(1, 2))
    torch.testing.assert_close(folded, reference)


def test_fused_lstm_update_equals_lstm_cell():
    torch.manual_seed(0)
    cell = torch.nn.LSTMCell(6, 5)
    x, h, c = torch.randn(3, 6), torch.randn(3, 5), torch.randn(3, 5)
    order = _gate_order(5, x.device)
    weight = torch.cat((cell.weight_ih, cell.weight_hh), 1)[order]
    gates = torch.addmm((cell.bias_ih + cell.bias_hh)[order], torch.cat((x, h), 1), weight.t())
    fused_h, fused_c = _lstm_update(gates, c)
    ref_h, ref_c = cell(x, (h, c))
    torch.testing.assert_close(fused_h, ref_h)
    torch.testing.assert_close(fused_c, ref_c)


@pytest.mark.parametrize("r", [1, 2])
def test_inference_agrees_with_teacher_forcing_on_its_own_output(r):
    """The step-by-step decoder and the hoisted teacher-forcing loop compute the same function."""
    model = tiny_model(reduction_factor=r, prenet_dropout=0.0, decoder_dropout=0.0, max_decoder_steps=12).eval()
    batch = make_batch([8, 5], [10, 10])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        memory = model.encode(batch.tokens, batch.token_lengths)
        free = model.decoder.infer(memory, stop_threshold=0.999999, max_steps=12)
    forced = model.decoder(memory, free.frames)
    torch.testing.assert_close(forced.frames, free.frames, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(forced.stop_logits, free.stop_logits, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(forced.alignments, free.alignments, atol=1e-6, rtol=1e-4)


def test_padding_does_not_change_an_items_outputs():
    model = tiny_model(prenet_dropout=0.0).eval()
    batch = make_batch([9, 4], [12, 6])
    both = model(batch.tokens, batch.token_lengths, batch.mels, batch.mel_lengths)
    alone = model(batch.tokens[1:, :4], batch.token_lengths[1:], batch.mels[1:, :, :6], batch.mel_lengths[1:])
    torch.testing.assert_close(both.alignments[1:, :6, :4], alone.alignments, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(both.mels[1:, :, :6], alone.mels, atol=1e-5, rtol=1e-5)


def test_cbhg_variant_ignores_padding_in_eval_mode():
    model = tiny_model(variant="tacotron1", prenet_dropout=0.0).eval()
    batch = make_batch([9, 4], [12, 6])
    both = model.encoder(batch.tokens, batch.token_lengths)
    alone = model.encoder(batch.tokens[1:, :4], batch.token_lengths[1:])
    torch.testing.assert_close(both[1:, :4], alone, atol=1e-5, rtol=1e-5)
    linear_both = model.postnet(batch.mels, batch.mel_lengths)
    linear_alone = model.postnet(batch.mels[1:, :, :6], batch.mel_lengths[1:])
    torch.testing.assert_close(linear_both[1:, :, :6], linear_alone, atol=1e-5, rtol=1e-5)


def diagonal(steps: int, tokens: int, anti: bool = False) -> torch.Tensor:
    rows = torch.zeros(steps, tokens)
    for t in range(steps):
        n = round(t * (tokens - 1) / (steps - 1))
        rows[t, tokens - 1 - n if anti else n] = 1.0
    return rows.unsqueeze(0)


def test_guided_attention_loss_is_small_on_the_diagonal_and_large_off_it():
    steps, tokens = torch.tensor([40]), torch.tensor([20])
    on = float(guided_attention_loss(diagonal(40, 20), steps, tokens))
    off = float(guided_attention_loss(diagonal(40, 20, anti=True), steps, tokens))
    uniform = float(guided_attention_loss(torch.full((1, 40, 20), 1 / 20), steps, tokens))
    assert on < 0.02
    assert off > 0.6
    assert on < uniform < off


def test_guided_attention_loss_ignores_padding():
    steps, tokens = torch.tensor([40, 40]), torch.tensor([20, 20])
    alignments = torch.cat((diagonal(40, 20), diagonal(40, 20)))
    padded = torch.zeros(2, 50, 25)
    padded[:, :40, :20] = alignments
    padded[1, 40:, 20:] = 1.0  # junk in the padding of item 1
    assert float(guided_attention_loss(padded, steps, tokens)) == pytest.approx(
        float(guided_attention_loss(alignments, steps, tokens)), abs=1e-6)


def test_alignment_scores():
    steps, tokens = torch.tensor([30]), torch.tensor([15])
    good = alignment_scores(diagonal(30, 15), steps, tokens)
    bad = alignment_scores(diagonal(30, 15, anti=True), steps, tokens)
    flat = alignment_scores(torch.full((1, 30, 15), 1 / 15), steps, tokens)
    assert float(good["focus"]) == pytest.approx(1.0)
    assert float(good["diagonality"]) == pytest.approx(1.0)
    assert float(good["coverage"]) == pytest.approx(1.0)
    assert float(bad["diagonality"]) < 0.3
    assert float(flat["focus"]) == pytest.approx(1 / 15)


def test_guided_weight_decays_with_training_updates():
    model = tiny_model(guided_attention_weight=2.0, guided_attention_decay_steps=2)
    batch = make_batch([5], [6])
    assert model.loss(batch)["attention/weight"] == pytest.approx(2.0)
    model.loss(batch)
    assert model.loss(batch)["attention/weight"] == pytest.approx(1.0)
    model.eval()
    model.loss(batch)  # validation does not count as an update
    assert int(model.updates) == 3
    assert "updates" in model.state_dict()


def test_inference_stops_when_the_stop_token_fires():
    model = tiny_model(reduction_factor=2).eval()
    torch.nn.init.constant_(model.decoder.stop_projection.bias, 20.0)  # stop at once
    result = model.infer(torch.tensor([[5, 6, 7, 8], [9, 10, 0, 0]]), torch.tensor([4, 2]), seed=0)
    assert result.finished.all()
    assert result.lengths.tolist() == [2, 2]
    assert result.mels.shape == (2, AUDIO.n_mels, 2)


def test_inference_warns_at_the_step_limit_and_returns():
    model = tiny_model(max_decoder_steps=7).eval()
    torch.nn.init.constant_(model.decoder.stop_projection.bias, -20.0)  # never stop
    with pytest.warns(RuntimeWarning, match="max_decoder_steps"):
        result = model.infer(torch.tensor([3, 4, 5]), seed=0)
    assert not result.finished.any()
    assert result.lengths.tolist() == [7]
    assert result.mels.shape == (1, AUDIO.n_mels, 7)


def test_batched_inference_matches_single_items():
    model = tiny_model(max_decoder_steps=10).eval()
    torch.nn.init.constant_(model.decoder.stop_projection.bias, -20.0)
    model.decoder.prenet.dropout = 0.0  # deterministic, so batch and single runs can be compared
    tokens = torch.tensor([[5, 6, 7, 8, 9], [10, 11, 12, 0, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        both = model.infer(tokens, torch.tensor([5, 3]))
        second = model.infer(tokens[1:, :3])
    torch.testing.assert_close(both.mels[1:], second.mels, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("variant", ["tacotron2", "tacotron1"])
def test_an_items_postnet_output_is_the_same_alone_and_beside_a_longer_one(variant):
    model = tiny_model(variant=variant).eval()
    frames = torch.randn(2, AUDIO.n_mels, 12)
    lengths = torch.tensor([12, 7])
    both = model._postnet(frames, lengths)
    alone = model._postnet(frames[1:, :, :7], lengths[1:])
    torch.testing.assert_close(both[1:, :, :7], alone, atol=1e-5, rtol=1e-5)
    # Teacher forcing (training, GTA) reads the same: past the length is silence.
    batch = make_batch([9, 4], [12, 7])
    model = tiny_model(variant=variant, prenet_dropout=0.0).eval()
    both = model(batch.tokens, batch.token_lengths, batch.mels, batch.mel_lengths)
    alone = model(batch.tokens[1:, :4], batch.token_lengths[1:], batch.mels[1:, :, :7], batch.mel_lengths[1:])
    torch.testing.assert_close(both.postnet[1:, :, :7], alone.postnet, atol=1e-5, rtol=1e-5)


def test_inference_is_reproducible_with_a_seed_and_varies_without():
    model = tiny_model(max_decoder_steps=6).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        first = model.infer(torch.tensor([3, 4, 5]), seed=3).mels
        again = model.infer(torch.tensor([3, 4, 5]), seed=3).mels
        other = model.infer(torch.tensor([3, 4, 5]), seed=4).mels
    torch.testing.assert_close(first, again)
    assert not torch.allclose(first, other)  # prenet dropout stays on at inference


def test_attention_window_keeps_each_step_near_the_last_peak():
    model = tiny_model(max_decoder_steps=12).eval()
    torch.nn.init.constant_(model.decoder.stop_projection.bias, -20.0)
    model.decoder.prenet.dropout = 0.0
    tokens, lengths = torch.tensor([[5, 6, 7, 8, 9, 10, 11, 12, 13, 14], [15, 16, 17, 18, 19, 0, 0, 0, 0, 0]]), \
        torch.tensor([10, 5])
    with torch.no_grad():  # an attention that jumps: energies dominated by each token's own key
        model.decoder.attention.memory.weight.normal_(std=10.0)
        model.decoder.attention.score.weight.normal_(std=10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        free = model.infer(tokens, lengths)
        near = model.infer(tokens, lengths, attention_window=[1, 2])
        again = tiny_model(max_decoder_steps=12, attention_window=[1, 2]).eval()
    peaks = near.alignments.argmax(-1)  # (B, steps)
    steps = peaks.diff(dim=1, prepend=torch.zeros(2, 1, dtype=torch.long))
    assert ((steps >= -1) & (steps <= 2)).all()
    assert (near.alignments[1, :, 5:] == 0).all()  # padding stays out
    free_steps = free.alignments.argmax(-1).diff(dim=1)
    assert ((free_steps < -1) | (free_steps > 2)).any()  # without the window this attention jumps
    assert again.config.attention_window == [1, 2]
    with pytest.raises(ConfigError, match="tacotron.attention_window"):
        tiny_config(attention_window=[1])
    with pytest.raises(ConfigError, match="tacotron.attention_window"):
        tiny_config(attention_window=[1, 0])
    with pytest.raises(ConfigError, match="attention_window"):
        model.infer(tokens, lengths, attention_window=[2])


def test_inference_rejects_empty_input():
    model = tiny_model().eval()
    with pytest.raises(ValueError, match="at least one token"):
        model.infer(torch.zeros(1, 0, dtype=torch.long))


def test_speaker_embedding_changes_the_output():
    model = tiny_model(n_speakers=3, prenet_dropout=0.0).eval()
    batch = make_batch([6, 6], [8, 8])
    batch.tokens[1] = batch.tokens[0]
    batch.mels[1] = batch.mels[0]
    out = model(batch.tokens, batch.token_lengths, batch.mels, batch.mel_lengths, torch.tensor([0, 2]))
    assert not torch.allclose(out.mels[0], out.mels[1])


def test_tacotron1_infers_a_linear_spectrogram():
    model = tiny_model(variant="tacotron1", max_decoder_steps=5).eval()
    torch.nn.init.constant_(model.decoder.stop_projection.bias, -20.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = model.infer(torch.tensor([3, 4, 5, 6]), seed=0)
    assert result.linear is not None and result.linear.shape == (1, AUDIO.n_fft // 2 + 1, 5)


def test_validation_hooks_report_alignment_and_stop_scores():
    model = tiny_model(max_decoder_steps=30).eval()
    batch = make_batch([7, 5], [9, 6])
    metrics = model.validation_metrics(batch)
    for key in ("align/focus", "align/diagonality", "align/coverage", "infer/focus", "infer/stopped"):
        assert 0.0 <= metrics[key] <= 1.0, key
    images = model.validation_outputs(batch)["images"]
    assert images["alignment"].shape == (7, 9)
    assert images["mel_target"].shape == (AUDIO.n_mels, 9)


def test_presets_build_the_published_sizes():
    config = load_config("configs/tacotron2.yaml")
    params = sum(p.numel() for p in build_tacotron(config).parameters())
    assert 27e6 < params < 29e6  # NVIDIA's Tacotron 2 has 28.2 M parameters
    small = load_config("configs/tacotron2-small.yaml")
    assert sum(p.numel() for p in build_tacotron(small).parameters()) < 4e6
    assert load_config("configs/tacotron1.yaml").tacotron.variant == "tacotron1"


def test_config_rejects_bad_values_by_name():
    with pytest.raises(ConfigError, match="tacotron.variant"):
        from_dict(Config, {"tacotron": {"variant": "tacotron3"}})
    with pytest.raises(ConfigError, match="tacotron.reduction_factor"):
        from_dict(Config, {"tacotron": {"reduction_factor": 0}})
    with pytest.raises(ConfigError, match="tacotron.decoder_size"):
        from_dict(Config, {"tacotron": {"decoder_size": 3}})
    assert dataclasses.asdict(from_dict(Config, {}).tacotron) == dataclasses.asdict(TacotronConfig())


@pytest.mark.parametrize("r", [1, 2])
def test_deferred_weight_gradients_equal_plain_autograd(r):
    model = tiny_model(reduction_factor=r, prenet_dropout=0.0, decoder_dropout=0.0, dropout=0.0)
    batch = make_batch([9, 4, 6], [12, 5, 8])
    grads = []
    for defer in (True, False):
        model.zero_grad()
        model.decoder.defer_weight_grads = defer
        model.loss(batch)["loss"].backward()
        grads.append({name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], atol=1e-5, rtol=1e-4, msg=name)


def test_bf16_autocast_trains():
    model = tiny_model()
    batch = make_batch([9, 4, 6], [12, 5, 8])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        losses = model.loss(batch)
    losses["loss"].backward()
    assert torch.isfinite(losses["loss"])
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_inference_weight_cache_follows_weight_updates():
    model = tiny_model(max_decoder_steps=4, prenet_dropout=0.0).eval()
    tokens = torch.tensor([3, 4, 5])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        first = model.infer(tokens).mels
        with torch.no_grad():
            model.decoder.decoder_rnn.weight_hh.mul_(0.5)  # in place, as an optimiser step is
        second = model.infer(tokens).mels
        model.decoder._fused_cache = None
        fresh = model.infer(tokens).mels
    assert not torch.allclose(first, second)
    torch.testing.assert_close(second, fresh)


@pytest.mark.parametrize("r", [1, 2])
def test_scheduled_sampling_feeds_whole_steps_of_the_models_own_frames(r):
    model = tiny_model(reduction_factor=r, prenet_dropout=0.0, decoder_dropout=0.0, dropout=0.0,
                       scheduled_sampling=0.5).train()
    batch = make_batch([8, 5], [12, 12])
    memory = model.encode(batch.tokens, batch.token_lengths)
    own = model.decoder(memory, batch.mels).frames.detach()
    torch.manual_seed(3)
    mixed = model.scheduled_inputs(memory, batch.mels)
    from_own, from_recording = (mixed == own).all(1), (mixed == batch.mels).all(1)  # (B, T)
    assert bool((from_own | from_recording).all())
    assert bool(from_own.any()) and bool(from_recording.any())
    per_step = from_own.view(2, -1, r)
    assert bool((per_step == per_step[..., :1]).all())  # the r frames of a step come from one source
    assert not mixed.requires_grad


def test_scheduled_sampling_trains_on_own_frames_against_the_recording_and_is_off_in_eval():
    changes = dict(prenet_dropout=0.0, decoder_dropout=0.0, dropout=0.0)
    plain, sampled = tiny_model(**changes), tiny_model(scheduled_sampling=1.0, **changes)
    batch = make_batch([8, 5], [12, 10])
    # Evaluation (validation, GTA) is teacher forcing whatever the setting.
    plain.eval(), sampled.eval()
    torch.testing.assert_close(sampled.loss(batch)["loss"], plain.loss(batch)["loss"])
    sampled.train()
    memory = sampled.encode(batch.tokens, batch.token_lengths)
    with torch.no_grad():
        fed_own = sampled.decoder(memory, sampled.decoder(memory, batch.mels).frames).frames
    out = sampled(batch.tokens, batch.token_lengths, batch.mels, batch.mel_lengths)
    torch.testing.assert_close(out.mels, fed_own, atol=1e-5, rtol=1e-5)
    losses = sampled.loss(batch)
    losses["loss"].backward()
    assert all(p.grad is not None for p in sampled.decoder.prenet.parameters())


def test_config_rejects_a_scheduled_sampling_share_outside_zero_one():
    with pytest.raises(ConfigError, match="tacotron.scheduled_sampling"):
        TacotronConfig(scheduled_sampling=1.5)
