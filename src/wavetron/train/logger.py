"""What a run reports: TensorBoard events under ``RUN/logs`` and a one-line tqdm progress bar.

Only rank 0 creates a :class:`RunLogger` that writes; on other ranks every method is a no-op.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch


class RunLogger:
    """TensorBoard scalars, audio and images plus a console bar with the loss and ETA.

    Args:
        log_dir: TensorBoard folder (``RUN/logs``).
        enabled: False on ranks other than 0.
        total_steps: the run's ``max_steps``, for the bar's ETA.
        initial_step: the step the run starts (or resumes) at.
    """

    def __init__(self, log_dir: Path, enabled: bool, total_steps: int, initial_step: int) -> None:
        self.enabled = enabled
        self.writer = None
        self.bar = None
        if not enabled:
            return
        from torch.utils.tensorboard import SummaryWriter
        from tqdm import tqdm

        self.writer = SummaryWriter(str(log_dir), purge_step=initial_step or None)
        self.bar = tqdm(total=total_steps, initial=initial_step, unit="step", dynamic_ncols=True,
                        mininterval=1.0, file=sys.stderr, leave=True)

    def scalars(self, values: dict[str, float], step: int) -> None:
        """Log each ``tag: value`` at ``step``."""
        if self.writer is not None:
            for tag, value in values.items():
                self.writer.add_scalar(tag, value, step)

    def media(self, outputs: dict[str, Any], step: int, prefix: str = "val") -> None:
        """Log a model's ``validation_outputs``: ``{"audio": {name: (wave, rate)}, "images": {name: img}}``.

        Images may be matplotlib figures, HW, HWC or CHW arrays (channels 1, 3 or 4).
        """
        if self.writer is None:
            return
        for name, (wave, rate) in (outputs.get("audio") or {}).items():
            wave = torch.as_tensor(wave).detach().float().cpu().reshape(-1).clamp(-1, 1)
            self.writer.add_audio(f"{prefix}/{name}", wave, step, sample_rate=int(rate))
        for name, image in (outputs.get("images") or {}).items():
            tag = f"{prefix}/{name}"
            if hasattr(image, "savefig"):  # a matplotlib figure
                self.writer.add_figure(tag, image, step, close=True)
                continue
            array = np.asarray(torch.as_tensor(image).detach().float().cpu())
            if array.ndim == 2:
                self.writer.add_image(tag, _unit_range(array), step, dataformats="HW")
            else:
                layout = "HWC" if array.shape[-1] in (1, 3, 4) and array.shape[0] not in (1, 3, 4) else "CHW"
                self.writer.add_image(tag, _unit_range(array), step, dataformats=layout)

    def progress(self, step: int, loss: float | None) -> None:
        """Move the bar to ``step`` and show the latest loss."""
        if self.bar is not None:
            self.bar.update(step - self.bar.n)
            if loss is not None:
                self.bar.set_postfix_str(f"loss {loss:.4g}", refresh=False)

    def message(self, text: str) -> None:
        """Print a line above the bar."""
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr)

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.writer is not None:
            self.writer.close()


def _unit_range(array: np.ndarray) -> np.ndarray:
    """Scale an image to [0, 1] unless it already is (spectrograms arrive in log units)."""
    low, high = float(array.min()), float(array.max())
    if low >= 0 and high <= 1:
        return array
    return (array - low) / max(high - low, 1e-8)
