"""Where files live, and how they are written: atomically, 0600, with a backup, under a lock."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
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


def _trusted_owner(uid: int) -> bool:
    return uid in (0, os.geteuid())


def _refuse_foreign_symlink(
    path: Path, what: str, fix: str = "choose another path with --config"
) -> os.stat_result | None:
    """lstat ``path``; WriteFailed if it is a symlink owned by someone other than us or root
    (planted in a shared folder, it would make smtpwizard write wherever it points)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise WriteFailed(f"cannot write {path}: {_why(exc)}") from None
    if stat.S_ISLNK(info.st_mode) and not _trusted_owner(info.st_uid):
        raise WriteFailed(
            f"cannot write {path}: the {what} is a symbolic link owned by another user (uid {info.st_uid}); "
            f"remove it, or {fix}"
        )
    return info


def follow_trusted(path: Path, what: str = "config file", fix: str = "choose another path with --config") -> Path:
    """``path`` with the symlinks it names followed (ours or root's only), without realpath:
    checking each link's owner keeps the kernel's protected_symlinks rule meaningful.
    WriteFailed names ``what`` and ``fix`` when a link belongs to someone else."""
    for _ in range(16):
        info = _refuse_foreign_symlink(path, what, fix)
        if info is None or not stat.S_ISLNK(info.st_mode):
            return path
        path = Path(os.path.normpath(path.parent / os.readlink(path)))
    raise WriteFailed(f"cannot write {path}: too many levels of symbolic links; {fix}")


def secure_config_dir(directory: Path) -> None:
    """Make sure the config folder is private: created 0700 if missing; tightened to 0700 if
    it is ours and others could write in it; refused (WriteFailed) if it is someone else's
    or a shared sticky folder such as /tmp, where others may plant files and links."""
    _refuse_foreign_symlink(directory, "config folder")
    ensure_private_dir(directory)
    try:
        info = os.stat(directory)
        if not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return
        if info.st_uid == os.geteuid() and not info.st_mode & stat.S_ISVTX:
            os.chmod(directory, DIR_MODE)
            return
    except OSError as exc:
        raise WriteFailed(f"cannot write in {directory}: {_why(exc)}") from None
    raise WriteFailed(
        f"cannot write in {directory}: other users can write in that folder (mode {stat.S_IMODE(info.st_mode):04o}, "
        f"owner uid {info.st_uid}); keep the config in a private folder (the default ~/.config/smtpwizard), "
        "or choose one with --config"
    )


def wait_for_flock(fd: int, wait_s: float, busy: str, stop: Callable[[], None] | None = None) -> None:
    """Take an exclusive flock on ``fd``, waiting up to ``wait_s`` (LockBusy with ``busy`` after
    that); ``stop`` is called while waiting and may raise to give up at once."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockBusy(busy) from None
            if stop is not None:
                stop()
            time.sleep(0.05)


@contextlib.contextmanager
def locked(path: Path, wait_s: float = LOCK_WAIT_S, stop: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock for writing ``path``; waits up to ``wait_s`` for another run
    (``stop`` is called while waiting and may raise to give up at once, e.g. on SIGTERM)."""
    ensure_private_dir(path.parent)
    lock_file = _lock_path(path)
    try:  # never through a symlink: a planted one would make us create or truncate its target
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise WriteFailed(
                f"cannot write {path}: its lock file {lock_file} is a symbolic link; remove it and run again"
            ) from None
        raise WriteFailed(f"cannot write {path}: {_why(exc)}") from None
    try:
        wait_for_flock(
            fd,
            wait_s,
            f"{path}: another smtpwizard run is writing this config; wait for it to finish and run again",
            stop,
        )
        yield
    finally:
        os.close(fd)


def write_temp(
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


def fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(
    path: Path,
    text: str,
    *,
    keep_backup: bool = True,
    mode: int = FILE_MODE,
    keep_owner: bool = False,
    check: Callable[[Path], None] | None = None,
    before_replace: Callable[[], None] | None = None,
) -> Path | None:
    """Replace ``path`` with ``text`` atomically (temp file, fsync, rename), with ``mode``.

    What it replaces is first copied to ``<name>.bak`` (also atomically, same mode). With
    ``keep_owner`` the new file keeps the old one's owner and group (when permitted). A
    symlink at ``path`` is written through only if it is ours or root's; a backup that is
    someone else's symlink is refused. ``before_replace`` runs just before the rename (it may
    raise to stop); ``check`` runs on the written file, and if it raises, the previous file
    and backup are put back. The caller should hold :func:`locked`. Returns the backup path,
    if one was made. On any error the old file is untouched and WriteFailed (or what the
    hooks raised) is raised.
    """
    path = follow_trusted(path)
    if path.is_dir():
        raise WriteFailed(f"cannot write {path}: {_why(OSError(errno.EISDIR, 'Is a directory'))}")
    ensure_private_dir(path.parent)
    _refuse_foreign_symlink(backup_path(path), "backup file")
    _remove_leftovers(path)
    backup: Path | None = None
    tmp: Path | None = None  # a temp file not yet renamed into place: removed on any error
    old: bytes | None = None
    old_backup: bytes | None = None
    try:
        owner = None
        if path.exists():
            info = path.stat()
            owner = (info.st_uid, info.st_gid) if keep_owner and os.geteuid() == 0 else None
            old = path.read_bytes()
        if keep_backup and old is not None:
            backup = backup_path(path)
            with contextlib.suppress(FileNotFoundError):
                old_backup = backup.read_bytes()
            tmp = write_temp(path.parent, backup.name, old, mode, owner)
            os.replace(tmp, backup)
        tmp = write_temp(path.parent, path.name, text.encode("utf-8"), mode, owner)
        if before_replace is not None:
            before_replace()
        os.replace(tmp, path)
        tmp = None
        fsync_dir(path.parent)
    except OSError as exc:
        raise WriteFailed(f"cannot write {path}: {_why(exc)}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
    if check is not None:
        try:
            check(path)
        except BaseException:
            _put_back(path, old, backup, old_backup, mode, owner)
            raise
    return backup


def _put_back(
    path: Path,
    old: bytes | None,
    backup: Path | None,
    old_backup: bytes | None,
    mode: int,
    owner: tuple[int, int] | None,
) -> None:
    """Undo an atomic_write: the previous file (or none) and the previous backup (or none)."""
    with contextlib.suppress(OSError):
        if old is None:
            path.unlink(missing_ok=True)
        else:
            os.replace(write_temp(path.parent, path.name, old, mode, owner), path)
        if backup is not None:
            if old_backup is None:
                backup.unlink(missing_ok=True)
            else:
                os.replace(write_temp(path.parent, backup.name, old_backup, mode, owner), backup)
        fsync_dir(path.parent)
