"""SIGINT and SIGTERM at every moment of `wavetron train`: real signals sent to real processes."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from tiny_model import tiny_config
from train_helpers import env, finish, tiny_args, wait_for
from wavetron.train import list_checkpoints, train


def start(runner, args, ignore_sigint: bool = False, **extra: str) -> subprocess.Popen:
    """Run the CLI; ``ignore_sigint`` starts it with SIGINT ignored, as a script's ``command &`` does."""
    def ignore() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    return subprocess.Popen([sys.executable, str(runner), *args], env=env(**extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=ignore if ignore_sigint else None)


@pytest.mark.parametrize("signum, resume, ignore_sigint", [
    (signal.SIGTERM, False, False),
    (signal.SIGINT, True, True),  # `wavetron train ... --resume &` from a script, then kill -INT
])
def test_a_signal_during_start_up_ends_the_run_at_once_and_says_so(tmp_path, runner, signum, resume,
                                                                   ignore_sigint):
    out = tmp_path / "run"
    settings = dict(max_steps=8, checkpoint_every=4, validate_every=1000)
    if resume:
        train("tiny", tmp_path, out, tiny_config(**{**settings, "max_steps": 4}))
    started = tmp_path / "started"
    # The dataset takes 30 s to load: the signal lands in the middle of the start-up.
    process = start(runner, tiny_args(tmp_path, out, **settings) + (["--resume"] if resume else []),
                    ignore_sigint, TINY_DATASET_SLEEP="30", TINY_STARTED_FILE=str(started))
    wait_for(started.exists, process, timeout=60.0)
    process.send_signal(signum)
    stderr, seconds = finish(process, timeout=15)
    assert process.returncode == 128 + signum, stderr[-2000:]
    assert seconds < 10
    name = signal.Signals(signum).name
    assert f"stopped by {name} before the first training step; nothing was saved" in stderr
    assert stderr.strip().count("\n") == 0, stderr  # one line, no traceback
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == (["step-00000004"] if resume else [])

