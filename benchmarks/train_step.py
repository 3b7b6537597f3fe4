"""WaveNet training throughput (samples/s) at the shipped voice's shape and at wavenet-small, beside this
machine's FLOP floor and, with ``--base REV``, beside another commit's code measured in the same run.

    .venv/bin/python benchmarks/train_step.py                              # this checkout alone
    taskset -c 1 .venv/bin/python benchmarks/train_step.py --base HEAD~1   # against the previous commit
    .venv/bin/python benchmarks/train_step.py --precisions fp32,bf16       # bf16 autocast as well

What is timed is one optimiser step of the real model: ``model.loss(batch)``, backward, Adam, on a
batch of the config's training shape (``train.batch_size`` windows of ``wavenet.window_frames`` mel
frames, with the mel context the model's conditioning reaches). Throughput is audio samples per
second. The FLOP floor is the step's matmul and convolution FLOPs (counted by torch's
FlopCounterMode on this very step) divided by the fp32 matmul peak measured at the start of the run:
"% floor" (floor / step time) says how close the step comes to what this core could do.

With ``--base REV`` the revision's ``src/`` is unpacked (``git archive``) into a temporary folder and
each revision runs in a worker process of its own (one Python cannot import two ``wavetron``
packages); the workers take turns step run by step run (ABBA), so both see the same load. Both start
every run from the same weights (the first worker's seeded initial weights, loaded into the other when
the parameter names and shapes agree) on the same batch, and the per-step losses of the two are
compared: a faster forward pass must compute the same function.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIGS = ["configs/voice-wavenet.yaml", "configs/wavenet-small.yaml"]


# ----- the worker: runs in a process that imports one revision's wavetron --------------------------

def _batch(model, config, seed: int = 0):
    """The synthetic training batch of ``config``'s shape: the same for every revision (seeded here)."""
    from types import SimpleNamespace

    import torch

    from wavetron.models import wavenet as wavenet_module

    dims = model.dims
    context = wavenet_module.mel_reach(dims) if hasattr(wavenet_module, "mel_reach") and dims.cond_channels else 0
    frames = config.wavenet.window_frames or 8
    generator = torch.Generator().manual_seed(seed)
    samples = frames * dims.hop_length
    # Speech-like amplitudes: smoothed noise, peak about 0.5 (uniform noise would put every class alike).
    noise = torch.randn(config.train.batch_size, samples + 8, generator=generator)
    audio = (0.15 * torch.nn.functional.avg_pool1d(noise[:, None], 9, 1).squeeze(1)).clamp(-1, 1)[:, :samples]
    mels = torch.randn(config.train.batch_size, config.audio.n_mels, frames + 2 * context, generator=generator) - 4
    return SimpleNamespace(ids=[str(i) for i in range(len(audio))], audio=audio.contiguous(), mels=mels,
                           audio_lengths=None, speakers=None, mel_context=context)


class _Case:
    """A model of one config, its initial weights and its batch, built once per worker."""

    def __init__(self, config_path: str, weights: str, precision: str):
        import torch

        from wavetron.config import load_config
        from wavetron.models.wavenet import build_wavenet

        self.config = load_config(config_path)
        torch.manual_seed(0)
        self.model = build_wavenet(self.config).train()
        self.note = ""
        state = self.model.state_dict()
        if os.path.exists(weights):
            theirs = torch.load(weights)
            if {k: v.shape for k, v in theirs.items()} == {k: v.shape for k, v in state.items()}:
                self.model.load_state_dict(theirs)
                self.note = "weights shared"
            else:
                self.note = "parameters differ from the other revision's: each starts from its own seeded weights"
        else:
            torch.save(state, weights)
            self.note = "weights shared"
        self.initial = {k: v.clone() for k, v in self.model.state_dict().items()}
        self.batch = _batch(self.model, self.config)
        self.precision = precision
        self.flops = self._count_flops()

    def _step(self, optimizer) -> float:
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            loss = self.model.loss(self.batch)["loss"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    def _count_flops(self) -> int:
        import torch
        from torch.utils.flop_counter import FlopCounterMode

        optimizer = torch.optim.Adam(self.model.parameters(), lr=0.0)
        counter = FlopCounterMode(display=False)
        with counter:
            self._step(optimizer)
        self.model.load_state_dict(self.initial)
        return counter.get_total_flops()

    def run(self, steps: int) -> dict:
        """``steps`` optimiser steps from the initial weights: each step's seconds and loss."""
        import time

        import torch

        self.model.load_state_dict(self.initial)
        optimizer = torch.optim.Adam(self.model.parameters(), lr=self.config.train.lr)
        self._step(optimizer)  # warm-up: allocator, oneDNN primitives; not timed, not compared
        self.model.load_state_dict(self.initial)
        optimizer = torch.optim.Adam(self.model.parameters(), lr=self.config.train.lr)
        seconds, cpu, losses = [], [], []
        for _ in range(steps):
            started, started_cpu = time.perf_counter(), time.process_time()
            losses.append(self._step(optimizer))
            seconds.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        batch = self.batch
        return {"seconds": seconds, "cpu": cpu, "losses": losses, "samples": batch.audio.numel(), "flops": self.flops,
                "batch": list(batch.audio.shape), "mels": list(batch.mels.shape), "note": self.note,
                "params": sum(p.numel() for p in self.model.parameters())}


def worker(src: str, threads: int) -> None:
    """Answer one JSON request a line on stdin: ``{"config", "precision", "steps", "weights"}``."""
    sys.path.insert(0, src)
    import torch

    import wavetron

    torch.set_num_threads(threads)
    if not Path(wavetron.__file__).resolve().is_relative_to(Path(src).resolve()):
        raise SystemExit(f"worker imported {wavetron.__file__}, not the wavetron under {src}")
    cases: dict[tuple[str, str], _Case] = {}
    for line in sys.stdin:
        request = json.loads(line)
        key = (request["config"], request["precision"])
        try:
            if key not in cases:
                cases[key] = _Case(request["config"], request["weights"], request["precision"])
            answer = cases[key].run(request["steps"])
        except Exception as err:  # noqa: BLE001 - an old revision may not read a new config: say so, go on
            answer = {"error": f"{type(err).__name__}: {err}"}
        print(json.dumps(answer), flush=True)


# ----- the driver ------------------------------------------------------------------------------------

class _Worker:
    def __init__(self, name: str, src: Path, threads: int):
        self.name = name
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONPATH=str(src))
        self.process = subprocess.Popen([sys.executable, __file__, "--worker", str(src), "--threads", str(threads)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def ask(self, request: dict) -> dict:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the {self.name} worker died (see its error above)")
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def _unpack(revision: str, into: Path) -> Path:
    """``src/`` of ``revision`` under ``into`` (git archive: the shared checkout is not touched)."""
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", revision], check=True,
                            capture_output=True, text=True).stdout.strip()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "src"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


def _summary(answers: list[dict]) -> dict:
    median = statistics.median(s for a in answers for s in a["seconds"])
    cpu = statistics.median(s for a in answers for s in a["cpu"])
    return {"median": median, "cpu": cpu, "rate": answers[0]["samples"] / median,
            "cpu_rate": answers[0]["samples"] / cpu, "runs": [statistics.median(a["seconds"]) for a in answers]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=DEFAULT_CONFIGS)
    parser.add_argument("--base", metavar="REV", help="also measure this revision's code, interleaved")
    parser.add_argument("--precisions", default="fp32", help="comma-separated: fp32, bf16 (autocast)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per revision (ABBA order)")
    parser.add_argument("--steps", type=int, default=3, help="optimiser steps per run")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--worker", metavar="SRC", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.threads)

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from machine import describe, matmul_peak

    import torch

    torch.set_num_threads(args.threads)
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "src"], capture_output=True,
                           text=True).stdout.strip()
    print(describe(args.threads))
    peak = matmul_peak(args.threads) * 1e9
    with tempfile.TemporaryDirectory() as tmp:
        sides = {f"this checkout ({head}{' + uncommitted changes' if dirty else ''})": ROOT / "src"}
        if args.base:
            sides[f"base {args.base}"] = _unpack(args.base, Path(tmp))
        workers = {name: _Worker(name, src, args.threads) for name, src in sides.items()}
        try:
            for config in args.configs:
                for precision in args.precisions.split(","):
                    weights = str(Path(tmp) / f"{Path(config).stem}-{precision}.pt")
                    request = {"config": str(ROOT / config), "precision": precision, "steps": args.steps,
                               "weights": weights}
                    answers: dict[str, list[dict]] = {name: [] for name in workers}
                    for index in range(args.repeats):
                        order = list(workers) if index % 2 == 0 else list(reversed(workers))
                        for name in order:
                            answers[name].append(workers[name].ask(request))
                    # The peak is the best seen so far: on a busy core one measurement can be cut short.
                    peak = max(peak, matmul_peak(args.threads) * 1e9)
                    _report(config, precision, answers, peak, args)
        finally:
            for item in workers.values():
                item.close()
    from machine import load

    print(f"after: {load()}")


def _report(config: str, precision: str, answers: dict[str, list[dict]], peak: float, args) -> None:
    names = list(answers)
    first = answers[names[0]][0]
    print(f"\n== {config}, {precision}: batch {first.get('batch')} samples (mels {first.get('mels')}), "
          f"{args.steps} steps x {args.repeats} runs per revision, medians of the step times; "
          f"floor = FLOPs / {peak / 1e9:.1f} GFLOP/s, the best fp32 matmul rate measured in this run")
    print("s/step and samples/s are wall time; cpu s and samples/cpu-s count only this process's CPU time, "
          "which other processes on a busy machine disturb less")
    print(f"{'code':44s} {'s/step':>8s} {'samples/s':>10s} {'cpu s':>7s} {'samp/cpu-s':>10s} {'GFLOP/step':>10s} "
          f"{'floor s':>8s} {'% floor':>8s}  runs (median s/step of each)")
    summaries = {}
    for name in names:
        errors = [a["error"] for a in answers[name] if "error" in a]
        if errors:
            print(f"{name:44s} failed: {errors[0]}")
            continue
        summary = _summary(answers[name])
        summaries[name] = summary
        flops = answers[name][0]["flops"]
        floor = flops / peak
        print(f"{name:44s} {summary['median']:8.3f} {summary['rate']:10.0f} {summary['cpu']:7.3f} "
              f"{summary['cpu_rate']:10.0f} {flops / 1e9:10.2f} {floor:8.3f} "
              f"{100 * floor / summary['median']:7.1f}%  {', '.join(f'{t:.3f}' for t in summary['runs'])}")
    if len(summaries) == 2:
        ours, base = names
        ratio = summaries[ours]["rate"] / summaries[base]["rate"]
        cpu_ratio = summaries[ours]["cpu_rate"] / summaries[base]["cpu_rate"]
        print(f"throughput ratio, this checkout / base: {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU time")
        mine, theirs = answers[ours][0], answers[base][0]
        if mine["batch"] != theirs["batch"] or mine["mels"] != theirs["mels"]:
            print("losses: not compared (the revisions build different batches: "
                  f"{mine['batch']}/{mine['mels']} against {theirs['batch']}/{theirs['mels']})")
        else:
            worst = max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(mine["losses"], theirs["losses"]))
            print(f"losses per step, this checkout: {', '.join(f'{v:.6f}' for v in mine['losses'])}")
            print(f"losses per step, base:          {', '.join(f'{v:.6f}' for v in theirs['losses'])}")
            print(f"largest relative difference {worst:.2e} ({mine['note']}): "
                  f"{'agree' if worst < 1e-3 else 'DIFFER'}")


if __name__ == "__main__":
    main()
