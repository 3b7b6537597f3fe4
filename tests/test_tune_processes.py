"""`wavetron tune` as real processes: signals, resuming an interrupted trial, two workers, a stale trial.

The trials train the engine's tiny model (tests/train/tiny_model.py) for a few steps, so each
takes about a second; the workers are real `wavetron tune` processes sharing one SQLite study.
"""
from __future__ import annotations

import csv
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent / "train"))
import tiny_model  # noqa: E402,F401  (registers the "tiny" model in this process too)
from train_helpers import HERE, RUNNER, env, finish, wait_for  # noqa: E402

from wavetron.tune import TuneSettings, counted_trials, load_space, open_study, run_study  # noqa: E402

optuna = pytest.importorskip("optuna")
pytestmark = pytest.mark.usefixtures("one_torch_thread")

SPACE = {"train.lr": {"type": "float", "low": 1.0e-3, "high": 1.0e-2, "log": True},
         "train.batch_size": {"choices": [2, 4]}}
BASE = {"audio": {"n_mels": 8}, "train": {"batch_size": 4, "lr": 3.0e-3, "seed": 7, "ema_decay": None,
                                          "log_every": 1000}}


@pytest.fixture
def runner(tmp_path) -> Path:
    path = tmp_path / "run_tiny.py"
    path.write_text(RUNNER.format(here=str(HERE)))
    return path


def tune_args(folder: Path, trials: int, steps: int = 6) -> list[str]:
    (folder / "space.yaml").write_text(yaml.safe_dump(SPACE))
    (folder / "base.yaml").write_text(yaml.safe_dump(BASE))
    return ["tune", "tiny", "--data", str(folder), "--out", str(folder / "study"), "--trials", str(trials),
            "--steps", str(steps), "--report-every", "3", "--seed", "0", "--pruner", "none",
            "--config", str(folder / "base.yaml"), "--space", str(folder / "space.yaml")]


def start(runner: Path, args: list[str], **extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(runner), *args], env=env(**extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def load(folder: Path):
    return optuna.load_study(study_name="wavetron", storage=f"sqlite:///{folder / 'study' / 'study.db'}")


def rows(folder: Path) -> list[dict]:
    with open(folder / "study" / "trials.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_sigterm_while_a_trial_starts_up_stops_at_once_marks_it_and_writes_the_outputs(tmp_path, runner):
    started = tmp_path / "started"
    # The second trial's dataset takes 120 s to load: the signal lands in its start-up.
    process = start(runner, tune_args(tmp_path, trials=3), TINY_STARTED_FILE=str(started),
                    TINY_DATASET_SLEEP="120", TINY_DATASET_SLEEP_FROM="2")
    wait_for(lambda: lines(started) >= 2, process)
    process.send_signal(signal.SIGTERM)
    stderr, seconds = finish(process, timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr[-2000:]
    # Well before the load ends: about 2 s, plus the plots and the interpreter's exit (5-15 s on two
    # loaded cores).
    assert seconds < 40, seconds
    assert "wavetron tune: stopped by SIGTERM; run the same command to resume" in stderr
    trials = load(tmp_path).trials
    assert [t.state.name for t in trials] == ["COMPLETE", "FAIL", "WAITING"]
    assert trials[1].user_attrs["interrupted"] and trials[2].user_attrs["retry_of"] == 1
    assert trials[2].system_attrs["fixed_params"] == trials[1].params  # its settings run again on resume
    assert [row["state"] for row in rows(tmp_path)] == ["complete", "fail", "waiting"]
    assert rows(tmp_path)[1]["error"] == "interrupted"
    study = tmp_path / "study"
    assert yaml.safe_load((study / "best.yaml").read_text())["train"]["lr"] == BASE["train"]["lr"]
    assert (study / "history.png").read_bytes()[:4] == b"\x89PNG"


def test_ctrl_c_ends_the_running_trial_and_resuming_reruns_its_settings(tmp_path, runner):
    folder = tmp_path
    # Trials of 400 steps of 20 ms: the signal lands in the steps of trial 1.
    args = tune_args(folder, trials=2, steps=400)
    process = start(runner, args, TINY_STEP_SLEEP="0.02", TINY_STEPS_FILE=str(tmp_path / "steps"))
    wait_for(lambda: lines(tmp_path / "steps") >= 5, process)
    process.send_signal(signal.SIGINT)
    stderr, seconds = finish(process, timeout=60)
    assert process.returncode == 128 + signal.SIGINT, stderr[-2000:]
    assert "trial 0: stopped by SIGINT at step" in stderr and seconds < 40
    first = load(folder).trials
    assert [t.state.name for t in first] == ["FAIL", "WAITING"] and first[0].user_attrs["interrupted"]
    assert 1 <= first[0].user_attrs["steps"] < 400

    done = subprocess.run([sys.executable, str(runner), *tune_args(folder, trials=2, steps=6)], env=env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    trials = load(folder).trials
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE", "COMPLETE"]
    assert trials[1].params == first[0].params and trials[1].user_attrs["base"]  # the interrupted base trial
    assert trials[1].user_attrs["steps"] == 6
    assert counted_trials(load(folder)) == 2


def test_two_workers_share_one_sqlite_study(tmp_path, runner):
    args = tune_args(tmp_path, trials=4, steps=3)
    workers = [start(runner, args, TINY_STEP_SLEEP="0.02") for _ in range(2)]
    outputs = [finish(worker, timeout=240)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], [out[-1500:] for out in outputs]
    trials = load(tmp_path).trials
    # Each worker starts a trial only while the study holds fewer than 4, counting the other's running
    # ones; two that finish at the same moment may both start one more.
    assert 4 <= len(trials) <= 5 and all(t.state.name == "COMPLETE" for t in trials)
    assert sum(bool(t.user_attrs.get("base")) for t in trials) == 1
    ran = [{int(part.split()[3].rstrip(":")) for part in out.splitlines()
            if part.startswith("wavetron tune: trial ") and " after " in part} for out in outputs]
    assert ran[0] and ran[1] and not ran[0] & ran[1]  # both worked, never on the same trial
    assert ran[0] | ran[1] == {t.number for t in trials}
    assert {p.name for p in (tmp_path / "study" / "trials").iterdir()} == {f"{t.number:04d}" for t in trials}


def test_a_killed_workers_trial_is_taken_over_once_its_heartbeat_is_stale(tmp_path, runner):
    args = tune_args(tmp_path, trials=2, steps=400)
    process = start(runner, args, TINY_STEP_SLEEP="0.02", TINY_STEPS_FILE=str(tmp_path / "steps"))
    wait_for(lambda: lines(tmp_path / "steps") >= 5, process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    stale = load(tmp_path).trials
    assert [t.state.name for t in stale] == ["RUNNING"]

    # A second worker whose heartbeat interval is 1 s: a trial silent for 3 s is stale.
    base = yaml.safe_load((tmp_path / "base.yaml").read_text())
    settings = TuneSettings(model="tiny", features=tmp_path, out=tmp_path / "study", trials=2, base=base,
                            space=load_space(tmp_path / "space.yaml", base), steps=6, report_every=3,
                            pruner="none", seed=0, heartbeat=1)
    time.sleep(3.5)
    study = run_study(settings, open_study(settings))
    trials = study.trials
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE", "COMPLETE"]
    assert trials[1].system_attrs["failed_trial"] == 0 and trials[1].params == trials[0].params
    assert trials[1].user_attrs["base"]  # the stale base trial ran again as the base trial
    assert counted_trials(study) == 2  # the stale trial's retry counts in its place
    from wavetron.tune.report import trials_table

    table = list(csv.DictReader(trials_table(study, settings.space).splitlines()))
    assert table[0]["error"] == "stale: its worker stopped; run again as trial 1"


def test_the_base_trial_trains_the_base_config_also_outside_the_space(tmp_path, capsys):
    base = {**BASE, "train": {**BASE["train"], "batch_size": 3}}  # the space offers 2 and 4
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(SPACE))
    settings = TuneSettings(model="tiny", features=tmp_path, out=tmp_path / "study", trials=1, base=base,
                            space=load_space(tmp_path / "space.yaml", base), steps=3, report_every=3,
                            pruner="none", seed=0)
    study = run_study(settings, open_study(settings))
    assert "the base trial trains train.batch_size=3 as given, outside the search space" in capsys.readouterr().err
    trained = yaml.safe_load((tmp_path / "study" / "trials" / "0000" / "config.yaml").read_text())
    assert trained["train"]["batch_size"] == 3 and trained["train"]["lr"] == base["train"]["lr"]
    assert study.trials[0].params == {"train.lr": base["train"]["lr"]}  # what the space can hold
    from wavetron.tune.report import trials_table

    row = next(csv.DictReader(trials_table(study, settings.space).splitlines()))
    assert row["base"] == "yes" and row["train.batch_size"] == "3"


def test_space_values_that_the_base_config_cannot_take_are_dropped_with_one_note():
    space = Path(__file__).resolve().parents[1] / "configs" / "tune" / "wavenet.yaml"
    notes: list[str] = []
    params = load_space(space, {"wavenet": {"layers": 2, "stacks": 1}}, notes)
    stacks = next(param for param in params if param.key == "wavenet.stacks")
    assert stacks.choices == (1, 2)  # 4 stacks cannot divide the base's 2 layers
    assert len(notes) == 1 and "wavenet.stacks=4" in notes[0] and "\n" not in notes[0]
    assert len(params) == len(yaml.safe_load(space.read_text()))  # every setting is still searched
