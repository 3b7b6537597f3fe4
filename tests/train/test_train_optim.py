"""Optimisers, learning-rate schedules and the EMA of weights."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from wavetron.config import TrainConfig
from wavetron.errors import ConfigError
from wavetron.train.ema import EMA
from wavetron.train.optim import build_optimizer, learning_rate


def test_constant_and_warmup():
    config = TrainConfig(lr=1e-3, warmup_steps=10)
    assert learning_rate(0, config) == pytest.approx(1e-4)
    assert learning_rate(4, config) == pytest.approx(5e-4)
    assert learning_rate(10, config) == learning_rate(5000, config) == pytest.approx(1e-3)


def test_exponential_decay_halves_every_decay_steps_down_to_min_lr():
    config = TrainConfig(lr=1e-3, schedule="exponential", decay_rate=0.5, decay_steps=1000, min_lr=1e-4)
    assert learning_rate(0, config) == pytest.approx(1e-3)
    assert learning_rate(1000, config) == pytest.approx(5e-4)
    assert learning_rate(2000, config) == pytest.approx(2.5e-4)
    assert learning_rate(100000, config) == pytest.approx(1e-4)


def test_milestones_multiply_the_schedule_from_each_listed_step_on():
    config = TrainConfig(lr=1e-3, schedule="exponential", decay_rate=0.5, decay_steps=1000, min_lr=1e-6,
                         milestones=[1500, 3000], milestone_factor=0.25)
    assert learning_rate(1499, config) == pytest.approx(1e-3 * 0.5 ** 1.499)
    assert learning_rate(1500, config) == pytest.approx(1e-3 * 0.5 ** 1.5 * 0.25)
    assert learning_rate(3000, config) == pytest.approx(1e-3 * 0.5 ** 3 * 0.25 ** 2)
    assert learning_rate(10 ** 6, config) == pytest.approx(1e-6)
    with pytest.raises(ConfigError, match="train.milestones"):
        TrainConfig(milestones=[3000, 1500])
    with pytest.raises(ConfigError, match="train.milestones"):
        TrainConfig(milestones=[1500, 1500])  # a repeated step would apply its drop twice


def test_noam_peaks_at_the_end_of_warmup_then_falls_as_inverse_sqrt():
    config = TrainConfig(lr=1e-3, schedule="noam", warmup_steps=100)
    rates = [learning_rate(step, config) for step in range(400)]
    assert max(rates) == pytest.approx(1e-3) and rates.index(max(rates)) in (99, 100)
    assert learning_rate(399, config) == pytest.approx(1e-3 * (100 / 400) ** 0.5)


def test_cosine_ends_at_min_lr():
    config = TrainConfig(lr=1e-3, schedule="cosine", max_steps=1000, min_lr=1e-5)
    assert learning_rate(0, config) == pytest.approx(1e-3)
    assert learning_rate(500, config) == pytest.approx((1e-3 + 1e-5) / 2)
    assert learning_rate(1000, config) == pytest.approx(1e-5)


def test_adamw_leaves_biases_undecayed():
    model = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4))
    optimizer = build_optimizer(model, TrainConfig(optimizer="adamw", weight_decay=0.1))
    decays = sorted((group["weight_decay"], len(group["params"])) for group in optimizer.param_groups)
    assert decays == [(0.0, 3), (0.1, 1)]
    assert isinstance(build_optimizer(model, TrainConfig()), torch.optim.Adam)


def test_bad_train_settings_name_the_key():
    with pytest.raises(ConfigError, match="train.schedule"):
        TrainConfig(schedule="linear")
    with pytest.raises(ConfigError, match="train.precision"):
        TrainConfig(precision="fp8")


def test_ema_tracks_weights_with_warmed_up_decay():
    model = nn.Linear(2, 1)
    ema = EMA(model, decay=0.999)
    with torch.no_grad():
        model.weight.fill_(1.0)
    start = ema.shadow["weight"].clone()
    ema.update(model)  # decay min(0.999, 2/11): the first update moves most of the way
    expected = start * (2 / 11) + 1.0 * (9 / 11)
    torch.testing.assert_close(ema.shadow["weight"], expected)
    for _ in range(200):
        ema.update(model)
    torch.testing.assert_close(ema.shadow["weight"], torch.ones(1, 2), atol=1e-3, rtol=0)
    target = nn.Linear(2, 1)
    ema.copy_to(target)
    assert torch.equal(target.weight, ema.shadow["weight"])
