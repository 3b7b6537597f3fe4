"""Autograd functions for a recurrence whose per-step parameter gradients are deferred to one GEMM.

Autograd computes the gradient of a matrix that every step of a loop reads (an LSTM weight, the
encoder outputs that attention averages) at every step, as an outer product of that step's input
and output gradient, and adds it into a buffer: the whole matrix streams through memory several
times per step. The functions here only record each step's input and output gradient on a
:class:`Tape`; the backward of step 0, which autograd runs last because every later step depends
on it through the recurrence, returns the gradient of all steps as one GEMM.

Both must be called with ``first=True`` at step 0 and only there, and only for a recurrence in
which each step depends on the one before (a Tacotron decoder in teacher forcing).
"""
from __future__ import annotations

import torch
from torch import Tensor


class Tape:
    """Inputs and output gradients of one per-step product over all steps of a forward pass."""

    def __init__(self) -> None:
        self.inputs: list[Tensor] = []
        self.grads: list[Tensor] = []

    def take(self, stack) -> tuple[Tensor, Tensor]:
        """The recorded inputs and gradients joined by ``stack``; clears the tape (a second backward
        with ``retain_graph`` starts afresh)."""
        inputs, grads = stack(self.inputs), stack(self.grads)
        self.inputs, self.grads = [], []
        return inputs, grads


class _RecurrentAddmm(torch.autograd.Function):
    """``bias + x @ weight`` at one step; the weight (and a shared bias) gradient is ``X^T G`` at step 0."""

    @staticmethod
    def forward(ctx, bias: Tensor, x: Tensor, weight: Tensor, tape: Tape, first: bool) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.tape, ctx.first = tape, first
        ctx.step_bias = bias.dim() == 2  # a per-step (B, out) term gets its gradient at once
        return torch.addmm(bias, x, weight)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight = ctx.saved_tensors
        grad_x = torch.mm(grad, weight.t().to(grad.dtype)) if ctx.needs_input_grad[1] else None
        ctx.tape.inputs.append(x)
        ctx.tape.grads.append(grad)
        grad_bias = grad if ctx.step_bias else None
        if not ctx.first:
            return grad_bias, grad_x, None, None, None
        inputs, grads = ctx.tape.take(torch.cat)
        grad_weight = torch.mm(inputs.t().to(grads.dtype), grads)
        return grad_bias if ctx.step_bias else grads.sum(0), grad_x, grad_weight, None, None


def recurrent_addmm(bias: Tensor, x: Tensor, weight: Tensor, tape: Tape | None, first: bool) -> Tensor:
    """``bias + x @ weight``: ``(out,) or (B, out), (B, in), (in, out) -> (B, out)``."""
    if tape is None or not torch.is_grad_enabled():
        return torch.addmm(bias, x, weight)
    return _RecurrentAddmm.apply(bias, x, weight, tape, first)


class _RecurrentContext(torch.autograd.Function):
    """``weights @ values`` at one step; the values' gradient is ``W^T G`` over all steps at step 0."""

    @staticmethod
    def forward(ctx, weights: Tensor, values: Tensor, tape: Tape, first: bool) -> Tensor:
        ctx.save_for_backward(weights, values)
        ctx.tape, ctx.first = tape, first
        return torch.bmm(weights.unsqueeze(1), values).squeeze(1)

    @staticmethod
    def backward(ctx, grad: Tensor):
        weights, values = ctx.saved_tensors
        grad_weights = None
        if ctx.needs_input_grad[0]:
            grad_weights = torch.bmm(values.to(grad.dtype), grad.unsqueeze(2)).squeeze(2)  # (B, L)
        if not ctx.needs_input_grad[1]:
            return grad_weights, None, None, None
        ctx.tape.inputs.append(weights)
        ctx.tape.grads.append(grad)
        if not ctx.first:
            return grad_weights, None, None, None
        all_weights, grads = ctx.tape.take(lambda rows: torch.stack(rows, 2))  # (B, L, T), (B, M, T)
        return grad_weights, torch.bmm(all_weights.to(grads.dtype), grads.transpose(1, 2)), None, None


def recurrent_context(weights: Tensor, values: Tensor, tape: Tape | None, first: bool) -> Tensor:
    """Attention context ``(B, L), (B, L, M) -> (B, M)``."""
    if tape is None or not torch.is_grad_enabled():
        return torch.bmm(weights.unsqueeze(1), values).squeeze(1)
    return _RecurrentContext.apply(weights, values, tape, first)
