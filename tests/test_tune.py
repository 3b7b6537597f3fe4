"""`wavetron tune`: a tiny Tacotron study end to end, resuming, bad spaces and real pruning."""
from __future__ import annotations

import csv
import warnings
from pathlib import Path

import pytest
import yaml

from wavetron.cli import main
from wavetron.config import load_config
from wavetron.errors import ConfigError
from wavetron.train import train
from wavetron.tune import TuneSettings, load_space, open_study, run_study
from wavetron.tune.space import parse_param

pytestmark = pytest.mark.usefixtures("one_torch_thread")

optuna = pytest.importorskip("optuna")

# A Tacotron small enough that a trial of a few steps takes a second or two on one core.
TINY = {"tacotron": dict(embedding_dim=32, encoder_dim=32, attention_dim=16, location_filters=4, location_kernel=15,
                         prenet_dims=[32, 32], decoder_dim=48, postnet_dim=16, postnet_convs=2, reduction_factor=4,
                         dropout=0.1, decoder_dropout=0.0, guided_attention_weight=5.0, max_decoder_steps=100),
        "train": dict(batch_size=10, lr=0.005, seed=0, ema_decay=None, log_every=1000, validation_batches=1)}
SPACE = {"train.lr": {"type": "float", "low": 1.0e-3, "high": 1.0e-2, "log": True},
         "tacotron.attention_dim": {"choices": [16, 24]},
         "train.betas": {"choices": [[0.9, 0.999], [0.8, 0.99]]}}


def write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def tune_args(features: Path, folder: Path, trials: int, *extra: str) -> list[str]:
    return ["tune", "tacotron", "--data", str(features), "--out", str(folder / "study"), "--trials", str(trials),
            "--steps", "4", "--report-every", "2", "--seed", "0",
            "--config", str(folder / "base.yaml"), "--space", str(folder / "space.yaml"), *extra]


@pytest.fixture(scope="module")
def study_dir(speech_features, tmp_path_factory) -> Path:
    """A finished 3-trial study (the base config first), run through the CLI."""
    folder = tmp_path_factory.mktemp("tune")
    write_yaml(folder / "base.yaml", TINY)
    write_yaml(folder / "space.yaml", SPACE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(tune_args(speech_features, folder, 3)) == 0
    return folder


def rows(study: Path) -> list[dict]:
    with open(study / "trials.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_tiny_study_writes_table_plots_trial_runs_and_a_preset_that_trains(study_dir, speech_features, tmp_path):
    study = study_dir / "study"
    table = rows(study)
    assert [row["trial"] for row in table] == ["0", "1", "2"]
    assert all(row["state"] == "complete" and float(row["value"]) > 0 for row in table)
    assert table[0]["base"] == "yes" and float(table[0]["train.lr"]) == TINY["train"]["lr"]
    assert all(row["steps"] == "4" for row in table)
    assert {p.name for p in (study / "trials").iterdir()} == {"0000", "0001", "0002"}
    assert all((study / "trials" / name / "model.safetensors").is_file() for name in ("0000", "0001", "0002"))
    assert not (study / "trials" / "0000" / "checkpoints").exists()  # removed once a trial ends
    for plot in ("history.png", "importances.png"):
        assert (study / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    preset = study / "best.yaml"
    assert preset.read_text().startswith("# Found by `wavetron tune tacotron`")
    config = load_config(preset, ["train.max_steps=1", "train.validate_every=1"])
    best = min(table, key=lambda row: float(row["value"]))
    assert config.train.lr == pytest.approx(float(best["train.lr"]))
    assert config.tacotron.attention_dim == int(best["tacotron.attention_dim"])
    assert list(config.train.betas) == yaml.safe_load(best["train.betas"])
    assert config.tacotron.decoder_dim == TINY["tacotron"]["decoder_dim"]  # unsearched keys keep the base's
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = train("tacotron", speech_features, tmp_path / "from-preset", config)
    assert result.step == 1


def test_resuming_continues_the_trial_count_under_a_time_budget(study_dir, speech_features, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # The fourth trial also gets a time budget so small that it ends after its first step.
        assert main(tune_args(speech_features, study_dir, 4, "--budget-minutes", "1e-6")) == 0
        table = rows(study_dir / "study")
        assert [row["trial"] for row in table] == ["0", "1", "2", "3"]
        assert table[3]["state"] == "complete" and table[3]["steps"] == "1"
        assert main(tune_args(speech_features, study_dir, 4)) == 0  # complete: runs nothing
    assert "already holds 4 trials" in capsys.readouterr().err
    assert len(rows(study_dir / "study")) == 4
    assert sum(row["base"] == "yes" for row in rows(study_dir / "study")) == 1  # enqueued once, when created


def test_unknown_key_and_empty_range_are_one_line_errors_naming_the_key(tmp_path, speech_features, capsys):
    bad = write_yaml(tmp_path / "bad.yaml", {"train.lrr": {"type": "float", "low": 1e-4, "high": 1e-2}})
    with pytest.raises(ConfigError, match=r"unknown config key 'train\.lrr'"):
        load_space(bad, {})
    empty = write_yaml(tmp_path / "empty.yaml", {"train.lr": {"type": "float", "low": 1e-2, "high": 1e-4}})
    with pytest.raises(ConfigError, match=r"train\.lr: empty range, low 0\.01 > high 0\.0001"):
        load_space(empty, {})
    code = main(["tune", "tacotron", "--data", str(speech_features), "--out", str(tmp_path / "s"), "--trials", "2",
                 "--steps", "2", "--space", str(bad)])
    err = capsys.readouterr().err
    assert code == 2 and "train.lrr" in err and err.count("\n") == 1
    assert not (tmp_path / "s").exists()  # nothing written before the space is checked


@pytest.mark.parametrize("spec, message", [
    ({"type": "float", "low": 1e-4}, "needs low and high"),
    ({"type": "complex", "low": 0, "high": 1}, "type must be one of"),
    ({"choices": []}, "non-empty list"),
    ({"type": "int", "low": 1, "high": 2.5}, "integer low, high"),
    ({"type": "float", "low": 0.0, "high": 1.0, "log": True}, "log range needs low > 0"),
])
def test_malformed_ranges_are_refused(spec, message):
    with pytest.raises(ConfigError, match=message):
        parse_param("train.lr", spec, "space.yaml: train.lr")


def test_a_value_the_config_refuses_names_the_key(tmp_path):
    space = write_yaml(tmp_path / "space.yaml", {"train.optimizer": {"choices": ["adam", "sgd"]}})
    with pytest.raises(ConfigError, match=r"train\.optimizer: value 'sgd' is not a valid setting"):
        load_space(space, {})


def test_pruning_stops_a_clearly_worse_trial_at_its_first_report(speech_features, tmp_path):
    """Three equal trials complete; a fourth whose loss is far higher is pruned by the median pruner."""
    space = write_yaml(tmp_path / "space.yaml", {"tacotron.guided_attention_weight": {"choices": [5.0, 500.0]}})
    settings = TuneSettings(model="tacotron", features=speech_features, out=tmp_path / "study", trials=4,
                            base=TINY, space=load_space(space, TINY), steps=4, report_every=2, metric="loss",
                            base_trial=False)
    study = open_study(settings)
    for weight in (5.0, 5.0, 5.0, 500.0):  # the guided-attention term, weighted 100 times more, dominates the loss
        study.enqueue_trial({"tacotron.guided_attention_weight": weight})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_study(settings, study)
    states = [trial.state.name for trial in study.trials]
    assert states == ["COMPLETE", "COMPLETE", "COMPLETE", "PRUNED"]
    worse = study.trials[3]
    assert list(worse.intermediate_values) == [2]  # reported once, then stopped
    assert worse.user_attrs["steps"] == 2  # the engine ended the run at the pruned step, not at 4
    assert worse.intermediate_values[2] > 2 * max(study.trials[0].intermediate_values.values())


def test_a_diverging_trial_fails_and_the_study_goes_on(speech_features, tmp_path):
    space = write_yaml(tmp_path / "space.yaml", {"train.lr": {"choices": [0.005, 1.0e20]}})
    base = {**TINY, "train": {**TINY["train"], "nan_patience": 1, "grad_clip": None}}
    settings = TuneSettings(model="tacotron", features=speech_features, out=tmp_path / "study", trials=2, base=base,
                            space=load_space(space, base), steps=4, report_every=2, pruner="none", base_trial=False)
    study = open_study(settings)
    for lr in (1.0e20, 0.005):
        study.enqueue_trial({"train.lr": lr})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_study(settings, study)
    assert [trial.state.name for trial in study.trials] == ["FAIL", "COMPLETE"]
    assert study.trials[0].user_attrs["error"]
