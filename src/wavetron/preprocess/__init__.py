"""Dataset preprocessing: an LJSpeech-format folder -> a features folder.

A features folder holds:

- ``manifest.json`` (written atomically, last): ``{"version": 1, "audio": AudioConfig dict,
  "audio_hash": AudioConfig.feature_hash(), "text": TextConfig dict, "speakers": [names],
  "items": [{"id", "text", "normalized_text", "speaker": int, "split": "train"|"val",
  "samples", "frames", "tokens": [int]}]}``, plus ``"signal"`` (trim/normalise settings)
  and ``"audio_dtype": "float32"``;
- ``mels/<id>.npy``: float32 ``(n_mels, frames)`` log-mel of the processed audio;
- ``audio/<id>.npy``: float32 ``(samples,)`` processed audio in [-1, 1] with
  ``samples == frames * hop_length``, so mel frame f lines up with samples ``[f*hop, (f+1)*hop)``;
- ``report.txt``: the skipped items, ``<id>: <reason>`` per line;
- ``preprocess.json``: the settings of the run, written first so ``--resume`` can check them.
"""
from .item import mel_of_processed
from .metadata import BadItem, MetadataEntry, read_metadata
from .run import PreprocessResult, preprocess, validation_ids

__all__ = ["BadItem", "MetadataEntry", "PreprocessResult", "mel_of_processed", "preprocess", "read_metadata",
           "validation_ids"]
