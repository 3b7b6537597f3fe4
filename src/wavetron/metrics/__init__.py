"""Objective scores of generated audio against real audio.

Signals are 1-D (T,) float arrays (numpy, or torch tensors, which are converted) in [-1, 1], with the
reference first: ``metric(ref, gen, sample_rate)``.

    mcd             MCD-DTW in dB over WORLD/SPTK mel-cepstra, c0 excluded        (mcd.py)
    mcd_world_codec the same by an independent formulation, for validation         (mcd.py)
    f0_rmse         F0 RMSE in cents and V/UV error on DTW-aligned frames          (pitch.py)
    log_spectral_distance, multi_resolution_stft_distance, mel_l1                  (spectral.py)
    pesq_wb, stoi   on pairs aligned by envelope, then waveform, cross-correlation (perceptual.py)
    recognition_errors  PocketSphinx or Whisper WER/CER against a reference text   (asr.py, whisper.py)
    real_time_factor, time_call, Stopwatch                                         (speed.py)
"""
from .asr import RECOGNISERS, ErrorRates, canonical_numbers, error_rates, normalize_for_wer, recognition_errors, transcribe
from .dtw import align_frames, dtw_path
from .mcd import (WorldConfig, WorldFeatures, frame_mcd, mcd, mcd_from_features, mcd_world_codec, mcep_params,
                  world_features)
from .perceptual import align, best_lag, pesq_wb, stoi
from .pitch import PitchScores, f0_rmse, pitch_scores
from .spectral import SpectralConfig, log_mel, log_spectral_distance, mel_l1, multi_resolution_stft_distance
from .speed import Stopwatch, real_time_factor, time_call

__all__ = [
    "RECOGNISERS", "canonical_numbers", "ErrorRates", "PitchScores", "SpectralConfig", "Stopwatch", "WorldConfig", "WorldFeatures", "align",
    "align_frames", "best_lag", "dtw_path", "error_rates", "f0_rmse", "frame_mcd", "log_mel",
    "log_spectral_distance", "mcd", "mcd_from_features", "mcd_world_codec", "mcep_params", "mel_l1",
    "multi_resolution_stft_distance", "normalize_for_wer", "pesq_wb", "pitch_scores", "real_time_factor",
    "recognition_errors", "stoi", "time_call", "transcribe", "world_features",
]
