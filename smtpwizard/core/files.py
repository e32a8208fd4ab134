"""Where files live, and how they are written: atomically, 0600, with a backup, under a lock."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from smtpwizard.core.errors import LockBusy, WriteFailed

FILE_MODE = 0o600
DIR_MODE = 0o700
LOCK_WAIT_S = 10.0


def config_dir() -> Path:
    """``$XDG_CONFIG_HOME/smtpwizard``, defaulting to ``~/.config/smtpwizard``."""
    base = os.environ.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "smtpwizard"


def default_config_path() -> Path:
    return config_dir() / "config.yaml"


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".bak")


def _lock_path(path: Path) -> Path:
    return path.with_name("." + path.name + ".lock")


def _why(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full; free some space and run again"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied; check the owner and mode of the folder, or choose another path with --config"
    if exc.errno == errno.EROFS:
        return "the file system is read-only; choose another path with --config"
    if exc.errno == errno.EISDIR:
        return "that path is a directory; give a file name such as config.yaml"
    return f"{exc.strerror or exc}; choose another path with --config"


def ensure_private_dir(directory: Path) -> None:
    """Create ``directory`` (and parents) with mode 0700 if it does not exist."""
    if directory.is_dir():
        return
    try:
        directory.mkdir(parents=True, mode=DIR_MODE, exist_ok=True)
        os.chmod(directory, DIR_MODE)  # mkdir's mode is filtered by the umask
    except OSError as exc:
        raise WriteFailed(f"cannot create {directory}: {_why(exc)}") from None


@contextlib.contextmanager
def locked(path: Path, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """Hold an exclusive lock for writing ``path``; waits up to ``wait_s`` for another run."""
    ensure_private_dir(path.parent)
    lock_file = _lock_path(path)
    try:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, FILE_MODE)
    except OSError as exc:
        raise WriteFailed(f"cannot write {path}: {_why(exc)}") from None
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockBusy(
                        f"{path}: another smtpwizard run is writing this config; wait for it to finish and run again"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def _write_temp(
    directory: Path, name: str, data: bytes, mode: int = FILE_MODE, owner: tuple[int, int] | None = None
) -> Path:
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, mode)
        if owner is not None and owner != (os.geteuid(), os.getegid()):
            os.fchown(fd, *owner)  # an app's own file stays readable by the app's user
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _remove_leftovers(path: Path) -> None:
    """Delete temp files a killed run left beside ``path`` (the caller holds its lock, so no
    other run is writing them)."""
    for name in (path.name, backup_path(path).name):
        for leftover in path.parent.glob(f".{name}.*.tmp"):
            with contextlib.suppress(OSError):
                leftover.unlink()


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(
    path: Path, text: str, *, keep_backup: bool = True, mode: int = FILE_MODE, keep_owner: bool = False
) -> Path | None:
    """Replace ``path`` with ``text`` atomically (temp file, fsync, rename), with ``mode``.

    What it replaces is first copied to ``<name>.bak`` (also atomically, same mode). With
    ``keep_owner`` the new file keeps the old one's owner and group (when permitted). The
    caller should hold :func:`locked`. Returns the backup path, if one was made. On any
    error the old file is untouched and WriteFailed is raised.
    """
    path = Path(os.path.realpath(path))  # write through a symlink, keep the link
    if path.is_dir():
        raise WriteFailed(f"cannot write {path}: {_why(OSError(errno.EISDIR, 'Is a directory'))}")
    ensure_private_dir(path.parent)
    _remove_leftovers(path)
    backup: Path | None = None
    tmp: Path | None = None  # a temp file not yet renamed into place: removed on any error
    try:
        owner = None
        if path.exists():
            info = path.stat()
            owner = (info.st_uid, info.st_gid) if keep_owner and os.geteuid() == 0 else None
        if keep_backup and path.exists():
            backup = backup_path(path)
            old = path.read_bytes()
            tmp = _write_temp(path.parent, backup.name, old, mode, owner)
            os.replace(tmp, backup)
        tmp = _write_temp(path.parent, path.name, text.encode("utf-8"), mode, owner)
        os.replace(tmp, path)
        tmp = None
        _fsync_dir(path.parent)
    except OSError as exc:
        raise WriteFailed(f"cannot write {path}: {_why(exc)}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
    return backup
