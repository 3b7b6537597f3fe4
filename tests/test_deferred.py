"""Deferred per-step gradients equal autograd's on a small recurrence that uses both functions."""
import pytest
import torch

from wavetron.models.deferred import Tape, recurrent_addmm, recurrent_context


def run(deferred: bool, dtype=torch.float32):
    torch.manual_seed(0)
    batch, length, dim, steps = 3, 5, 4, 6
    values = torch.randn(batch, length, dim, requires_grad=True)
    weight = torch.randn(2 * dim, dim, requires_grad=True)
    bias = torch.randn(dim, requires_grad=True)
    score = torch.randn(dim, dim)
    tapes = (Tape(), Tape()) if deferred else (None, None)
    state, context, total = torch.zeros(batch, dim), torch.zeros(batch, dim), 0.0
    for t in range(steps):
        state = torch.tanh(recurrent_addmm(bias, torch.cat((state, context), 1), weight, tapes[0], t == 0))
        weights = torch.softmax(torch.einsum("bld,de,be->bl", values, score, state), -1)  # (B, L)
        context = recurrent_context(weights, values, tapes[1], t == 0)
        total = total + (context * torch.arange(dim)).sum() + state.square().sum()
    total.backward()
    return values.grad, weight.grad, bias.grad


def test_deferred_gradients_equal_autograd():
    for deferred_grad, plain_grad in zip(run(True), run(False)):
        torch.testing.assert_close(deferred_grad, plain_grad)


def test_tape_is_cleared_for_the_next_pass():
    tape = Tape()
    values = torch.randn(2, 3, 4, requires_grad=True)
    weights = torch.softmax(torch.randn(2, 3), -1)
    for _ in range(2):
        recurrent_context(weights, values, tape, True).sum().backward()
        assert tape.inputs == [] and tape.grads == []
    torch.testing.assert_close(values.grad, 2 * weights.unsqueeze(-1).expand(2, 3, 4))


@pytest.mark.parametrize("first", [True, False])
def test_without_grad_is_a_plain_product(first):
    values, weights = torch.randn(2, 3, 4), torch.softmax(torch.randn(2, 3), -1)
    with torch.no_grad():
        out = recurrent_context(weights, values, Tape(), first)
    torch.testing.assert_close(out, torch.einsum("bl,blm->bm", weights, values))
