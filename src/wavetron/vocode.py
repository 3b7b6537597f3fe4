"""Mel -> waveform with a trained WaveNet: copy synthesis from a wav, or vocoding of a mel ``.npy``.

A vocoder only understands mels made with its own audio settings; a mel whose settings are known
(from ``--config``/``--set`` or the ``manifest.json`` of the features folder it came from) and differ
is refused with both settings named, and a mel of the wrong size always is.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from .config import AudioConfig, from_dict
from .errors import AudioError, ConfigError, DataError


def load_vocoder(path: str | Path, device: str = "cpu"):
    """A WaveNet and its config from a run folder, checkpoint folder or exported ``.safetensors``."""
    from .train import load_model_checkpoint

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: vocoder checkpoint not found (expected a run folder, a checkpoint folder "
                        "or an exported .safetensors file)")
    model, config = load_model_checkpoint(path, device=device)
    if not hasattr(model, "frame_conditioning"):
        raise DataError(f"{path}: not a WaveNet vocoder ({type(model).__name__})")
    return model, config


def manifest_audio(mel_path: Path) -> AudioConfig | None:
    """The audio settings of the features folder holding ``mel_path`` (``DIR/mels/x.npy``), if any."""
    manifest = mel_path.resolve().parent.parent / "manifest.json"
    if mel_path.resolve().parent.name != "mels" or not manifest.is_file():
        return None
    try:
        return from_dict(AudioConfig, json.loads(manifest.read_text())["audio"], "audio")
    except (ValueError, KeyError, TypeError) as err:
        raise DataError(f"{manifest}: cannot read its audio settings ({err})") from None


def check_mel_settings(mel_audio: AudioConfig | None, vocoder_audio: AudioConfig, mel_name: str,
                       vocoder_name: str, n_mels: int) -> None:
    """Raise ConfigError when the mel's settings (or its size) differ from the vocoder's."""
    if mel_audio is not None and mel_audio.feature_hash() != vocoder_audio.feature_hash():
        raise ConfigError(f"{mel_name} was made with other audio settings than vocoder {vocoder_name}: "
                          f"mel: {mel_audio.describe()}; vocoder: {vocoder_audio.describe()}")
    if n_mels != vocoder_audio.n_mels:
        raise ConfigError(f"{mel_name} has {n_mels} mel bins, vocoder {vocoder_name} expects "
                          f"{vocoder_audio.n_mels} (vocoder: {vocoder_audio.describe()})")


def read_mel(path: Path) -> torch.Tensor:
    """A ``(n_mels, frames)`` float32 mel from ``.npy`` (a ``(1, n_mels, frames)`` array is accepted)."""
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: not a readable .npy array ({err})") from None
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2 or array.shape[1] == 0 or not np.issubdtype(array.dtype, np.floating):
        raise DataError(f"{path}: expected a float mel array shaped (n_mels, frames), got {array.dtype} "
                        f"{tuple(array.shape)}")
    if not np.isfinite(array).all():
        raise DataError(f"{path}: mel holds NaN or infinite values")
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def input_mel(path: str | Path, vocoder_audio: AudioConfig, vocoder_name: str,
              mel_audio: AudioConfig | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The mel to vocode from a wav (computed with the vocoder's settings) or a ``.npy``.

    Returns: ``(n_mels, frames)`` mel and, for a wav, the waveform it came from (else None).
    """
    from .audio import load, mel_spectrogram

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: input not found (expected a .wav or a mel .npy)")
    if path.suffix.lower() == ".npy":
        mel = read_mel(path)
        check_mel_settings(mel_audio or manifest_audio(path), vocoder_audio, str(path), vocoder_name, mel.shape[0])
        return mel, None
    wave, _ = load(path, vocoder_audio.sample_rate)
    if wave.dim() != 1:
        raise AudioError(f"{path}: expected mono audio")
    frames = wave.shape[-1] // vocoder_audio.hop_length
    if frames < 1:
        raise AudioError(f"{path}: shorter than one hop ({vocoder_audio.hop_length} samples)")
    wave = wave[:frames * vocoder_audio.hop_length]
    # frame f covers samples [f * hop, (f + 1) * hop), as in preprocessed features
    mel = mel_spectrogram(wave.float(), vocoder_audio)[:, :frames]
    return mel, wave


def vocode(model, mel: torch.Tensor, speaker: int | None = None, method: str = "auto", temperature: float = 1.0,
           seed: int = 0, threads: int | None = None, segment_frames: int | None = None,
           overlap_frames: int = 8, precision: str = "auto", sharpen: float = 0.0, mel_match: int = 0) -> torch.Tensor:
    """Waveform ``(frames * hop,)`` of one mel ``(n_mels, frames)``; folded when ``segment_frames`` is set.

    ``precision``: the fast path's weight storage; ``sharpen``: the lower temperature of voiced frames
    (see :func:`wavetron.generate.generate`); ``mel_match``: steps of :func:`wavetron.audio.match_mel` on
    the output (0: none).
    """
    from .audio import match_mel
    from .generate import generate, generate_folded

    if speaker is not None and getattr(model, "speaker", None) is None:
        speaker = None
    if segment_frames:
        wave = generate_folded(model, mel, speaker, segment_frames, overlap_frames, method, temperature, seed,
                               threads, precision, sharpen)
    else:
        speakers = torch.tensor([speaker]) if speaker is not None else None
        wave = generate(model, mel, speakers, method=method, temperature=temperature, seed=seed,
                        threads=threads, precision=precision, sharpen=sharpen).audio[0]
    if not mel_match:
        return wave
    config = getattr(model, "audio", None)
    if config is None:
        raise ValueError("mel_match compares the output's mel with the input's: this WaveNet carries no audio settings")
    return match_mel(wave, mel.to(wave.device), config, mel_match)
