"""Side-by-side log-mel spectrograms of a reference and a generated signal, as PNG."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import atomic_path
from .spectral import SpectralConfig, log_mel


def plot_mel_pair(ref: np.ndarray, gen: np.ndarray, sample_rate: int, path: str | Path, title: str = "",
                  config: SpectralConfig = SpectralConfig()) -> Path:
    """Save REF and GEN log-mel spectrograms side by side, on one colour scale, to ``path`` (PNG).

    Args:
        ref, gen: (T,) and (T',) samples at ``sample_rate``.
    Returns:
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg")  # no display needed; safe in CI and over ssh
    import matplotlib.pyplot as plt

    mels = [log_mel(ref, sample_rate, config), log_mel(gen, sample_rate, config)]
    low, high = min(m.min() for m in mels), max(m.max() for m in mels)
    seconds_per_frame = config.hop_length / sample_rate
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.6), sharey=True, constrained_layout=True)
    for axis, mel, label in zip(axes, mels, ("reference", "generated")):
        image = axis.imshow(mel, origin="lower", aspect="auto", vmin=low, vmax=high, cmap="magma",
                            extent=(0.0, mel.shape[1] * seconds_per_frame, 0, mel.shape[0]))
        axis.set_title(f"{title}  {label}".strip())
        axis.set_xlabel("seconds")
    axes[0].set_ylabel("mel band")
    fig.colorbar(image, ax=axes, label="log magnitude")
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path
