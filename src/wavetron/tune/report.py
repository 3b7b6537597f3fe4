"""What a study leaves in its folder: the best config as a preset, a table of trials and plots."""
from __future__ import annotations

import copy
import csv
import io
import warnings
from pathlib import Path
from typing import Any

import yaml

from ..config import Config, from_dict
from ..io import atomic_write_text
from .space import Param, decode_choice, set_key
from .study import TuneSettings, decoded_params


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)


def base_trial(study):
    """The finished trial that ran the base config, if any."""
    from optuna.trial import TrialState

    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if trial.user_attrs.get("base"):
            return trial
    return None


def summary(study, settings: TuneSettings) -> str:
    """One or two lines: the best trial, and its gain over the base config at the same budget."""
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        return "no trial has completed yet"
    best = study.best_trial
    counts = {state.name.lower(): len(study.get_trials(deepcopy=False, states=(state,)))
              for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)}
    text = (f"best trial {best.number} of {len(study.trials)} ({counts['complete']} complete, {counts['pruned']} "
            f"pruned, {counts['fail']} failed): {settings.metric} {best.value:.5g}")
    base = base_trial(study)
    if base is not None and base.number != best.number:
        change = best.value - base.value
        relative = f" ({100 * change / abs(base.value):+.1f}%)" if base.value else ""
        text += f"; the base config (trial {base.number}) reached {base.value:.5g}, a change of {change:+.4g}{relative}"
    elif base is not None:
        text += "; the base config itself is the best"
    return text


def best_preset(study, settings: TuneSettings) -> dict:
    """The base config mapping with the best trial's settings applied (checked by building it)."""
    data = copy.deepcopy(settings.base)
    for key, value in decoded_params(study.best_trial, settings.space).items():
        set_key(data, key, value)
    from_dict(Config, copy.deepcopy(data))
    return data


def write_preset(study, settings: TuneSettings, path: Path) -> None:
    """The best config as YAML for ``wavetron train --config``, with a header saying how it was found."""
    budget = " and ".join(part for part in (f"{settings.steps} steps" if settings.steps else "",
                                            f"{settings.minutes:g} minutes" if settings.minutes else "") if part)
    header = [f"Found by `wavetron tune {settings.model}` (Optuna, study '{settings.study_name}'):",
              f"{len(study.trials)} trials of at most {budget} each on {settings.features}.",
              summary(study, settings) + "."]
    lines = "".join(f"# {line}\n" for line in header)
    atomic_write_text(path, lines + yaml.safe_dump(best_preset(study, settings), sort_keys=False))


def trials_table(study, space: list[Param]) -> str:
    """CSV of every trial: number, state, metric value, budget used, settings and any error."""
    keys = [param.key for param in space]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["trial", "state", "value", "steps", "minutes", "base", *keys, "error"])
    trials = study.get_trials(deepcopy=False)
    # a killed worker's trial, failed for its stale heartbeat, and the trial that ran its settings again
    retries = {number: t.number for t in trials for number in t.system_attrs.get("retry_history", [])}
    for trial in trials:
        # the base trial's values outside the space are not parameters of the trial
        params = {**{key: decode_choice(value) for key, value in trial.user_attrs.get("values", {}).items()},
                  **decoded_params(trial, space)}
        value = trial.value if trial.value is not None else (
            trial.intermediate_values[trial.last_step] if trial.last_step is not None else None)
        writer.writerow([trial.number, trial.state.name.lower(), _fmt(value), _fmt(trial.user_attrs.get("steps")),
                         _fmt(trial.user_attrs.get("minutes")), "yes" if trial.user_attrs.get("base") else "",
                         *[_fmt(params.get(key)) for key in keys],
                         _why(trial, retries)])
    return out.getvalue()


def _why(trial, retries: dict[int, int]) -> str:
    """The error column: the trial's error, an interruption, or a stale heartbeat."""
    if trial.user_attrs.get("error"):
        return trial.user_attrs["error"]
    if trial.user_attrs.get("interrupted"):
        return "interrupted"
    if trial.number in retries and trial.state.name == "FAIL":
        return f"stale: its worker stopped; run again as trial {retries[trial.number]}"
    return ""


def write_plots(study, out: Path) -> list[str]:
    """``history.png`` and ``importances.png``; returns a note for each plot that could not be drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna
    from optuna.visualization import matplotlib as plots

    notes = []
    for name, draw in (("history.png", plots.plot_optimization_history),
                       ("importances.png", plots.plot_param_importances)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                axes = draw(study)
            figure = axes.figure
            figure.set_size_inches(8, 5)
            figure.tight_layout()
            figure.savefig(out / name, dpi=100)
            plt.close(figure)
        except (ValueError, RuntimeError, ZeroDivisionError) as err:
            notes.append(f"{name}: not drawn ({' '.join(str(err).split())})")
    return notes


def write_outputs(study, settings: TuneSettings) -> list[str]:
    """Preset ``best.yaml``, ``trials.csv`` and the plots in the study folder; returns notes."""
    from optuna.trial import TrialState

    out = settings.out
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "trials.csv", trials_table(study, settings.space))
    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return ["no trial completed: no best.yaml and no plots"]
    write_preset(study, settings, out / "best.yaml")
    return write_plots(study, out)


__all__ = ["best_preset", "summary", "trials_table", "write_outputs", "write_plots", "write_preset"]
