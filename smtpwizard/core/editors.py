"""In-place editors of the app config languages write-into does not cover: omnibus' gitlab.rb,
Discourse's app.yml ``env:``, Gitea's app.ini ``[mailer]``, and JSON (Ghost's config, Sourcegraph's
site configuration with comments and trailing commas). Each changes only the lines of the keys
it is given and keeps every other byte, comments and line endings included.
"""

from __future__ import annotations

import json
import re
from typing import Any

from smtpwizard.core.apps.readers import split_ini_line, split_ini_value
from smtpwizard.core.errors import ExportError


def _newline(text: str) -> str:
    first = text.find("\n")
    return "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"


# --- trailing comments: a comment after a value the editor replaces is kept on its line ------


def _quoted_end(text: str, start: int, quote: str, *, backslash: bool, doubled: bool = False) -> int:
    """The index just past the string opened at ``start``, or -1 when it does not close on the line."""
    i = start + 1
    while i < len(text):
        if backslash and text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            if doubled and text[i + 1 : i + 2] == quote:  # YAML's '' inside single quotes
                i += 2
                continue
            return i + 1
        i += 1
    return -1


def yaml_comment(value: str) -> str:
    """The comment (with the blanks before it) after a YAML scalar: ``#`` after a blank once the
    scalar has ended (YAML 1.2 §6.6: a comment must be separated from the value by white space)."""
    stripped = value.lstrip()
    offset = len(value) - len(stripped)
    end = 0
    if stripped[:1] in ("'", '"'):
        end = _quoted_end(stripped, 0, stripped[0], backslash=stripped[0] == '"', doubled=stripped[0] == "'")
        if end < 0:
            return ""
    if not end:  # a plain scalar, or none: search the whole value, so an empty one keeps its comment
        match = re.search(r"[ \t]+#", value)
        return value[match.start() :] if match else ""
    match = re.search(r"[ \t]+#", stripped[end:])
    return value[offset + end + match.start() :] if match else ""


def ruby_comment(value: str) -> str:
    """The comment after a Ruby expression: the first ``#`` outside a string literal."""
    i = 0
    while i < len(value):
        char = value[i]
        if char in ("'", '"'):
            end = _quoted_end(value, i, char, backslash=True)
            if end < 0:
                return ""
            i = end
            continue
        if char == "#":
            return value[len(value[:i].rstrip()) :]
        i += 1
    return ""


def with_comment(line: str, comment: str) -> str:
    """``line`` followed by the comment it had, with at least one blank between them."""
    if not comment:
        return line
    return line + (comment if comment[0] in " \t" else " " + comment)


def update_gitlab_rb(text: str, pairs: tuple[tuple[str, object], ...], unset: tuple[str, ...] = ()) -> str:
    """gitlab.rb with the last active ``gitlab_rails['key'] = ...`` of each key replaced (omnibus
    evaluates the file as Ruby: the last assignment wins), keys in ``unset`` commented out and
    missing keys appended; every other line stays byte for byte."""
    from smtpwizard.core.exporters.formats import ruby_value

    newline = _newline(text)
    lines = text.splitlines(keepends=True)
    pattern = re.compile(r"^(\s*)gitlab_rails\[['\"]([a-z_]+)['\"]\]\s*=")
    last: dict[str, int] = {}
    for index, line in enumerate(lines):
        match = pattern.match(line)
        if match:
            last[match.group(2)] = index
    for key, value in pairs:
        rendered = f"gitlab_rails['{key}'] = {ruby_value(value)}"  # type: ignore[arg-type]
        if key in last:
            index = last[key]
            body = lines[index].rstrip("\r\n")
            match = pattern.match(body)
            assert match is not None
            comment = ruby_comment(body[match.end() :])
            lines[index] = with_comment(match.group(1) + rendered, comment) + (lines[index][len(body) :] or newline)
        else:
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += newline
            lines.append(rendered + newline)
    for key in unset:
        if key in last:
            body = lines[last[key]].rstrip("\r\n")
            lines[last[key]] = f"# {body}  (unset by smtpwizard)" + (lines[last[key]][len(body) :] or newline)
    return "".join(lines)


def update_app_yml(text: str, pairs: tuple[tuple[str, object], ...], unset: tuple[str, ...] = ()) -> str:
    """A Discourse app.yml with the ``env:`` entries replaced in place (the value written as a YAML
    double-quoted string or a plain boolean/number), ``unset`` entries commented out and missing ones
    added at the end of ``env:``; every other line, comment included, stays byte for byte."""
    newline = _newline(text)
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"^env:\s*(#.*)?$", line.rstrip("\r\n"))), None)
    if start is None:
        raise ExportError("app.yml has no env: section; add one, then run again")
    end = start + 1
    indent = "  "
    entries: dict[str, int] = {}
    while end < len(lines):
        body = lines[end].rstrip("\r\n")
        if body and not body[0].isspace() and not body.startswith("#"):
            break
        match = re.match(r"^(\s+)([A-Za-z_][A-Za-z0-9_]*)\s*:", body)
        if match:
            indent = match.group(1)
            entries[match.group(2)] = end
        end += 1
    last_entry = max(entries.values(), default=start)

    def rendered(key: str, value: object) -> str:
        literal = json.dumps(value, ensure_ascii=False)  # JSON scalars are YAML flow scalars
        return f"{indent}{key}: {literal}"

    additions: list[str] = []
    for key, value in pairs:
        if key in entries:
            body = lines[entries[key]].rstrip("\r\n")
            comment = yaml_comment(body.partition(":")[2])
            lines[entries[key]] = with_comment(rendered(key, value), comment) + (
                lines[entries[key]][len(body) :] or newline
            )
        else:
            additions.append(rendered(key, value) + newline)
    for key in unset:
        if key in entries:
            body = lines[entries[key]].rstrip("\r\n")
            lines[entries[key]] = f"{indent}# {body.strip()}  (unset by smtpwizard)" + (
                lines[entries[key]][len(body) :] or newline
            )
    lines[last_entry + 1 : last_entry + 1] = additions
    return "".join(lines)


_SPACE = re.compile(r"[ \t\r\n]*")


def _skip(text: str, i: int) -> int:
    """Past blanks and // or /* */ comments (Sourcegraph's JSON allows them; plain JSON has none)."""
    while True:
        match = _SPACE.match(text, i)
        i = match.end() if match else i
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = len(text) if end < 0 else end + 2
        else:
            return i


def _value_end(text: str, i: int) -> int:
    """The end of the JSON value at ``i``, comments inside objects and arrays allowed."""
    if text[i] == '"':
        return int(json.decoder.scanstring(text, i + 1)[1])  # type: ignore[attr-defined]
    if text[i] not in "{[":
        match = re.compile(r"[^\s,}\]/]+").match(text, i)
        if not match:
            raise ValueError(f"no value at {i}")
        return match.end()
    depth = 0
    while i < len(text):
        i = _skip(text, i)
        ch = text[i]
        if ch == '"':
            i = _value_end(text, i)
            continue
        depth += 1 if ch in "{[" else -1 if ch in "}]" else 0
        i += 1
        if depth == 0:
            return i
    raise ValueError("an object or array is not closed")


def _members(text: str, start: int) -> tuple[list[tuple[str, int, int, int]], int]:
    """The members of the JSON object at ``start`` as (key, key start, value start, value end), and
    the index of its closing brace (comments and a trailing comma allowed)."""
    members: list[tuple[str, int, int, int]] = []
    i = _skip(text, start + 1)
    while text[i] != "}":
        key, after = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
        colon = _skip(text, after)
        if text[colon] != ":":
            raise ValueError(f"expected ':' at {colon}")
        value_start = _skip(text, colon + 1)
        end = _value_end(text, value_start)
        members.append((key, i, value_start, end))
        i = _skip(text, end)
        if text[i] == ",":
            i = _skip(text, i + 1)
        elif text[i] != "}":
            raise ValueError(f"expected ',' or '}}' at {i}")
    return members, i


def _indent_at(text: str, index: int) -> str:
    line_start = text.rfind("\n", 0, index) + 1
    match = re.match(r"[ \t]*", text[line_start:])
    return match.group(0) if match else ""


def _set_path(text: str, path: list[str], value: object) -> str:
    start = _skip(text, 0)
    for depth, part in enumerate(path):
        members, close = _members(text, start)
        found = [m for m in members if m[0] == part]
        last = depth == len(path) - 1
        if found and (last or text[found[-1][2]] == "{"):
            _key, _k, value_start, value_end = found[-1]
            if last:
                return text[:value_start] + json.dumps(value, ensure_ascii=False) + text[value_end:]
            start = value_start
            continue
        nested: object = value
        for name in reversed(path[depth + 1 :]):
            nested = {name: nested}
        indent = _indent_at(text, members[-1][1]) if members else _indent_at(text, start) + "  "
        rendered = json.dumps(nested, ensure_ascii=False, indent=2).replace("\n", "\n" + indent)
        entry = f"{json.dumps(part)}: {rendered}"
        if members:
            end = members[-1][3]
            after = _skip(text, end)
            if text[after] == ",":  # a trailing comma (JSON with comments): keep the style
                return text[: after + 1] + f"\n{indent}{entry}," + text[after + 1 :]
            return text[:end] + f",\n{indent}{entry}" + text[end:]
        return text[: start + 1] + f"\n{indent}{entry}\n{_indent_at(text, start)}" + text[close:]
    return text


def _remove_path(text: str, path: list[str]) -> str:
    start = _skip(text, 0)
    for depth, part in enumerate(path):
        members, _close = _members(text, start)
        found = [m for m in members if m[0] == part]
        if not found:
            return text
        _key, key_start, value_start, value_end = found[-1]
        if depth < len(path) - 1:
            start = value_start
            continue
        after = _skip(text, value_end)
        if text[after] == ",":  # drop the member and its comma, keep the next member's line
            return text[: text.rfind("\n", 0, key_start) + 1] + text[text.rfind("\n", 0, _skip(text, after + 1)) + 1 :]
        before = len(text[:key_start].rstrip())  # the last member: drop the previous member's comma
        comma = before - 1 if text[before - 1] == "," else before
        return text[:comma] + text[value_end:]
    return text


def _ini_value(value: object) -> str:
    """A value as go-ini reads it back: bare when it has no edge spaces, quote or comment sign,
    else in backticks (go-ini's raw quote), which Gitea's own app.ini uses for passwords."""
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    if text == text.strip() and not any(c in text for c in "`\"';#") and text:
        return text
    if "`" in text:
        raise ExportError("a value holds a backtick, which app.ini cannot quote; edit that line by hand")
    return f"`{text}`"


def update_ini_section(
    text: str, section: str, pairs: tuple[tuple[str, object], ...], unset: tuple[str, ...] = (), prefix: str = ""
) -> str:
    """An INI file (Gitea's app.ini) with the keys of ``[section]`` set in place (the last of a key
    wins in go-ini), ``unset`` keys commented out and missing keys added at the end of the section;
    every other line stays byte for byte."""
    newline = _newline(text)
    lines = text.splitlines(keepends=True)
    current, last_line, where = None, None, {}
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped[1:-1].strip()
            continue
        if current == section:
            pair = split_ini_line(stripped) if stripped and stripped[0] not in ";#" else None
            if pair is not None:
                where[pair[0]] = index
            if stripped:
                last_line = index
    if last_line is None:
        raise ExportError(f"app.ini has no [{section}] section; add one, then run again")
    wanted = {key.removeprefix(prefix): value for key, value in pairs}
    added: list[str] = []
    for key, value in wanted.items():
        if key in where:
            body = lines[where[key]].rstrip("\r\n")
            ending = lines[where[key]][len(body) :] or newline
            line = f"{key} = {_ini_value(value)}"
            comment = split_ini_value(split_ini_line(body)[1])[1]  # type: ignore[index]
            if "`" in comment and line.endswith("`"):  # go-ini's backtick value ends at the LAST backtick
                lines[where[key]] = f"{comment.strip()}{newline}{line}{ending}"  # the comment on its own line
            else:
                lines[where[key]] = with_comment(line, comment) + ending
        else:
            added.append(f"{key} = {_ini_value(value)}{newline}")
    for key in (k.removeprefix(prefix) for k in unset):
        if key in where:
            body = lines[where[key]].rstrip("\r\n")
            lines[where[key]] = f"; {body}  (unset by smtpwizard)" + (lines[where[key]][len(body) :] or newline)
    if added and not lines[last_line].endswith("\n"):
        lines[last_line] += newline
    lines[last_line + 1 : last_line + 1] = added
    return "".join(lines)


def _empty_object(text: str, path: list[str]) -> bool:
    from smtpwizard.core.apps.readers import strip_json_comments

    node: Any = json.loads(strip_json_comments(text))
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return bool(node == {})


def update_json_paths(
    text: str, pairs: tuple[tuple[str, object], ...], unset: tuple[str, ...] = (), separator: str = "."
) -> str:
    """A JSON config (Ghost's config.production.json; Sourcegraph's site configuration, comments and
    trailing commas allowed, keys like "email.smtp host") with each path set in place, missing
    objects created, ``unset`` paths removed (an object left empty too); every other byte stays."""
    from smtpwizard.core.apps.readers import strip_json_comments

    try:
        json.loads(strip_json_comments(text))
        for key, value in pairs:
            text = _set_path(text, key.split(separator), value)
        for key in unset:
            path = key.split(separator)
            text = _remove_path(text, path)
            while len(path) > 1 and _empty_object(text, path[:-1]):  # auth: {} left behind: drop it too
                path = path[:-1]
                text = _remove_path(text, path)
    except (ValueError, IndexError) as exc:
        raise ExportError(f"the JSON file cannot be edited in place ({exc}); apply the change by hand") from None
    return text
