"""Every command answers bad input with one line naming the file or field, exit status 2, no traceback."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf


def wavetron(*args: str, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "wavetron", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str, reported: int = 0) -> None:
    """The last stderr line is the error; a batch command may first report its ``reported`` skipped items."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 + reported and "Traceback" not in result.stderr, result.stderr
    assert "error:" in lines[-1]
    for needle in needles:
        assert needle in result.stderr, result.stderr


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    (root / "noise.wav").write_bytes(np.random.default_rng(0).bytes(4000))
    sf.write(root / "tone.wav", 0.1 * np.sin(np.arange(22050) / 10.0), 22050)
    (root / "bad.yaml").write_text("audio: {n_mels: [1, 2\n")
    (root / "data").mkdir()
    (root / "data" / "metadata.csv").write_text("a|hello\n")
    return root


def test_help_lists_every_command():
    result = wavetron("--help")
    assert result.returncode == 0
    for command in ("corpus", "preprocess", "train", "evaluate", "synth", "vocode"):
        assert command in result.stdout


def test_missing_path(files):
    missing = files / "nowhere"
    assert_one_line_error(wavetron("preprocess", missing, files / "out"), str(missing))


def test_non_audio_file(files):
    noise = files / "noise.wav"
    result = wavetron("evaluate", noise, noise, "--metrics", "mcd")
    assert_one_line_error(result, "noise.wav", "not a readable audio file", reported=1)


def test_malformed_config(files):
    bad = files / "bad.yaml"
    assert_one_line_error(wavetron("preprocess", files / "data", files / "out1", "--config", bad), "bad.yaml", "YAML")


def test_unknown_config_key(files):
    result = wavetron("preprocess", files / "data", files / "out2", "--set", "audio.n_mel=64")
    assert_one_line_error(result, "audio.n_mel")


def test_unsupported_sample_rate(files):
    result = wavetron("preprocess", files / "data", files / "out3", "--set", "audio.sample_rate=0")
    assert_one_line_error(result, "audio.sample_rate")


def test_empty_text(files, tmp_path):
    result = wavetron("synth", "--text", " ... ", "--out", tmp_path / "x.wav", "--vocoder", "griffin-lim")
    assert_one_line_error(result, "empty")
    assert not (tmp_path / "x.wav").exists()


def test_debug_shows_the_traceback(files):
    result = wavetron("--debug", "preprocess", files / "nowhere", files / "out4")
    assert result.returncode != 0 and "Traceback" in result.stderr
