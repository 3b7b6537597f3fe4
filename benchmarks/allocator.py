"""Training-step time of a WaveNet on CPU with glibc's default allocator against :func:`keep_freed_memory`.

Each setting runs in its own process (the allocator setting is process-wide and cannot be undone):
the voice's WaveNet (configs/voice-wavenet.yaml by default) trains ``--steps`` Adam steps on random audio
windows of the config's batch size and window length, one thread. Prints the median step time, the share
of CPU time spent in the kernel, and the ratio of the two settings' step times.

    python benchmarks/allocator.py [--config configs/voice-wavenet.yaml] [--steps 30] [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402

CONFIGS = Path(__file__).resolve().parent.parent / "configs"

CHILD = """
import json, resource, statistics, sys, time
import torch
from wavetron.allocator import keep_freed_memory
from wavetron.config import load_config
from wavetron.data import Batch
from wavetron.models.wavenet import build_wavenet

config_path, steps, keep = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
if keep:
    keep_freed_memory()
torch.set_num_threads(1)
torch.manual_seed(0)
config = load_config(config_path)
model = build_wavenet(config)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
frames, batch = config.wavenet.window_frames, config.train.batch_size
hop = config.audio.hop_length
times, kernel, user = [], 0.0, 0.0
for step in range(steps + 3):  # 3 warm-up steps
    data = Batch(ids=[str(i) for i in range(batch)], mels=torch.randn(batch, config.audio.n_mels, frames),
                 audio=torch.rand(batch, frames * hop) * 2 - 1)
    usage, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    loss = model.loss(data)["loss"]
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if step >= 3:
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_SELF)
        kernel += after.ru_stime - usage.ru_stime
        user += after.ru_utime - usage.ru_utime
print(json.dumps({"step": statistics.median(times), "kernel_share": kernel / (kernel + user)}))
"""


def run(config: Path, steps: int, keep: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(config), str(steps), "1" if keep else "0"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=CONFIGS / "voice-wavenet.yaml")
    parser.add_argument("--steps", type=int, default=30, help="measured steps per process")
    parser.add_argument("--repeats", type=int, default=3, help="processes per setting, alternated")
    args = parser.parse_args()
    print(describe(peak=False))
    results: dict[bool, list[dict]] = {False: [], True: []}
    for _ in range(args.repeats):
        for keep in (False, True):
            results[keep].append(run(args.config, args.steps, keep))
    print(f"{args.config.name}: {args.steps} steps x {args.repeats} processes per setting, 1 thread")
    print(f"{'allocator':<22} {'median step (s)':>16} {'kernel share':>13}")
    medians = {}
    for keep, label in ((False, "glibc default"), (True, "keep_freed_memory")):
        medians[keep] = statistics.median(r["step"] for r in results[keep])
        share = statistics.median(r["kernel_share"] for r in results[keep])
        print(f"{label:<22} {medians[keep]:>16.3f} {share:>13.1%}")
    print(f"speed-up (default / keep): {medians[False] / medians[True]:.2f}x")


if __name__ == "__main__":
    main()
