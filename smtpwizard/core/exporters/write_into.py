"""Update an app's existing configuration file in place, touching only the mail keys.

``.env`` files: replace the lines of our keys (keeping ``export``), comment out keys that must
be unset (the other security mode, optional keys this config no longer sets), append the
missing ones; every other line stays byte for byte, lines inside another key's multi-line
quoted value included, and the file keeps its line endings. Mattermost ``config.json``: replace
only the values inside the ``EmailSettings`` Mattermost reads (the last one), in place.

Without the revealed secret, an existing password in the file is kept, never replaced by the
placeholder. Under a lock on the file itself, the new version replaces the file atomically
(temporary file with the same owner, group and mode, then rename) when a rename keeps all of
them; where it cannot (hard links, or a user who may write the file but not own it, e.g. through
its group) the file is rewritten in place so the app can still read it. Nothing of ours is left
beside it: the backup goes to smtpwizard's own folder.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import stat
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smtpwizard.core.apps.base import PASSWORD_PLACEHOLDER, Export
from smtpwizard.core.editors import with_comment
from smtpwizard.core.errors import ExportError, InputMissing, WriteFailed
from smtpwizard.core.exporters.formats import dotenv_value
from smtpwizard.core.files import (
    LOCK_WAIT_S,
    atomic_write,
    config_dir,
    ensure_private_dir,
    follow_trusted,
    fsync_dir,
    wait_for_flock,
    write_temp,
)

_ASSIGNMENT = re.compile(r"^(?P<indent>\s*)(?P<export>export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_.]*)\s*=(?P<value>.*)\Z")
# A message, not a password.
KEPT_NOTE = "The password already in {path} was kept (the export holds only a placeholder); add --reveal-secret to write the stored one."


@dataclass(frozen=True)
class WriteResult:
    backup: Path | None  # where the previous version was saved
    notes: tuple[str, ...] = ()  # what the user must know (e.g. the password was kept)


def _open_quote(value: str) -> str | None:
    """The quote a value opens and does not close on its line, else None (a backslash escapes
    the next character in both kinds of quotes, as compose-go's parser reads them)."""
    value = value.lstrip()
    if not value or value[0] not in "'\"":
        return None
    return value[0] if _closing(value[1:], value[0]) < 0 else None


def _closing(text: str, quote: str) -> int:
    """The index of the unescaped ``quote`` in ``text``, or -1."""
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i
        i += 1
    return -1


def _dotenv_comment(value: str) -> str:
    """The comment after a .env value, as compose-go and dotenv read one: after the closing quote
    of a quoted value, else from a ``#`` that follows a blank."""
    stripped = value.lstrip()
    offset = len(value) - len(stripped)
    start = 0
    if stripped[:1] in ("'", '"'):
        close = _closing(stripped[1:], stripped[0])
        if close < 0:
            return ""
        start = close + 2
        rest = stripped[start:]
        hash_at = rest.find("#")
        return value[offset + start + len(rest[:hash_at].rstrip()) :] if hash_at >= 0 else ""
    match = re.search(r"[ \t]+#", value)  # the whole value: an empty one keeps its comment too
    return value[match.start() :] if match else ""


def _newline_of(text: str) -> str:
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


def _placeholder_keys(pairs: tuple[tuple[str, object], ...]) -> set[str]:
    return {key for key, value in pairs if value == PASSWORD_PLACEHOLDER}


def rendered_values(export_text: str) -> dict[str, str]:
    """Each KEY=value line of a rendered .env export, the value exactly as quoted for its readers."""
    return {m["key"]: m["value"] for m in map(_ASSIGNMENT.match, export_text.splitlines()) if m is not None}


def update_dotenv(
    text: str,
    pairs: tuple[tuple[str, object], ...],
    unset: tuple[str, ...] = (),
    *,
    keep_existing: Collection[str] = (),
    rendered: dict[str, str] | None = None,
) -> str:
    """``text`` with ``pairs`` set and ``unset`` commented out; other lines unchanged.

    ``rendered`` gives each value as the export quoted it for the app's readers (else the
    docker compose / Ruby dotenv quoting). Keys in ``keep_existing`` keep the value the file
    already has (they are only added when missing). Raises ExportError when one of our keys has
    a value spread over several lines.
    """
    wanted = {key: (rendered or {}).get(key) or dotenv_value(value) for key, value in pairs}  # type: ignore[arg-type]
    newline = _newline_of(text)
    seen: set[str] = set()
    out: list[str] = []
    inside: str | None = None  # the quote of another key's multi-line value we are in
    for number, line in enumerate(text.splitlines(keepends=True), 1):
        body = line.rstrip("\r\n")
        ending = line[len(body) :]
        if inside is not None:
            out.append(line)  # part of another key's value: never touched
            if _closing(body, inside) >= 0:
                inside = None
            continue
        match = _ASSIGNMENT.match(body)
        if not match:
            out.append(line)
            continue
        key = match["key"]
        opened = _open_quote(match["value"])
        if key not in wanted and key not in unset:
            out.append(line)
            inside = opened
            continue
        if opened is not None:
            raise ExportError(
                f"line {number}: {key} has a value spread over several lines; edit that line by hand, then run again"
            )
        if key in unset:
            out.append(f"# {body}  (unset by smtpwizard){ending}")
        elif key in seen:
            out.append(f"# {body}  (duplicate, disabled by smtpwizard){ending}")
        elif key in keep_existing:
            seen.add(key)
            out.append(line)
        else:
            seen.add(key)
            assignment = f"{match['indent']}{match['export'] or ''}{key}={wanted[key]}"
            out.append(with_comment(assignment, _dotenv_comment(match["value"])) + (ending or newline))
    missing = [key for key in wanted if key not in seen]
    if missing:
        if out and not out[-1].endswith("\n"):
            out[-1] += newline
        out.append(f"# Mail settings added by smtpwizard{newline}")
        out.extend(f"{key}={wanted[key]}{newline}" for key in missing)
    return "".join(out)


_WS = re.compile(r"[ \t\n\r]*")


def _skip(text: str, i: int) -> int:
    match = _WS.match(text, i)
    return match.end() if match else i


def _members(text: str, start: int) -> tuple[list[tuple[str, int, int]], int]:
    """The members of the JSON object starting at ``start``: (key, value start, value end),
    and the index of its closing brace."""
    decoder = json.JSONDecoder()
    if text[start] != "{":
        raise ValueError("not an object")
    i = _skip(text, start + 1)
    members: list[tuple[str, int, int]] = []
    if text[i] == "}":
        return members, i
    while True:
        if text[i] != '"':
            raise ValueError("expected a key")
        key, i = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
        i = _skip(text, i)
        if text[i] != ":":
            raise ValueError("expected ':'")
        i = _skip(text, i + 1)
        _value, end = decoder.raw_decode(text, i)
        members.append((key, i, end))
        i = _skip(text, end)
        if text[i] == ",":
            i = _skip(text, i + 1)
            continue
        if text[i] == "}":
            return members, i
        raise ValueError("expected ',' or '}'")


def _last(members: list[tuple[str, int, int]]) -> dict[str, tuple[str, int, int]]:
    """Each key's last occurrence: Go's encoding/json (Mattermost's config loader) keeps the last."""
    return {member[0]: member for member in members}


def update_mattermost_json(text: str, settings: dict[str, Any], keep_existing: Collection[str] = ()) -> str:
    """``text`` (a Mattermost config.json) with the EmailSettings values replaced in place."""
    try:
        json.loads(text)
        top, _ = _members(text, _skip(text, 0))
        section = _last(top).get("EmailSettings")
        if section is None:
            raise ExportError("config.json has no EmailSettings section; is this Mattermost's config.json?")
        members, _close = _members(text, section[1])
    except (ValueError, IndexError) as exc:
        raise ExportError(f"config.json is not valid JSON ({exc}); fix it or restore it from its backup") from None
    last = _last(members)
    settings = {k: v for k, v in settings.items() if not (k in keep_existing and k in last)}
    edits = [(s, e, json.dumps(settings[key], ensure_ascii=False)) for key, s, e in last.values() if key in settings]
    missing = [key for key in settings if key not in last]
    if missing:
        # Append after the last member, indented like it (or 4 spaces in an empty section).
        newline = _newline_of(text)
        if members:
            anchor = members[-1][2]
            line_start = text.rfind("\n", 0, members[-1][1]) + 1
            leading = re.match(r"[ \t]*", text[line_start:])
            indent = leading.group(0) if leading else "    "
            prefix = ","
        else:
            anchor, indent, prefix = section[1] + 1, "    ", ""
        entries = [f"{newline}{indent}{json.dumps(k)}: {json.dumps(settings[k], ensure_ascii=False)}" for k in missing]
        edits.append((anchor, anchor, prefix + ",".join(entries) + ("" if members else newline)))
    result = text
    for s, e, replacement in sorted(edits, reverse=True):
        result = result[:s] + replacement + result[e:]
    return result


def _has_value(text: str, kind: str, key: str) -> bool:
    """Whether the app's file already sets ``key`` to something other than our placeholder."""
    if kind == "json":
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            value = json.loads(text).get("EmailSettings", {}).get(key)
            return bool(value) and value != PASSWORD_PLACEHOLDER
        return False
    for line in text.splitlines():
        match = _ASSIGNMENT.match(line)
        if match and match["key"] == key:
            value = match["value"].strip().strip("'\"")
            return bool(value) and value != PASSWORD_PLACEHOLDER
    return False


@contextlib.contextmanager
def _locked_for_writing(path: Path) -> Iterator[int]:
    """The app's file opened for writing and locked (flock on the file itself: no lock file)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError as exc:
        raise WriteFailed(
            f"--write-into: cannot write {path} ({exc.strerror}); run as a user who may write it"
        ) from None
    try:
        wait_for_flock(
            fd, LOCK_WAIT_S, f"{path}: another program holds a lock on it; wait for it to finish and run again"
        )
        yield fd
    finally:
        os.close(fd)


def _backup(path: Path, original: str) -> Path:
    """The previous version, saved in smtpwizard's own folder (never beside the app's file)."""
    folder = config_dir() / "backups"
    ensure_private_dir(folder)
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    backup = folder / f"{path.name}.{digest}.bak"
    atomic_write(backup, original, keep_backup=False)
    return backup


def _private_mode(fd: int, path: Path, info: os.stat_result) -> None:
    """A file holding the password is not world-readable: drop the others' bits, or refuse."""
    if not info.st_mode & stat.S_IRWXO:
        return
    try:
        os.fchmod(fd, stat.S_IMODE(info.st_mode) & ~stat.S_IRWXO)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EACCES):
            raise
        raise WriteFailed(
            f"--write-into: {path} is readable by everyone and only its owner may change that; "
            f"run 'chmod o-rwx {path}' as its owner, then run again"
        ) from None


def _replaceable(path: Path, info: os.stat_result) -> bool:
    """Whether a rename can stand in for the file and keep everything the app relies on: its
    only link, and an owner and group this user may give the new file, in a folder it may write."""
    if info.st_nlink != 1 or not os.access(path.parent, os.W_OK | os.X_OK):
        return False
    euid = os.geteuid()
    return euid == 0 or (euid == info.st_uid and info.st_gid in {os.getegid(), *os.getgroups()})


def _replace(path: Path, data: bytes, info: os.stat_result) -> None:
    """Atomically put ``data`` at ``path`` with the old file's owner, group and mode."""
    tmp = write_temp(path.parent, path.name, data, stat.S_IMODE(info.st_mode), (info.st_uid, info.st_gid))
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def rewrite_locked(path: Path, original: str, updated: str, *, private: bool, prefix: str = "") -> Path:
    """Put ``updated`` in place of the app's file ``path`` (read as ``original``), under a lock on
    the file itself: atomically where a rename keeps owner, group, mode and links, else in place.
    The previous version goes to smtpwizard's backups (returned); ``private`` drops the others'
    access first (the file will hold a password). WriteFailed if the file changed since it was
    read or cannot be written; the file is then unchanged (or, mid-write in place, in the backup)."""
    with _locked_for_writing(path) as fd:
        info = os.fstat(fd)
        same_text = os.pread(fd, len(original.encode("utf-8")) + 1, 0).decode("utf-8", "replace") == original
        if not same_text or os.stat(path).st_ino != info.st_ino:  # another run wrote it meanwhile
            raise WriteFailed(f"{prefix}{path} changed while it was being read; run again")
        backup = _backup(path, original)
        if private:
            _private_mode(fd, path, info)
            info = os.fstat(fd)
        data = updated.encode("utf-8")
        try:
            if _replaceable(path, info):
                _replace(path, data, info)
            else:  # in place: the same inode keeps its owner, group, mode and hard links
                os.pwrite(fd, data, 0)
                os.ftruncate(fd, len(data))
                os.fsync(fd)
        except OSError as exc:
            raise WriteFailed(
                f"{prefix}writing {path} failed ({exc.strerror}); the previous version is in {backup}"
            ) from None
    return backup


def write_into(path: Path, export: Export, kind: str, *, secret_revealed: bool) -> WriteResult:
    """Update ``path`` in place with ``export``; the previous version goes to smtpwizard's backups.

    Raises InputMissing when the file cannot be read, ExportError when it cannot be updated
    safely, WriteFailed when it cannot be written; the file is then unchanged.
    """
    # Write through a symlink (keeping the link) only if it is ours or root's, without realpath.
    path = follow_trusted(path.expanduser(), "file to write into", "give the real path of the app's file")
    try:
        original = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputMissing(
            f"--write-into: {path} does not exist; create it first, or print the export and copy it"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputMissing(f"--write-into: cannot read {path} ({exc}); check the path and permissions") from None
    placeholders = {key for key in _placeholder_keys(export.values) if not secret_revealed}
    keep = {key for key in placeholders | set(export.fill_only) if _has_value(original, kind, key)}
    if kind == "json":
        updated = update_mattermost_json(original, dict(export.values), keep)
    else:
        rendered = rendered_values(export.text)
        updated = update_dotenv(original, export.values, export.unset, keep_existing=keep, rendered=rendered)
    notes = tuple(KEPT_NOTE.format(path=path) for _key in sorted(keep & placeholders))
    backup = rewrite_locked(path, original, updated, private=secret_revealed, prefix="--write-into: ")
    return WriteResult(backup, notes)
