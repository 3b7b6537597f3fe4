"""``train(model_name, features, run_dir, config)``: from a registered model name to a finished run.

Resolves the config against the features folder, prepares the run directory, seeds, joins
the torchrun process group and hands over to :class:`~wavetron.train.engine.Trainer`.
"""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Callable

from ..allocator import keep_freed_memory
from ..config import AudioConfig, Config, TextConfig, from_dict, save_config, to_dict
from ..errors import ConfigError, DataError
from ..io import atomic_write_text
from . import distributed
from .checkpoint import list_checkpoints, remove_partial
from .engine import Trainer, TrainResult
from ..signals import STOP
from .state import seed_everything


def adopt_feature_settings(config: Config, features_dir: str | Path) -> Config:
    """Take the audio and text settings of a features folder's ``manifest.json``.

    A section left at its defaults is replaced by the manifest's; a section the user changed
    must equal the manifest's, else ConfigError names the first differing setting and both values.
    A folder without a manifest leaves ``config`` as it is.
    """
    manifest = Path(features_dir) / "manifest.json"
    if not manifest.is_file():
        return config
    try:
        data = json.loads(manifest.read_text())
    except (OSError, ValueError) as err:
        raise DataError(f"{manifest}: unreadable manifest ({err})") from None
    if not isinstance(data, dict):
        raise DataError(f"{manifest}: expected a JSON object")
    adopted: list[str] = []
    for section, cls in (("audio", AudioConfig), ("text", TextConfig)):
        if section not in data:
            continue
        theirs = from_dict(cls, data[section], section)
        ours = getattr(config, section)
        if ours == theirs:
            continue
        mine, made = to_dict(ours), to_dict(theirs)
        if ours == cls():
            config = dataclasses.replace(config, **{section: theirs})
            adopted += [f"{section}.{key}={made[key]!r} (config: {mine.get(key)!r})" for key in made
                        if made[key] != mine.get(key)]
            continue
        key = next(k for k in mine if mine[k] != made.get(k))
        raise ConfigError(f"{manifest}: features were made with {section}.{key}={made.get(key)!r} but the config "
                          f"sets {section}.{key}={mine[key]!r}; drop the {section} section or preprocess again")
    _say_adopted(manifest, adopted)
    return config


def _say_adopted(manifest: Path, adopted: list[str]) -> None:
    """One line on stderr (rank 0) naming the settings that default sections took from the features."""
    import os

    if not adopted or os.environ.get("RANK", "0") != "0":
        return
    more = f" and {len(adopted) - 4} more" if len(adopted) > 4 else ""
    print(f"note: training with the settings the features were made with ({manifest}): "
          f"{', '.join(adopted[:4])}{more}", file=sys.stderr)


def prepare_run_dir(run_dir: Path, config: Config, model_name: str, resume: bool,
                    dist: distributed.Distributed) -> None:
    """Create ``run_dir`` with ``config.yaml`` and ``run.json``; refuse to train over old checkpoints."""
    checkpoints = run_dir / "checkpoints"
    if not resume and list_checkpoints(checkpoints):
        raise ConfigError(f"{run_dir}: already holds checkpoints; pass --resume to continue or choose a new --out")
    if dist.is_main:
        (run_dir / "logs").mkdir(parents=True, exist_ok=True)
        checkpoints.mkdir(parents=True, exist_ok=True)
        remove_partial(checkpoints)  # left by a writer that was killed
        save_config(config, run_dir / "config.yaml")
        atomic_write_text(run_dir / "run.json", json.dumps({"model": model_name,
                                                            "world_size": dist.world_size}, indent=1))
    distributed.barrier(dist)


def train(model_name: str, features_dir: str | Path, run_dir: str | Path, config: Config | None = None,
          resume: bool = False, init: str | Path | None = None,
          on_validation: Callable[[int, dict[str, float]], bool] | None = None,
          time_limit: float | None = None) -> TrainResult:
    """Train the registered model ``model_name`` on a features folder, writing the run to ``run_dir``.

    Under torchrun every process calls this; rank 0 logs and writes checkpoints.

    Args:
        model_name: a name from :func:`wavetron.models.known_models`.
        features_dir: the output of ``wavetron preprocess`` (or whatever the model's datasets read).
        run_dir: ``config.yaml``, ``logs/`` (TensorBoard) and ``checkpoints/`` go here.
        config: the root config; defaults when None. Its ``train`` section drives the loop.
        resume: continue from the newest intact checkpoint in ``run_dir``.
        init: start from the weights of this run, checkpoint or export (fine-tuning, or continuing
            from a committed model); a checkpoint found by ``resume`` takes precedence.
        on_validation: ``(step, metrics) -> stop`` after every validation (see :class:`Trainer`).
        time_limit: end the run after this many seconds of training steps (see :class:`Trainer`).

    The process's C allocator is set to keep freed memory for reuse (:mod:`wavetron.allocator`).
    """
    from ..models.registry import get_model

    keep_freed_memory()

    with STOP.installed_for():  # a signal while the run starts ends it at once (see wavetron.train.signals)
        spec = get_model(model_name)
        config = adopt_feature_settings(config or Config(), features_dir)
        dist = distributed.setup(config.train.device)
        try:
            run_dir = Path(run_dir)
            prepare_run_dir(run_dir, config, model_name, resume, dist)
            seed_everything(config.train.seed)  # identical initial weights on every rank
            model = spec.build(config)
            if init is not None:
                _initialise(model, model_name, init)
            train_set, val_set, collate = spec.datasets(Path(features_dir), config)
            seed_everything(config.train.seed + dist.rank)  # distinct dropout on each rank
            trainer = Trainer(model, train_set, val_set, collate, config, run_dir, model_name, spec.section,
                              bucket=spec.batch_sampler, dist=dist, on_validation=on_validation,
                              time_limit=time_limit)
            return trainer.fit(resume=resume)
        finally:
            distributed.cleanup(dist)


def _initialise(model, model_name: str, init: str | Path) -> list[str]:
    """Load the weights of ``init`` (a run, checkpoint or export of the same model).

    The model may have parameters that ``init`` lacks (a part added to a trained model, such as a
    WaveNet's mel encoder): they keep their initial values and are named on stderr. Every tensor of
    ``init`` must exist in the model with the same shape. Returns the names of the parameters kept.
    """
    from .export import load_weights_into, read_model_weights

    name, _, weights = read_model_weights(init)
    if name != model_name:
        raise ConfigError(f"--init {init}: a {name} model, expected {model_name}")
    own = model.state_dict()
    kept = [key for key in own if key not in weights]
    if kept and not set(weights) - set(own):
        weights = {**{key: own[key] for key in kept}, **weights}
        print(f"--init {init}: {len(kept)} tensors not in it keep their initial values "
              f"({', '.join(kept[:4])}{', ...' if len(kept) > 4 else ''})", file=sys.stderr)
    else:
        kept = []
    load_weights_into(model, weights, init, model_name)
    return kept
