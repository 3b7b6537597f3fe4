"""Tacotron: text -> log-mel frames with an attention sequence-to-sequence network.

Two variants share the location-sensitive attention decoder (:mod:`.tacotron_decoder`):

- ``tacotron2`` (Shen et al. 2018): conv + BiLSTM encoder, 5-convolution residual post-net.
- ``tacotron1`` (Wang et al. 2017): CBHG encoder, and a CBHG post-net that predicts a log linear
  spectrogram for Griffin-Lim. (The decoder is Tacotron 2's, which aligns more reliably than the
  original GRU decoder.)

Both predict ``reduction_factor`` frames and a stop logit per decoder step, take an optional
speaker embedding (concatenated to every encoder output) and train with masked mel losses,
a weighted stop BCE and a decaying guided attention loss (Tachibana et al. 2017), which is what
makes attention align within minutes instead of hours. Tokens are ``(B, L)``; mels ``(B, n_mels, T)``.
"""
from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..config import AudioConfig, Config, TacotronConfig, check_attention_window
from .attention import AttentionMemory, alignment_scores, guided_attention_loss, lengths_mask
from .tacotron_decoder import Decoder
from .tacotron_layers import LinearPostnet, Postnet, Tacotron1Encoder, Tacotron2Encoder


VALIDATION_GRIFFIN_LIM_ITERS = 16  # for the validation audio in TensorBoard


@dataclass
class TacotronOutput:
    """Teacher-forced outputs.

    Attributes:
        mels: ``(B, n_mels, T)`` decoder frames (before the post-net).
        postnet: ``(B, n_mels, T)`` refined mels (tacotron2) or ``(B, n_fft // 2 + 1, T)`` log
            linear magnitudes (tacotron1).
        stop_logits: ``(B, T / r)``; alignments: ``(B, T / r, L)``.
    """

    mels: Tensor
    postnet: Tensor
    stop_logits: Tensor
    alignments: Tensor


@dataclass
class TacotronInference:
    """Free-running outputs, padded to the longest item with the log-mel floor.

    Attributes:
        mels: ``(B, n_mels, T)`` post-net mels, ready for a vocoder.
        lengths: ``(B,)`` valid frames per item.
        alignments: ``(B, steps, L)``.
        finished: ``(B,)`` bool, the stop token fired before ``max_decoder_steps``.
        linear: ``(B, n_fft // 2 + 1, T)`` log linear magnitudes (tacotron1 only).
    """

    mels: Tensor
    lengths: Tensor
    alignments: Tensor
    finished: Tensor
    linear: Tensor | None = None


class Tacotron(nn.Module):
    """Tacotron 2 (or the Tacotron 1 variant) built from a :class:`TacotronConfig`.

    Args:
        config: the ``tacotron:`` section.
        n_symbols: size of the symbol set (:func:`wavetron.text.vocab_size`).
        audio: the audio settings the mels were made with (n_mels, the log floor that pads them,
            and for tacotron1 the STFT of the linear-spectrogram target).
    """

    def __init__(self, config: TacotronConfig, n_symbols: int, audio: AudioConfig) -> None:
        super().__init__()
        self.config, self.audio = config, audio
        self.n_mels = audio.n_mels
        self.r = config.reduction_factor
        self.pad_value = math.log(audio.log_floor)  # log-mel of silence
        if config.variant == "tacotron2":
            self.encoder: nn.Module = Tacotron2Encoder(n_symbols, config.embedding_dim, config.encoder_convs,
                                                       config.encoder_kernel, config.encoder_dim, config.dropout)
        else:
            self.encoder = Tacotron1Encoder(n_symbols, config.embedding_dim, config.encoder_dim, config.cbhg_banks,
                                            config.cbhg_highways, config.dropout)
        self.speaker_embedding = nn.Embedding(config.n_speakers, config.speaker_dim) if config.n_speakers > 1 else None
        memory_dim = config.encoder_dim + (config.speaker_dim if self.speaker_embedding is not None else 0)
        self.decoder = Decoder(self.n_mels, self.r, memory_dim, list(config.prenet_dims), config.prenet_dropout,
                               config.attention_dim, config.location_filters, config.location_kernel,
                               config.decoder_dim, config.decoder_dropout)
        if config.variant == "tacotron2":
            self.postnet: nn.Module = Postnet(self.n_mels, config.postnet_dim, config.postnet_convs,
                                              config.postnet_kernel, config.dropout)
        else:
            self.postnet = LinearPostnet(self.n_mels, audio.n_fft // 2 + 1, config.postnet_dim,
                                         max(config.cbhg_banks // 2, 1), config.cbhg_highways)
        # Optimiser updates seen so far; saved with the weights so a resumed run decays the
        # guided attention weight from where it stopped.
        self.register_buffer("updates", torch.zeros((), dtype=torch.long))

    # ------------------------------------------------------------------ forward
    def encode(self, tokens: Tensor, token_lengths: Tensor, speakers: Tensor | None = None) -> AttentionMemory:
        """Encoder outputs (with the speaker embedding appended) prepared for attention."""
        if tokens.ndim != 2:
            raise ValueError(f"tokens must be (B, L), got {tuple(tokens.shape)}")
        memory = self.encoder(tokens, token_lengths)  # (B, L, E)
        if self.speaker_embedding is not None:
            if speakers is None:
                speakers = torch.zeros(tokens.shape[0], dtype=torch.long, device=tokens.device)
            voice = self.speaker_embedding(speakers).unsqueeze(1).expand(-1, tokens.shape[1], -1)
            memory = torch.cat((memory, voice), 2)
        return self.decoder.attention.prepare(memory, lengths_mask(token_lengths, tokens.shape[1]))

    def _postnet(self, mels: Tensor, lengths: Tensor | None) -> Tensor:
        """The post-net's output for decoder frames ``(B, n_mels, T)``. Frames past an item's ``lengths``
        are read as silence (the log floor) as far as the convolutions reach, so an item's output is the
        same alone and in any batch, in training and at inference."""
        if lengths is not None:
            mels = mels.masked_fill(~lengths_mask(lengths, mels.shape[-1]).unsqueeze(1), self.pad_value)
        if self.config.variant == "tacotron2":
            reach = self.config.postnet_convs * (self.config.postnet_kernel // 2)
            padded = F.pad(mels, (0, reach), value=self.pad_value)
            return mels + self.postnet(padded)[..., :mels.shape[-1]]
        return self.postnet(mels, lengths)

    def forward(self, tokens: Tensor, token_lengths: Tensor, mels: Tensor, mel_lengths: Tensor | None = None,
                speakers: Tensor | None = None) -> TacotronOutput:
        """Teacher forcing. ``mels`` ``(B, n_mels, T)`` with T a multiple of the reduction factor.

        In training with ``scheduled_sampling`` > 0, that share of the decoder steps is fed the model's
        own frame (:meth:`scheduled_inputs`) instead of the recording's.
        """
        memory = self.encode(tokens, token_lengths, speakers)
        if self.training and self.config.scheduled_sampling > 0:
            mels = self.scheduled_inputs(memory, mels)
        out = self.decoder(memory, mels)
        return TacotronOutput(mels=out.frames, postnet=self._postnet(out.frames, mel_lengths),
                              stop_logits=out.stop_logits, alignments=out.alignments)

    # ------------------------------------------------------------------ training
    def scheduled_inputs(self, memory: AttentionMemory, mels: Tensor) -> Tensor:
        """``mels`` ``(B, n_mels, T)`` with the frames of a random ``scheduled_sampling`` share of decoder
        steps replaced by the decoder's own teacher-forced prediction of them, made without gradient: the
        decoder feeds step t the last frame of step t - 1, so a replaced step's frame reaches the next step
        as inference would feed it (parallel scheduled sampling, Duckworth et al. 2019)."""
        with torch.no_grad():
            own = self.decoder(memory, mels).frames
        steps = mels.shape[-1] // self.r
        pick = torch.rand(mels.shape[0], 1, steps, device=mels.device) < self.config.scheduled_sampling
        return torch.where(pick.repeat_interleave(self.r, dim=2), own.to(mels.dtype), mels)

    def guided_attention_weight(self) -> float:
        """Current weight of the guided attention loss: halves every ``guided_attention_decay_steps``."""
        return self.config.guided_attention_weight * 0.5 ** (int(self.updates) / self.config.guided_attention_decay_steps)

    def _pad_frames(self, mels: Tensor) -> Tensor:
        extra = -mels.shape[-1] % self.r
        return F.pad(mels, (0, extra), value=self.pad_value) if extra else mels

    def loss(self, batch) -> dict[str, Tensor]:
        """Masked L1 + MSE before and after the post-net, stop BCE and guided attention.

        Keys: ``loss``, ``mel/l1``, ``mel/mse``, ``postnet/l1``, ``postnet/mse`` (tacotron2) or
        ``linear/l1`` (tacotron1), ``stop/bce``, ``attention/guided`` (unweighted) and
        ``attention/weight``. In training mode every call counts one update for the decay.
        """
        mels = self._pad_frames(batch.mels)
        out = self(batch.tokens, batch.token_lengths, mels, batch.mel_lengths, batch.speakers)
        frames = mels.shape[-1]
        mask = lengths_mask(batch.mel_lengths, frames).unsqueeze(1)  # (B, 1, T)
        count = mask.sum() * self.n_mels
        parts: dict[str, Tensor] = {}
        before = (out.mels.float() - mels) * mask
        parts["mel/l1"] = before.abs().sum() / count
        parts["mel/mse"] = before.pow(2).sum() / count
        total = parts["mel/l1"] + parts["mel/mse"]
        if self.config.variant == "tacotron2":
            after = (out.postnet.float() - mels) * mask
            parts["postnet/l1"] = after.abs().sum() / count
            parts["postnet/mse"] = after.pow(2).sum() / count
            total = total + parts["postnet/l1"] + parts["postnet/mse"]
        else:
            target = self._linear_target(batch, frames)
            parts["linear/l1"] = ((out.postnet.float() - target).abs() * mask).sum() / (mask.sum() * target.shape[1])
            total = total + parts["linear/l1"]
        steps = torch.div(batch.mel_lengths + self.r - 1, self.r, rounding_mode="floor")  # (B,)
        # Stop target 1 from the step holding the last frame on, padding steps included: they
        # teach "after the end comes stop" (as NVIDIA's reference does), with pos_weight for balance.
        stop_target = (torch.arange(out.stop_logits.shape[1], device=steps.device).unsqueeze(0)
                       >= (steps - 1).unsqueeze(1)).float()
        parts["stop/bce"] = F.binary_cross_entropy_with_logits(
            out.stop_logits.float(), stop_target,
            pos_weight=torch.tensor(self.config.stop_pos_weight, device=stop_target.device))
        total = total + parts["stop/bce"]
        weight = self.guided_attention_weight()
        parts["attention/guided"] = guided_attention_loss(out.alignments, steps, batch.token_lengths,
                                                          self.config.guided_attention_sigma)
        parts["attention/weight"] = torch.tensor(weight)
        if weight > 0:
            total = total + weight * parts["attention/guided"]
        if self.training:
            self.updates += 1
        return {"loss": total, **parts}

    def _linear_target(self, batch, frames: int) -> Tensor:
        """Log linear magnitude ``(B, n_fft // 2 + 1, frames)`` of the batch audio (tacotron1's target)."""
        from ..audio import log_magnitude

        if batch.audio is None:
            raise ValueError("the tacotron1 variant needs batch.audio for its linear-spectrogram target")
        spec = log_magnitude(batch.audio.float(), self.audio)[..., :frames]
        return F.pad(spec, (0, frames - spec.shape[-1]), value=self.pad_value)

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def infer(self, tokens: Tensor, token_lengths: Tensor | None = None, speakers: Tensor | None = None,
              stop_threshold: float | None = None, max_decoder_steps: int | None = None,
              seed: int | None = None, attention_window: list[int] | None = None) -> TacotronInference:
        """Synthesise mels from token ids, a batch at a time.

        Args:
            tokens: ``(B, L)`` long, padded with 0 (or ``(L,)`` for one sentence).
            token_lengths: ``(B,)``; all ``L`` when None.
            speakers: ``(B,)`` speaker indices (multi-speaker models; 0 when None).
            stop_threshold, max_decoder_steps, attention_window: override the config's (``[]``: no window).
            seed: seeds the prenet dropout (kept on at inference) for reproducible output.
        Returns:
            TacotronInference; the decoder warns (RuntimeWarning) when it hits the step limit.
        """
        if tokens.ndim == 1:
            tokens = tokens.unsqueeze(0)
        if token_lengths is None:
            token_lengths = torch.full((tokens.shape[0],), tokens.shape[1], dtype=torch.long, device=tokens.device)
        if tokens.shape[1] == 0 or int(token_lengths.min()) < 1:
            raise ValueError("every sentence needs at least one token")
        threshold = self.config.stop_threshold if stop_threshold is None else stop_threshold
        limit = self.config.max_decoder_steps if max_decoder_steps is None else max_decoder_steps
        if attention_window is not None:
            check_attention_window(list(attention_window), "attention_window")
        window = self.config.attention_window if attention_window is None else attention_window
        rng = torch.random.fork_rng(devices=[]) if seed is not None else contextlib.nullcontext()
        with rng:
            if seed is not None:
                torch.manual_seed(seed)
            out = self.decoder.infer(self.encode(tokens, token_lengths, speakers), threshold, limit, window=window)
        mask = lengths_mask(out.lengths, out.frames.shape[-1]).unsqueeze(1)
        frames = out.frames.masked_fill(~mask, self.pad_value)
        post = self._postnet(out.frames, out.lengths)
        if self.config.variant == "tacotron2":
            return TacotronInference(mels=post.masked_fill(~mask, self.pad_value), lengths=out.lengths,
                                     alignments=out.alignments, finished=out.finished)
        return TacotronInference(mels=frames, lengths=out.lengths, alignments=out.alignments, finished=out.finished,
                                 linear=post.masked_fill(~mask, self.pad_value))

    # ------------------------------------------------------------------ validation hooks
    @torch.no_grad()
    def validation_metrics(self, batch) -> dict[str, float]:
        """Alignment quality, teacher-forced and free-running, and the share of stopped sentences.

        ``align/focus``, ``align/diagonality``, ``align/coverage`` (teacher forcing);
        ``infer/focus``, ``infer/stopped`` (stop fired before twice the true length plus 10 steps)
        and ``infer/length_ratio`` (predicted / true frames, over stopped sentences).
        """
        mels = self._pad_frames(batch.mels)
        out = self(batch.tokens, batch.token_lengths, mels, batch.mel_lengths, batch.speakers)
        steps = torch.div(batch.mel_lengths + self.r - 1, self.r, rounding_mode="floor")
        scores = {f"align/{k}": float(v.mean()) for k, v in
                  alignment_scores(out.alignments, steps, batch.token_lengths).items()}
        limit = int(2 * steps.max()) + 10
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # unstopped sentences are what we count
            result = self.infer(batch.tokens, batch.token_lengths, batch.speakers, max_decoder_steps=limit, seed=0)
        infer_steps = torch.div(result.lengths + self.r - 1, self.r, rounding_mode="floor")
        scores["infer/focus"] = float(alignment_scores(result.alignments, infer_steps, batch.token_lengths)["focus"]
                                      .mean())
        scores["infer/stopped"] = float(result.finished.float().mean())
        ratio = result.lengths.float() / batch.mel_lengths.float()
        scores["infer/length_ratio"] = float(ratio[result.finished].mean()) if bool(result.finished.any()) else 0.0
        return scores

    @torch.no_grad()
    def validation_outputs(self, batch) -> dict:
        """Images of the first item's alignment and mels (target, teacher-forced, free-running)."""
        first = slice(0, 1)
        mels = self._pad_frames(batch.mels[first])
        length = int(batch.mel_lengths[0])
        steps = -(-length // self.r)
        tokens = int(batch.token_lengths[0])
        speakers = batch.speakers[first] if batch.speakers is not None else None
        out = self(batch.tokens[first, :tokens], batch.token_lengths[first], mels, batch.mel_lengths[first], speakers)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            free = self.infer(batch.tokens[first, :tokens], batch.token_lengths[first], speakers,
                              max_decoder_steps=2 * steps + 10, seed=0)
        free_length = int(free.lengths[0])
        images = {
            # (tokens, steps) with token 0 at the bottom, as alignment plots are usually drawn
            "alignment": out.alignments[0, :steps, :tokens].float().T.flip(0).cpu().numpy(),
            "alignment_inferred": free.alignments[0, :, :tokens].float().T.flip(0).cpu().numpy(),
            "mel_target": batch.mels[0, :, :length].float().flip(0).cpu().numpy(),
            "mel_inferred": free.mels[0, :, :free_length].float().flip(0).cpu().numpy(),
        }
        if self.config.variant == "tacotron2":
            images["mel_teacher_forced"] = out.postnet[0, :, :length].float().flip(0).cpu().numpy()
        audio = self._validation_audio(batch.mels[0, :, :length], free.mels[0, :, :free_length])
        return {"images": images, "audio": audio}

    def _validation_audio(self, target: Tensor, inferred: Tensor) -> dict:
        """Griffin-Lim audio of the target and free-running mels ``(n_mels, frames)``, to hear in TensorBoard.

        A few iterations keep validation cheap: phase artefacts remain, the words and the prosody are there.
        """
        from ..audio import mel_to_audio

        out = {}
        for name, mel in (("target", target), ("inferred", inferred)):
            if mel.shape[-1] > 0:
                wave = mel_to_audio(mel[None].float().cpu(), self.audio, n_iter=VALIDATION_GRIFFIN_LIM_ITERS)[0]
                out[name] = (wave, self.audio.sample_rate)
        return out


# ---------------------------------------------------------------------- registry hookup
def build_tacotron(config: Config) -> Tacotron:
    """The model of a root config (``tacotron:``, ``audio:`` and ``text:`` sections)."""
    from ..text import vocab_size

    return Tacotron(config.tacotron, vocab_size(config.text), config.audio)


def tacotron_datasets(features_dir: Path, config: Config):
    """Train and validation :class:`~wavetron.data.TextMelDataset` (plus audio for tacotron1) and collate."""
    from . import tacotron_data

    return tacotron_data.datasets(features_dir, config)


def _register() -> None:
    from .registry import ModelSpec, register_model

    register_model(ModelSpec(name="tacotron", section="tacotron", build=build_tacotron, datasets=tacotron_datasets))


_register()

__all__ = ["Tacotron", "TacotronInference", "TacotronOutput", "build_tacotron", "tacotron_datasets"]
