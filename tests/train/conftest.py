"""Fixtures for the training-engine tests: one torch thread, and a script that runs the CLI with the tiny model."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from train_helpers import HERE, RUNNER


@pytest.fixture(autouse=True)
def one_thread():
    """Two shared cores: several torch threads per test only contend with each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def runner(tmp_path) -> Path:
    """A script that registers the tiny model and runs ``wavetron`` with its arguments."""
    path = tmp_path / "run_tiny.py"
    path.write_text(RUNNER.format(here=str(HERE)))
    return path
