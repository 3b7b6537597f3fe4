"""wavetron: neural audio generation with WaveNet and Tacotron.

Conventions used throughout the package:
- Tensors are channel-first: audio ``(B, T)``, spectrograms ``(B, n_freq, frames)``.
- Audio is float32 in [-1, 1]; sample rates are in Hz; names follow librosa
  (``sample_rate``, ``n_fft``, ``hop_length``, ``win_length``, ``n_mels``, ``f_min``, ``f_max``).
- Errors caused by the user's input are :class:`wavetron.errors.WavetronError`.
"""
__version__ = "0.1.0"


def __getattr__(name: str):
    # Lazy, so `import wavetron` (and `wavetron --help`) does not import torch.
    if name == "Synthesizer":
        from .synth import Synthesizer

        return Synthesizer
    raise AttributeError(f"module 'wavetron' has no attribute {name!r}")
