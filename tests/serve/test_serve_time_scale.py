"""wavetron.synth.time_scale, the mel time-scaling behind the `speed` field of wavetron serve."""
from __future__ import annotations

import pytest
import torch

from wavetron.models.tacotron import TacotronInference
from wavetron.synth import time_scale

FLOOR = -11.5


def _inference(lengths: list[int], n_mels: int = 3) -> TacotronInference:
    frames = max(lengths)
    mels = torch.full((len(lengths), n_mels, frames), FLOOR)
    for row, length in enumerate(lengths):
        mels[row, :, :length] = torch.linspace(0.0, 1.0, length)  # a ramp in time, in every band
    return TacotronInference(mels=mels, lengths=torch.tensor(lengths), alignments=torch.zeros(len(lengths), 4, 5),
                             finished=torch.ones(len(lengths), dtype=torch.bool))


@pytest.mark.parametrize("speed", [0.25, 0.5, 2.0, 4.0])
def test_lengths_scale_by_one_over_speed_and_a_ramp_stays_a_ramp(speed):
    result = time_scale(_inference([40, 17]), speed)
    assert result.lengths.tolist() == [round(40 / speed), round(17 / speed)]
    assert result.mels.shape == (2, 3, round(40 / speed))
    for row, length in enumerate(result.lengths.tolist()):
        valid = result.mels[row, :, :length]
        assert torch.allclose(valid, torch.linspace(0.0, 1.0, length).expand_as(valid), atol=1e-5)
        assert (result.mels[row, :, length:] == FLOOR).all()  # padding keeps the log-mel floor
    assert torch.equal(result.alignments, _inference([40, 17]).alignments)


def test_a_one_frame_sentence_keeps_a_frame():
    assert time_scale(_inference([1]), 4.0).lengths.tolist() == [1]
