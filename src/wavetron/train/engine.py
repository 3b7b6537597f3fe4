"""The training loop shared by every model.

A model is any ``nn.Module`` with ``loss(batch) -> dict[str, Tensor]`` (a ``"loss"`` key plus
named parts, all logged). Optional hooks: ``validation_outputs(batch)`` (audio and images for
TensorBoard) and ``validation_metrics(batch)`` (extra scalars). The engine owns devices,
precision, the optimiser, EMA, checkpoints, logging, the NaN guard and DDP. A caller may watch
every validation through ``on_validation(step, metrics) -> bool`` and end the run early by
returning True, or give it a budget of training seconds (``wavetron tune`` trains its trials so).
"""
from __future__ import annotations

import contextlib
import math
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..config import Config, to_dict
from ..errors import ConfigError, WavetronError
from . import distributed
from .checkpoint import Checkpoint, latest_checkpoint, prune_checkpoints, save_checkpoint, write_pointer
from .ema import EMA
from .logger import RunLogger
from .optim import build_optimizer, learning_rate, set_learning_rate
from .sampling import SkipBatches, build_batch_sampler
from ..signals import STOP
from .state import TrainingState, load_optimizer_state, optimizer_state, rng_state, set_rng_state


class TrainingError(WavetronError):
    """Training cannot go on (e.g. the loss stays non-finite after every recovery)."""


@dataclass
class TrainResult:
    """How a run ended: the last step, its checkpoint, the best validation loss and any signal."""

    step: int
    epoch: int
    checkpoint: Path | None
    best_step: int | None
    best_loss: float | None
    stopped_by: int | None = None  # the signal number that interrupted the run, if any
    stopped_early: bool = False  # ``on_validation`` or the time limit ended it before max_steps
    train_seconds: float = 0.0  # time spent in training steps (validation and checkpoints excluded)


class _LossModule(nn.Module):
    """``forward(batch) = model.loss(batch)``, so DDP sees a forward call and syncs gradients."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Any) -> dict[str, torch.Tensor]:
        return self.model.loss(batch)


def _to_device(batch: Any, device: torch.device) -> Any:
    if hasattr(batch, "to"):
        return batch.to(device)
    if isinstance(batch, dict):
        return {key: _to_device(value, device) for key, value in batch.items()}
    return batch


def _batch_len(batch: Any) -> int:
    try:
        return len(batch)
    except TypeError:
        return 1


class Trainer:
    """Trains ``model`` on ``train_set`` and writes the run to ``run_dir``.

    Args:
        model: a module with ``loss(batch)``; moved to the run's device here.
        train_set / val_set: map-style datasets; ``collate(items)`` makes a batch with ``.to(device)``.
        config: the resolved root config; its ``train`` section drives the loop and the whole
            config is saved in every checkpoint.
        run_dir: holds ``config.yaml``, ``logs/`` and ``checkpoints/``.
        model_name / section: the registry name and the config section of the model's structure.
        bucket: batch items of similar length when the dataset exposes ``lengths``.
        dist: this process's place in a torchrun job (single process when None).
        on_validation: called on rank 0 after every validation with the step and the validation
            metrics of the weights that synthesis uses (EMA when on; ``"loss"`` plus the model's
            parts and ``validation_metrics``); returning True ends the run as if ``max_steps``
            were reached (final checkpoint and export included).
        time_limit: seconds of training steps (validation and checkpoints not counted) after
            which the run ends the same way; checked after every step.
    """

    def __init__(self, model: nn.Module, train_set: Dataset, val_set: Dataset | None, collate: Callable,
                 config: Config, run_dir: str | Path, model_name: str, section: str, bucket: bool = True,
                 dist: distributed.Distributed | None = None,
                 on_validation: Callable[[int, dict[str, float]], bool] | None = None,
                 time_limit: float | None = None) -> None:
        self.config, self.cfg = config, config.train
        self.dist = dist or distributed.Distributed()
        self.device = self.dist.device
        self.model = model.to(self.device)
        self.model_name, self.section = model_name, section
        self.train_set, self.val_set, self.collate = train_set, val_set, collate
        self.run_dir = Path(run_dir)
        self.checkpoints = self.run_dir / "checkpoints"
        if self.cfg.precision == "fp16" and self.device.type != "cuda":
            raise ConfigError("train.precision: fp16 needs a CUDA device; use bf16 on CPU")
        self.wrapped: nn.Module = _LossModule(self.model)
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.wrapped = nn.parallel.DistributedDataParallel(self.wrapped, device_ids=ids)
        self.optimizer = build_optimizer(self.model, self.cfg)
        self.scaler = torch.amp.GradScaler("cuda") if self.cfg.precision == "fp16" else None
        self.ema = EMA(self.model, self.cfg.ema_decay) if self.cfg.ema_decay else None
        self.state = TrainingState()
        if len(train_set) == 0:
            raise ConfigError("the training split is empty")
        self.sampler = build_batch_sampler(train_set, self.cfg.batch_size, bucket, self.cfg.seed,
                                           self.dist.world_size, self.dist.rank)
        self.logger: RunLogger | None = None
        self.on_validation, self.time_limit = on_validation, time_limit
        self._stop_early, self._train_seconds = False, 0.0

    # ----------------------------------------------------------------------------------- data
    def _loader(self, dataset: Dataset, **kwargs: Any) -> DataLoader:
        return DataLoader(dataset, collate_fn=self.collate, num_workers=self.cfg.num_workers,
                          pin_memory=self.device.type == "cuda", **kwargs)

    def _batches(self) -> Iterator[Any]:
        """Training batches across epochs, starting at the saved position; ends after ``epochs``."""
        while self.cfg.epochs is None or self.state.epoch < self.cfg.epochs:
            epoch = self.state.epoch
            self.sampler.set_epoch(epoch)
            if hasattr(self.train_set, "set_epoch"):
                self.train_set.set_epoch(epoch)
            # A private generator: creating the loader's iterator must not draw from the global
            # RNG, or a resumed run would see different dropout masks than an uninterrupted one.
            generator = torch.Generator().manual_seed(self.cfg.seed * 7919 + epoch)
            loader = self._loader(self.train_set, batch_sampler=SkipBatches(self.sampler, self.state.batch_in_epoch),
                                  generator=generator)
            yielded = False
            for batch in loader:
                self.state.batch_in_epoch += 1
                yielded = True
                yield batch
            if not yielded and self.state.batch_in_epoch == 0:
                raise ConfigError(f"the training split ({len(self.train_set)} items) gave no batches")
            self.state.epoch += 1
            self.state.batch_in_epoch = 0

    # ----------------------------------------------------------------------------------- step
    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.cfg.precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.cfg.precision == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def _forward_backward(self, batches: Iterator[Any]) -> tuple[dict[str, torch.Tensor], int]:
        """Forward and backward ``accumulate`` batches; returns the mean loss parts and the sample count."""
        accumulate = self.cfg.accumulate
        totals: dict[str, torch.Tensor] = {}
        samples = 0
        for micro in range(accumulate):
            batch = _to_device(next(batches), self.device)
            samples += _batch_len(batch)
            # Only the last micro-batch all-reduces gradients; the others accumulate locally.
            last = micro == accumulate - 1
            sync = self.wrapped.no_sync() if self.dist.enabled and not last else contextlib.nullcontext()
            with sync:
                with self._autocast():
                    losses = self.wrapped(batch)
                if not isinstance(losses, dict) or "loss" not in losses:
                    raise TypeError(f"{type(self.model).__name__}.loss() must return a dict with a 'loss' key")
                loss = losses["loss"].float() / accumulate
                (self.scaler.scale(loss) if self.scaler else loss).backward()
            for key, value in losses.items():
                totals[key] = totals.get(key, 0.0) + value.detach().float() / accumulate
        return totals, samples

    def _step(self, batches: Iterator[Any]) -> tuple[dict[str, float], bool, int]:
        """One optimiser update. Returns (logged values, whether the step was applied, samples)."""
        self.optimizer.zero_grad(set_to_none=True)
        totals, samples = self._forward_backward(batches)
        if self.scaler:
            self.scaler.unscale_(self.optimizer)
        params = [p for p in self.model.parameters() if p.grad is not None]
        grad_norm = torch.nn.utils.clip_grad_norm_(params, self.cfg.grad_clip or math.inf)
        # One device sync for every logged number.
        names = list(totals)
        numbers = torch.stack([totals[n] for n in names] + [grad_norm.float().to(self.device)]).tolist()
        values = dict(zip(names, numbers[:-1]))
        values["grad_norm"] = numbers[-1]
        loss_ok = all(math.isfinite(v) for v in numbers[:-1])
        grad_ok = math.isfinite(numbers[-1])
        bad, self._stop_all = distributed.any_flags(self.dist, [not (loss_ok and grad_ok), self._stop_flag()])
        lr = learning_rate(self.state.step, self.cfg) * self.state.lr_scale
        values["lr"] = lr
        if bad:
            self.optimizer.zero_grad(set_to_none=True)
            if self.scaler:
                self.scaler.update()  # an fp16 overflow lowers the loss scale
            # A non-finite gradient under fp16 is the scaler's business, not a divergence.
            values["nonfinite"] = not loss_ok or self.scaler is None
            return values, False, samples
        set_learning_rate(self.optimizer, lr)
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        if self.ema:
            self.ema.update(self.model)
        self.state.step += 1
        return values, True, samples

    # ----------------------------------------------------------------------------- validation
    @contextlib.contextmanager
    def _ema_weights(self) -> Iterator[None]:
        """Temporarily load the EMA weights into the model."""
        backup = {name: value.detach().clone() for name, value in self.model.state_dict().items()
                  if name in self.ema.shadow}
        self.ema.copy_to(self.model)
        try:
            yield
        finally:
            self.model.load_state_dict(backup, strict=False)

    @torch.no_grad()
    def _evaluate(self, prefix: str, hooks: bool) -> dict[str, float]:
        """Mean loss parts (and hook metrics) over the validation split, weighted by batch size."""
        sums: dict[str, float] = {}
        count = 0
        loader = self._loader(self.val_set, batch_size=self.cfg.batch_size, shuffle=False)
        self.model.eval()
        try:
            for index, batch in enumerate(loader):
                if self.cfg.validation_batches and index >= self.cfg.validation_batches:
                    break
                if STOP.requested():  # a signal: the run stops after this validation, so cut it short
                    break
                batch = _to_device(batch, self.device)
                size = _batch_len(batch)
                with self._autocast():
                    values = {key: float(value) for key, value in self.model.loss(batch).items()}
                if hooks and hasattr(self.model, "validation_metrics"):
                    values.update(self.model.validation_metrics(batch))
                if hooks and index == 0 and hasattr(self.model, "validation_outputs"):
                    self.logger.media(self.model.validation_outputs(batch), self.state.step, prefix)
                for key, value in values.items():
                    sums[key] = sums.get(key, 0.0) + value * size
                count += size
        finally:
            self.model.train()
        return {key: value / max(count, 1) for key, value in sums.items()}

    def _validate(self) -> float | None:
        """Validate on rank 0 (raw weights, then EMA weights); every rank gets the deciding loss.

        The deciding loss, which picks the best checkpoint, is the EMA one when EMA is on,
        since that is what synthesis uses. ``on_validation`` sees the same weights' metrics.
        """
        score, stop = None, False
        if self.dist.is_main and self.val_set is not None and len(self.val_set) > 0:
            score, stop = self._validate_main()
        score, stop = distributed.broadcast(self.dist, (score, stop))
        self._stop_early = self._stop_early or stop
        return score

    def _validate_main(self) -> tuple[float | None, bool]:
        """Rank 0's part of :meth:`_validate`: (deciding loss, whether ``on_validation`` ends the run)."""
        step = self.state.step
        deciding = raw = self._evaluate("val", hooks=self.ema is None)
        if self.ema is not None and not STOP.requested():
            with self._ema_weights():
                deciding = self._evaluate("val_ema", hooks=True)
        if STOP.requested():  # a signal cut the validation short: a part of the split measures nothing
            self.logger.message(f"step {step}: validation cut short by a signal")
            return None, False
        self.logger.scalars({f"val/{key}": value for key, value in raw.items()}, step)
        if self.ema is not None:
            self.logger.scalars({f"val_ema/{key}": value for key, value in deciding.items()}, step)
        score = deciding["loss"]
        self.logger.message(f"step {step}: validation loss {score:.5g}")
        stop = bool(self.on_validation(step, dict(deciding))) if self.on_validation is not None else False
        return score, stop

    # ----------------------------------------------------------------------------- checkpoints
    def _save(self) -> Path | None:
        """Write a checkpoint of the current step (rank 0), keep the last K and the best."""
        rngs = distributed.gather(self.dist, rng_state())  # every rank's RNG, for an exact resume
        path = None
        if self.dist.is_main:
            opt_tensors, opt_meta = optimizer_state(self.optimizer)
            tensors = {"model": self.model.state_dict(), "optimizer": opt_tensors}
            if self.ema is not None:
                tensors["ema"] = self.ema.state_dict()
            state = {
                "model_name": self.model_name, "section": self.section, "training": self.state.to_dict(),
                "optimizer": opt_meta, "ema_updates": self.ema.updates if self.ema else 0,
                "scaler": self.scaler.state_dict() if self.scaler else None, "rng": rngs,
                "world_size": self.dist.world_size, "config": to_dict(self.config),
            }
            path = save_checkpoint(self.checkpoints, self.state.step, tensors, state)
            keep = {self.state.best_step} if self.state.best_step is not None else set()
            prune_checkpoints(self.checkpoints, self.cfg.keep_last, keep)
        distributed.barrier(self.dist)
        return path

    def restore(self, checkpoint: Checkpoint) -> None:
        """Load weights, optimiser, EMA, scaler, loop state and this rank's RNG from ``checkpoint``."""
        saved = checkpoint.state
        if saved.get("model_name") != self.model_name:
            raise ConfigError(f"{checkpoint.path}: holds a '{saved.get('model_name')}' model, "
                              f"not '{self.model_name}'")
        ours = to_dict(self.config).get(self.section)
        theirs = saved.get("config", {}).get(self.section)
        if ours != theirs:
            key = next((k for k in sorted(set(ours or {}) | set(theirs or {}))
                        if (ours or {}).get(k) != (theirs or {}).get(k)), "")
            raise ConfigError(f"{checkpoint.path}: {self.section}.{key} is {(theirs or {}).get(key)!r} in the "
                              f"checkpoint but {(ours or {}).get(key)!r} in the config; the model structure "
                              f"cannot change on --resume")
        self.model.load_state_dict(checkpoint.tensors["model"])
        load_optimizer_state(self.optimizer, checkpoint.tensors["optimizer"], saved["optimizer"])
        if self.ema is not None:
            if "ema" in checkpoint.tensors:
                self.ema.load_state_dict(checkpoint.tensors["ema"], saved.get("ema_updates", 0))
            else:  # EMA switched on at resume: start the average from the current weights
                self.ema = EMA(self.model, self.cfg.ema_decay)
        if self.scaler is not None and saved.get("scaler"):
            self.scaler.load_state_dict(saved["scaler"])
        self.state = TrainingState.from_dict(saved["training"])
        rngs = saved.get("rng") or []
        if self.dist.rank < len(rngs):
            set_rng_state(rngs[self.dist.rank])
        else:  # more ranks than when saved: a fresh, distinct stream per rank
            torch.manual_seed(self.cfg.seed + self.dist.rank + 1_000_003 * self.state.step)

    # ----------------------------------------------------------------------------------- loop
    def _stop_flag(self) -> bool:
        return STOP.requested()

    def _recover(self) -> Iterator[Any]:
        """The NaN guard's last resort: reload the newest checkpoint with a lower learning rate."""
        cfg = self.cfg
        checkpoint = latest_checkpoint(self.checkpoints)
        if checkpoint is None or self.state.nan_reloads >= cfg.nan_max_reloads:
            why = ("there is no checkpoint to go back to" if checkpoint is None
                   else f"{self.state.nan_reloads} reloads with a lower learning rate did not help")
            raise TrainingError(f"loss or gradients were non-finite for {cfg.nan_patience} steps in a row at step "
                                f"{self.state.step} and {why}; lower train.lr, check train.grad_clip and the data")
        reloads, scale = self.state.nan_reloads + 1, self.state.lr_scale * cfg.nan_lr_factor
        self.restore(checkpoint)
        self.state.nan_reloads, self.state.lr_scale = reloads, scale
        self.logger.message(f"warning: reloaded {checkpoint.path.name} with learning-rate scale {scale:g} "
                            f"after {cfg.nan_patience} non-finite steps")
        return self._batches()

    def _periodic(self, last: dict[str, int | None], force: bool = False) -> Path | None:
        """Validate and checkpoint when due (or ``force``), tracking the best validation loss."""
        step, new_best, path = self.state.step, False, None
        if (force or step % self.cfg.validate_every == 0) and last["validated"] != step:
            last["validated"] = step
            score = self._validate()
            if score is not None and math.isfinite(score) and (self.state.best_loss is None
                                                              or score < self.state.best_loss):
                self.state.best_loss, self.state.best_step, new_best = score, step, True
        if (force or new_best or step % self.cfg.checkpoint_every == 0) and last["saved"] != step:
            last["saved"] = step
            path = self._save()
        if new_best and self.dist.is_main:
            write_pointer(self.checkpoints, "best", self.checkpoints / f"step-{step:08d}", step=step,
                          val_loss=self.state.best_loss)
        return path

    def fit(self, resume: bool = False) -> TrainResult:
        """Train until ``max_steps`` (or ``epochs``), a SIGINT/SIGTERM, or an unrecoverable divergence.

        A signal before the loop starts (while a checkpoint is restored, say) raises
        :class:`~wavetron.train.signals.Interrupted` at once; in the loop it ends the run after the
        current step with a checkpoint, and ``stopped_by`` names it.

        Args:
            resume: continue from the newest intact checkpoint in ``run_dir`` (from scratch when none).
        """
        with STOP.installed_for():
            checkpoint = latest_checkpoint(self.checkpoints) if resume else None
            if checkpoint is not None:
                self.restore(checkpoint)
            self.logger = RunLogger(self.run_dir / "logs", self.dist.is_main, self.cfg.max_steps, self.state.step)
            try:
                if resume:
                    self.logger.message(f"resuming from {checkpoint.path} at step {self.state.step}" if checkpoint
                                        else f"no checkpoint in {self.checkpoints}; starting from step 0")
                step0 = self.state.step if checkpoint else None
                with STOP.deferred():
                    STOP.raise_if_requested()  # a signal of the start-up whose Interrupted was swallowed
                    stopped_by, path = self._loop({"validated": step0, "saved": step0})
                    if stopped_by is None and self.dist.is_main:
                        from .export import export_model

                        final = latest_checkpoint(self.checkpoints)
                        if final is not None:
                            export_model(final.path, self.run_dir / "model.safetensors")
            finally:
                self.logger.close()
        return TrainResult(self.state.step, self.state.epoch, path, self.state.best_step, self.state.best_loss,
                           stopped_by, self._stop_early, self._train_seconds)

    def _loop(self, last: dict[str, int | None]) -> tuple[int | None, Path | None]:
        """The training steps, then the final validation and checkpoint; returns (signal, last checkpoint)."""
        cfg = self.cfg
        self._stop_all = False
        window, bad_in_row, stopped_by, path = _Window(), 0, None, None
        batches = self._batches()
        while self.state.step < cfg.max_steps:
            started = time.perf_counter()
            try:
                values, applied, samples = self._step(batches)
            except StopIteration:  # the last epoch ended
                break
            elapsed = time.perf_counter() - started
            self._train_seconds += elapsed
            if applied:
                bad_in_row = 0
                window.add(values, elapsed, samples * self.dist.world_size)
                self.logger.progress(self.state.step, values["loss"])
                if self.state.step % cfg.log_every == 0:
                    self.logger.scalars(window.summary(), self.state.step)
                    window = _Window()
            elif values["nonfinite"]:
                bad_in_row += 1
                window.skipped += 1
                self.logger.message(f"warning: non-finite loss or gradient at step {self.state.step}; "
                                    f"step skipped ({bad_in_row} in a row)")
                if bad_in_row >= cfg.nan_patience:
                    batches, bad_in_row = self._recover(), 0
                    last = {"validated": self.state.step, "saved": self.state.step}
            if self._stop_all:
                stopped_by = STOP.signum or signal.SIGTERM
                break
            if applied:
                path = self._periodic(last) or path
                # One process: a signal during the validation or checkpoint stops here, not a step later
                # (under DDP the ranks agree on stopping at the next step).
                if not self.dist.enabled and STOP.requested():
                    stopped_by = STOP.signum
                    break
                if self.time_limit is not None and self._train_seconds >= self.time_limit:
                    self._stop_early = True
                if self._stop_early:
                    break
        if stopped_by is None:
            path = self._periodic(last, force=True) or path
        else:
            if last["saved"] != self.state.step:
                last["saved"] = self.state.step
                path = self._save()
            self.logger.message(f"stopped by {signal.Signals(stopped_by).name} at step {self.state.step}; "
                                f"saved {path}")
        return stopped_by, path


class _Window:
    """Running means of the logged values between two TensorBoard writes."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.steps, self.seconds, self.samples, self.skipped = 0, 0.0, 0, 0

    def add(self, values: dict[str, float], seconds: float, samples: int) -> None:
        for key, value in values.items():
            if key != "nonfinite":
                self.sums[key] = self.sums.get(key, 0.0) + float(value)
        self.steps += 1
        self.seconds += seconds
        self.samples += samples

    def summary(self) -> dict[str, float]:
        out = {f"train/{key}": value / max(self.steps, 1) for key, value in self.sums.items()}
        out["train/step_time"] = self.seconds / max(self.steps, 1)
        out["train/samples_per_s"] = self.samples / max(self.seconds, 1e-9)
        out["train/skipped_steps"] = float(self.skipped)
        return out
