"""Pairing, text lookup and the `wavetron evaluate` command end to end on corpus speech."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import soundfile as sf
import soxr

from wavetron.cli import main
from wavetron.errors import DataError, WavetronError
from wavetron.evaluate import attach_texts, pair_files, parse_metrics, read_metadata


@pytest.fixture
def folders(tmp_path, speech_wavs):
    """REF with three sentences; GEN with a noisy copy, a 16 kHz copy, a non-audio file and an extra file."""
    ref, gen = tmp_path / "ref", tmp_path / "gen"
    ref.mkdir()
    gen.mkdir()
    for wav in speech_wavs[:3]:
        shutil.copy(wav, ref / wav.name)
    first, second, third = (sf.read(w, dtype="float64") for w in speech_wavs[:3])
    noise = np.random.default_rng(0).standard_normal(first[0].size)
    sf.write(gen / speech_wavs[0].name, first[0] + 0.003 * noise, first[1])
    sf.write(gen / speech_wavs[1].name, soxr.resample(second[0], second[1], 16000), 16000)
    (gen / speech_wavs[2].name).write_text("this is not audio")
    sf.write(gen / "extra.wav", third[0], third[1])
    return ref, gen


def test_pairing_reports_missing_partners(folders, speech_wavs):
    ref, gen = folders
    (ref / "only_ref.flac").write_bytes(b"")
    pairing = pair_files(ref, gen)
    assert [p.name for p in pairing.pairs] == [w.stem for w in speech_wavs[:3]]
    assert pairing.ref_only == ["only_ref"] and pairing.gen_only == ["extra"]


def test_pairing_errors(tmp_path, speech_wavs):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no audio files"):
        pair_files(empty, empty)
    with pytest.raises(DataError, match="two files or two folders"):
        pair_files(speech_wavs[0], speech_wavs[0].parent)
    with pytest.raises(DataError, match="no such file"):
        pair_files(tmp_path / "missing", empty)
    with pytest.raises(WavetronError, match="unknown metric"):
        parse_metrics("mcd,bogus")
    assert parse_metrics("pesq,mcd,pesq") == ["pesq", "mcd"]


def test_texts_from_metadata_or_sidecar(tmp_path, speech_corpus, speech_wavs):
    texts = read_metadata(speech_corpus / "metadata.csv")
    assert len(texts) == 12 and texts[speech_wavs[0].stem]
    ref = tmp_path / "ref"
    ref.mkdir()
    shutil.copy(speech_wavs[0], ref / "a.wav")
    (ref / "a.txt").write_text("Hello there.\n")
    pairing = pair_files(ref / "a.wav", ref / "a.wav")
    attach_texts(pairing)
    assert pairing.pairs[0].text == "Hello there."
    bad = tmp_path / "bad.csv"
    bad.write_text("no separator here\n")
    with pytest.raises(DataError, match="bad.csv:1"):
        read_metadata(bad)


def test_cli_scores_folders_skips_bad_files_and_writes_json_and_plots(folders, tmp_path, speech_wavs, capsys):
    ref, gen = folders
    out, plots = tmp_path / "scores.json", tmp_path / "plots"
    code = main(["evaluate", str(ref), str(gen), "--metrics", "mcd,lsd,pesq,stoi",
                 "--json", str(out), "--plot", str(plots)])
    assert code == 0
    captured = capsys.readouterr()
    names = [w.stem for w in speech_wavs[:3]]
    assert f"skipped: {names[2]}" in captured.err and "not a readable audio file" in captured.err
    assert "resampled 16000 -> 22050 Hz" in captured.err and "extra: in GEN only" in captured.err
    assert captured.out.splitlines()[-1].startswith("mean")
    report = json.loads(out.read_text())
    assert [p["name"] for p in report["pairs"]] == names[:2]
    assert set(report["skipped"]) == {names[2]} and report["gen_only"] == ["extra"]
    noisy = report["pairs"][0]["values"]
    assert 0 < noisy["mcd"] < 15 and noisy["pesq"] < 4.4 and 0.9 < noisy["stoi"] <= 1.0
    assert report["mean"]["mcd"] == pytest.approx(np.mean([p["values"]["mcd"] for p in report["pairs"]]))
    assert sorted(p.name for p in plots.iterdir()) == [f"{n}.png" for n in names[:2]]
    assert (plots / f"{names[0]}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_wer_on_identical_audio_equals_the_reference_wer(tmp_path, speech_corpus, speech_wavs, capsys):
    wav = min(speech_wavs, key=lambda p: sf.info(p).frames)  # shortest sentence: quick to recognise
    out = tmp_path / "wer.json"
    plots = tmp_path / "plots"
    code = main(["evaluate", str(wav), str(wav), "--text", str(speech_corpus / "metadata.csv"), "--asr", "both",
                 "--metrics", "wer,wer_ref", "--json", str(out), "--plot", str(plots)])
    assert code == 0
    report = json.loads(out.read_text())
    values, transcripts = report["pairs"][0]["values"], report["pairs"][0]["transcripts"]
    assert values["wer"] == values["wer_ref"] and values["cer"] == values["cer_ref"]
    assert values["wer_whisper"] == values["wer_ref_whisper"] and values["cer_whisper"] == values["cer_ref_whisper"]
    assert transcripts["gen_whisper"] == transcripts["ref_whisper"] and transcripts["gen"] == transcripts["ref"]
    assert sorted(report["asr"]) == ["pocketsphinx", "whisper"] and report["asr"]["whisper"]["model"]
    assert (plots / f"{wav.stem}.png").is_file()
    assert main(["evaluate", str(wav), str(wav), "--metrics", "wer", "--asr", "whisper",
                 "--asr-model", str(tmp_path)]) == 2
    assert "model.bin" in capsys.readouterr().err


def test_cli_one_line_errors(tmp_path, capsys):
    junk = tmp_path / "junk.wav"
    junk.write_text("not audio")
    assert main(["evaluate", str(junk), str(junk), "--metrics", "mcd"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 2 and "junk.wav" in err  # the skip report, then the one-line error
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["evaluate", str(empty), str(empty)]) == 2
    assert "no audio files" in capsys.readouterr().err
    assert main(["evaluate", str(junk), str(junk), "--metrics", "nope"]) == 2
    assert "unknown metric nope" in capsys.readouterr().err


def test_an_empty_f0_figure_is_explained(tmp_path, speech_wavs, capsys):
    ref, gen = tmp_path / "ref", tmp_path / "gen"
    ref.mkdir()
    gen.mkdir()
    shutil.copy(speech_wavs[0], ref / "a.wav")
    audio, rate = sf.read(speech_wavs[0])
    sf.write(gen / "a.wav", np.zeros_like(audio), rate)  # a vocoder that gave silence: no frame is voiced
    assert main(["evaluate", str(ref), str(gen), "--metrics", "f0", "--json", str(tmp_path / "s.json")]) == 0
    err = capsys.readouterr().err
    assert "note: a: f0_rmse_cents is empty: no aligned frame is voiced in both REF and GEN" in err
    scores = json.loads((tmp_path / "s.json").read_text())
    assert "null" in json.dumps(scores) and "f0_rmse_cents" in json.dumps(scores)
