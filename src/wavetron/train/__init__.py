"""The one training engine for every wavetron model.

``train(name, features, run_dir, config)`` trains a registered model; :class:`Trainer` runs the
loop for any module with ``loss(batch) -> dict[str, Tensor]``. Checkpoints are safetensors plus
JSON, written atomically; :func:`load_model_checkpoint` rebuilds a trained model for synthesis.
Multi-process and multi-machine training run under ``torchrun`` (PyTorch DDP).
"""
from .checkpoint import Checkpoint, latest_checkpoint, list_checkpoints, load_checkpoint, save_checkpoint
from .engine import Trainer, TrainingError, TrainResult
from .export import export_model, load_model_checkpoint
from .optim import build_optimizer, learning_rate
from .run import adopt_feature_settings, train

__all__ = [
    "Checkpoint", "TrainResult", "Trainer", "TrainingError", "adopt_feature_settings", "build_optimizer",
    "export_model", "latest_checkpoint", "learning_rate", "list_checkpoints", "load_checkpoint",
    "load_model_checkpoint", "save_checkpoint", "train",
]
