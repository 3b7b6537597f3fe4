"""Trained models out of a run: a single-file export and a loader that rebuilds the model.

The export is one ``model.safetensors`` whose metadata holds the model name, the resolved
config (JSON) and the step, so synthesis needs nothing else to rebuild the model.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ..config import Config, from_dict
from ..errors import DataError
from ..io import atomic_path
from .checkpoint import checkpoint_name, latest_checkpoint, load_checkpoint, read_export_metadata


STORAGE_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def export_model(checkpoint_dir: str | Path, out_path: str | Path, use_ema: bool = True,
                 dtype: str = "float32") -> Path:
    """Write the weights of a checkpoint folder as one safetensors file with the config in its metadata.

    Args:
        checkpoint_dir: a ``step-N`` folder, or a run folder (its newest intact checkpoint).
        out_path: the ``.safetensors`` file to write (atomically).
        use_ema: export the EMA weights when the checkpoint has them (what vocoders sample from).
        dtype: storage type of the floating-point weights: float32, float16 or bfloat16 (half the
            size); :func:`load_model_checkpoint` turns them back into the model's float32.
    """
    if dtype not in STORAGE_DTYPES:
        raise DataError(f"dtype: expected one of {', '.join(STORAGE_DTYPES)}, got {dtype!r}")
    checkpoint = load_checkpoint(_resolve(Path(checkpoint_dir)))
    weights, kind = _checkpoint_weights(checkpoint, use_ema)
    metadata = {
        "format": "wavetron-model",
        "model_name": str(checkpoint.state["model_name"]),
        "config": json.dumps(checkpoint.state["config"]),
        "step": str(checkpoint.step),
        "weights": kind,
        "dtype": dtype,
    }
    store = STORAGE_DTYPES[dtype]
    weights = {k: (v.to(store) if v.is_floating_point() else v).contiguous() for k, v in weights.items()}
    with atomic_path(out_path) as tmp:
        save_file(weights, str(tmp), metadata=metadata)
    return Path(out_path)


def _checkpoint_weights(checkpoint, use_ema: bool) -> tuple[dict[str, torch.Tensor], str]:
    """A checkpoint's model weights with its EMA over them when asked and present; and "ema" or "model"."""
    weights = dict(checkpoint.tensors["model"])
    if use_ema and "ema" in checkpoint.tensors:
        weights.update(checkpoint.tensors["ema"])  # integer buffers stay those of the model
        return weights, "ema"
    return weights, "model"


def _resolve(path: Path) -> Path:
    """A run folder -> its newest intact checkpoint; a checkpoints folder likewise; else ``path``."""
    if path.is_dir() and not (path / "state.json").exists():
        root = path / "checkpoints" if (path / "checkpoints").is_dir() else path
        checkpoint = latest_checkpoint(root)
        if checkpoint is None:
            raise DataError(f"{path}: no intact checkpoint found")
        return checkpoint.path
    return path


def read_model_weights(path: str | Path, use_ema: bool = True) -> tuple[str, dict, dict[str, torch.Tensor]]:
    """The model name, config dict and weights of a run folder, checkpoint folder or single-file export.

    Raises:
        DataError: missing, damaged or truncated files, or a file that is not a wavetron model.
    """
    path = _resolve(Path(path))
    if path.is_dir():
        checkpoint = load_checkpoint(path)
        weights, _ = _checkpoint_weights(checkpoint, use_ema)
        return checkpoint.state["model_name"], checkpoint.state["config"], weights
    if not path.is_file():
        raise DataError(f"{path}: no such checkpoint or model file")
    try:
        metadata = read_export_metadata(path)
        weights = load_file(str(path))
    except Exception as err:  # safetensors raises its own types for a damaged file
        raise DataError(f"{path}: not a readable safetensors file, damaged or truncated "
                        f"({' '.join(str(err).split())})") from None
    if metadata.get("format") != "wavetron-model":
        raise DataError(f"{path}: not a wavetron model export (no wavetron metadata)")
    try:
        return metadata["model_name"], json.loads(metadata["config"]), weights
    except (KeyError, ValueError) as err:
        raise DataError(f"{path}: damaged wavetron metadata ({err})") from None


def load_weights_into(model: nn.Module, weights: dict[str, torch.Tensor], source: str | Path, name: str) -> None:
    """``model.load_state_dict(weights)`` (any float storage type), with a clear error on a mismatch."""
    try:
        model.load_state_dict(weights)  # float16/bfloat16 storage is copied into the float32 parameters
    except RuntimeError as err:
        detail = " ".join(str(err).split())
        raise DataError(f"{source}: the weights do not fit the configured {name} model ({detail[:200]})") from None


def load_model_checkpoint(path: str | Path, use_ema: bool = True,
                          device: str | torch.device = "cpu") -> tuple[nn.Module, Config]:
    """Rebuild a trained model from a run folder, a checkpoint folder or a single-file export.

    The model is built through the registry from the config stored with the weights, put in
    eval mode and moved to ``device``.

    Args:
        path: ``RUN/`` (newest checkpoint), ``RUN/checkpoints/step-N/`` or ``model.safetensors``.
        use_ema: prefer the EMA weights of a checkpoint folder when present.
    Returns:
        (model, config): the model and the resolved config it was trained with.
    """
    from ..models.registry import get_model

    name, config_dict, weights = read_model_weights(path, use_ema)
    config = from_dict(Config, config_dict)
    model = get_model(name).build(config)
    load_weights_into(model, weights, path, name)
    return model.to(device).eval(), config


__all__ = ["export_model", "load_model_checkpoint", "load_weights_into", "read_model_weights", "checkpoint_name"]
