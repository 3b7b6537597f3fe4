"""Training-step speed of the engine: a Tacotron-2-shaped and a WaveNet-shaped model, fp32 vs bf16.

Both models are stand-ins with the layer shapes of the published architectures (Tacotron 2:
Shen et al. 2018; WaveNet vocoder: 24 dilated layers, 2 cycles of 1..512, as in r9y9's
LJSpeech preset, at smaller channel counts), trained through the real :class:`Trainer`
(autocast, clipping, EMA, logging). Step time and samples/s are read back from the run's
TensorBoard log, averaged over the measured steps after warm-up.

    python benchmarks/train_step.py                      # CPU, default sizes
    python benchmarks/train_step.py --device cuda --steps 20
"""
from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from wavetron.config import Config, TrainConfig
from wavetron.train import Trainer


@dataclass
class Batch:
    """tokens (B, L) long; mels (B, n_mels, frames); audio (B, frames*hop) long mu-law classes."""

    tokens: torch.Tensor
    mels: torch.Tensor
    audio: torch.Tensor

    def to(self, device) -> "Batch":
        return Batch(self.tokens.to(device), self.mels.to(device), self.audio.to(device))

    def __len__(self) -> int:
        return self.mels.shape[0]


class Tacotron2Shaped(nn.Module):
    """Encoder (3 conv + BiLSTM), location-free additive attention, 2 decoder LSTMs, postnet."""

    def __init__(self, symbols: int = 100, n_mels: int = 80, dim: int = 512, rnn: int = 1024) -> None:
        super().__init__()
        self.embed = nn.Embedding(symbols, dim)
        self.convs = nn.ModuleList(nn.Sequential(nn.Conv1d(dim, dim, 5, padding=2), nn.BatchNorm1d(dim))
                                   for _ in range(3))
        self.encoder = nn.LSTM(dim, dim // 2, batch_first=True, bidirectional=True)
        self.prenet = nn.Sequential(nn.Linear(n_mels, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU())
        self.attention_rnn = nn.LSTMCell(256 + dim, rnn)
        self.query, self.keys, self.energy = nn.Linear(rnn, 128), nn.Linear(dim, 128), nn.Linear(128, 1)
        self.decoder_rnn = nn.LSTMCell(rnn + dim, rnn)
        self.project = nn.Linear(rnn + dim, n_mels + 1)
        self.postnet = nn.Sequential(*[nn.Sequential(nn.Conv1d(n_mels if i == 0 else dim, dim, 5, padding=2),
                                                     nn.Tanh()) for i in range(4)], nn.Conv1d(dim, n_mels, 5, padding=2))

    def loss(self, batch: Batch) -> dict[str, torch.Tensor]:
        x = self.embed(batch.tokens).transpose(1, 2)  # (B, dim, L)
        for conv in self.convs:
            x = F.dropout(F.relu(conv(x)), 0.5, self.training)
        memory, _ = self.encoder(x.transpose(1, 2))  # (B, L, dim)
        keys = self.keys(memory)
        mels = batch.mels  # (B, n_mels, T)
        batch_size, _, frames = mels.shape
        previous = torch.cat([mels.new_zeros(batch_size, mels.shape[1], 1), mels[:, :, :-1]], 2)
        prenet = self.prenet(previous.transpose(1, 2))  # (B, T, 256)
        h1 = c1 = mels.new_zeros(batch_size, self.attention_rnn.hidden_size)
        h2 = c2 = mels.new_zeros(batch_size, self.decoder_rnn.hidden_size)
        context = memory.new_zeros(batch_size, memory.shape[2])
        outputs = []
        for t in range(frames):  # teacher-forced autoregressive decoder, one frame per step
            h1, c1 = self.attention_rnn(torch.cat([prenet[:, t], context], 1), (h1, c1))
            weights = torch.softmax(self.energy(torch.tanh(self.query(h1)[:, None] + keys)).squeeze(2), 1)
            context = torch.bmm(weights[:, None], memory).squeeze(1)
            h2, c2 = self.decoder_rnn(torch.cat([h1, context], 1), (h2, c2))
            outputs.append(self.project(torch.cat([h2, context], 1)))
        out = torch.stack(outputs, 2)  # (B, n_mels + 1, T)
        before, stop = out[:, :-1], out[:, -1]
        after = before + self.postnet(before)
        mel = F.mse_loss(before.float(), mels) + F.mse_loss(after.float(), mels)
        gate = F.binary_cross_entropy_with_logits(stop.float(), torch.zeros_like(stop, dtype=torch.float32))
        return {"loss": mel + gate, "mel/mse": mel, "stop/bce": gate}


class WaveNetShaped(nn.Module):
    """Gated dilated causal convolutions with mel conditioning and a 256-way softmax output."""

    def __init__(self, n_mels: int = 80, hop: int = 256, layers: int = 24, cycle: int = 12,
                 residual: int = 64, gate: int = 128, skip: int = 64, classes: int = 256) -> None:
        super().__init__()
        self.hop = hop
        self.inp = nn.Conv1d(classes, residual, 1)
        self.dilated = nn.ModuleList(nn.Conv1d(residual, gate, 2, dilation=2 ** (i % cycle)) for i in range(layers))
        self.cond = nn.ModuleList(nn.Conv1d(n_mels, gate, 1) for _ in range(layers))
        self.res = nn.ModuleList(nn.Conv1d(gate // 2, residual, 1) for _ in range(layers))
        self.skip = nn.ModuleList(nn.Conv1d(gate // 2, skip, 1) for _ in range(layers))
        self.out = nn.Sequential(nn.ReLU(), nn.Conv1d(skip, skip, 1), nn.ReLU(), nn.Conv1d(skip, classes, 1))

    def loss(self, batch: Batch) -> dict[str, torch.Tensor]:
        classes = self.out[-1].out_channels
        target = batch.audio  # (B, T)
        previous = F.pad(target[:, :-1], (1, 0), value=classes // 2)
        x = self.inp(F.one_hot(previous, classes).transpose(1, 2).float())  # (B, residual, T)
        cond = batch.mels.repeat_interleave(self.hop, dim=2)  # (B, n_mels, T)
        skips = 0
        for dilated, cond_conv, res, skip in zip(self.dilated, self.cond, self.res, self.skip):
            h = dilated(F.pad(x, (dilated.dilation[0], 0))) + cond_conv(cond)
            a, b = h.chunk(2, dim=1)
            h = torch.tanh(a) * torch.sigmoid(b)
            x = x + res(h)
            skips = skips + skip(h)
        logits = self.out(skips)
        ce = F.cross_entropy(logits.float(), target)
        return {"loss": ce, "wave/ce": ce}


def make_batches(kind: str, batch_size: int, count: int) -> list[Batch]:
    generator = torch.Generator().manual_seed(0)
    text, frames = (48, 96) if kind == "tacotron2" else (1, 16)  # WaveNet: 16 frames = 4096 samples
    return [Batch(torch.randint(0, 100, (text,), generator=generator),
                  torch.randn(80, frames, generator=generator),
                  torch.randint(0, 256, (frames * 256,), generator=generator)) for _ in range(count)]


def collate(items: list[Batch]) -> Batch:
    return Batch(torch.stack([i.tokens for i in items]), torch.stack([i.mels for i in items]),
                 torch.stack([i.audio for i in items]))


def measure(kind: str, precision: str, device: str, batch_size: int, warmup: int, steps: int) -> tuple[float, float]:
    """(seconds per step, samples per second) over ``steps`` steps after ``warmup``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    torch.manual_seed(0)
    model = Tacotron2Shaped() if kind == "tacotron2" else WaveNetShaped()
    data = make_batches(kind, batch_size, batch_size * (warmup + steps))
    # The warm-up window and the measured window are logged separately: log_every divides both.
    window = warmup if warmup == steps else 1
    config = Config(train=TrainConfig(batch_size=batch_size, max_steps=warmup + steps, precision=precision,
                                      log_every=window, validate_every=10**9, checkpoint_every=10**9,
                                      ema_decay=0.9999, device=device))
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(model, data, None, collate, config, tmp, kind, "model", bucket=False)
        trainer.fit()
        trainer.logger.close()
        events = EventAccumulator(str(Path(tmp) / "logs")).Reload()
        times = [e for e in events.Scalars("train/step_time") if e.step > warmup]
        rates = [e for e in events.Scalars("train/samples_per_s") if e.step > warmup]
    step_time = sum(e.value for e in times) / len(times)
    return step_time, sum(e.value for e in rates) / len(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1: on a shared 2-core machine more threads only contend)")
    parser.add_argument("--steps", type=int, default=2, help="measured steps per configuration")
    parser.add_argument("--batch-size", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"device {args.device}, {args.threads} threads, batch {args.batch_size}, "
          f"{args.steps} measured steps after {args.steps} warm-up; torch {torch.__version__}")
    print(f"{'model':<10} {'fp32 s/step':>11} {'bf16 s/step':>11} {'fp32 samp/s':>11} {'bf16 samp/s':>11} "
          f"{'bf16 speed-up':>13}", flush=True)
    for kind in ("tacotron2", "wavenet"):
        fp32 = measure(kind, "fp32", args.device, args.batch_size, args.steps, args.steps)
        bf16 = measure(kind, "bf16", args.device, args.batch_size, args.steps, args.steps)
        print(f"{kind:<10} {fp32[0]:>11.3f} {bf16[0]:>11.3f} {fp32[1]:>11.2f} {bf16[1]:>11.2f} "
              f"{fp32[0] / bf16[0]:>12.2f}x", flush=True)


if __name__ == "__main__":
    main()
