#!/usr/bin/env bash
# The shipped default voice from nothing: a festival corpus (cmu_us_slt_arctic_hts, 4,100 sentences at
# 16 kHz, 100 held out) and an everyday one (1,600 sentences, for the Tacotron), features, the Tacotron and the WaveNet vocoder trained side by side (one core
# each; the vocoder, an excitation WaveNet, on ground-truth mels), both exported into the package in float16; then the Tacotron's
# ground-truth-aligned mels (`wavetron gta`) and, on them, the mel -> linear network that Griffin-Lim
# inverts through (both cores); then the evaluation on the held-out sentences. voice.json records which
# vocoder measured better (the voice's default) and whether the mel -> linear network helps Griffin-Lim.
#
#   recipes/default_voice.sh [WORK_DIR] [MINUTES] [MEL2LINEAR_MINUTES]
#
# Needs festival once, for the corpus: apt-get install festival festvox-us-slt-hts.
# Every step resumes: the corpus and the features keep what is done, each training continues from the
# newest checkpoint in WORK_DIR, or, when WORK_DIR has none, from the weights committed in the package
# (--init), so a later sitting goes on where the shipped voice stands. Training stops after MINUTES
# (default 120; the mel -> linear network after MEL2LINEAR_MINUTES, default 45) with a checkpoint; run
# the script again to train longer. The aligned mels go to a folder named by the Tacotron's weights.
set -euo pipefail
WORK=${1:-work/default-voice}
MINUTES=${2:-120}
M2L_MINUTES=${3:-45}
PY=${PYTHON:-.venv/bin/python}
VOICE=src/wavetron/voices/default
mkdir -p "$WORK"

$PY -m wavetron corpus "$WORK/corpus" --engine festival --size 4100 --sample-rate 16000 --quiet
$PY -m wavetron preprocess "$WORK/corpus" "$WORK/features" --config configs/voice-features.yaml --resume --quiet
# The Tacotron also learns from everyday sentences (pronouns, function words), which the grammar never says:
# one LJSpeech folder of links to both corpora, less the grammar corpus's held-out sentences.
$PY -m wavetron corpus "$WORK/everyday" --engine festival --size 1600 --sample-rate 16000 --style everyday --quiet
$PY - "$WORK" <<'MERGE'
import json, os, sys
from pathlib import Path
work = Path(sys.argv[1])
held = {item["id"] for item in json.loads((work / "features" / "manifest.json").read_text())["items"]
        if item["split"] == "val"}
out = work / "tacotron-corpus"
(out / "wavs").mkdir(parents=True, exist_ok=True)
lines = []
for corpus in (work / "corpus", work / "everyday"):
    for line in (corpus / "metadata.csv").read_text().splitlines():
        item = line.split("|")[0]
        if item in held:
            continue
        link = out / "wavs" / f"{item}.wav"
        if not link.exists():
            os.symlink((corpus / "wavs" / f"{item}.wav").resolve(), link)
        lines.append(line + "\n")
(out / "metadata.csv").write_text("".join(lines))
MERGE
$PY -m wavetron preprocess "$WORK/tacotron-corpus" "$WORK/tacotron-features" --config configs/voice-features.yaml --resume --quiet

train() {  # MODEL CONFIG RUN_DIR SHIPPED_WEIGHTS FEATURES THREADS MINUTES [SETTINGS WHEN STARTING FROM THE SHIPPED WEIGHTS]
    local init=()
    [ -f "$4" ] && init=(--init "$4")
    [ -f "$4" ] && [ ! -d "$3/checkpoints" ] && init+=("${@:8}")
    # SIGINT after the given minutes makes the trainer checkpoint and exit
    OMP_NUM_THREADS=$6 timeout --signal=INT "${7}m" $PY -m wavetron train "$1" --config "$2" \
        --data "$5" --out "$3" --resume "${init[@]}" > "$3.log" 2>&1 || true
}
# From the shipped weights, the Tacotron goes on at the learning rate its first run ended with (the schedule
# of configs/voice-tacotron.yaml would start again at 2e-3).
train tacotron configs/voice-tacotron.yaml "$WORK/tacotron" "$VOICE/tacotron.safetensors" "$WORK/tacotron-features" 1 "$MINUTES" \
    --set train.lr=1.5e-4 --set train.warmup_steps=0 --set 'train.milestones=[]' &
train wavenet configs/voice-wavenet-excitation.yaml "$WORK/wavenet" "$VOICE/vocoder.safetensors" "$WORK/features" 1 "$MINUTES" &
wait

$PY -m wavetron export "$WORK/tacotron" --out "$VOICE/tacotron.safetensors" --dtype float16
$PY -m wavetron export "$WORK/wavenet" --out "$VOICE/vocoder.safetensors" --dtype float16

GTA="$WORK/gta-$(sha256sum "$VOICE/tacotron.safetensors" | cut -c1-12)"
$PY -m wavetron gta "$VOICE/tacotron.safetensors" "$WORK/features" "$GTA" --quiet
train mel2linear configs/voice-mel2linear.yaml "$WORK/mel2linear" "$VOICE/mel2linear.safetensors" "$GTA" 2 "$M2L_MINUTES"
$PY -m wavetron export "$WORK/mel2linear" --out "$VOICE/mel2linear.safetensors" --dtype float16
$PY recipes/evaluate_voice.py "$WORK" --out "$WORK/evaluation" --write-card
