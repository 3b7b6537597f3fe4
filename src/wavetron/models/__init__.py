"""Neural models. Each model is a ``torch.nn.Module`` with ``loss(batch) -> dict[str, Tensor]``.

Models import nothing from data loading, training or the CLI; the registry
(:mod:`wavetron.models.registry`) binds a model name to its builder and datasets.
"""
from .registry import ModelSpec, get_model, known_models, register_model

__all__ = ["ModelSpec", "get_model", "known_models", "register_model"]
