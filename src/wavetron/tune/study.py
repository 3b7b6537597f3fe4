"""``run_study``: an Optuna study whose trials train a model through :func:`wavetron.train.train`.

Every trial trains the base config with the trial's sampled settings for a fixed budget (steps
or minutes), reports its validation metric to Optuna after every validation, and is pruned there
when it falls behind the other trials at the same step. The study lives in an RDB storage
(``STUDY_DIR/study.db`` by default), so it resumes after an interruption and several processes
can share it.
"""
from __future__ import annotations

import contextlib
import copy
import math
import shutil
import signal
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import torch

from ..config import Config, from_dict, to_dict
from ..errors import ConfigError, WavetronError
from ..signals import STOP
from ..train import TrainingError, train
from .space import Param, decode_choice, encode_choice, get_key, set_key

# Metrics where more is better; every other metric (the losses) is minimised.
MAXIMISED = ("focus", "diagonality", "coverage", "stopped")
# The metric a study of each model optimises unless told otherwise. Tacotron's total loss adds the
# guided-attention term times its weight, which the space searches: a smaller weight would "win"
# by shrinking the sum, so its studies compare the decoder's mel L1 (teacher-forced) instead.
DEFAULT_METRICS = {"tacotron": "mel/l1"}


class BadTrial(WavetronError):
    """A trial's sampled settings cannot train (an invalid combination, a diverged or NaN run)."""


# A trial that fails this way is recorded with its error and the study goes on; any other error
# (a missing features folder, an unknown --metric) ends the study.
CATCH = (BadTrial, TrainingError, MemoryError, torch.OutOfMemoryError, RuntimeError, ValueError)


@dataclass
class TuneSettings:
    """What ``wavetron tune`` searches and how each trial is trained.

    Args:
        model: a registered model name (``tacotron``, ``wavenet`` ...).
        features: the features folder every trial trains on.
        out: the study folder: ``study.db``, ``trials/NNNN`` run folders, the best preset, table, plots.
        trials: the study's total number of trials (finished, pruned or failed; a resumed study
            runs only the missing ones).
        base: the base config as a nested mapping (``--config`` plus ``--set``); trials change only
            the space's keys.
        space: the searched settings.
        steps / minutes: the training budget of a trial (one or both; the first reached ends it).
        report_every: steps between validations, i.e. between reports to the pruner.
        metric: a key of the validation metrics (``loss``, ``mel/l1``, ``align/focus`` ...).
        direction: ``minimize`` or ``maximize``; None picks by the metric's name.
        pruner: ``median``, ``hyperband`` or ``none``.
        storage: an Optuna storage URL; None: ``sqlite:///OUT/study.db``.
        base_trial: run the base config itself as the first trial of a new study, the reference
            that the best config is measured against.
        heartbeat: seconds between a running trial's heartbeats; a trial without one for three
            times as long (a killed worker's) is failed by the next worker to start a trial, and its
            settings run again.
    """

    model: str
    features: Path
    out: Path
    trials: int
    base: dict
    space: list[Param]
    steps: int | None = None
    minutes: float | None = None
    report_every: int = 25
    metric: str = "loss"
    direction: str | None = None
    pruner: str = "median"
    storage: str | None = None
    study_name: str = "wavetron"
    seed: int | None = None
    base_trial: bool = True
    keep_checkpoints: bool = False
    heartbeat: int = 60

    def __post_init__(self) -> None:
        if self.trials < 1:
            raise ConfigError(f"--trials: expected a positive integer, got {self.trials}")
        if self.steps is None and self.minutes is None:
            raise ConfigError("a trial needs a budget: --steps N or --budget-minutes M")
        if self.steps is not None and self.steps < 1:
            raise ConfigError(f"--steps: expected a positive integer, got {self.steps}")
        if self.minutes is not None and self.minutes <= 0:
            raise ConfigError(f"--budget-minutes: expected a positive number, got {self.minutes}")
        if self.report_every < 1:
            raise ConfigError(f"--report-every: expected a positive integer, got {self.report_every}")
        if self.direction is None:
            self.direction = "maximize" if self.metric.split("/")[-1] in MAXIMISED else "minimize"
        if self.direction not in ("minimize", "maximize"):
            raise ConfigError(f"--direction: expected minimize or maximize, got {self.direction!r}")
        if self.pruner not in ("median", "hyperband", "none"):
            raise ConfigError(f"--pruner: expected median, hyperband or none, got {self.pruner!r}")

    @property
    def storage_url(self) -> str:
        return self.storage or f"sqlite:///{(self.out / 'study.db').resolve()}"


def trial_config(settings: TuneSettings, values: dict[str, Any]) -> Config:
    """The config a trial trains: the base, the sampled ``values``, and the trial's budget."""
    data = copy.deepcopy(settings.base)
    for key, value in values.items():
        set_key(data, key, value)
    train = data.setdefault("train", {})
    if settings.steps is not None:
        train["max_steps"] = settings.steps
    train["validate_every"] = settings.report_every
    # The whole validation split: a cap in batches would measure trials of other batch sizes on
    # other sentences.
    train["validation_batches"] = None
    # Only the final weights matter: no periodic checkpoints besides the best one.
    train["checkpoint_every"] = max(int(train.get("max_steps", Config().train.max_steps)), 1)
    train["keep_last"] = 1
    try:
        return from_dict(Config, data)
    except ConfigError as err:
        raise BadTrial(f"invalid combination of settings: {err}") from None


def _one_line(err: BaseException) -> str:
    return " ".join(f"{type(err).__name__}: {err}".split())[:300]


class _Objective:
    """Trains one trial and returns its last validation metric."""

    def __init__(self, settings: TuneSettings) -> None:
        self.settings = settings

    def __call__(self, trial) -> float:
        import optuna

        s = self.settings
        if trial.user_attrs.get("base"):  # the base config itself, also where the space cannot express it
            values = base_values(s, trial)
            _say(f"trial {trial.number}: the base config")
        else:
            values = {param.key: param.suggest(trial) for param in s.space}
            _say(f"trial {trial.number}: " + ", ".join(f"{key}={value}" for key, value in values.items()))
        run_dir = s.out / "trials" / f"{trial.number:04d}"
        if run_dir.exists():  # left by a killed worker under the same trial number
            shutil.rmtree(run_dir)
        reports: list[tuple[int, float]] = []
        pruned: list[int] = []

        def on_validation(step: int, metrics: dict[str, float]) -> bool:
            if s.metric not in metrics:
                raise ConfigError(f"--metric {s.metric}: not a validation metric of {s.model} "
                                  f"(known: {', '.join(sorted(metrics))})")
            value = float(metrics[s.metric])
            reports.append((step, value))
            if not math.isfinite(value):
                return True
            trial.report(value, step)
            if trial.should_prune():
                pruned.append(step)
                return True
            return False

        try:
            config = trial_config(s, {} if trial.user_attrs.get("base") else values)
            limit = None if s.minutes is None else 60 * s.minutes
            with STOP.raising():  # a signal while the trial starts up ends it at once
                result = train(s.model, s.features, run_dir, config, on_validation=on_validation,
                               time_limit=limit)
        except CATCH as err:
            trial.set_user_attr("error", _one_line(err))
            _say(f"trial {trial.number}: failed ({_one_line(err)})")
            raise
        except KeyboardInterrupt:  # a signal before the first step, or a second Ctrl-C
            _interrupted(trial, 0)
            raise
        finally:
            if not s.keep_checkpoints and (run_dir / "checkpoints").exists():
                shutil.rmtree(run_dir / "checkpoints")
        minutes = result.train_seconds / 60
        trial.set_user_attr("steps", result.step)
        trial.set_user_attr("minutes", round(minutes, 3))  # of training steps, validation excluded
        if result.stopped_by is not None:  # Ctrl-C: try these settings again when the study resumes
            _interrupted(trial, result.step)
            raise KeyboardInterrupt
        if pruned:
            _say(f"trial {trial.number}: pruned at step {pruned[0]} ({s.metric} {reports[-1][1]:.5g})")
            raise optuna.TrialPruned(f"pruned at step {pruned[0]}")
        if not reports:
            raise BadTrial("no validation happened; lower --report-every or check the validation split")
        if not math.isfinite(reports[-1][1]):
            error = f"{s.metric} is {reports[-1][1]} at step {reports[-1][0]} (diverged)"
            trial.set_user_attr("error", error)
            _say(f"trial {trial.number}: failed ({error})")
            raise BadTrial(error)
        value = reports[-1][1]
        _say(f"trial {trial.number}: {s.metric} {value:.5g} after {result.step} steps, {minutes:.1f} min")
        return value


def _interrupted(trial, step: int) -> None:
    """Mark ``trial`` as interrupted and queue its settings to run again when the study resumes."""
    trial.set_user_attr("interrupted", True)
    again = {"retry_of": trial.number, **({"base": True} if trial.user_attrs.get("base") else {})}
    trial.study.enqueue_trial(trial.params, user_attrs=again)
    name = signal.Signals(STOP.signum).name if STOP.signum else "an interrupt"
    _say(f"trial {trial.number}: stopped by {name} at step {step}; its settings run again on resume")


def _say(text: str) -> None:
    print(f"wavetron tune: {text}", file=sys.stderr, flush=True)


def counted_trials(study) -> int:
    """Trials that count towards ``--trials``: finished, pruned, failed or running.

    An interrupted trial does not count, nor does a stale one (its worker was killed) whose settings
    were queued again: its retry counts in its place.
    """
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    retried = {number for t in trials for number in t.system_attrs.get("retry_history", [])}
    done = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
    return sum(1 for t in trials if t.state in done or (t.state == TrialState.FAIL and not t.user_attrs.get(
        "interrupted") and t.number not in retried))


def _storage(settings: TuneSettings):
    import optuna

    url = settings.storage_url
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        settings.out.mkdir(parents=True, exist_ok=True)
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}  # several workers wait for the lock
    # Heartbeats let a worker mark the trials of a killed one as failed and retry their settings.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1)
        return optuna.storages.RDBStorage(url, heartbeat_interval=settings.heartbeat,
                                          grace_period=3 * settings.heartbeat,
                                          heartbeat_stale_trial_callback=retry, **kwargs)


def _pruner(settings: TuneSettings):
    import optuna

    if settings.pruner == "median":
        # Compare from the first report on, once three trials have finished.
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0)
    if settings.pruner == "hyperband":
        top = settings.steps if settings.steps is not None else "auto"
        return optuna.pruners.HyperbandPruner(min_resource=settings.report_every, max_resource=top)
    return optuna.pruners.NopPruner()


def open_study(settings: TuneSettings):
    """Create the study, or load it and check that it searches the same metric in the same direction."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # trials are reported by tune itself
    with _study_lock(settings):  # workers starting together: one creates the database, the others load it
        study = optuna.create_study(storage=_storage(settings), study_name=settings.study_name,
                                    direction=settings.direction, load_if_exists=True,
                                    sampler=optuna.samplers.TPESampler(seed=settings.seed),
                                    pruner=_pruner(settings))
    if settings.seed is not None and study.trials:
        # A resumed study (or a second worker) must not replay the draws of the first run.
        study.sampler = optuna.samplers.TPESampler(seed=settings.seed + len(study.trials))
    if study.direction.name.lower() != settings.direction:
        raise ConfigError(f"{settings.storage_url}: study '{settings.study_name}' was created to "
                          f"{study.direction.name.lower()} its metric, not {settings.direction}")
    known = study.user_attrs
    for key, value in (("model", settings.model), ("metric", settings.metric)):
        if key in known and known[key] != value:
            raise ConfigError(f"{settings.storage_url}: study '{settings.study_name}' tunes {key} "
                              f"{known[key]!r}, not {value!r}; use another --study-name or --out")
        if key not in known:
            study.set_user_attr(key, value)
    if "base" not in known:
        study.set_user_attr("base", settings.base)
    return study


def _resolved_base(settings: TuneSettings) -> dict:
    return to_dict(from_dict(Config, copy.deepcopy(settings.base)))


def enqueue_base(study, settings: TuneSettings) -> None:
    """The base config as the next trial: it trains ``settings.base`` exactly (see :func:`base_values`).

    Its values that the space can hold are enqueued as the trial's parameters, so the sampler
    learns from the base trial too; a value outside the space (``--set train.batch_size=2`` with
    choices 4, 8, 16) is trained all the same, and named in a note.
    """
    resolved = _resolved_base(settings)
    params, outside = {}, []
    for param in settings.space:
        value = get_key(resolved, param.key)
        if param.contains(value):
            params[param.key] = param.encode(value)
        else:
            outside.append(f"{param.key}={value!r}")
    if outside:
        _say(f"note: the base trial trains {', '.join(outside)} as given, outside the search space")
    study.enqueue_trial(params, user_attrs={"base": True})


def base_values(settings: TuneSettings, trial) -> dict[str, Any]:
    """The base config's values of the space's keys, which the base ``trial`` trains.

    Values the space holds are also drawn through the trial (they are enqueued, so the draw returns
    them) and become its parameters; all of them are kept in the trial's ``values`` attribute.
    """
    resolved = _resolved_base(settings)
    values = {}
    for param in settings.space:
        values[param.key] = get_key(resolved, param.key)
        if param.contains(values[param.key]):
            param.suggest(trial)
    trial.set_user_attr("values", {key: encode_choice(value) for key, value in values.items()})
    return values


def run_study(settings: TuneSettings, study=None):
    """Run trials until the study holds ``settings.trials``; returns the Optuna study.

    A SIGINT/SIGTERM ends the running trial after its current step (at once while it starts up),
    marks it interrupted and queues its settings again, then raises KeyboardInterrupt
    (:class:`~wavetron.signals.Interrupted` before a trial's first step).

    Args:
        study: the study of :func:`open_study` (opened here when None).
    """
    with STOP.installed_for(), STOP.deferred():  # between trials a signal waits for a safe point
        study = study if study is not None else open_study(settings)
        _fail_stale_trials(study)  # before counting: a killed worker's trial is not running any more
        if settings.base_trial:
            with _study_lock(settings):  # two workers starting together enqueue the base trial once
                if not study.get_trials(deepcopy=False):
                    enqueue_base(study, settings)
        missing = settings.trials - counted_trials(study)
        if missing <= 0:
            _say(f"the study already holds {settings.trials} trials")
            return study

        def enough(study, trial) -> None:
            if counted_trials(study) >= settings.trials or STOP.requested():
                study.stop()

        _lock_asks(study, settings)
        study.optimize(_Objective(settings), n_trials=missing, callbacks=[enough], catch=CATCH,
                       gc_after_trial=True)
        STOP.raise_if_requested()  # a signal between two trials: the study stopped before the next
    return study


def _lock_asks(study, settings: TuneSettings) -> None:
    """Make this worker's ``study.ask()`` (which ``optimize`` calls for each trial) hold the study lock.

    Popping a queued trial reads its WAITING state, then writes RUNNING; on SQLite two workers can both
    read WAITING and run the same queued trial (the second then fails with "Cannot tell a COMPLETE
    trial"). Under the lock one worker pops it and the other sees it RUNNING.
    """
    ask = study.ask

    def locked_ask(*args, **kwargs):
        with _study_lock(settings):
            return ask(*args, **kwargs)

    study.ask = locked_ask


@contextlib.contextmanager
def _study_lock(settings: TuneSettings) -> Iterator[None]:
    """An exclusive lock of the study folder, held by one worker process at a time.

    It serialises the workers of one machine; workers on several machines (``--storage``) share no
    folder, and two of them creating the study in the same instant may both run the base config.
    """
    import fcntl

    settings.out.mkdir(parents=True, exist_ok=True)
    with open(settings.out / ".study.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fail_stale_trials(study) -> None:
    """Fail the trials whose heartbeat is stale and queue their settings again (as each trial start does)."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def decoded_params(trial, space: list[Param]) -> dict[str, Any]:
    """A trial's settings as config values (list choices decoded)."""
    kinds = {param.key: param.type for param in space}
    return {key: decode_choice(value) if kinds.get(key) == "categorical" else value
            for key, value in trial.params.items()}
