"""F0 error in cents and voiced/unvoiced error, on frames aligned by the MCD-DTW path.

F0 comes from the WORLD analysis of :mod:`wavetron.metrics.mcd` (DIO refined by StoneMask), so one
analysis serves both metrics and the frames of the two signals are paired by the same DTW path.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import AudioError
from .mcd import WorldConfig, WorldFeatures, mcd_from_features, world_features


@dataclass
class PitchScores:
    """F0 agreement of two signals.

    Attributes:
        f0_rmse_cents: RMS of 1200 * log2(F0_gen / F0_ref) over aligned frames voiced in both;
            None when no aligned frame is voiced in both.
        vuv_error: fraction of aligned frames whose voicing decisions differ, in [0, 1].
        voiced_frames: number of aligned frames voiced in both.
    """

    f0_rmse_cents: float | None
    vuv_error: float
    voiced_frames: int


def pitch_scores(ref_f0: np.ndarray, gen_f0: np.ndarray, path: np.ndarray) -> PitchScores:
    """F0 RMSE (cents) and V/UV error along an alignment path.

    Args:
        ref_f0: (N,) reference F0 in Hz, 0 where unvoiced.
        gen_f0: (M,) generated F0 in Hz, 0 where unvoiced.
        path: (L, 2) aligned frame pairs ``(ref_frame, gen_frame)``.
    Raises:
        AudioError: the reference has no voiced frame (silence or noise), so F0 cannot be judged.
    """
    if not np.any(ref_f0 > 0):
        raise AudioError("the reference has no voiced frames (silence or noise?); F0 RMSE needs voiced speech")
    ref_aligned, gen_aligned = ref_f0[path[:, 0]], gen_f0[path[:, 1]]
    ref_voiced, gen_voiced = ref_aligned > 0, gen_aligned > 0
    vuv_error = float(np.mean(ref_voiced != gen_voiced))
    both = ref_voiced & gen_voiced
    if not np.any(both):
        return PitchScores(f0_rmse_cents=None, vuv_error=vuv_error, voiced_frames=0)
    cents = 1200.0 * np.log2(gen_aligned[both] / ref_aligned[both])
    return PitchScores(f0_rmse_cents=float(np.sqrt(np.mean(cents * cents))), vuv_error=vuv_error,
                       voiced_frames=int(np.count_nonzero(both)))


def pitch_scores_from_features(ref: WorldFeatures, gen: WorldFeatures) -> PitchScores:
    """:func:`pitch_scores` on the MCD-DTW path of two WORLD analyses."""
    _, path = mcd_from_features(ref, gen, dtw=True)
    return pitch_scores(ref.f0, gen.f0, path)


def f0_rmse(ref, gen, sample_rate: int, config: WorldConfig = WorldConfig()) -> PitchScores:
    """F0 RMSE in cents and V/UV error of ``gen`` against ``ref`` on DTW-aligned frames.

    Args:
        ref, gen: (T,) and (T',) samples at ``sample_rate``.
    """
    return pitch_scores_from_features(world_features(ref, sample_rate, config),
                                      world_features(gen, sample_rate, config))
