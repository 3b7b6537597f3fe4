"""Print a Tacotron run's alignment curve: validation scores against minutes of training.

    .venv/bin/python recipes/tacotron_alignment_curve.py RUN_DIR [--csv out.csv]

Reads the run's TensorBoard logs (``RUN_DIR/logs``): ``align/focus`` and ``align/diagonality``
(teacher forcing), ``infer/focus`` and ``infer/stopped`` (free running; the share of validation
sentences whose stop token fired), under ``val_ema/`` when the run keeps an EMA, else ``val/``.
Minutes count from the creation of the log (the start of training). The target of the small preset is focus >= 0.7 and
stopped >= 0.95 within 60 minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

KEYS = ("align/focus", "align/diagonality", "infer/focus", "infer/stopped")


def read_curve(run_dir: Path) -> list[dict]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logs = run_dir / "logs"
    if not logs.is_dir():
        raise SystemExit(f"{logs}: no TensorBoard logs (is {run_dir} a training run?)")
    events = EventAccumulator(str(logs), size_guidance={"scalars": 0})
    events.Reload()
    tags = set(events.Tags().get("scalars", []))
    prefix = "val_ema" if f"val_ema/{KEYS[0]}" in tags else "val"
    try:
        start = events.FirstEventTimestamp()  # the writer's creation, when training starts
    except ValueError:
        start = min((e.wall_time for tag in tags for e in events.Scalars(tag)), default=0.0)
    rows: dict[int, dict] = {}
    for key in KEYS:
        tag = f"{prefix}/{key}"
        for event in events.Scalars(tag) if tag in tags else []:
            row = rows.setdefault(event.step, {"step": event.step, "minutes": (event.wall_time - start) / 60})
            row[key] = event.value
    return [rows[step] for step in sorted(rows)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--csv", type=Path, help="also write the curve as CSV")
    args = parser.parse_args()
    rows = read_curve(args.run_dir)
    if not rows:
        sys.exit(f"{args.run_dir}: no validation scores logged yet")
    print(f"{'minutes':>8} {'step':>7} " + " ".join(f"{k:>18}" for k in KEYS))
    for row in rows:
        print(f"{row['minutes']:8.1f} {row['step']:7d} " + " ".join(f"{row.get(k, float('nan')):18.3f}" for k in KEYS))
    reached = next((r for r in rows if r.get("infer/focus", 0) >= 0.7 and r.get("infer/stopped", 0) >= 0.95), None)
    print("target (focus >= 0.7, stopped >= 95%): " +
          (f"reached at {reached['minutes']:.1f} min, step {reached['step']}" if reached else "not reached"))
    if args.csv:
        with open(args.csv, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["minutes", "step", *KEYS])
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
