"""`wavetron vocode INPUT --vocoder CKPT --out out.wav`: a WaveNet turns a mel (or a wav's mel) into audio."""
from __future__ import annotations

import argparse
import sys

from . import add_config_arguments

LONG_SECONDS = 60.0  # inputs longer than this get a note: sample-by-sample generation takes minutes

HELP = "vocode a mel .npy, or copy-synthesise a wav, with a trained WaveNet"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="INPUT", help="a .wav (copy synthesis) or a mel .npy (n_mels, frames)")
    parser.add_argument("--vocoder", required=True, metavar="CKPT",
                        help="WaveNet run folder, checkpoint folder or exported .safetensors")
    parser.add_argument("--out", required=True, metavar="WAV", help="output audio file")
    parser.add_argument("--method", default="auto", choices=["auto", "fast", "cached"],
                        help="generator: compiled CPU loop (fast), torch queues (cached); auto picks by device")
    parser.add_argument("--precision", default=None, choices=["auto", "float32", "float16", "bfloat16", "fastest"],
                        help="fast-path weights: float16 halves the weight traffic (logits within ~3e-4 "
                             "relative); bfloat16 too, with no conversion per weight, on CPUs with AVX-512 BF16 "
                             "(inputs rounded as well: logits within ~5e-3 relative); auto uses float16 only "
                             "where lossless (a float16 export) and measured faster on this CPU; fastest is "
                             "bfloat16 where the CPU has it, else as auto (default: the voice card's when CKPT "
                             "is a voice folder's vocoder, else auto)")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature; 0 is argmax")
    parser.add_argument("--sharpen", type=float, default=None, metavar="X",
                        help="lower the temperature of voiced frames to temperature * (1 - X * voicing), X in "
                             "[0, 1); voicing is read off the mel (default: the voice card's when CKPT is a voice "
                             "folder's vocoder, as the shipped one, else 0: plain sampling)")
    parser.add_argument("--mel-match", type=int, default=None, metavar="N",
                        help="N steps that pull the output's mel onto the input mel, keeping the WaveNet's phase "
                             "and fine structure (wavetron.audio.match_mel; default: the voice card's when CKPT is a "
                             "voice folder's vocoder, else 0: none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (folded segments run in parallel)")
    parser.add_argument("--fold", type=int, default=None, metavar="FRAMES",
                        help="generate in overlapping segments of FRAMES frames as one batch (long inputs)")
    parser.add_argument("--overlap", type=int, default=8, metavar="FRAMES", help="cross-faded frames with --fold")
    parser.add_argument("--speaker", type=int, default=None, help="speaker id of a multi-speaker vocoder")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    add_config_arguments(parser)  # the audio settings of a .npy mel, when not in a features folder


def run(args: argparse.Namespace) -> int:
    import time

    import torch

    from ..audio import save
    from ..config import load_config
    from ..errors import ConfigError
    from ..vocode import input_mel, load_vocoder, vocode
    from ..voice import card_of

    card = card_of(args.vocoder)
    if args.sharpen is None:
        args.sharpen = card.sharpen if card is not None else 0.0
    if args.mel_match is None:
        args.mel_match = card.mel_match if card is not None else 0
    if args.precision is None:
        args.precision = card.precision if card is not None else "auto"
    if not 0.0 <= args.sharpen < 1.0:
        raise ConfigError(f"--sharpen {args.sharpen}: expected a value in [0, 1)")
    if args.mel_match < 0:
        raise ConfigError(f"--mel-match {args.mel_match}: expected a whole number >= 0")
    if args.precision in ("float16", "bfloat16") and args.method == "cached":
        raise ConfigError(f"--precision {args.precision}: the weights of the compiled loop (--method fast or auto); "
                          "--method cached runs the model as it is")
    if args.precision == "bfloat16":
        from ..generate.fast import bfloat16_available

        if not bfloat16_available():
            raise ConfigError("--precision bfloat16: this CPU lacks AVX-512 BF16 (or the C kernel is not built); "
                              "use float32 or float16")
    model, config = load_vocoder(args.vocoder, args.device)
    if args.sharpen and model.dims.output != "softmax":
        raise ConfigError(f"--sharpen: {args.vocoder} outputs a {model.dims.output} distribution; sharpening "
                          "applies to a softmax WaveNet")
    mel_audio = load_config(args.config, args.overrides).audio if (args.config or args.overrides) else None
    mel, _ = input_mel(args.input, config.audio, args.vocoder, mel_audio)
    for note in input_notes(mel, config.audio.hop_length, config.audio.sample_rate, args.fold):
        print(f"wavetron vocode: note: {args.input}: {note}", file=sys.stderr)
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    wave = vocode(model, mel.to(args.device), args.speaker, args.method, args.temperature, args.seed, args.threads,
                  args.fold, args.overlap, args.precision, args.sharpen, args.mel_match)
    elapsed = time.perf_counter() - start
    save(args.out, wave.float().cpu(), config.audio.sample_rate)
    seconds = wave.shape[-1] / config.audio.sample_rate
    print(f"{args.out}: {seconds:.2f} s of audio in {elapsed:.2f} s (real-time factor {elapsed / seconds:.2f})")
    return 0


def input_notes(mel, hop_length: int, sample_rate: int, fold: int | None) -> list[str]:
    """Lines worth saying before a long generation: a silent (constant) mel, an input of minutes."""
    notes = []
    seconds = mel.shape[-1] * hop_length / sample_rate
    if float(mel.max() - mel.min()) == 0.0:
        notes.append("the mel is constant (silence): the output will be near silence")
    if seconds > LONG_SECONDS:
        hint = "" if fold else "; --fold 64 generates it in segments, as one batch over the CPU threads"
        notes.append(f"{seconds:.0f} s of audio ({seconds * sample_rate:,.0f} samples) to generate one sample "
                     f"at a time: expect minutes{hint}")
    return notes
