"""Helpers for the training-engine tests that run the CLI in real subprocesses."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

RUNNER = """\
import os, sys
sys.path.insert(0, {here!r})
import torch
torch.set_num_threads(1)
import tiny_model  # registers the "tiny" model
from wavetron.cli import main
code = main(sys.argv[1:])
dump = os.environ.get("TINY_DUMP")
if dump and tiny_model.LAST_MODEL:  # each rank's final weights, to compare replicas
    from safetensors.torch import save_file
    rank = os.environ.get("RANK", "0")
    save_file(tiny_model.LAST_MODEL[-1].state_dict(), os.path.join(dump, f"rank{{rank}}.safetensors"))
sys.exit(code)
"""


def tiny_args(data: Path, out: Path, **train) -> list[str]:
    """``train tiny`` CLI arguments with the settings of :func:`tiny_model.tiny_config`."""
    settings = dict(batch_size=4, max_steps=20, lr=3e-3, checkpoint_every=10, validate_every=10, log_every=5,
                    ema_decay=0.99, seed=7)
    settings.update(train)
    args = ["train", "tiny", "--data", str(data), "--out", str(out), "--set", "audio.n_mels=8"]
    for key, value in settings.items():
        args += ["--set", f"train.{key}={value}"]
    return args


def env(**extra: str) -> dict[str, str]:
    """The environment of a subprocess: one thread, the package importable."""
    out = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO / "src"))
    out.update(extra)
    return out


def popen(script: Path, args: list[str], **extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(script), *args], env=env(**extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def run(script: Path, args: list[str], timeout: float = 120, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(script), *args], env=env(**extra), capture_output=True, text=True,
                          timeout=timeout)


def torchrun(script: Path, args: list[str], nproc: int = 2, timeout: float = 180,
             **extra: str) -> subprocess.CompletedProcess:
    """Run ``script`` under ``torchrun --standalone`` with ``nproc`` CPU processes (gloo)."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               str(script), *args]
    return subprocess.run(command, env=env(**extra), capture_output=True, text=True, timeout=timeout)


def wait_for(condition, process: subprocess.Popen, timeout: float = 90.0) -> None:
    """Poll ``condition()`` until true; fail if the process ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"process ended early ({process.returncode}): {process.stderr.read()[-2000:]}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def finish(process: subprocess.Popen, timeout: float) -> tuple[str, float]:
    """(stderr, seconds until the process ended); kills it when it outlives ``timeout``."""
    started = time.monotonic()
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        raise AssertionError(f"still running {timeout} s after the signal: {stderr[-1500:]}") from None
    return stderr, time.monotonic() - started
