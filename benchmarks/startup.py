"""What a command costs before it does anything: `wavetron --help` and `wavetron synth` against `import torch`.

    taskset -c 1 .venv/bin/python benchmarks/startup.py [--repeats 7]

Three commands take turns (ABBA order) in fresh processes: ``python -c "import torch"``, ``wavetron --help``
and ``wavetron synth --text "Hi." --out x.wav`` with the shipped voice. synth reports its own synthesis
time (loading the voice and speaking, after its imports); the start-up target is that the whole command
takes at most 1.3x (``import torch`` + that synthesis time), and ``--help`` under 0.2 s. Each figure is a
median, in wall time and in the CPU time of the child (less disturbed by other processes on a busy
machine); the baseline is ``import torch`` measured in the same run.
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe, load  # noqa: E402

_SYNTH_RE = re.compile(r"of audio in ([0-9.]+) s")


def run(command: list[str]) -> tuple[float, float, str]:
    """(wall s, child CPU s, stderr) of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, result.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--text", default="Hi.")
    args = parser.parse_args()
    print(describe(1, peak=False))
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        commands = {
            "import torch": [python, "-c", "import torch"],
            "wavetron --help": [python, "-m", "wavetron", "--help"],
            "wavetron synth": [python, "-m", "wavetron", "synth", "--text", args.text, "--out",
                               str(Path(tmp) / "x.wav")],
        }
        run(commands["wavetron synth"])  # warm the page cache: the first run reads the voice from disk
        walls: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        synthesis: list[float] = []
        for index in range(args.repeats):
            for name in (list(commands) if index % 2 == 0 else list(reversed(commands))):
                wall, cpu, stderr = run(commands[name])
                walls[name].append(wall)
                cpus[name].append(cpu)
                if name == "wavetron synth":
                    synthesis.append(float(_SYNTH_RE.findall(stderr)[-1]))
    print(f"{'command':<18} {'wall s':>8} {'cpu s':>8}  wall runs")
    for name in commands:
        print(f"{name:<18} {statistics.median(walls[name]):8.3f} {statistics.median(cpus[name]):8.3f}  "
              f"{', '.join(f'{t:.2f}' for t in walls[name])}")
    torch_s, synth_s = statistics.median(walls["import torch"]), statistics.median(synthesis)
    total = statistics.median(walls["wavetron synth"])
    print(f"synth's own synthesis time (voice loading and speaking): median {synth_s:.3f} s")
    print(f"wavetron synth / (import torch + synthesis) = {total:.2f} / ({torch_s:.2f} + {synth_s:.2f}) = "
          f"{total / (torch_s + synth_s):.2f} (target <= 1.3)")
    print(f"wavetron --help: median {statistics.median(walls['wavetron --help']):.3f} s wall, "
          f"{statistics.median(cpus['wavetron --help']):.3f} s CPU (target < 0.2 s)")
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
