"""wavetron.audio.io: load/save round trips, mono mixing, soxr resampling, one-line errors."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import soxr
import torch

from wavetron.audio import load, save
from wavetron.errors import AudioError


def _sine(freq: float = 440.0, seconds: float = 0.5, rate: int = 22050, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_load_real_speech(speech_wavs):
    audio, rate = load(speech_wavs[0])
    reference, ref_rate = sf.read(speech_wavs[0], dtype="float32")
    assert rate == ref_rate == 22050
    assert audio.dtype == torch.float32 and audio.ndim == 1
    np.testing.assert_array_equal(audio.numpy(), reference)


@pytest.mark.parametrize("suffix,subtype,tolerance", [
    (".wav", "PCM_16", 1 / 32768), (".wav", "PCM_24", 1e-6), (".wav", "FLOAT", 0.0), (".flac", "PCM_16", 1 / 32768),
])
def test_save_load_round_trip(tmp_path, suffix, subtype, tolerance):
    audio = torch.from_numpy(_sine())
    path = tmp_path / f"tone{suffix}"
    save(path, audio, 22050, subtype=subtype)
    back, rate = load(path)
    assert rate == 22050 and back.shape == audio.shape
    assert float((back - audio).abs().max()) <= tolerance
    assert sf.info(str(path)).subtype == subtype
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_save_defaults_to_pcm16_wav_and_clips(tmp_path):
    path = tmp_path / "loud.wav"
    save(path, np.array([-3.0, -0.5, 0.0, 0.5, 3.0], dtype=np.float32), 16000)
    info = sf.info(str(path))
    assert (info.format, info.subtype, info.samplerate) == ("WAV", "PCM_16", 16000)
    back, _ = load(path)
    assert float(back.abs().max()) <= 1.0
    assert back[0] == -1.0 and back[-1] > 0.999


def test_save_replaces_existing_file(tmp_path):
    path = tmp_path / "a.wav"
    save(path, torch.zeros(100), 8000)
    save(path, torch.full((50,), 0.25), 8000)
    back, _ = load(path)
    assert back.shape == (50,) and float(back.mean()) == pytest.approx(0.25, abs=1e-4)


def test_stereo_is_mixed_to_mono(tmp_path):
    left, right = _sine(440.0), _sine(660.0, amp=0.25)
    path = tmp_path / "stereo.wav"
    save(path, np.stack([left, right]), 22050, subtype="FLOAT")  # (C, T) channel-first
    assert sf.info(str(path)).channels == 2
    mono, _ = load(path)
    np.testing.assert_allclose(mono.numpy(), (left + right) / 2, atol=1e-7)


def test_resampling_uses_soxr_and_keeps_pitch(tmp_path):
    tone = _sine(1000.0, seconds=1.0, rate=44100)
    path = tmp_path / "tone.wav"
    save(path, tone, 44100, subtype="FLOAT")
    audio, rate = load(path, sample_rate=16000)
    assert rate == 16000 and audio.shape == (16000,)
    np.testing.assert_allclose(audio.numpy(), soxr.resample(tone, 44100, 16000, quality="HQ"), atol=1e-6)
    spectrum = np.abs(np.fft.rfft(audio.numpy()))
    assert np.argmax(spectrum) == 1000  # 1 Hz bins over one second
    same, same_rate = load(path, sample_rate=44100)  # equal rate: untouched
    assert same_rate == 44100 and np.array_equal(same.numpy(), tone)


def _one_line_error(call, *fragments):
    with pytest.raises(AudioError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message
    return message


def test_load_errors_name_the_file(tmp_path):
    missing = tmp_path / "missing.wav"
    _one_line_error(lambda: load(missing), str(missing), "not found")
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n" * 10)
    _one_line_error(lambda: load(text), str(text), "not a readable audio file")
    empty = tmp_path / "empty.wav"
    sf.write(str(empty), np.zeros(0, dtype=np.float32), 22050)
    _one_line_error(lambda: load(empty), str(empty), "empty")
    _one_line_error(lambda: load(tmp_path), str(tmp_path), "folder")
    good = tmp_path / "good.wav"
    save(good, torch.zeros(10), 8000)
    _one_line_error(lambda: load(good, sample_rate=0), "sample_rate")


def test_save_errors(tmp_path):
    _one_line_error(lambda: save(tmp_path / "x.xyz", torch.zeros(10), 8000), "x.xyz", "suffix")
    _one_line_error(lambda: save(tmp_path / "x.wav", torch.tensor([0.0, float("nan")]), 8000), "NaN")
    _one_line_error(lambda: save(tmp_path / "x.wav", torch.zeros(2, 2, 2), 8000), "shape")
    _one_line_error(lambda: save(tmp_path / "x.flac", torch.zeros(10), 8000, subtype="FLOAT"), "FLOAT")
    assert list(tmp_path.iterdir()) == []


def test_compressed_formats_are_written_in_their_own_coding(tmp_path):
    tone = torch.from_numpy(_sine(rate=16000))
    for suffix, subtype in ((".mp3", "MPEG_LAYER_III"), (".ogg", "VORBIS")):
        path = tmp_path / f"tone{suffix}"
        save(path, tone, 16000)
        assert sf.info(str(path)).subtype == subtype
        back, rate = load(path)
        assert rate == 16000 and abs(back.numel() - tone.numel()) < 2000 and float(back.abs().max()) > 0.3


def test_unwritable_formats_list_the_ones_that_work(tmp_path):
    message = _one_line_error(lambda: save(tmp_path / "x.flac", torch.zeros(10), 8000, subtype="FLOAT"), "x.flac")
    assert "cannot write FLOAT audio to FLAC files; formats that hold it: .wav, .aiff" in message
    message = _one_line_error(lambda: save(tmp_path / "x.m4a", torch.zeros(10), 8000), "x.m4a")
    assert "wavetron writes .wav, .flac, .ogg, .mp3" in message
    assert list(tmp_path.iterdir()) == []


def test_a_zero_byte_file_is_called_empty(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    _one_line_error(lambda: load(empty), f"{empty}: empty file (0 bytes)")
