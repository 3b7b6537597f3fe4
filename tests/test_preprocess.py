"""`wavetron preprocess` over real espeak speech with injected bad items; resume; CLI errors."""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr
import torch

from wavetron.audio import mel_spectrogram
from wavetron.cli import main
from wavetron.config import Config, DataConfig, load_config
from wavetron.errors import DataError
from wavetron.preprocess import PreprocessResult, preprocess, read_metadata, validation_ids
from wavetron.text import text_to_ids

# id -> what its report line must say (a regular expression)
BAD = {
    "empty_file": "empty file",
    "random_bytes": "not (a )?readable (as )?audio",
    "zero_length": "zero-length|0 samples",
    "missing_wav": "missing file wavs/missing_wav.wav",
    "too_short": "too short",
    "no_words": "empty after cleaning",
    "lonely_id": "missing field",
}


def _make_dirty_corpus(data, speech_corpus):
    """Copy the speech corpus to ``data`` and add a stereo 44.1 kHz item (good) and the bad items of BAD."""
    shutil.copytree(speech_corpus, data)
    wavs = data / "wavs"
    first = sorted(wavs.glob("*.wav"))[0]
    speech, rate = sf.read(first, dtype="float32")
    stereo = soxr.resample(speech, rate, 44100)
    sf.write(wavs / "stereo_44k.wav", np.stack([stereo, 0.5 * stereo], axis=1), 44100)
    (wavs / "empty_file.wav").write_bytes(b"")
    (wavs / "random_bytes.wav").write_bytes(np.random.default_rng(0).bytes(5000))
    sf.write(wavs / "zero_length.wav", np.zeros(0, dtype=np.float32), 22050)
    sf.write(wavs / "too_short.wav", speech[rate // 2: rate // 2 + rate // 20], rate)  # 50 ms of speech
    sf.write(wavs / "no_words.wav", speech, rate)
    lines = [
        "stereo_44k|A stereo copy of the first sentence.|A stereo copy of the first sentence.",
        *(f"{name}|Some words to say.|Some words to say." for name in
          ("empty_file", "random_bytes", "zero_length", "missing_wav", "too_short")),
        "no_words|!!! ???|",
        "lonely_id",
    ]
    with open(data / "metadata.csv", "a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


@dataclass
class DirtyRun:
    data: Path
    out: Path
    result: PreprocessResult
    stderr: str


@pytest.fixture(scope="module")
def dirty_run(tmp_path_factory, speech_corpus) -> DirtyRun:
    """One preprocess run over the corpus with injected bad items, shared by the tests that only read it."""
    root = tmp_path_factory.mktemp("dirty")
    _make_dirty_corpus(root / "data", speech_corpus)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        result = preprocess(root / "data", root / "feats", Config(), workers=1, progress=False)
    return DirtyRun(root / "data", root / "feats", result, stderr.getvalue())


def test_preprocess_skips_bad_items_and_processes_every_good_one(dirty_run, speech_corpus):
    out, result = dirty_run.out, dirty_run.result
    good_ids = {path.stem for path in (speech_corpus / "wavs").glob("*.wav")} | {"stereo_44k"}
    assert {item["id"] for item in result.items} == good_ids and len(good_ids) == 13
    assert {item.where for item in result.bad} == set(BAD)
    report = (out / "report.txt").read_text().splitlines()
    for name, reason in BAD.items():
        assert any(line.startswith(f"{name}: ") and re.search(reason, line) for line in report), (name, report)
        assert any(name in line and re.search(reason, line) for line in dirty_run.stderr.splitlines()), name
    assert len(report) == len(BAD) == len(result.bad)

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["version"] == 1 and manifest["audio_hash"] == Config().audio.feature_hash()
    assert manifest["audio"]["sample_rate"] == 22050 and manifest["speakers"] == ["default"]
    assert [item["split"] for item in manifest["items"]].count("val") == 1  # 10% of 13
    for item in manifest["items"]:
        audio = np.load(out / "audio" / f"{item['id']}.npy")
        mel = np.load(out / "mels" / f"{item['id']}.npy")
        assert audio.dtype == np.float32 and mel.dtype == np.float32
        assert audio.shape == (item["samples"],) and item["samples"] == item["frames"] * 256
        assert mel.shape == (80, item["frames"])
        assert abs(np.abs(audio).max() - 0.95) < 1e-4  # data.normalize: peak 0.95
        assert item["tokens"] == text_to_ids(item["normalized_text"], Config().text)


def test_mels_are_the_mel_of_the_processed_audio(dirty_run):
    out, result = dirty_run.out, dirty_run.result
    config = Config().audio
    for item in result.items[:3] + [item for item in result.items if item["id"] == "stereo_44k"]:
        audio = torch.from_numpy(np.load(out / "audio" / f"{item['id']}.npy"))
        mel = torch.from_numpy(np.load(out / "mels" / f"{item['id']}.npy"))
        expected = mel_spectrogram(audio, config)[:, : item["frames"]]
        assert torch.allclose(mel, expected, atol=1e-5)
    # The stereo 44.1 kHz copy is mixed down and resampled: about as long as its mono 22.05 kHz source.
    frames = {item["id"]: item["frames"] for item in result.items}
    source = sorted(k for k in frames if k != "stereo_44k")[0]
    assert abs(frames["stereo_44k"] - frames[source]) <= 2


def test_resume_recomputes_only_missing_features(speech_corpus, tmp_path):
    out = tmp_path / "feats"
    first = preprocess(speech_corpus, out, Config(), workers=1, progress=False)
    assert first.reused == [] and len(first.computed) == 12
    manifest = (out / "manifest.json").read_text()
    ids = [item["id"] for item in first.items]
    (out / "mels" / f"{ids[1]}.npy").unlink()
    (out / "audio" / f"{ids[4]}.npy").unlink()
    (out / "mels" / f"{ids[7]}.npy").unlink()
    (out / "manifest.json").unlink()  # as if the run had been killed before its end
    kept = out / "mels" / f"{ids[0]}.npy"
    stamp = kept.stat().st_mtime_ns
    os.utime(kept, ns=(stamp - 10**9, stamp - 10**9))
    with pytest.raises(DataError, match="already holds features; pass --resume"):
        preprocess(speech_corpus, out, Config(), workers=1, progress=False)
    second = preprocess(speech_corpus, out, Config(), resume=True, workers=1, progress=False)
    assert sorted(second.computed) == sorted([ids[1], ids[4], ids[7]]) and len(second.reused) == 9
    assert kept.stat().st_mtime_ns == stamp - 10**9
    assert (out / "manifest.json").read_text() == manifest


def test_resume_refuses_other_settings_and_busy_folders(dirty_run, tmp_path):
    out, data = dirty_run.out, dirty_run.data
    other = load_config(None, ["audio.n_mels=64"])
    with pytest.raises(DataError, match="made with other audio settings .*80 mels.*64 mels"):
        preprocess(data, out, other, resume=True, workers=1, progress=False)
    trimmed = load_config(None, ["data.trim_db=40"])
    with pytest.raises(DataError, match="other data settings"):
        preprocess(data, out, trimmed, resume=True, workers=1, progress=False)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="folder is not empty"):
        preprocess(data, tmp_path / "busy", Config(), workers=1, progress=False)
    with pytest.raises(DataError, match="--resume expects a features folder"):
        preprocess(data, tmp_path / "busy", Config(), resume=True, workers=1, progress=False)


def test_cli_and_one_line_errors(speech_corpus, tmp_path, capsys):
    out = tmp_path / "feats"
    code = main(["preprocess", str(speech_corpus), str(out), "--workers", "1", "--quiet",
                 "--set", "data.validation_size=2"])
    assert code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["items"]) == 12 and [i["split"] for i in manifest["items"]].count("val") == 1
    assert "11 train + 1 val items" in capsys.readouterr().out

    missing = tmp_path / "no_such_dataset"
    assert main(["preprocess", str(missing), str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(missing) in err and "dataset folder not found" in err
    (tmp_path / "bare").mkdir()
    assert main(["preprocess", str(tmp_path / "bare"), str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(tmp_path / "bare" / "metadata.csv") in err
    assert main(["preprocess", str(speech_corpus), str(out), "--quiet"]) == 2
    assert "--resume" in capsys.readouterr().err


def test_metadata_forms_and_speakers(tmp_path):
    path = tmp_path / "metadata.csv"
    path.write_text("\ufeffa1|Two columns only.\n"
                    "a2|Text \"quoted|normalized text|bob\n"
                    "\n"
                    "a3|Text|Text|alice\n"
                    "a3|Again|Again\n"
                    "../evil|Text\n"
                    "a4|Text|Text|\n"
                    "a5||\n"
                    "a6|a|b|c|d\n", encoding="utf-8")
    entries, bad = read_metadata(path)
    assert [(e.id, e.normalized_text, e.speaker, e.line) for e in entries] == [
        ("a1", "Two columns only.", "default", 1), ("a2", "normalized text", "bob", 2), ("a3", "Text", "alice", 4)]
    reasons = [str(item) for item in bad]
    assert ["duplicate id" in r for r in reasons] == [True, False, False, False, False]
    assert "plain file name" in reasons[1] and "metadata.csv:6" in reasons[1]
    assert "empty speaker" in reasons[2] and "empty text" in reasons[3] and "at most 4 fields" in reasons[4]


def test_validation_split_is_deterministic_and_capped():
    ids = [f"id{i:03d}" for i in range(300)]
    small = validation_ids(ids, DataConfig(validation_size=50, seed=1))
    assert len(small) == 30 and small == validation_ids(reversed(ids), DataConfig(validation_size=50, seed=1))
    assert small != validation_ids(ids, DataConfig(validation_size=50, seed=2))
    assert len(validation_ids(ids, DataConfig(validation_size=7))) == 7
    assert validation_ids(ids, DataConfig(validation_size=0)) == set()
    assert len(validation_ids(ids[:5], DataConfig())) == 1 and validation_ids(ids[:1], DataConfig()) == set()


@pytest.mark.slow
def test_process_pool_gives_the_same_features(dirty_run, tmp_path):
    """Two worker processes (spawned: each imports torch, so this is slow on a busy machine)."""
    out = tmp_path / "pooled"
    result = preprocess(dirty_run.data, out, Config(), workers=2, progress=False)
    assert result.items == dirty_run.result.items
    assert [str(item) for item in result.bad] == [str(item) for item in dirty_run.result.bad]
    for item in result.items:
        for kind in ("audio", "mels"):
            assert np.array_equal(np.load(out / kind / f"{item['id']}.npy"),
                                  np.load(dirty_run.out / kind / f"{item['id']}.npy"))


def test_non_utf8_metadata_names_the_line_and_column(tmp_path, capsys):
    (tmp_path / "wavs").mkdir()
    (tmp_path / "metadata.csv").write_bytes("a1|Hello.|hello.\na2|Caf".encode() + b"\xe9 au lait.|x\n")
    with pytest.raises(DataError, match=r"metadata\.csv: line 2, column 7: not UTF-8 text \(byte 0xe9 at offset 23\)"):
        read_metadata(tmp_path / "metadata.csv")
    assert main(["preprocess", str(tmp_path), str(tmp_path / "features")]) == 2
    assert "line 2, column 7" in capsys.readouterr().err
