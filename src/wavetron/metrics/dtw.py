"""Dynamic time warping: the cheapest monotonic alignment of two feature sequences.

Used to compare frames of generated and real speech that say the same thing at different times
(MCD-DTW, F0 RMSE). Written in numpy, one anti-diagonal at a time, so it needs no JIT warm-up.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist


def dtw_path(cost: np.ndarray) -> tuple[np.ndarray, float]:
    """The minimum-cost alignment path through a pairwise cost matrix.

    Steps are (1, 1), (1, 0) and (0, 1), each adding the cost of the cell it enters; the path runs
    from (0, 0) to (N - 1, M - 1).

    Args:
        cost: (N, M) non-negative frame-to-frame costs.
    Returns:
        ``(path, total)``: path is (L, 2) int pairs ``(i, j)`` in time order, max(N, M) <= L <= N + M - 1;
        total is the summed cost along it.
    """
    cost = np.asarray(cost, dtype=np.float64)
    if cost.ndim != 2 or min(cost.shape) == 0:
        raise ValueError(f"expected a non-empty (N, M) cost matrix, got shape {cost.shape}")
    n, m = cost.shape
    # acc[i + 1, j + 1] is the cheapest way to reach cell (i, j); row/column 0 are an inf border.
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    # Cells on one anti-diagonal (i + j = k) depend only on the two previous anti-diagonals,
    # so each diagonal is one vectorised update.
    for k in range(2, n + m + 1):
        i = np.arange(max(1, k - m), min(n, k - 1) + 1)
        j = k - i
        best = np.minimum(np.minimum(acc[i - 1, j - 1], acc[i - 1, j]), acc[i, j - 1])
        acc[i, j] = cost[i - 1, j - 1] + best
    return _backtrack(acc), float(acc[n, m])


def _backtrack(acc: np.ndarray) -> np.ndarray:
    i, j = acc.shape[0] - 1, acc.shape[1] - 1
    path = [(i - 1, j - 1)]
    while i > 1 or j > 1:
        # Prefer the diagonal on ties: it keeps the path short and symmetric in its two inputs.
        steps = ((acc[i - 1, j - 1], i - 1, j - 1), (acc[i - 1, j], i - 1, j), (acc[i, j - 1], i, j - 1))
        _, i, j = min(steps, key=lambda step: step[0])
        path.append((i - 1, j - 1))
    return np.asarray(path[::-1], dtype=np.int64)


def align_frames(ref: np.ndarray, gen: np.ndarray) -> np.ndarray:
    """DTW path between two feature sequences under the Euclidean distance.

    Args:
        ref: (N, D) frames of the reference.
        gen: (M, D) frames of the generated audio.
    Returns:
        (L, 2) frame index pairs ``(ref_frame, gen_frame)``.
    """
    if ref.ndim != 2 or gen.ndim != 2 or ref.shape[1] != gen.shape[1]:
        raise ValueError(f"expected (N, D) and (M, D) features, got {ref.shape} and {gen.shape}")
    path, _ = dtw_path(cdist(ref, gen, metric="euclidean"))
    return path
