"""The default voice's evaluation data and the quality tables of README.md and docs/choosing.md agree, and a
re-measurement of some systems merges into the data."""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def _recipe(name: str):
    spec = importlib.util.spec_from_file_location(name, RECIPES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tables():
    return _recipe("voice_tables")


def test_committed_tables_agree_with_the_evaluation_data(tables):
    assert tables.stale_tables() == [], "run python recipes/voice_tables.py"


def test_a_changed_figure_makes_both_tables_stale(tables, tmp_path):
    voice, docs = tmp_path / "voice", {}
    voice.mkdir()
    for name in ("evaluation.json", "voice.json"):
        shutil.copy(tables.VOICE / name, voice / name)
    for name, path in tables.DOCUMENTS.items():
        docs[name] = tmp_path / path.name
        shutil.copy(path, docs[name])
    evaluation = json.loads((voice / "evaluation.json").read_text())
    evaluation["systems"]["copy-griffinlim"]["means"]["stoi"] += 0.01
    evaluation["systems"]["copy-griffinlim"]["means"]["wer_whisper"] += 0.01
    (voice / "evaluation.json").write_text(json.dumps(evaluation))
    assert len(tables.stale_tables(voice, docs)) == 2
    card = json.loads((voice / "voice.json").read_text())
    for name, path in docs.items():
        path.write_text(tables.replace_table(path.read_text(), name, tables.TABLES[name](evaluation, card)))
    assert tables.stale_tables(voice, docs) == []
    with pytest.raises(ValueError, match="markers"):
        tables.replace_table("no markers here", "quality", "| table |")


def test_record_merges_a_partial_remeasurement(tmp_path):
    recipe = _recipe("evaluate_voice")
    items = [SimpleNamespace(id=f"S{i}") for i in range(3)]
    asr = {"whisper": "tiny.en"}
    first = {"tts-wavenet": {"wer_whisper": 0.5, "wer_ref_whisper": 0.02, "mcd": 6.0},
             "copy-wavenet": {"wer_whisper": 0.4, "pesq": 1.3},
             "tts-griffinlim": {"wer_whisper": 0.2, "mcd": 5.0}, "copy-griffinlim": {"pesq": 2.4}}
    rtf = {"tts-wavenet": 0.3, "copy-wavenet": 0.2, "tts-griffinlim": 0.06, "copy-griffinlim": 0.04}
    recipe.record(tmp_path, first, rtf, {"focus": 0.7}, items, asr, 1)
    # The WaveNet re-measured alone, and PocketSphinx added to its rows; its RTF not re-measured.
    again = {"tts-wavenet": {"wer_whisper": 0.3, "wer": 0.6, "wer_ref_whisper": 0.03, "mcd": 5.5},
             "copy-wavenet": {"wer_whisper": 0.25, "pesq": 1.6}}
    path = recipe.record(tmp_path, again, {"copy-wavenet": 0.1}, {}, items, {"pocketsphinx": "5"}, 1, sharpen=0.5)
    data = json.loads(path.read_text())
    systems = data["systems"]
    assert list(systems) == ["reference", "tts-wavenet", "tts-griffinlim", "copy-wavenet", "copy-griffinlim"]
    # the WaveNet rows note how they sampled; the tables label them so
    assert systems["tts-wavenet"] == {"means": {"wer_whisper": 0.3, "mcd": 5.5, "wer": 0.6}, "rtf": 0.3,
                                      "sharpen": 0.5}
    assert systems["copy-wavenet"] == {"means": {"wer_whisper": 0.25, "pesq": 1.6}, "rtf": 0.1, "sharpen": 0.5}
    tables = _recipe("voice_tables")
    assert "WaveNet, voiced frames sharpened 0.5 (the default) |" in tables.quality_table(data, {"vocoder": "wavenet"})
    assert "`vocoder.safetensors`), voiced frames sharpened 0.5 |" in tables.vocoder_table(data, {})
    assert systems["tts-griffinlim"] == {"means": {"wer_whisper": 0.2, "mcd": 5.0}, "rtf": 0.06}
    assert systems["reference"]["means"] == {"wer_whisper": 0.03}
    assert data["asr"] == {"whisper": "tiny.en", "pocketsphinx": "5"} and data["alignment"] == {"focus": 0.7}
    with pytest.raises(SystemExit, match="other sentences"):
        recipe.record(tmp_path, again, {}, {}, items[:2], asr, 1)
    # measured again with the mel match: the rows measured now note its steps, and lose them when measured without
    data = json.loads(recipe.record(tmp_path, again, {}, {}, items, asr, 1, sharpen=0.5, mel_match=32,
                                    tts_mel_match=8).read_text())
    assert data["systems"]["copy-wavenet"]["mel_match"] == 32 and data["systems"]["tts-wavenet"]["mel_match"] == 8
    assert "mel_match" not in data["systems"]["tts-griffinlim"]  # not measured now
    assert ", voiced frames sharpened 0.5, mel match 32 (text to speech: voiced frames sharpened 0.5, mel match 8) |" \
        in tables.vocoder_table(data, {})
    # text to speech sampled otherwise than copy synthesis: each row notes its own
    split = json.loads(recipe.record(tmp_path, again, {}, {}, items, asr, 1, sharpen=0.5, mel_match=32,
                                     tts_sharpen=0.9).read_text())["systems"]
    assert (split["copy-wavenet"]["sharpen"], split["tts-wavenet"]["sharpen"]) == (0.5, 0.9)
    assert ", voiced frames sharpened 0.5, mel match 32 (text to speech: voiced frames sharpened 0.9) |" \
        in tables.vocoder_table({"systems": split}, {})
    # text to speech on the refined mel: the tts row notes it, the copy row does not
    refined = json.loads(recipe.record(tmp_path, again, {}, {}, items, asr, 1, sharpen=0.5, tts_sharpen=0.9,
                                       refine_mel=True).read_text())["systems"]
    assert refined["tts-wavenet"]["refine_mel"] is True and "refine_mel" not in refined["copy-wavenet"]
    assert ", voiced frames sharpened 0.5 (text to speech: voiced frames sharpened 0.9, on the mel -> linear " \
        "network's refined mel) |" in tables.vocoder_table({"systems": refined}, {})
    quality = tables.quality_table(data, {"vocoder": "wavenet"})
    assert ", voiced frames sharpened 0.5, mel match 8 (the default) |" in quality
    again_plain = json.loads(recipe.record(tmp_path, again, {}, {}, items, asr, 1).read_text())
    assert "mel_match" not in again_plain["systems"]["copy-wavenet"]
    # Every system measured anew on other sentences replaces the whole record.
    path = recipe.record(tmp_path, first, rtf, {}, items[:2], asr, 1)
    data = json.loads(path.read_text())
    assert data["sentences"] == 2 and data["sentence_ids"] == ["S0", "S1"] and data["alignment"] == {}
    assert data["systems"]["tts-wavenet"] == {"means": {"wer_whisper": 0.5, "mcd": 6.0}, "rtf": 0.3}
    assert data["systems"]["reference"]["means"] == {"wer_whisper": 0.02}


def test_the_card_writes_one_setting_or_one_for_each_use(tmp_path):
    from wavetron.voice import default_voice

    recipe = _recipe("evaluate_voice")
    shutil.copytree(Path(__file__).resolve().parents[1] / "src" / "wavetron" / "voices" / "default", tmp_path / "v")
    means = {"tts-wavenet": {"wer_whisper": 0.09}, "tts-griffinlim": {"wer_whisper": 0.12},
             "copy-wavenet": {"pesq": 3.6}, "copy-griffinlim": {"pesq": 3.4}}
    recipe.write_card(tmp_path / "v", means, sharpen=0.5, mel_match=32, tts_mel_match=0, tts_sharpen=0.9)
    card = json.loads((tmp_path / "v" / "voice.json").read_text())
    assert card["vocoder"] == "wavenet" and card["sharpen"] == {"copy": 0.5, "tts": 0.9}
    voice = default_voice(tmp_path / "v")  # and the voice reads back what was written
    assert (voice.sharpen, voice.tts_sharpen, voice.mel_match, voice.tts_mel_match) == (0.5, 0.9, 32, 0)
    assert voice.precision == "auto" and "precision" not in card  # measured with lossless weights: not written
    recipe.write_card(tmp_path / "v", means, sharpen=0.5, mel_match=8, tts_mel_match=8, precision="fastest")
    card = json.loads((tmp_path / "v" / "voice.json").read_text())
    assert card["sharpen"] == 0.5 and card["mel_match"] == 8 and card["precision"] == "fastest"
    assert default_voice(tmp_path / "v").precision == "fastest"
