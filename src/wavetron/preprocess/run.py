"""``wavetron preprocess``: an LJSpeech-format folder -> a features folder (see the package docstring)."""
from __future__ import annotations

import json
import os
import random
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Iterable, Iterator

from ..config import AudioConfig, Config, DataConfig, to_dict
from ..errors import DataError
from ..io import atomic_write_text
from .item import ItemFeatures, ItemJob, init_worker, process_item
from .metadata import BadItem, find_metadata, read_metadata

MANIFEST = "manifest.json"
REPORT = "report.txt"
# Written first, so an interrupted run can still tell which settings made its files.
SETTINGS = "preprocess.json"
VERSION = 1
ITEMS_PER_WORKER = 32  # without --workers, one process per this many items (up to one per core)


@dataclass
class PreprocessResult:
    """What a run did: the manifest items, the skipped items and which features were computed."""

    out_dir: Path
    items: list[dict]
    bad: list[BadItem]
    computed: list[str] = field(default_factory=list)  # ids whose features this run computed
    reused: list[str] = field(default_factory=list)  # ids whose files were already there (--resume)


def preprocess(data_dir: str | Path, out_dir: str | Path, config: Config | None = None, *,
               resume: bool = False, workers: int | None = None, progress: bool = True) -> PreprocessResult:
    """Turn an LJSpeech-format dataset into a features folder.

    Args:
        data_dir: folder with ``metadata.csv`` and ``wavs/<id>.wav``.
        out_dir: the features folder to write (new or empty, or an earlier run of it with ``resume``).
        config: audio, text and data settings (defaults when None).
        resume: keep the feature files an interrupted run left; refused if its audio settings differ.
        workers: processes; 1 runs in this process. Default: one per core, but no more than one
            per 32 items, since each spawned worker first spends seconds importing torch.
        progress: show a tqdm bar on stderr.

    Returns:
        The run's :class:`PreprocessResult`; bad items are also in ``out_dir/report.txt`` and on stderr.

    Raises:
        DataError: a missing folder or metadata file, an out_dir that cannot be used, no usable item.
    """
    config = config or Config()
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    entries, bad = read_metadata(find_metadata(data_dir))
    prepare_out_dir(out_dir, config, resume)
    jobs = [ItemJob(entry, data_dir / "wavs" / f"{entry.id}.wav", out_dir, config.audio, config.text,
                    config.data, resume) for entry in entries]
    done: dict[str, ItemFeatures] = {}
    for outcome in _run_jobs(jobs, workers, progress):
        if isinstance(outcome, BadItem):
            bad.append(outcome)
        else:
            done[outcome.id] = outcome
    good = [done[entry.id] for entry in entries if entry.id in done]  # metadata order
    order = {entry.id: n for n, entry in enumerate(entries)}
    bad.sort(key=lambda item: order.get(item.where, -1))
    write_report(out_dir / REPORT, bad)
    _print_report(bad, len(good), out_dir)
    if not good:
        raise DataError(f"{data_dir}: no usable items ({len(bad)} skipped, see {out_dir / REPORT})")
    items = manifest_items(good, validation_ids(sorted(done), config.data))
    speakers = sorted({item.speaker for item in good})
    write_manifest(out_dir, config, speakers, items)
    return PreprocessResult(out_dir, items, bad, computed=[item.id for item in good if not item.reused],
                            reused=[item.id for item in good if item.reused])


def _run_jobs(jobs: list[ItemJob], workers: int | None, progress: bool) -> Iterator[ItemFeatures | BadItem]:
    """Process every job, in a process pool unless one worker is asked for (or there is one job)."""
    from tqdm import tqdm

    if workers is None:
        # A spawned worker pays seconds of imports (torch, librosa): worth it only for enough items.
        workers = min(os.cpu_count() or 1, max(1, len(jobs) // ITEMS_PER_WORKER))
    workers = max(1, min(workers, len(jobs) or 1))
    bar = tqdm(total=len(jobs), desc="preprocess", unit="item", disable=not progress, file=sys.stderr)
    try:
        if workers == 1:
            yield from _run_here(jobs, bar)
            return
        # spawn, not fork: forking a process whose torch/OpenMP threads already ran can deadlock.
        pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=init_worker)
        try:
            futures = [pool.submit(process_item, job) for job in jobs]
            for future in as_completed(futures):
                yield future.result()
                bar.update()
        finally:
            # On Ctrl-C, drop the queued items instead of waiting for all of them to finish.
            pool.shutdown(wait=True, cancel_futures=True)
    finally:
        bar.close()


def _run_here(jobs: list[ItemJob], bar) -> Iterator[ItemFeatures | BadItem]:
    """Process the jobs in this process, with one torch thread as in the workers.

    Per-item tensors are ~1e5 samples: threads gain nothing on them and spin against each other
    (and other programs) on a busy machine.
    """
    from ..threads import torch_threads

    with torch_threads(1):
        for job in jobs:
            yield process_item(job)
            bar.update()


def prepare_out_dir(out_dir: Path, config: Config, resume: bool) -> None:
    """Check that ``out_dir`` may be written and record the settings that make its features.

    Without ``resume`` the folder must be new or empty (a features folder is never overwritten
    silently); with ``resume`` an earlier run's folder is accepted only if its settings match.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"{out_dir}: expected a folder for the features, got a file")
    has_files = out_dir.is_dir() and any(out_dir.iterdir())
    is_features = (out_dir / SETTINGS).is_file() or (out_dir / MANIFEST).is_file()
    if has_files and not resume:
        if is_features:
            raise DataError(f"{out_dir}: already holds features; pass --resume to continue that run, "
                            "or remove the folder to start over")
        raise DataError(f"{out_dir}: folder is not empty; give a new or empty folder for the features")
    if has_files and not is_features:
        raise DataError(f"{out_dir}: --resume expects a features folder from 'wavetron preprocess', "
                        "and this one has no preprocess.json or manifest.json")
    if is_features:
        _check_same_settings(out_dir, config)
    atomic_write_text(out_dir / SETTINGS, json.dumps(_settings(config), indent=1) + "\n")


def _settings(config: Config) -> dict:
    """The settings the feature files depend on: the audio config and the signal processing."""
    data = config.data
    return {"version": VERSION, "audio": to_dict(config.audio), "audio_hash": config.audio.feature_hash(),
            "signal": signal_settings(data)}


def signal_settings(data: DataConfig) -> dict:
    """The data settings that change the processed audio (filters and the split do not)."""
    return {"trim_db": data.trim_db, "normalize": data.normalize,
            "peak": data.peak if data.normalize == "peak" else None,
            "loudness_db": data.loudness_db if data.normalize == "loudness" else None}


def _check_same_settings(out_dir: Path, config: Config) -> None:
    path = out_dir / SETTINGS if (out_dir / SETTINGS).is_file() else out_dir / MANIFEST
    try:
        old = json.loads(path.read_text())
        old_hash, old_audio = old["audio_hash"], old["audio"]
    except (OSError, ValueError, KeyError, TypeError):
        raise DataError(f"{path}: unreadable or malformed; remove {out_dir} to start over") from None
    if old_hash != config.audio.feature_hash():
        try:
            was = AudioConfig(**old_audio).describe()
        except Exception:  # an older AudioConfig: its fields are still worth showing
            was = json.dumps(old_audio, sort_keys=True)
        raise DataError(f"{out_dir}: made with other audio settings ({was}) than now "
                        f"({config.audio.describe()}); use the same config or a new folder")
    signal = old.get("signal")
    if signal is not None and signal != signal_settings(config.data):
        raise DataError(f"{out_dir}: made with other data settings {signal} than now "
                        f"{signal_settings(config.data)}; use the same config or a new folder")


def validation_ids(ids: Iterable[str], data: DataConfig) -> set[str]:
    """The ids held out for validation, drawn from ``data.seed``.

    At most ``data.validation_size`` and at most 10% of the items, but at least one item when
    ``validation_size > 0`` and there are two items or more, so a tiny corpus still validates.
    """
    ids = sorted(ids)
    if data.validation_size <= 0 or len(ids) < 2:
        return set()
    count = min(data.validation_size, max(1, len(ids) // 10))
    random.Random(data.seed).shuffle(ids)
    return set(ids[:count])


def manifest_items(good: list[ItemFeatures], validation: set[str]) -> list[dict]:
    """The manifest's item dicts, in metadata order, with speaker indices into the sorted names."""
    speakers = {name: index for index, name in enumerate(sorted({item.speaker for item in good}))}
    return [{"id": item.id, "text": item.text, "normalized_text": item.normalized_text,
             "speaker": speakers[item.speaker], "split": "val" if item.id in validation else "train",
             "samples": item.samples, "frames": item.frames, "tokens": item.tokens} for item in good]


def write_manifest(out_dir: Path, config: Config, speakers: list[str], items: list[dict]) -> None:
    """``manifest.json`` (see :mod:`wavetron.data`), written atomically and last."""
    manifest = {"version": VERSION, "audio": to_dict(config.audio), "audio_hash": config.audio.feature_hash(),
                "text": to_dict(config.text), "signal": signal_settings(config.data),
                "audio_dtype": "float32", "speakers": speakers, "items": items}
    atomic_write_text(out_dir / MANIFEST, json.dumps(manifest, ensure_ascii=False, separators=(",", ":")) + "\n")


def write_report(path: Path, bad: list[BadItem]) -> None:
    """One skipped item per line, ``<id>: <reason>``; empty when nothing was skipped."""
    atomic_write_text(path, "".join(f"{item}\n" for item in bad))


def _print_report(bad: list[BadItem], good: int, out_dir: Path) -> None:
    print(f"preprocess: {good} item(s) written to {out_dir}, {len(bad)} skipped", file=sys.stderr)
    for item in bad:
        print(f"  skipped {item}", file=sys.stderr)
