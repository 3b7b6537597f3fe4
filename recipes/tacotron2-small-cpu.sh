#!/usr/bin/env bash
# Tacotron 2 (small preset) on 2 CPU cores: a 2,000-sentence espeak-ng corpus, features (IPA
# phonemes), training, and the alignment curve (validation focus score and stop share against minutes
# of training).
#
#   recipes/tacotron2-small-cpu.sh [WORK_DIR] [MINUTES]
#
# The run stops after MINUTES (default 60) of training; `wavetron train ... --resume` continues it.
set -euo pipefail
WORK=${1:-work/tacotron2-small}
MINUTES=${2:-60}
PY=${PYTHON:-.venv/bin/python}
mkdir -p "$WORK"
$PY -m wavetron corpus "$WORK/corpus" --size 2000 --seed 0
$PY -m wavetron preprocess "$WORK/corpus" "$WORK/features" --set text.phonemes=true --resume
# SIGINT after MINUTES: the trainer checkpoints and exits cleanly (resumable).
timeout --signal=INT "${MINUTES}m" $PY -m wavetron train tacotron --config configs/tacotron2-small.yaml \
    --data "$WORK/features" --out "$WORK/run" || true
$PY recipes/tacotron_alignment_curve.py "$WORK/run"
$PY -m wavetron synth --tacotron "$WORK/run" --text "The quick brown fox jumps over the lazy dog." \
    --out "$WORK/sample.wav" --alignment "$WORK/sample-alignment.png"
