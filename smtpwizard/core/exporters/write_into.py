"""Update an app's existing configuration file in place, touching only the mail keys.

``.env`` files: replace the lines of our keys (keeping ``export``), comment out keys that
must be unset, append the missing ones; every other line and comment stays byte for byte.
Mattermost ``config.json``: replace only the values inside ``EmailSettings``, in place,
keeping every other byte and the order of keys. Both write atomically with a backup.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from smtpwizard.core.errors import ExportError, InputMissing
from smtpwizard.core.exporters import Export
from smtpwizard.core.exporters.formats import dotenv_value
from smtpwizard.core.files import atomic_write, locked

_ASSIGNMENT = re.compile(r"^(?P<indent>\s*)(?P<export>export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=(?P<value>.*)\Z")


def _unterminated(value: str) -> bool:
    value = value.strip()
    if not value or value[0] not in "'\"":
        return False
    quote = value[0]
    body = value[1:]
    i = 0
    while i < len(body):
        if body[i] == "\\" and quote == '"':
            i += 2
            continue
        if body[i] == quote:
            return False
        i += 1
    return True


def update_dotenv(text: str, pairs: tuple[tuple[str, object], ...], unset: tuple[str, ...] = ()) -> str:
    """``text`` with ``pairs`` set and ``unset`` commented out; other lines unchanged."""
    wanted = {key: dotenv_value(value) for key, value in pairs}  # type: ignore[arg-type]
    seen: set[str] = set()
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    for number, line in enumerate(lines, 1):
        match = _ASSIGNMENT.match(line.rstrip("\r\n"))
        if not match or (match["key"] not in wanted and match["key"] not in unset):
            out.append(line)
            continue
        key = match["key"]
        if _unterminated(match["value"]):
            raise ExportError(
                f"line {number}: {key} has a value spread over several lines; edit that line by hand, then run again"
            )
        ending = line[len(line.rstrip("\r\n")) :] or "\n"
        if key in unset:
            out.append(f"# {line.rstrip(chr(13) + chr(10))}  (unset by smtpwizard){ending}")
            continue
        if key in seen:
            out.append(f"# {line.rstrip(chr(13) + chr(10))}  (duplicate, disabled by smtpwizard){ending}")
            continue
        seen.add(key)
        out.append(f"{match['indent']}{match['export'] or ''}{key}={wanted[key]}{ending}")
    missing = [key for key in wanted if key not in seen]
    if missing:
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n"
        out.append("# Mail settings added by smtpwizard\n")
        out.extend(f"{key}={wanted[key]}\n" for key in missing)
    return "".join(out)


_WS = re.compile(r"[ \t\n\r]*")


def _members(text: str, start: int) -> tuple[list[tuple[str, int, int]], int]:
    """The members of the JSON object starting at ``start``: (key, value start, value end),
    and the index of its closing brace."""
    decoder = json.JSONDecoder()
    if text[start] != "{":
        raise ValueError("not an object")
    i = _WS.match(text, start + 1).end()  # type: ignore[union-attr]
    members: list[tuple[str, int, int]] = []
    if text[i] == "}":
        return members, i
    while True:
        if text[i] != '"':
            raise ValueError("expected a key")
        key, i = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
        i = _WS.match(text, i).end()  # type: ignore[union-attr]
        if text[i] != ":":
            raise ValueError("expected ':'")
        i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
        _value, end = decoder.raw_decode(text, i)
        members.append((key, i, end))
        i = _WS.match(text, end).end()  # type: ignore[union-attr]
        if text[i] == ",":
            i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
            continue
        if text[i] == "}":
            return members, i
        raise ValueError("expected ',' or '}'")


def update_mattermost_json(text: str, settings: dict[str, Any]) -> str:
    """``text`` (a Mattermost config.json) with the EmailSettings values replaced in place."""
    try:
        json.loads(text)
        start = _WS.match(text).end()  # type: ignore[union-attr]
        top, _ = _members(text, start)
        section = next((m for m in top if m[0] == "EmailSettings"), None)
        if section is None:
            raise ExportError("config.json has no EmailSettings section; is this Mattermost's config.json?")
        members, _close = _members(text, section[1])
    except (ValueError, IndexError) as exc:
        raise ExportError(f"config.json is not valid JSON ({exc}); fix it or restore it from its backup") from None
    present = {key for key, _s, _e in members}
    edits = [(s, e, json.dumps(settings[key], ensure_ascii=False)) for key, s, e in members if key in settings]
    missing = [key for key in settings if key not in present]
    if missing:
        # Append after the last member, indented like it (or 4 spaces in an empty section).
        if members:
            anchor = members[-1][2]
            line_start = text.rfind("\n", 0, members[-1][1]) + 1
            leading = re.match(r"[ \t]*", text[line_start:])
            indent = leading.group(0) if leading else "    "
            prefix = ","
        else:
            anchor, indent, prefix = section[1] + 1, "    ", ""
        entries = [f"\n{indent}{json.dumps(k)}: {json.dumps(settings[k], ensure_ascii=False)}" for k in missing]
        edits.append((anchor, anchor, prefix + ",".join(entries) + ("" if members else "\n")))
    result = text
    for s, e, replacement in sorted(edits, reverse=True):
        result = result[:s] + replacement + result[e:]
    return result


def write_into(path: Path, export: Export, kind: str, *, secret_revealed: bool) -> Path | None:
    """Update ``path`` in place with ``export``; returns the backup path."""
    path = path.expanduser()
    try:
        original = path.read_text(encoding="utf-8")
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        raise InputMissing(
            f"--write-into: {path} does not exist; create it first, or print the export and copy it"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputMissing(f"--write-into: cannot read {path} ({exc}); check the path and permissions") from None
    if kind == "json":
        updated = update_mattermost_json(original, dict(export.values))
    else:
        updated = update_dotenv(original, export.values, export.unset)
    if secret_revealed:
        mode &= ~(stat.S_IRWXO)  # a file holding the password is not world-readable
    with locked(path):
        return atomic_write(Path(os.path.realpath(path)), updated, mode=mode, keep_owner=True)
