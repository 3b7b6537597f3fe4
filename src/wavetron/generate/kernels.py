"""The compiled per-sample loop of the fast CPU path (numba, cached on disk after the first build).

One call runs ``n`` steps for ``B`` streams. Per step and layer it writes the layer input into the
layer's ring buffer, reads the ``K`` taps, adds ``W_dilated @ taps`` to the precomputed conditioning
(the conv bias and speaker terms, plus the mel term interpolated from frame projections, see
:meth:`WaveNet.frame_conditioning`), applies the gate, and runs the
fused skip+residual 1x1 matmul. Streams are the innermost-but-one loop so each weight row, once in
L1, serves every stream: a batch costs little more weight traffic than one stream.

Weights are ``(out, in)``; :func:`_matvec` computes eight outputs at a time with the input row as the
vectorised inner loop (fastmath lets LLVM split the sums), about twice the speed of an
``(in, out)`` axpy loop, which is bound by storing its accumulators. ``tanh`` and the sigmoid use a rational approximation (max abs error
3.3e-7, the one Eigen uses for float) because libm's scalar calls would cost more than the matmuls.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

_JIT = dict(fastmath=True, nogil=True, cache=True, boundscheck=False, error_model="numpy")
# the excitation model's linear prediction: strict IEEE double (no contraction, no reassociation), so its
# inputs are those of generate.common.ExcitationLoop and of training's closed loop, bit for bit
_JIT_EXACT = dict(nogil=True, cache=True, boundscheck=False, error_model="numpy")

_TANH_CLAMP = np.float32(7.90531110763549805)
_SQRT_HALF = np.float32(math.sqrt(0.5))


@njit(inline="always", **_JIT)
def fast_tanh(x):
    """tanh(x) for float32 x within 3.3e-7, vectorisable (no libm call)."""
    x = min(max(x, -_TANH_CLAMP), _TANH_CLAMP)
    x2 = x * x
    p = np.float32(-2.76076847742355e-16)
    p = p * x2 + np.float32(2.00018790482477e-13)
    p = p * x2 + np.float32(-8.60467152213735e-11)
    p = p * x2 + np.float32(5.12229709037114e-08)
    p = p * x2 + np.float32(1.48572235717979e-05)
    p = p * x2 + np.float32(6.37261928875436e-04)
    p = p * x2 + np.float32(4.89352455891786e-03)
    q = np.float32(1.19825839466702e-06)
    q = q * x2 + np.float32(1.18534705686654e-04)
    q = q * x2 + np.float32(2.26843463243900e-03)
    q = q * x2 + np.float32(4.89352518554385e-03)
    return x * p / q


@njit(**_JIT_EXACT)
def mulaw_class(x, classes):
    """The mu-law class of ``x`` clipped to [-1, 1], as :func:`wavetron.models.wavenet.mulaw_quantize` (double)."""
    mu = classes - 1
    x = min(max(x, -1.0), 1.0)
    sign = 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)
    y = sign * math.log1p(mu * abs(x)) / math.log1p(mu)
    return int(math.floor((y + 1.0) / 2.0 * mu + 0.5))


@njit(**_JIT_EXACT)
def _excitation_input(t, b, coef, history, emb, classes, prev_exc, x):
    """Step ``t``'s input of stream ``b`` for the excitation model, into ``x[b]``; returns ``p_t``.

    ``p_t = -sum_k a_k(t) s_{t-k}`` summed k = 1, 2, ... (as :class:`~wavetron.generate.common.ExcitationLoop`);
    the input is the sum of the embeddings of the previous sample's class, of ``p_t``'s and of the previous
    excitation class. coef ``(B, T, order)`` float32; history ``(B, order)`` float64, newest first;
    emb ``(3 * classes, R)``.
    """
    order = history.shape[1]
    p = 0.0
    for k in range(min(t, order)):
        p = p - np.float64(coef[b, t, k]) * history[b, k]
    previous = mulaw_class(history[b, 0], classes)
    predicted = mulaw_class(p, classes)
    for i in range(x.shape[1]):
        x[b, i] = (emb[previous, i] + emb[classes + predicted, i]) + emb[2 * classes + prev_exc, i]
    return p


@njit(**_JIT_EXACT)
def _excitation_push(b, p, cls, table, history, signal, step):
    """``s_t = clip(p_t + table[cls], -1, 1)`` joins stream ``b``'s history and ``signal[b, step]``."""
    s = min(max(p + table[cls], -1.0), 1.0)
    for k in range(history.shape[1] - 1, 0, -1):
        history[b, k] = history[b, k - 1]
    history[b, 0] = s
    signal[b, step] = s


@njit(inline="always", **_JIT)
def _matvec(wt, x, out, O):
    """``out[b, :O] += wt[:O] @ x[b]`` for every stream b. wt ``(>=O, I)``; x ``(B, I)``; out ``(B, >=O)``.

    Eight output rows at a time, in scalar accumulators LLVM keeps in registers: each input value is
    loaded once per eight rows, and the eight-row weight block (a few KiB) stays in L1 for all streams.
    """
    I = wt.shape[1]
    B = x.shape[0]
    top = O - O % 8
    for o in range(0, top, 8):
        for b in range(B):
            a0, a1, a2, a3 = out[b, o], out[b, o + 1], out[b, o + 2], out[b, o + 3]
            a4, a5, a6, a7 = out[b, o + 4], out[b, o + 5], out[b, o + 6], out[b, o + 7]
            for i in range(I):
                xi = x[b, i]
                a0 += wt[o, i] * xi
                a1 += wt[o + 1, i] * xi
                a2 += wt[o + 2, i] * xi
                a3 += wt[o + 3, i] * xi
                a4 += wt[o + 4, i] * xi
                a5 += wt[o + 5, i] * xi
                a6 += wt[o + 6, i] * xi
                a7 += wt[o + 7, i] * xi
            out[b, o], out[b, o + 1], out[b, o + 2], out[b, o + 3] = a0, a1, a2, a3
            out[b, o + 4], out[b, o + 5], out[b, o + 6], out[b, o + 7] = a4, a5, a6, a7
    for o in range(top, O):  # channel counts that are not multiples of 8 (e.g. 30 mixture outputs)
        for b in range(B):
            acc = out[b, o]
            for i in range(I):
                acc += wt[o, i] * x[b, i]
            out[b, o] = acc


@njit(**_JIT)
def _layers(t, x, taps, h, z, sr, skip, frames, const, u, queues, offsets, masks, dilations, wd, wsr, bsr):
    """All residual layers of one step for every stream; accumulates the skip sum into ``skip (B, S)``.

    x ``(B, R)`` is the input of the first layer and is overwritten; taps ``(B, K*R)``, h ``(B, G)``,
    z ``(B, G/2)``, sr ``(B, S+R)`` are scratch.
    """
    B, R = x.shape
    L = wd.shape[0]
    G = wd.shape[1]
    K = wd.shape[2] // R
    H = G // 2
    S = skip.shape[1]
    skip[:, :] = 0.0
    for l in range(L):
        off, mask, d = offsets[l], masks[l], dilations[l]
        slot = off + (t & mask)
        for b in range(B):
            for i in range(R):
                queues[b, slot, i] = x[b, i]
        for k in range(K):
            row = off + ((t - (K - 1 - k) * d) & mask)  # tap k reads the input (K-1-k)*d steps back
            for b in range(B):
                for i in range(R):
                    taps[b, k * R + i] = queues[b, row, i]
        for b in range(B):
            for o in range(G):
                h[b, o] = const[b, l, o]
        if frames.shape[1] > 0:  # the upsampled mel term: interpolate the projected frames
            hop = u.shape[0]
            f, j = t // hop, t % hop
            for q in range(u.shape[1]):
                c = u[j, q]
                if c != 0.0:
                    for b in range(B):
                        for o in range(G):
                            h[b, o] += c * frames[b, f + q, l, o]
        _matvec(wd[l], taps, h, G)
        for b in range(B):
            for o in range(H):
                z[b, o] = fast_tanh(h[b, o]) * (np.float32(0.5) + np.float32(0.5) * fast_tanh(
                    np.float32(0.5) * h[b, H + o]))
        width = S + R if l < L - 1 else S  # the last layer has no residual output
        for b in range(B):
            for o in range(width):
                sr[b, o] = bsr[l, o]
        _matvec(wsr[l], z, sr, width)
        for b in range(B):
            for o in range(S):
                skip[b, o] += sr[b, o]
            if l < L - 1:
                for o in range(R):
                    x[b, o] = (x[b, o] + sr[b, S + o]) * _SQRT_HALF


@njit(**_JIT)
def _head(skip, hidden, relu_skip, out, skip_scale, w1, b1, w2, b2):
    """``out = W2 relu(W1 relu(skip * scale) + b1) + b2`` for every stream. skip ``(B, S)``, out ``(B, C)``."""
    B, S = skip.shape
    C = out.shape[1]
    for b in range(B):
        for o in range(S):
            hidden[b, o] = b1[o]
            relu_skip[b, o] = max(skip[b, o] * skip_scale, np.float32(0.0))
        for o in range(C):
            out[b, o] = b2[o]
    _matvec(w1, relu_skip, hidden, S)
    for b in range(B):
        for o in range(S):
            hidden[b, o] = max(hidden[b, o], np.float32(0.0))
    _matvec(w2, hidden, out, C)


@njit(**_JIT)
def _sample_class(logits, u, temperature):
    """Inverse-CDF draw from softmax(logits / temperature); argmax when temperature <= 0."""
    C = logits.shape[0]
    best = 0
    for c in range(1, C):
        if logits[c] > logits[best]:
            best = c
    if temperature <= 0:
        return best
    top = logits[best]
    total = 0.0
    for c in range(C):
        total += math.exp((logits[c] - top) / temperature)
    target = u * total
    acc = 0.0
    for c in range(C):
        acc += math.exp((logits[c] - top) / temperature)
        if acc > target:
            return c
    return C - 1


@njit(**_JIT)
def _sample_mol(params, u0, u1, temperature, log_scale_min):
    """One value from the mixture of logistics ``params (3M,)``: logits, means, log scales."""
    M = params.shape[0] // 3
    best = 0
    for m in range(1, M):
        if params[m] > params[best]:
            best = m
    pick = best
    if temperature > 0:
        total = 0.0
        for m in range(M):
            total += math.exp(params[m] - params[best])
        target = u0 * total
        acc = 0.0
        pick = M - 1
        for m in range(M):
            acc += math.exp(params[m] - params[best])
            if acc >= target:
                pick = m
                break
    value = params[M + pick]
    if temperature > 0:
        u = min(max(u1, 1e-5), 1.0 - 1e-5)
        scale = math.exp(max(params[2 * M + pick], log_scale_min))
        value += temperature * scale * (math.log(u) - math.log1p(-u))
    return min(max(value, -1.0), 1.0)


@njit(**_JIT)
def run_steps(t0, n, frames, const, u, queues, offsets, masks, dilations, wd, wsr, bsr, w1, b1, w2, b2, skip_scale,
              emb, in_w, in_b, mol, prev_cls, prev_val, prompt_cls, prompt_val, uniforms, temperature,
              log_scale_min, out_cls, out_val, logits_out, coef, table, history, signal, temperatures):
    """Run steps ``t0 .. t0 + n - 1`` for all streams; the state (queues, prev_*) carries over calls.

    Args:
        frames: ``(B, F + 2m, L, G)`` projected padded mel frames (``(B, 0, L, G)``: unconditional);
            const ``(B, L, G)`` biases and speaker terms; u ``(hop, 2m + 1)`` interpolation weights
            (see :meth:`WaveNet.frame_conditioning`). queues: ``(B, rows, R)`` ring buffers, layer l
            at rows ``offsets[l] .. offsets[l] + masks[l]`` (power-of-two sizes).
        wd ``(L, G, K*R)``, wsr ``(L, S+R, G/2)``, bsr ``(L, S+R)``, w1 ``(S, S)``, w2 ``(C, S)``: weights,
            ``(out, in)``.
        emb: ``(classes, R)`` input embedding (softmax); in_w, in_b ``(R,)`` input conv (mixture, mol=True).
        prev_cls / prev_val: ``(B,)`` the input of the next step (class or value).
        prompt_cls / prompt_val: ``(B, P)`` imposed samples for global steps ``< P``.
        uniforms: ``(B, n, 2)``. out_cls / out_val: ``(B, n)`` the samples drawn.
        logits_out: ``(B, n, C)`` to record outputs, or an empty array.
        coef ``(B, T, order)`` float32, table ``(C,)`` float64, history ``(B, order)`` float64 (newest first)
        and signal ``(B, n)`` float64: the excitation model's linear prediction (``order`` 0: not one);
        emb is then ``(3C, R)`` and the classes drawn are excitation classes.
        temperatures: ``(B, n)`` float32 per-sample temperatures of the softmax draws, used in place of
            ``temperature``, or ``(B, 0)``.
    """
    B, _, R = queues.shape
    G = wd.shape[1]
    S = w1.shape[0]
    C = w2.shape[0]
    f32 = np.float32
    x = np.empty((B, R), f32)
    taps = np.empty((B, wd.shape[2]), f32)
    h = np.empty((B, G), f32)
    z = np.empty((B, G // 2), f32)
    sr = np.empty((B, S + R), f32)
    skip = np.empty((B, S), f32)
    hidden = np.empty((B, S), f32)
    relu_skip = np.empty((B, S), f32)
    out = np.empty((B, C), f32)
    record = logits_out.shape[0] > 0
    n_prompt = prompt_cls.shape[1] if not mol else prompt_val.shape[1]
    excitation = history.shape[1] > 0
    per_sample = temperatures.shape[1] > 0
    pred = np.zeros(B, np.float64)
    for step in range(n):
        t = t0 + step
        for b in range(B):
            if mol:
                for i in range(R):
                    x[b, i] = in_w[i] * prev_val[b] + in_b[i]
            elif excitation:
                pred[b] = _excitation_input(t, b, coef, history, emb, C, prev_cls[b], x)
            else:
                for i in range(R):
                    x[b, i] = emb[prev_cls[b], i]
        _layers(t, x, taps, h, z, sr, skip, frames, const, u, queues, offsets, masks, dilations, wd, wsr, bsr)
        _head(skip, hidden, relu_skip, out, skip_scale, w1, b1, w2, b2)
        for b in range(B):
            if record:
                for c in range(C):
                    logits_out[b, step, c] = out[b, c]
            if mol:
                if t < n_prompt:
                    value = prompt_val[b, t]
                else:
                    value = _sample_mol(out[b], uniforms[b, step, 0], uniforms[b, step, 1], temperature,
                                        log_scale_min)
                prev_val[b] = value
                out_val[b, step] = value
            else:
                if t < n_prompt:
                    cls = prompt_cls[b, t]
                else:
                    temp = temperatures[b, step] if per_sample else temperature
                    cls = _sample_class(out[b], uniforms[b, step, 0], temp)
                if excitation:
                    _excitation_push(b, pred[b], cls, table, history, signal, step)
                prev_cls[b] = cls
                out_cls[b, step] = cls
