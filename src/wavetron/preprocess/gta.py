"""Ground-truth-aligned (GTA) features: a features folder whose mels are a Tacotron's teacher-forced output.

Tacotron 2 trained its WaveNet on such mels (Shen et al. 2018, section 3.2): each predicted frame is
aligned with the real audio, so a model that maps mel to audio (or to a linear spectrogram) learns
to undo the Tacotron's smoothing. The new folder holds ``mels/`` of the same shapes as the source's,
a copy of its manifest, and a link to its ``audio/``, so every dataset that reads a features folder
reads this one too. With ``with_recordings`` the folder also holds every item a second time with its
recorded mel, as ``ID-rec`` (its ``audio/`` then links file by file): a vocoder trained on it learns the
Tacotron's mels without forgetting the recordings'. With ``refine`` each Tacotron mel is passed through a mel ->
linear network's :meth:`~wavetron.models.mel2linear.MelToLinear.refine`, so a WaveNet that speaks the refined
mel (``Synthesizer(refine_mel=True)``) is trained on what it will be given.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

from ..errors import DataError
from ..io import atomic_save_npy, atomic_write_text

GTA_KEY = "gta"  # manifest key naming the Tacotron that made the mels
SETTINGS = "gta.json"  # written first: which Tacotron's mels an interrupted run was writing
RECORDED = "-rec"  # id suffix of an item's twin that keeps the recorded mel (with_recordings)


def weights_digest(model: torch.nn.Module) -> str:
    """A short SHA-256 of a model's weights (names and float32 values), whatever file they came from."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


@torch.no_grad()
def write_gta_features(tacotron: str | Path, features_dir: str | Path, out_dir: str | Path,
                       batch_size: int = 16, seed: int = 0, progress: bool = True,
                       with_recordings: bool = False, refine: str | Path | None = None) -> int:
    """Write the teacher-forced post-net mels of every item of ``features_dir`` into ``out_dir``.

    Items whose mel file is already there are kept, so an interrupted run resumes; a folder begun
    with other Tacotron weights is refused rather than mixed.

    Args:
        tacotron: a run folder, checkpoint folder or ``.safetensors`` export of a Tacotron trained on
            features with the same audio settings.
        batch_size: items per teacher-forced pass (grouped by length).
        seed: seeds the prenet dropout, which stays on as at inference.
        with_recordings: also keep each item with its recorded mel, as ``ID-rec`` in the same split.
        refine: a mel -> linear network (run folder, checkpoint or export) whose refined mel of each
            teacher-forced mel is written instead.
    Returns:
        The number of mels this call computed.
    Raises:
        DataError: ``tacotron`` is not a Tacotron, its audio or text settings differ from the features',
            ``refine`` is not a mel -> linear network of the same audio settings, or ``out_dir`` holds the
            mels of other weights or was written with the other ``with_recordings``.
    """
    from tqdm import tqdm

    from ..data import FeatureSet, TextMelDataset
    from ..models.tacotron import Tacotron
    from ..train import load_model_checkpoint

    features = FeatureSet(features_dir)
    model, config = load_model_checkpoint(tacotron)
    if not isinstance(model, Tacotron):
        raise DataError(f"{tacotron}: not a Tacotron model ({type(model).__name__})")
    if config.audio.feature_hash() != features.audio_config.feature_hash():
        raise DataError(f"{tacotron}: trained on mels with {config.audio.describe()}, but {features.root} holds "
                        f"{features.audio_config.describe()}")
    if config.text != features.text_config:
        raise DataError(f"{tacotron}: trained on text settings {config.text}, but {features.root} holds "
                        f"{features.text_config}")
    refiner = None
    if refine is not None:
        refiner, refine_config = load_model_checkpoint(refine)
        if not hasattr(refiner, "refine"):
            raise DataError(f"{refine}: not a mel -> linear network ({type(refiner).__name__})")
        if refine_config.audio.feature_hash() != features.audio_config.feature_hash():
            raise DataError(f"{refine}: trained on mels with {refine_config.audio.describe()}, but {features.root} "
                            f"holds {features.audio_config.describe()}")
    out = Path(out_dir)
    made_by = {"tacotron": str(Path(tacotron).resolve()), "weights": weights_digest(model),
               "source": str(features.root.resolve())}
    if refiner is not None:
        made_by |= {"refine": str(Path(refine).resolve()), "refine_weights": weights_digest(refiner)}
    if with_recordings:
        made_by["with_recordings"] = True
    if (out / SETTINGS).is_file():
        try:
            earlier = json.loads((out / SETTINGS).read_text(encoding="utf-8"))
        except ValueError as err:
            raise DataError(f"{out / SETTINGS}: not valid JSON ({err})") from None
        if any(earlier.get(key) != made_by.get(key) for key in ("weights", "source", "refine_weights")):
            raise DataError(f"{out}: holds the mels of other Tacotron weights, features or refiner "
                            f"({earlier.get('tacotron')}, {earlier.get('source')}, {earlier.get('refine')}); "
                            "write to a new folder")
        if earlier.get("with_recordings", False) != with_recordings:
            raise DataError(f"{out}: was written {'without' if with_recordings else 'with'} the recordings' mels; "
                            "write to a new folder")
    elif out.exists() and any(out.iterdir()):
        raise DataError(f"{out}: not empty and not a folder of ground-truth-aligned mels; write to a new folder")
    atomic_write_text(out / SETTINGS, json.dumps(made_by, indent=1))
    (out / "mels").mkdir(parents=True, exist_ok=True)
    audio_link = out / "audio"
    manifest = json.loads(features.manifest_path.read_text(encoding="utf-8"))
    manifest[GTA_KEY] = made_by
    if with_recordings:  # each item twice: ID (the Tacotron's mel) and ID-rec (the recorded one), one audio
        audio_link.mkdir(exist_ok=True)
        for item in features.items():
            for name in (item.id, item.id + RECORDED):
                _link(features.audio_path(item.id), audio_link / f"{name}.npy")
            _link(features.mel_path(item.id), out / "mels" / f"{item.id}{RECORDED}.npy")
        manifest["items"] = [twin for raw in manifest["items"] for twin in (raw, raw | {"id": raw["id"] + RECORDED})]
    elif not audio_link.exists():
        os.symlink(features.root.resolve() / "audio", audio_link, target_is_directory=True)

    data = TextMelDataset(features, split=None)
    todo = [i for i, item in enumerate(data.items) if not (out / "mels" / f"{item.id}.npy").is_file()]
    todo.sort(key=lambda i: data.lengths[i])
    generator = torch.Generator().manual_seed(seed)
    for start in tqdm(range(0, len(todo), batch_size), disable=not progress, unit="batch"):
        batch = data.collate([data[i] for i in todo[start: start + batch_size]], frames_multiple=model.r)
        with torch.random.fork_rng():
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (), generator=generator)))
            predicted = model(batch.tokens, batch.token_lengths, batch.mels, batch.mel_lengths,
                              batch.speakers).postnet.float()
            if refiner is not None:
                predicted = refiner.refine(predicted, batch.mel_lengths)
        for row, item_id in enumerate(batch.ids):
            atomic_save_npy(out / "mels" / f"{item_id}.npy", predicted[row, :, : int(batch.mel_lengths[row])].numpy())
    atomic_write_text(out / "manifest.json", json.dumps(manifest))
    return len(todo)


def _link(target: Path, link: Path) -> None:
    """Make ``link`` a symbolic link to ``target`` (absolute) unless it is one already."""
    if not link.is_symlink():
        os.symlink(target.resolve(), link)


__all__ = ["GTA_KEY", "RECORDED", "weights_digest", "write_gta_features"]
