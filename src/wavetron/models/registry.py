"""The model registry: a model name -> how to build the model and its datasets from a config.

``wavetron train MODEL`` and checkpoint loading look models up here, so the training engine
never imports a model by name. WaveNet and Tacotron register themselves in their own modules,
which :func:`get_model` imports lazily the first time a name is looked up.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..errors import ConfigError

if TYPE_CHECKING:  # torch stays out of `wavetron --help`
    from torch import nn
    from torch.utils.data import Dataset

    from ..config import Config

# Modules that register built-in models when imported; a missing one is skipped.
BUILTIN_MODULES = ("wavetron.models.wavenet", "wavetron.models.tacotron", "wavetron.models.mel2linear")


@dataclass
class ModelSpec:
    """How the engine trains one kind of model.

    Attributes:
        name: the registered name, as typed in ``wavetron train NAME``.
        section: the config section holding the model's structure (e.g. ``"wavenet"``); a resume
            whose section differs from the checkpoint's is refused.
        build: ``Config -> nn.Module`` with ``loss(batch)``.
        datasets: ``(features_dir, Config) -> (train_set, val_set, collate)``; ``collate(items)``
            returns a batch with ``.to(device)`` and ``len()``.
        batch_sampler: group items of similar length into batches (the dataset exposes
            ``lengths``); otherwise batches are drawn uniformly.
    """

    name: str
    section: str
    build: Callable[["Config"], "nn.Module"]
    datasets: Callable[[Path, "Config"], tuple["Dataset", "Dataset", Callable[[list], Any]]]
    batch_sampler: bool = True


_REGISTRY: dict[str, ModelSpec] = {}
_builtins_loaded = False


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add ``spec`` under ``spec.name`` (a later registration of the same name replaces it)."""
    if not spec.name or not spec.name.replace("-", "_").isidentifier():
        raise ValueError(f"model name {spec.name!r}: expected letters, digits, '_' or '-'")
    _REGISTRY[spec.name] = spec
    return spec


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    for module in BUILTIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name != module:  # the model exists but one of its imports is missing: say so
                raise


def known_models() -> list[str]:
    """Registered model names, sorted."""
    _load_builtins()
    return sorted(_REGISTRY)


def get_model(name: str) -> ModelSpec:
    """The spec registered as ``name``; an unknown name raises ConfigError listing the known ones."""
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none registered"
        raise ConfigError(f"unknown model '{name}' (known: {known})") from None
