"""The benchmarks' shared machine report, and train_step.py's side-by-side run of two revisions."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import machine  # noqa: E402


def test_machine_report_names_cpu_flags_and_load():
    flags = machine.cpu_flags()
    assert set(flags) == set(machine.FLAGS) and all(isinstance(v, bool) for v in flags.values())
    text = machine.describe(threads=1, peak=False)
    assert machine.cpu_model() in text and "load " in text and "1 thread" in text
    for flag, present in flags.items():
        assert (f" {flag}" in text.splitlines()[0]) or not present


def test_matmul_peak_is_a_plausible_rate():
    peak = machine.matmul_peak(threads=1, size=256, repeats=3)
    assert 0.1 < peak < 10_000  # GFLOP/s of one thread: any real CPU lies in between


def test_interleaved_alternates_the_candidates():
    calls = []
    times = machine.interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=4)
    assert calls == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert {name: len(t) for name, t in times.items()} == {"a": 4, "b": 4}


@pytest.mark.slow
def test_train_step_compares_two_revisions_and_their_losses():
    """HEAD against the checkout (the same code unless the models have uncommitted changes): the same
    weights and batch give the same losses."""
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "train_step.py"), "--base", "HEAD",
                             "--configs", "configs/voice-wavenet.yaml", "--repeats", "2", "--steps", "1"],
                            capture_output=True, text=True, timeout=900, cwd=ROOT,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "machine:" in out and "load " in out and "fp32 matmul peak" in out
    assert re.search(r"throughput ratio, this checkout / base: [0-9.]+x wall", out), out
    assert "weights shared" in out and ": agree" in out, out


def test_stream_rate_is_a_plausible_cache_bandwidth():
    from wavetron.generate import fast
    from wavetron.generate.fast import c_kernel_available

    if not c_kernel_available():
        pytest.skip("C kernel not built for this machine")
    import wavenet_generate

    rate = wavenet_generate.stream_rate(256 * 1024, repeats=2)
    assert 0.1 < rate < 100_000  # GB/s: any real core's cache lies in between
    with pytest.raises(ValueError, match="repeats"):
        fast._ckernel.stream(bytes(1024), 0)
