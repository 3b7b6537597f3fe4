"""Tacotron 2's autoregressive decoder: prenet -> attention LSTM -> location-sensitive attention
-> decoder LSTM -> ``r`` mel frames and a stop logit per step.

The step loop is the cost of training Tacotron on a CPU, so the work that does not depend on
the previous step is hoisted out of it:

- teacher forcing runs the prenet and the input half of the first LSTM's matmul for all steps
  at once, and the frame and stop projections after the loop, on the stacked states;
- the attention keys, the padding bias and the folded location filter are computed once
  (:meth:`LocationSensitiveAttention.prepare`);
- each LSTM is one ``addmm`` over ``[input, hidden]`` with its gates reordered to (i, f, o, g)
  so the three sigmoids are one op, and dropout masks are drawn for all steps at once;
- the LSTM weight gradients are one GEMM over all steps after the backward pass
  (:class:`_RecurrentAddmm`) instead of a full-size gradient per step.

The parameters are plain ``nn.LSTMCell`` / ``nn.Linear`` ones; the fused views are rebuilt on
every call (cheap), so optimisers, EMA and checkpoints see ordinary modules.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .attention import AttentionMemory, LocationSensitiveAttention
from .tacotron_layers import Prenet


@dataclass
class DecoderOutput:
    """Decoder results.

    Attributes:
        frames: ``(B, n_mels, steps * r)`` mel frames before the post-net.
        stop_logits: ``(B, steps)`` one stop logit per decoder step.
        alignments: ``(B, steps, L)`` attention weights.
        lengths: ``(B,)`` frames up to and including the step whose stop fired (inference only).
        finished: ``(B,)`` bool, the stop token fired before the step limit (inference only).
    """

    frames: Tensor
    stop_logits: Tensor
    alignments: Tensor
    lengths: Tensor | None = None
    finished: Tensor | None = None


def _gate_order(hidden: int, device: torch.device) -> Tensor:
    """Row permutation from ``nn.LSTMCell``'s (i, f, g, o) gate layout to (i, f, o, g)."""
    i, f, g, o = torch.arange(4 * hidden, device=device).view(4, hidden)
    return torch.cat((i, f, o, g))


def _lstm_update(gates: Tensor, cell: Tensor) -> tuple[Tensor, Tensor]:
    """LSTM pointwise update for gates laid out (i, f, o, g): ``(B, 4H), (B, H) -> h, c``."""
    hidden = cell.shape[1]
    # split/chunk rather than slicing: their backward concatenates the pieces' gradients, where
    # each slice's backward would zero-fill a full-size gradient of its own.
    sigmoid_part, candidate = gates.split((3 * hidden, hidden), dim=1)
    in_gate, forget_gate, out_gate = torch.sigmoid(sigmoid_part).chunk(3, dim=1)
    cell = torch.addcmul(forget_gate * cell, in_gate, torch.tanh(candidate))
    return out_gate * torch.tanh(cell), cell


class _Tape:
    """Inputs and output gradients of one recurrent matmul over all steps of a forward pass."""

    def __init__(self) -> None:
        self.inputs: list[Tensor] = []
        self.grads: list[Tensor] = []


class _RecurrentAddmm(torch.autograd.Function):
    """``bias + x @ weight`` at one decoder step, with the weight gradient deferred to the end.

    Autograd would compute ``x_t^T g_t`` (a full-size weight gradient) at every step and add it
    into a buffer, streaming the whole matrix through memory three more times per step. Here each
    step's backward only records ``x_t`` and ``g_t``; the backward of step 0, which autograd runs
    last because every later step depends on it through the recurrence, returns the weight and
    bias gradients of all steps as one GEMM, ``X^T G``.
    """

    @staticmethod
    def forward(ctx, bias: Tensor, x: Tensor, weight: Tensor, tape: _Tape, first: bool) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.tape, ctx.first = tape, first
        ctx.step_bias = bias.dim() == 2  # a per-step (B, out) term gets its gradient at once
        return torch.addmm(bias, x, weight)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight = ctx.saved_tensors
        grad_x = torch.mm(grad, weight.t().to(grad.dtype)) if ctx.needs_input_grad[1] else None
        tape = ctx.tape
        tape.inputs.append(x)
        tape.grads.append(grad)
        grad_bias = grad if ctx.step_bias else None
        if not ctx.first:
            return grad_bias, grad_x, None, None, None
        inputs, grads = torch.cat(tape.inputs), torch.cat(tape.grads)
        tape.inputs, tape.grads = [], []  # a second backward (retain_graph) starts afresh
        grad_weight = torch.mm(inputs.t().to(grads.dtype), grads)
        return grad_bias if ctx.step_bias else grads.sum(0), grad_x, grad_weight, None, None


def _recurrent_addmm(bias: Tensor, x: Tensor, weight: Tensor, tape: _Tape | None, first: bool) -> Tensor:
    if tape is None or not torch.is_grad_enabled():
        return torch.addmm(bias, x, weight)
    return _RecurrentAddmm.apply(bias, x, weight, tape, first)


@dataclass
class _Fused:
    """Per-call views of the LSTM weights: transposed, gate-reordered, biases summed."""

    rnn1_input: Tensor  # (4H, P) prenet part of the first LSTM's input weights
    rnn1_rest: Tensor  # (M + H, 4H) context and recurrent part
    rnn1_full: Tensor  # (P + M + H, 4H) all of it, for inference
    rnn1_bias: Tensor  # (4H,)
    rnn2: Tensor  # (H + M + H, 4H)
    rnn2_bias: Tensor  # (4H,)
    tapes: tuple[_Tape, _Tape] | None = None  # deferred weight gradients (teacher forcing with grad)


class Decoder(nn.Module):
    """Attention decoder producing ``reduction_factor`` frames per step.

    Args:
        n_mels: mel channels.
        reduction_factor: frames per decoder step (r); step t predicts frames ``t*r .. t*r + r - 1``
            and is fed the last frame of step t - 1.
        memory_dim: encoder output size (plus the speaker embedding, if any).
        prenet_dims, prenet_dropout: the prenet.
        attention_dim, location_filters, location_kernel: the attention.
        decoder_dim: hidden size of both LSTMs.
        dropout: dropout on both LSTM outputs in training.
    """

    def __init__(self, n_mels: int, reduction_factor: int, memory_dim: int, prenet_dims: list[int],
                 prenet_dropout: float = 0.5, attention_dim: int = 128, location_filters: int = 32,
                 location_kernel: int = 31, decoder_dim: int = 1024, dropout: float = 0.1) -> None:
        super().__init__()
        self.n_mels, self.reduction_factor = n_mels, reduction_factor
        self.memory_dim, self.hidden = memory_dim, decoder_dim
        self.dropout = dropout
        self.defer_weight_grads = True  # False: plain autograd (for tests that compare the two)
        self.prenet = Prenet(n_mels, prenet_dims, prenet_dropout)
        self.attention_rnn = nn.LSTMCell(self.prenet.out_dim + memory_dim, decoder_dim)
        self.attention = LocationSensitiveAttention(decoder_dim, memory_dim, attention_dim, location_filters,
                                                    location_kernel)
        self.decoder_rnn = nn.LSTMCell(decoder_dim + memory_dim, decoder_dim)
        self.frame_projection = nn.Linear(decoder_dim + memory_dim, n_mels * reduction_factor)
        self.stop_projection = nn.Linear(decoder_dim + memory_dim, 1)

    def _fused(self) -> _Fused:
        """The fused weight views; without autograd they are cached until a weight changes."""
        if torch.is_grad_enabled():
            return self._build_fused()
        params = (self.attention_rnn.weight_ih, self.attention_rnn.weight_hh, self.attention_rnn.bias_ih,
                  self.attention_rnn.bias_hh, self.decoder_rnn.weight_ih, self.decoder_rnn.weight_hh,
                  self.decoder_rnn.bias_ih, self.decoder_rnn.bias_hh)
        # _version counts in-place updates (optimiser steps, load_state_dict's copy_), data_ptr moves
        key = (tuple((t.data_ptr(), t._version, t.dtype) for t in params),
               torch.is_autocast_enabled(params[0].device.type))
        cached = getattr(self, "_fused_cache", None)
        if cached is None or cached[0] != key:
            cached = (key, self._build_fused())
            self._fused_cache = cached
        return cached[1]

    def _build_fused(self) -> _Fused:
        order = _gate_order(self.hidden, self.attention_rnn.weight_ih.device)
        prenet = self.prenet.out_dim
        w1 = torch.cat((self.attention_rnn.weight_ih, self.attention_rnn.weight_hh), 1)[order]  # (4H, P+M+H)
        w2 = torch.cat((self.decoder_rnn.weight_ih, self.decoder_rnn.weight_hh), 1)[order]
        device = w1.device.type
        if torch.is_autocast_enabled(device):
            # Cast the fused (non-leaf) weights once here; autocast would cast them again at every step.
            dtype = torch.get_autocast_dtype(device)
            w1, w2 = w1.to(dtype), w2.to(dtype)
        return _Fused(rnn1_input=w1[:, :prenet], rnn1_rest=w1[:, prenet:].t(), rnn1_full=w1.t(),
                      rnn1_bias=(self.attention_rnn.bias_ih + self.attention_rnn.bias_hh)[order],
                      rnn2=w2.t(), rnn2_bias=(self.decoder_rnn.bias_ih + self.decoder_rnn.bias_hh)[order])

    def _initial(self, memory: AttentionMemory) -> list[Tensor]:
        batch, length = memory.mask_bias.shape
        zeros = memory.values.new_zeros
        # h1, c1, h2, c2, context, previous alignment, cumulative alignment
        return [zeros(batch, self.hidden), zeros(batch, self.hidden), zeros(batch, self.hidden),
                zeros(batch, self.hidden), zeros(batch, self.memory_dim), zeros(batch, length), zeros(batch, length)]

    def _step(self, gates1: Tensor, state: list[Tensor], fused: _Fused, memory: AttentionMemory,
              masks: tuple[Tensor, Tensor] | None, first: bool = False) -> tuple[list[Tensor], Tensor, Tensor]:
        """One decoder step given the first LSTM's gates so far; returns the new state, output and alignment."""
        h1, c1, h2, c2, context, previous, cumulative = state
        h1, c1 = _lstm_update(gates1, c1)
        query = h1 * masks[0] if masks is not None else h1
        context, weights = self.attention(query, memory, previous, cumulative)
        tape = fused.tapes[1] if fused.tapes is not None else None
        gates2 = _recurrent_addmm(fused.rnn2_bias, torch.cat((query, context, h2), 1), fused.rnn2, tape, first)
        h2, c2 = _lstm_update(gates2, c2)
        out = h2 * masks[1] if masks is not None else h2
        return [h1, c1, h2, c2, context, weights, cumulative + weights], torch.cat((out, context), 1), weights

    def _dropout_masks(self, steps: int, batch: int, like: Tensor) -> Tensor | None:
        if not self.training or self.dropout == 0:
            return None
        keep = 1.0 - self.dropout
        return torch.bernoulli(like.new_full((steps, 2, batch, self.hidden), keep)) / keep

    def _project(self, outputs: Tensor) -> tuple[Tensor, Tensor]:
        """``(B, steps, H + M)`` -> frames ``(B, n_mels, steps * r)`` and stop logits ``(B, steps)``."""
        batch, steps, _ = outputs.shape
        frames = self.frame_projection(outputs).view(batch, steps * self.reduction_factor, self.n_mels)
        return frames.transpose(1, 2), self.stop_projection(outputs).squeeze(-1)

    def forward(self, memory: AttentionMemory, mels: Tensor) -> DecoderOutput:
        """Teacher forcing.

        Args:
            memory: prepared encoder outputs (see :meth:`LocationSensitiveAttention.prepare`).
            mels: ``(B, n_mels, frames)`` targets, frames a multiple of ``reduction_factor``.
        Returns:
            DecoderOutput with ``frames`` shaped like ``mels``.
        """
        batch, n_mels, total = mels.shape
        if total % self.reduction_factor:
            raise ValueError(f"mel frames ({total}) must be a multiple of reduction_factor {self.reduction_factor}")
        steps = total // self.reduction_factor
        # Step t is fed the last frame of step t - 1; step 0 a zero "go" frame.
        last = mels[:, :, self.reduction_factor - 1:: self.reduction_factor]  # (B, n_mels, steps)
        inputs = torch.cat((mels.new_zeros(batch, n_mels, 1), last[:, :, :-1]), 2).permute(2, 0, 1)  # (T, B, n)
        fused = self._fused()
        fused.tapes = (_Tape(), _Tape()) if self.defer_weight_grads else None
        gates_in = F.linear(self.prenet(inputs), fused.rnn1_input, fused.rnn1_bias)  # (T, B, 4H): one GEMM
        # unbind once: indexing gates_in[t] in the loop would make each step's backward zero-fill
        # a gradient of the whole (T, B, 4H) tensor, quadratic in the number of steps.
        gates_in = gates_in.unbind(0)
        masks = self._dropout_masks(steps, batch, mels)
        state = self._initial(memory)
        outputs, alignments = [], []
        for t in range(steps):
            h1, context = state[0], state[4]
            tape = fused.tapes[0] if fused.tapes is not None else None
            gates1 = _recurrent_addmm(gates_in[t], torch.cat((context, h1), 1), fused.rnn1_rest, tape, t == 0)
            state, out, weights = self._step(gates1, state, fused, memory, None if masks is None else masks[t], t == 0)
            outputs.append(out)
            alignments.append(weights)
        frames, stop_logits = self._project(torch.stack(outputs, 1))
        return DecoderOutput(frames=frames, stop_logits=stop_logits, alignments=torch.stack(alignments, 1))

    @torch.no_grad()
    def infer(self, memory: AttentionMemory, stop_threshold: float = 0.5, max_steps: int = 1000,
              min_steps: int = 0, window: tuple[int, int] | list[int] = ()) -> DecoderOutput:
        """Free-running decoding until every item's stop token fires or ``max_steps`` is reached.

        Items that finish keep being computed (they share the batch's matmuls) but their length is
        fixed at the step whose stop probability first passed ``stop_threshold``. Hitting
        ``max_steps`` warns (RuntimeWarning) and returns what was decoded. ``window`` ``(back, forward)``:
        each step attends only to the tokens from ``back`` before to ``forward`` after the previous
        step's most attended one (empty: all tokens).
        """
        batch = memory.values.shape[0]
        fused = self._fused()
        state = self._initial(memory)
        frame = memory.values.new_zeros(batch, self.n_mels)
        lengths = torch.full((batch,), max_steps * self.reduction_factor, dtype=torch.long,
                             device=memory.values.device)
        finished = torch.zeros(batch, dtype=torch.bool, device=memory.values.device)
        frames, stops, alignments = [], [], []
        positions = torch.arange(memory.values.shape[1], device=memory.values.device)
        for t in range(max_steps):
            h1, context = state[0], state[4]
            gates1 = torch.addmm(fused.rnn1_bias, torch.cat((self.prenet(frame), context, h1), 1), fused.rnn1_full)
            step_memory = memory
            if window:  # the peak itself is a real token, so no row is masked whole
                offset = positions - state[5].argmax(1, keepdim=True)  # (B, L)
                outside = (offset < -window[0]) | (offset > window[1])
                step_memory = replace(memory, mask_bias=memory.mask_bias.masked_fill(outside, float("-inf")))
            state, out, weights = self._step(gates1, state, fused, step_memory, None)
            step_frames = self.frame_projection(out)  # (B, r * n_mels)
            stop = self.stop_projection(out).squeeze(1)  # (B,)
            frames.append(step_frames)
            stops.append(stop)
            alignments.append(weights)
            frame = step_frames[:, -self.n_mels:]
            fired = (torch.sigmoid(stop) > stop_threshold) & ~finished & (t + 1 >= min_steps)
            lengths = torch.where(fired, (t + 1) * self.reduction_factor, lengths)
            finished = finished | fired
            if bool(finished.all()):
                break
        if not bool(finished.all()):
            warnings.warn(f"Tacotron decoder reached max_decoder_steps ({max_steps}) before the stop token fired "
                          f"for {int((~finished).sum())} of {batch} item(s); their audio is cut there",
                          RuntimeWarning, stacklevel=3)
        steps = len(frames)
        mel = torch.stack(frames, 1).view(batch, steps * self.reduction_factor, self.n_mels).transpose(1, 2)
        return DecoderOutput(frames=mel, stop_logits=torch.stack(stops, 1), alignments=torch.stack(alignments, 1),
                             lengths=lengths.clamp_max(steps * self.reduction_factor), finished=finished)
