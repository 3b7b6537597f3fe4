"""A tiny registered model and in-memory dataset for the engine's tests (also imported by subprocess scripts).

The model maps a (C, T) "mel" to a (T,) "waveform" with two 1-D convolutions and dropout, so it
exercises the RNG; C is ``config.audio.n_mels``, which makes ``audio`` its structural config section.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset

from wavetron.config import Config
from wavetron.models.registry import ModelSpec, register_model

FRAMES = 16
LAST_MODEL: list[nn.Module] = []  # the models built in this process, newest last


@dataclass
class TinyBatch:
    """mels (B, C, T) float, target (B, T) float."""

    mels: torch.Tensor
    target: torch.Tensor
    ids: list[str] = field(default_factory=list)

    def to(self, device) -> "TinyBatch":
        return TinyBatch(self.mels.to(device), self.target.to(device), self.ids)

    def __len__(self) -> int:
        return self.mels.shape[0]


class TinyDataset(Dataset):
    """``size`` items whose target is a fixed smooth function of the input."""

    def __init__(self, size: int, channels: int, seed: int = 0) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.mels = torch.randn(size, channels, FRAMES, generator=generator)
        weight = torch.randn(channels, generator=torch.Generator().manual_seed(99)) / channels ** 0.5
        self.target = torch.tanh(torch.einsum("nct,c->nt", self.mels, weight))

    def __len__(self) -> int:
        return self.mels.shape[0]

    def __getitem__(self, index: int) -> tuple[str, torch.Tensor, torch.Tensor]:
        return f"item{index}", self.mels[index], self.target[index]


def collate(items) -> TinyBatch:
    ids, mels, target = zip(*items)
    return TinyBatch(torch.stack(mels), torch.stack(target), list(ids))


class TinyModel(nn.Module):
    """Two convolutions; ``poison`` makes chosen loss() calls non-finite (for the NaN guard)."""

    def __init__(self, channels: int, hidden: int = 32, dropout: float = 0.1) -> None:
        super().__init__()
        self.inp = nn.Conv1d(channels, hidden, 3, padding=1)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Conv1d(hidden, 1, 1)
        self.calls = 0
        self.poison: set[int] | None = None  # loss() call numbers that return NaN; None: never
        self.poison_all = False

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        return self.out(self.drop(torch.relu(self.inp(mels)))).squeeze(1)  # (B, T)

    def loss(self, batch: TinyBatch) -> dict[str, torch.Tensor]:
        self.calls += 1
        steps_file = os.environ.get("TINY_STEPS_FILE")
        if steps_file and self.training:  # how far training has come, for a test to time a signal
            with open(steps_file, "a") as handle:
                handle.write("step\n")
        delay = float(os.environ.get("TINY_STEP_SLEEP", "0") or 0)
        if delay:
            import time

            time.sleep(delay)
        error = self(batch.mels).float() - batch.target
        mse, l1 = error.pow(2).mean(), error.abs().mean()
        loss = mse + 0.1 * l1
        if self.poison_all or (self.poison and self.calls in self.poison):
            loss = loss * float("nan")
        return {"loss": loss, "wave/mse": mse, "wave/l1": l1}

    @torch.no_grad()
    def validation_outputs(self, batch: TinyBatch) -> dict:
        return {"audio": {"pred": (self(batch.mels)[0].float(), 16000)},
                "images": {"mel": batch.mels[0].float().numpy()}}

    @torch.no_grad()
    def validation_metrics(self, batch: TinyBatch) -> dict[str, float]:
        return {"wave/max_error": float((self(batch.mels).float() - batch.target).abs().max())}


def build(config: Config) -> TinyModel:
    # TINY_DROPOUT=0: no random draw in the forward pass, so replicas and a single process can agree exactly
    model = TinyModel(config.audio.n_mels, dropout=float(os.environ.get("TINY_DROPOUT", "0.1")))
    LAST_MODEL.append(model)
    return model


def datasets(features: Path, config: Config):
    size = int(os.environ.get("TINY_TRAIN_SIZE", "24"))
    started = os.environ.get("TINY_STARTED_FILE")
    if started:  # one line per run starting up, for a test to time a signal (a slow dataset: TINY_DATASET_SLEEP)
        with open(started, "a") as handle:
            handle.write(f"{features}\n")
    delay = float(os.environ.get("TINY_DATASET_SLEEP", "0") or 0)
    starts = len(Path(started).read_text().splitlines()) if started else 1
    if delay and starts >= int(os.environ.get("TINY_DATASET_SLEEP_FROM", "1")):  # from the Nth run of a process tree
        import time

        time.sleep(delay)
    return TinyDataset(size, config.audio.n_mels, seed=1), TinyDataset(8, config.audio.n_mels, seed=2), collate


register_model(ModelSpec("tiny", section="audio", build=build, datasets=datasets, batch_sampler=False))


def tiny_config(**train) -> Config:
    """A small, fast config: 8 'mel' channels, batch 4, frequent logging."""
    from wavetron.config import AudioConfig, TrainConfig

    settings = dict(batch_size=4, max_steps=20, lr=3e-3, checkpoint_every=10, validate_every=10, log_every=5,
                    ema_decay=0.99, seed=7, warmup_steps=0)
    settings.update(train)
    return Config(audio=AudioConfig(n_mels=8), train=TrainConfig(**settings))
