"""Start-up cost: each command imports what it needs when it needs it.

torch costs about 2 s to import on an idle core of the reference machine and scipy.signal 1.3 s
more, so ``wavetron --help`` must import neither, and the audio features (on every command's path)
must not pull in scipy.signal or numba for a window that numpy computes in microseconds.
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys

import numpy as np
import pytest

HEAVY = ("torch", "scipy", "scipy.signal", "numba", "librosa.filters", "phonemizer", "safetensors")


def modules_after(code: str, *watch: str, cwd=None) -> dict[str, bool]:
    """Run ``code`` in a fresh interpreter and say which of ``watch`` it left in ``sys.modules``."""
    probe = f"{code}\nimport sys\nprint('loaded:' + ','.join(m for m in {watch!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=cwd, timeout=300,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stderr
    loaded = set(filter(None, result.stdout.strip().splitlines()[-1].removeprefix("loaded:").split(",")))
    return {name: name in loaded for name in watch}


def test_help_imports_nothing_heavy():
    code = ("import sys\nfrom wavetron.cli import main\nsys.argv = ['wavetron', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass")
    loaded = modules_after(code, *HEAVY, "numpy", "yaml")
    assert not any(loaded.values()), loaded


def test_help_takes_under_a_fifth_of_a_second_of_cpu():
    # CPU time of the child (user + system), not wall time: the machine is shared, and the
    # time other processes take from us is not the command's cost.
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    runs = 3
    for _ in range(runs):
        result = subprocess.run([sys.executable, "-m", "wavetron", "--help"], capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0 and "synth" in result.stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / runs
    assert cpu < 0.2, f"wavetron --help used {cpu:.3f} s of CPU per run"


def test_audio_features_do_not_import_scipy_signal():
    loaded = modules_after("import wavetron.audio.features", "scipy.signal", "numba", "librosa.filters")
    assert not any(loaded.values()), loaded


def test_hann_window_is_scipys_bit_for_bit():
    import scipy.signal
    import torch

    from wavetron.audio.features import _window

    for length in (1, 2, 3, 255, 400, 512, 1024, 1025, 2048):
        ours = _window(length, torch.device("cpu"), torch.float64).numpy()
        assert np.array_equal(ours, scipy.signal.get_window("hann", length, fftbins=True)), length


def test_mel_filterbank_still_comes_from_librosa():
    import librosa
    import torch

    from wavetron.audio.features import mel_filterbank
    from wavetron.config import AudioConfig

    config = AudioConfig()
    expected = librosa.filters.mel(sr=config.sample_rate, n_fft=config.n_fft, n_mels=config.n_mels,
                                   fmin=config.f_min, fmax=config.f_max, htk=config.htk, norm=config.mel_norm)
    assert torch.allclose(mel_filterbank(config), torch.from_numpy(expected), atol=1e-7)


def test_shipped_voice_speaks_without_scipy_signal_or_numba(tmp_path):
    """The default voice through Griffin-Lim (Tacotron + mel2linear + Griffin-Lim, no mel match) needs torch and
    phonemizer, nothing more. (Its WaveNet builds librosa's mel filterbank for the linear prediction, and with it
    imports scipy.signal and numba.)"""
    out = tmp_path / "hi.wav"
    code = ("import sys\nfrom wavetron.cli import main\n"
            f"sys.argv = ['wavetron', 'synth', '--text', 'Hi.', '--vocoder', 'griffin-lim', '--out', {str(out)!r}, "
            "'--quiet']\n"
            "assert main() == 0")
    loaded = modules_after(code, "torch", "scipy.signal", "numba", "librosa.filters", cwd=tmp_path)
    assert out.stat().st_size > 1000
    assert loaded == {"torch": True, "scipy.signal": False, "numba": False, "librosa.filters": False}, loaded


@pytest.mark.parametrize("module", ["wavetron", "wavetron.cli", "wavetron.commands", "wavetron.errors"])
def test_light_modules_do_not_import_torch(module):
    assert modules_after(f"import {module}", "torch", "numpy") == {"torch": False, "numpy": False}
