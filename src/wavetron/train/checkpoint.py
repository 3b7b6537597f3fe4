"""Checkpoints on disk: one folder per step, written atomically, loaded without unpickling.

Layout of ``RUN/checkpoints/step-00001000/``::

    model.safetensors      the model's state dict
    ema.safetensors        the EMA weights (when EMA is on)
    optimizer.safetensors  the optimiser's tensors, flattened as "<param index>.<name>"
    state.json             step, epoch, position in the epoch, schedule, RNG states, optimiser
                           scalars, the resolved config and the size and SHA-256 of every file

The folder is written under a hidden temporary name, every file is fsynced, ``state.json`` is
written last, and only then is the folder renamed to ``step-N``. A process killed at any moment
(SIGKILL included) leaves either no ``step-N`` folder or a complete one, so the previous
checkpoint always stays loadable. Nothing is ever read with pickle: tensors come from
safetensors and everything else from JSON.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from ..errors import DataError
from ..io import atomic_write_text, fsync_dir, fsync_file

STATE_FILE = "state.json"
FORMAT_VERSION = 1
_NAME = re.compile(r"^step-(\d{8,})$")
# Tests set this to make the writer pause between files, so that a real SIGKILL can land mid-write.
_DELAY_ENV = "WAVETRON_CHECKPOINT_WRITE_DELAY"


def checkpoint_name(step: int) -> str:
    """The folder name of the checkpoint at ``step``."""
    return f"step-{step:08d}"


@dataclass
class Checkpoint:
    """A loaded checkpoint: tensor groups by file stem (``model``, ``ema``, ...) and the JSON state."""

    path: Path
    tensors: dict[str, dict[str, torch.Tensor]]
    state: dict[str, Any]

    @property
    def step(self) -> int:
        return int(self.state["step"])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _unshared_cpu(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Contiguous CPU tensors with no two sharing memory (safetensors refuses tied weights)."""
    out, seen = {}, set()
    for name, tensor in tensors.items():
        tensor = tensor.detach().cpu().contiguous()
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset()) if tensor.numel() else None
        if key is not None and key in seen:
            tensor = tensor.clone()
        elif key is not None:
            seen.add(key)
        out[name] = tensor
    return out


def save_checkpoint(root: str | Path, step: int, tensors: dict[str, dict[str, torch.Tensor]],
                    state: dict[str, Any]) -> Path:
    """Write ``root/step-N/`` atomically and return its path.

    Args:
        root: the checkpoints folder (created when missing).
        step: the optimiser step the checkpoint was taken after.
        tensors: file stem -> state dict, each written as ``<stem>.safetensors``.
        state: JSON-serialisable state; ``step``, ``files`` and ``format`` are added.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / checkpoint_name(step)
    tmp = root / f".tmp-{checkpoint_name(step)}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    delay = float(os.environ.get(_DELAY_ENV, "0") or 0)
    files = {}
    for stem, group in tensors.items():
        path = tmp / f"{stem}.safetensors"
        save_file(_unshared_cpu(group), str(path))
        fsync_file(path)
        files[path.name] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
        if delay:
            time.sleep(delay)
    full_state = dict(state, step=step, files=files, format=FORMAT_VERSION)
    (tmp / STATE_FILE).write_text(json.dumps(full_state))
    fsync_file(tmp / STATE_FILE)
    fsync_dir(tmp)
    if final.exists():  # re-saving a step (after a NaN reload): move the old one aside first
        old = root / f".trash-{final.name}-{os.getpid()}"
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
    fsync_dir(root)
    return final


def _read_state(folder: Path) -> dict[str, Any]:
    """The parsed ``state.json`` of ``folder``; DataError when missing, malformed or files are absent."""
    state_path = folder / STATE_FILE
    try:
        state = json.loads(state_path.read_text())
    except FileNotFoundError:
        raise DataError(f"{folder}: not a checkpoint (no {STATE_FILE})") from None
    except (OSError, ValueError) as err:
        raise DataError(f"{state_path}: unreadable checkpoint state ({err})") from None
    if not isinstance(state, dict) or not isinstance(state.get("files"), dict) or "step" not in state:
        raise DataError(f"{state_path}: malformed checkpoint state")
    for name, info in state["files"].items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != info.get("bytes"):
            raise DataError(f"{path}: missing or truncated")
    return state


def list_checkpoints(root: str | Path) -> list[Path]:
    """Checkpoint folders under ``root`` whose state and files are present, oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for folder in root.iterdir():
        match = _NAME.match(folder.name)
        if not match or not folder.is_dir():
            continue
        try:
            _read_state(folder)
        except DataError:
            continue
        found.append((int(match.group(1)), folder))
    return [folder for _, folder in sorted(found)]


def load_checkpoint(folder: str | Path, verify: bool = True) -> Checkpoint:
    """Load every tensor file and the state of a checkpoint folder.

    Args:
        folder: a ``step-N`` folder.
        verify: check each file's SHA-256 against ``state.json`` (catches disk corruption).
    Raises:
        DataError: the folder is not a complete, intact checkpoint.
    """
    folder = Path(folder)
    state = _read_state(folder)
    tensors = {}
    for name, info in state["files"].items():
        path = folder / name
        if verify and _sha256(path) != info.get("sha256"):
            raise DataError(f"{path}: contents do not match the checksum in {STATE_FILE}")
        try:
            tensors[name.removesuffix(".safetensors")] = load_file(str(path))
        except Exception as err:  # safetensors raises its own error types for a damaged header
            raise DataError(f"{path}: unreadable safetensors file ({err})") from None
    return Checkpoint(folder, tensors, state)


def latest_checkpoint(root: str | Path) -> Checkpoint | None:
    """The newest checkpoint under ``root`` that loads intact, or None; damaged ones are passed over."""
    for folder in reversed(list_checkpoints(root)):
        try:
            return load_checkpoint(folder)
        except DataError:
            continue
    return None


def prune_checkpoints(root: str | Path, keep_last: int, keep_steps: set[int] = frozenset()) -> list[Path]:
    """Delete all but the newest ``keep_last`` checkpoints and those at ``keep_steps``; return the deleted.

    A folder is renamed out of the ``step-N`` namespace before it is removed, so an interrupted
    deletion never leaves a half-deleted folder that looks like a checkpoint.
    """
    root = Path(root)
    folders = list_checkpoints(root)
    doomed = [f for f in folders[:-keep_last] if int(_NAME.match(f.name).group(1)) not in keep_steps]
    for folder in doomed:
        trash = root / f".trash-{folder.name}-{os.getpid()}"
        os.replace(folder, trash)
        shutil.rmtree(trash, ignore_errors=True)
    return doomed


def remove_partial(root: str | Path) -> None:
    """Remove temporary folders left by a writer that was killed (call before training starts)."""
    root = Path(root)
    if root.is_dir():
        for folder in root.iterdir():
            if folder.name.startswith((".tmp-", ".trash-")):
                shutil.rmtree(folder, ignore_errors=True)


def write_pointer(root: str | Path, name: str, folder: Path, **info: Any) -> None:
    """Write ``root/<name>.json`` naming a checkpoint folder (e.g. ``best.json``), atomically."""
    atomic_write_text(Path(root) / f"{name}.json", json.dumps({"path": folder.name, **info}, indent=1))


def read_export_metadata(path: str | Path) -> dict[str, str]:
    """The string metadata of a single-file export (model name, config JSON, step)."""
    with safe_open(str(path), framework="pt") as handle:
        return dict(handle.metadata() or {})
