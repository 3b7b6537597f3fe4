"""Atomic writes: the old file or the new one, never half of one, with ordinary permissions."""
from __future__ import annotations

import os
import stat

import pytest

from wavetron.io import atomic_path, atomic_write_text


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_file_gets_the_permissions_of_a_plain_open(tmp_path):
    atomic_write_text(tmp_path / "new.txt", "hello")
    with open(tmp_path / "plain.txt", "w") as handle:
        handle.write("hello")
    assert (tmp_path / "new.txt").read_text() == "hello"
    assert _mode(tmp_path / "new.txt") == _mode(tmp_path / "plain.txt")


def test_replacing_keeps_the_old_files_permissions_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("old")
    os.chmod(path, 0o640)
    atomic_write_text(path, "new")
    assert path.read_text() == "new" and _mode(path) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.txt"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "data.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.txt"]


@pytest.fixture
def read_only_dir(tmp_path):
    """A folder no one may write into: chmod 555, and immutable (chattr +i) where root ignores modes."""
    import subprocess

    folder = tmp_path / "read-only"
    folder.mkdir()
    os.chmod(folder, 0o555)
    immutable = False
    if os.access(folder, os.W_OK) or os.geteuid() == 0:
        immutable = subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
        if not immutable:
            pytest.skip("cannot make a folder read-only for root here (no chattr)")
    yield folder
    if immutable:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    os.chmod(folder, 0o755)


def test_a_read_only_folder_names_the_file_asked_for_not_the_temporary(read_only_dir, capsys):
    from wavetron.cli import _one_line

    target = read_only_dir / "out.wav"
    with pytest.raises(PermissionError) as caught:
        atomic_write_text(target, "x")
    line = _one_line(caught.value)
    assert line.startswith(f"{target}: cannot write into its folder (") and ".tmp" not in line
    assert list(read_only_dir.iterdir()) == []
