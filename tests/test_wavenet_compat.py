"""Checkpoints of the plain WaveNet made before the excitation model and the frame-rate training pass
still load and generate the very audio they generated then.

``tests/data/plain-wavenet-v1.*`` were written by the code of commit 9023b9c: a small vocoder (mel encoder,
pre-emphasis) as a single-file export, and the audio it generated from a fixed mel with seed 0.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from wavetron.generate import generate
from wavetron.train.export import load_model_checkpoint

DATA = Path(__file__).parent / "data"
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("method", ["cached", "fast"])
def test_an_old_plain_checkpoint_generates_the_same_audio(method):
    model, config = load_model_checkpoint(DATA / "plain-wavenet-v1.safetensors")
    assert config.wavenet.excitation == "none" and not model.excitation
    golden = np.load(DATA / "plain-wavenet-v1.npz")
    audio = generate(model, torch.from_numpy(golden["mel"]), method=method, seed=0).audio[0].numpy()
    np.testing.assert_allclose(audio, golden[method], rtol=0, atol=1e-5)
    assert np.abs(golden[method]).max() > 0.1  # the reference is not silence


def test_the_frame_rate_training_pass_equals_the_sample_rate_one():
    model, _ = load_model_checkpoint(DATA / "plain-wavenet-v1.safetensors")
    mel = torch.from_numpy(np.load(DATA / "plain-wavenet-v1.npz")["mel"]).repeat(2, 1, 1)
    x = torch.randint(0, 256, (2, 10 * 64 - 5), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        fast = model(x, mel, None, mel_context=1)
        cond, glob = model.condition(mel, None, mel_context=1)
        slow = model.run(x, cond, glob)  # each layer's conditioning conv at sample rate
    assert fast.shape == (2, 256, 10 * 64 - 5)
    torch.testing.assert_close(fast, slow, rtol=0, atol=2e-5 * float(slow.abs().max()))
