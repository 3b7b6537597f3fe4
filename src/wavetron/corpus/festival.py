"""Festival speech through its ``text2wave`` program, with the ``cmu_us_slt_arctic_hts`` voice.

The voice is a statistical (HTS) model of a real speaker, so it is closer to recorded speech
than espeak-ng's formant synthesis. Festival is a separate program: each sentence is one
``text2wave`` run, and the builder runs several at once.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..errors import WavetronError

VOICE = "cmu_us_slt_arctic_hts"
INSTALL_HINT = "apt-get install festival festvox-us-slt-hts"
# text2wave starts a Festival interpreter and loads the voice, about half a second per run.
_TIMEOUT_S = 120


def text2wave_path() -> str:
    """The path of ``text2wave``.

    Raises:
        WavetronError: festival is not installed (the message says how to install it).
    """
    path = shutil.which("text2wave")
    if path is None:
        raise WavetronError(f"the festival engine needs the text2wave program, which is not installed: {INSTALL_HINT}")
    return path


def check_voice() -> None:
    """Speak one word, so that a missing voice is reported once, before a long build starts.

    Raises:
        WavetronError: ``text2wave`` is missing or cannot speak with :data:`VOICE`.
    """
    synthesize("hello")


def synthesize(text: str) -> tuple[np.ndarray, int]:
    """Speak ``text`` with :data:`VOICE`.

    Returns:
        (int16 samples of shape (T,), sample rate): the voice's native rate (32,000 Hz for slt).

    Raises:
        WavetronError: text2wave is missing, fails, or returns no audio.
    """
    import soundfile as sf

    with tempfile.TemporaryDirectory(prefix="wavetron-festival-") as folder:
        out = Path(folder) / "speech.wav"
        # A file, not stdout: text2wave cannot fill in the wav header's sizes on a pipe.
        command = [text2wave_path(), "-eval", f"(voice_{VOICE})", "-o", str(out)]
        try:
            done = subprocess.run(command, input=text.encode("utf-8"), capture_output=True,
                                  timeout=_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired as err:
            raise WavetronError(f"text2wave took over {_TIMEOUT_S} s for {text[:40]!r}") from err
        stderr = done.stderr.decode("utf-8", "replace").strip()
        if VOICE in stderr or "unbound variable" in stderr:
            raise WavetronError(f"festival has no voice {VOICE}: {INSTALL_HINT}")
        if done.returncode != 0 or not out.exists() or out.stat().st_size == 0:
            last = stderr.splitlines()[-1] if stderr else f"exit status {done.returncode}"
            raise WavetronError(f"text2wave failed for {text[:40]!r}: {last}")
        samples, rate = sf.read(out, dtype="int16")
    if samples.ndim > 1:
        samples = samples[:, 0]
    if samples.size == 0:
        raise WavetronError(f"text2wave gave no audio for {text[:40]!r}")
    return np.ascontiguousarray(samples), int(rate)
