"""Atomic, private writes with a backup and a lock."""

from __future__ import annotations

import errno
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from smtpwizard.core.errors import LockBusy, WriteFailed
from smtpwizard.core.files import atomic_write, backup_path, default_config_path, locked


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_default_path_follows_xdg(config_home: Path) -> None:
    assert default_config_path() == config_home / "smtpwizard" / "config.yaml"


def test_write_creates_private_file_and_directory_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        target = tmp_path / "new" / "dir" / "config.yaml"
        assert atomic_write(target, "a: 1\n") is None
    finally:
        os.umask(old)
    assert target.read_text() == "a: 1\n"
    assert mode(target) == 0o600
    assert mode(target.parent) == 0o700
    assert [p.name for p in target.parent.iterdir()] == ["config.yaml"]  # no temp files left


def test_replacing_keeps_a_private_backup_of_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "config.yaml"
    atomic_write(target, "old\n")
    backup = atomic_write(target, "new\n")
    assert backup == backup_path(target)
    assert backup.read_text() == "old\n" and mode(backup) == 0o600
    assert target.read_text() == "new\n"


def test_write_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_text("old\n")
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    atomic_write(link, "new\n")
    assert link.is_symlink() and real.read_text() == "new\n"


def test_a_directory_in_the_way_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "config.yaml"
    target.mkdir()
    with pytest.raises(WriteFailed, match="is a directory"):
        atomic_write(target, "x\n")


@pytest.mark.parametrize(
    ("error", "message"),
    [(errno.EACCES, "permission denied"), (errno.ENOSPC, "disk is full"), (errno.EROFS, "read-only")],
)
def test_failed_rename_keeps_the_old_file_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: int, message: str
) -> None:
    target = tmp_path / "config.yaml"
    atomic_write(target, "old\n")
    real_replace = os.replace

    def failing_replace(src: str | Path, dst: str | Path) -> None:
        if Path(dst) == target:
            raise OSError(error, os.strerror(error))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(WriteFailed, match=message):
        atomic_write(target, "new\n")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "config.yaml.bak"]


def test_a_second_writer_waits_then_gives_up_with_a_clear_message(tmp_path: Path) -> None:
    target = tmp_path / "config.yaml"
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with locked(target):
            holding.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(5)
    started = time.monotonic()
    with pytest.raises(LockBusy, match="another smtpwizard run"), locked(target, wait_s=0.3):
        pass
    assert time.monotonic() - started >= 0.3
    release.set()
    thread.join()
    with locked(target, wait_s=0.3):
        pass  # free again
