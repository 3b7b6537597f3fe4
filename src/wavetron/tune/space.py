"""Search spaces: a YAML mapping from dotted config keys to the range or choices to try.

::

    train.lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
    train.batch_size: {type: int, low: 8, high: 32, step: 8}
    train.optimizer: {choices: [adam, adamw]}
    train.betas: {choices: [[0.9, 0.999], [0.9, 0.98]]}

``type`` is ``float``, ``int`` or ``categorical`` (implied by ``choices``). Every key must name a
setting of :class:`~wavetron.config.Config`, and both ends of a range and every choice must be a
valid value of that setting: a bad space fails before the first trial, with the key in the message.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..config import Config, from_dict, read_yaml
from ..errors import ConfigError

TYPES = ("float", "int", "categorical")
_RANGE_FIELDS = {"type", "low", "high", "log", "step"}


@dataclass(frozen=True)
class Param:
    """One searched setting: a dotted config key and its range (``low``..``high``) or ``choices``."""

    key: str
    type: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple = ()

    def suggest(self, trial) -> Any:
        """Draw this setting's value for an Optuna ``trial``, decoded to what the config expects."""
        if self.type == "categorical":
            return decode_choice(trial.suggest_categorical(self.key, [encode_choice(c) for c in self.choices]))
        if self.type == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.key, float(self.low), float(self.high), step=self.step, log=self.log)

    def contains(self, value: Any) -> bool:
        """Whether a draw of this setting can give ``value`` (a choice, or a point of the range and its step)."""
        if self.type == "categorical":
            return encode_choice(value) in [encode_choice(choice) for choice in self.choices]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not self.low <= value <= self.high:
            return False
        if self.type == "int" and not float(value).is_integer():
            return False
        return self.step is None or abs((value - self.low) / self.step - round((value - self.low) / self.step)) < 1e-9

    def encode(self, value: Any) -> Any:
        """``value`` as Optuna stores it for this setting (for enqueueing a known configuration)."""
        return encode_choice(value) if self.type == "categorical" else value


def encode_choice(value: Any) -> Any:
    """Optuna stores only scalars: a list choice (e.g. ``train.betas``) is kept as flow-style YAML."""
    if isinstance(value, (list, tuple)):
        return yaml.safe_dump(list(value), default_flow_style=True).strip()
    return value


def decode_choice(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("["):
        return yaml.safe_load(value)
    return value


def _number(value: Any, where: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: '{name}' must be a number, got {value!r}")
    return value


def parse_param(key: str, spec: Any, where: str) -> Param:
    """One entry of a space file; ``where`` names the file and key in errors."""
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected a mapping such as {{type: float, low: 1e-4, high: 1e-2}} "
                          f"or {{choices: [...]}}, got {spec!r}")
    kind = spec.get("type", "categorical" if "choices" in spec else None)
    if kind not in TYPES:
        raise ConfigError(f"{where}: type must be one of {', '.join(TYPES)}, got {kind!r}")
    if kind == "categorical":
        extra = sorted(set(spec) - {"type", "choices"})
        if extra:
            raise ConfigError(f"{where}: unknown field '{extra[0]}' (a categorical setting takes choices)")
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where}: choices must be a non-empty list, got {choices!r}")
        return Param(key, kind, choices=tuple(choices))
    extra = sorted(set(spec) - _RANGE_FIELDS)
    if extra:
        raise ConfigError(f"{where}: unknown field '{extra[0]}' (a {kind} range takes low, high, log, step)")
    if "low" not in spec or "high" not in spec:
        raise ConfigError(f"{where}: a {kind} range needs low and high")
    low, high = _number(spec["low"], where, "low"), _number(spec["high"], where, "high")
    step = None if spec.get("step") is None else _number(spec["step"], where, "step")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{where}: log must be true or false, got {log!r}")
    if kind == "int" and not all(float(v).is_integer() for v in (low, high, step or 1)):
        raise ConfigError(f"{where}: an int range needs integer low, high and step, got {low!r}..{high!r}")
    if low > high:
        raise ConfigError(f"{where}: empty range, low {low!r} > high {high!r}")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log range needs low > 0, got {low!r}")
    if step is not None and (step <= 0 or log):
        raise ConfigError(f"{where}: step must be positive and cannot be combined with log")
    return Param(key, kind, low=low, high=high, log=log, step=step)


def set_key(data: dict, key: str, value: Any) -> dict:
    """``data`` (a nested config mapping) with ``section.name`` set to ``value``, in place."""
    section, name = key.split(".", 1)
    node = data.setdefault(section, {})
    if not isinstance(node, dict):
        raise ConfigError(f"{section}: expected a mapping of settings, got {node!r}")
    node[name] = value
    return data


def get_key(data: dict, key: str) -> Any:
    """The value of ``section.name`` in a resolved config mapping."""
    section, name = key.split(".", 1)
    return data[section][name]


def _check_key(key: Any, where: str) -> None:
    parts = str(key).split(".")
    if len(parts) == 2:
        section = next((f for f in dataclasses.fields(Config) if f.name == parts[0]), None)
        if section is not None and parts[1] in {f.name for f in dataclasses.fields(section.default_factory())}:
            return
    raise ConfigError(f"{where}: unknown config key '{key}' (expected section.setting, e.g. train.lr)")


def load_space(path: str | Path, base: dict, notes: list[str] | None = None) -> list[Param]:
    """Read and check a space file against the base config mapping ``base``.

    Every range end and every choice is applied to ``base`` and the config built. A value that no
    config takes (``train.lr: {low: 0, ...}``, an unknown optimizer) fails here, naming the key.
    A choice that only this base refuses (``wavenet.stacks: 4`` with ``--set wavenet.layers=2``) is
    dropped, and a setting left without choices is not searched; ``notes`` (when given) receives one
    line naming what was dropped and why.
    """
    data = read_yaml(path)
    if not data:
        raise ConfigError(f"{path}: the search space is empty")
    params, dropped = [], []
    for key, spec in data.items():
        where = f"{path}: {key}"
        _check_key(key, f"{path}")
        param = parse_param(str(key), spec, where)
        values = param.choices if param.type == "categorical" else (param.low, param.high)
        kept = []
        for value in values:
            if param.type == "int":
                value = int(value)
            why = _refusal(base, param.key, value)
            if why is None:
                kept.append(value)
            elif param.type == "categorical" and _refusal({}, param.key, value) is None:
                dropped.append((param.key, value, why))  # fine with the defaults: this base cannot take it
            else:
                raise ConfigError(f"{where}: value {value!r} is not a valid setting ({why})")
        if param.type == "categorical" and len(kept) < len(values):
            if not kept:
                continue
            param = dataclasses.replace(param, choices=tuple(kept))
        params.append(param)
    if dropped and notes is not None:
        names = ", ".join(f"{key}={value!r}" for key, value, _ in dropped)
        gone = sorted({key for key, _, _ in dropped} - {param.key for param in params})
        unsearched = f"; not searched: {', '.join(gone)}" if gone else ""
        notes.append(f"note: dropped from the search space, as the base config cannot take them: {names}{unsearched} "
                     f"({dropped[0][2]})")
    if not params:
        raise ConfigError(f"{path}: the base config can take none of the search space's values")
    return params


def _refusal(base: dict, key: str, value: Any) -> str | None:
    """Why the config ``base`` with ``key`` set to ``value`` does not build, or None when it does."""
    try:
        from_dict(Config, set_key(yaml.safe_load(yaml.safe_dump(base)), key, value))
    except ConfigError as err:
        return " ".join(str(err).split())
    return None
