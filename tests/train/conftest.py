"""Fixtures for the training-engine tests: one torch thread, and a script that runs the CLI with the tiny model."""
from __future__ import annotations

from pathlib import Path

import pytest

from train_helpers import HERE, RUNNER


@pytest.fixture(autouse=True)
def one_thread(one_torch_thread):
    """Two shared cores: several torch threads per test only contend with each other."""


@pytest.fixture
def runner(tmp_path) -> Path:
    """A script that registers the tiny model and runs ``wavetron`` with its arguments."""
    path = tmp_path / "run_tiny.py"
    path.write_text(RUNNER.format(here=str(HERE)))
    return path
