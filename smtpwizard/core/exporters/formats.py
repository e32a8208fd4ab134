"""Rendering values so that the parser each app's users really run reads them back byte for byte:
.env files (docker compose, Ruby dotenv 2.x/3.x, python-dotenv, django-environ), YAML (Psych,
Helm's go-yaml v2), JSON, Ruby and Python literals. A value no quoting can carry raises
ValueError with the problem and the fix; the export turns it into an ExportError naming the app.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import yaml

Scalar = str | int | bool | None
# Who reads a .env file: docker compose (compose-go); Ruby dotenv 2.x or 3.x (Rails apps);
# python-dotenv and django-environ (Django sites).
DotenvReader = Literal["compose", "ruby2", "ruby3", "python"]
COMPOSE_AND_RUBY: tuple[DotenvReader, ...] = ("compose", "ruby2", "ruby3")

_DOTENV_BARE = re.compile(r"[A-Za-z0-9_./:@+,=-]+")  # fullmatch: `$` would pass a trailing newline
# python-dotenv's POSIX_VARIABLE: ${NAME} or ${NAME:-default}, expanded even in single quotes.
_PYTHON_DOTENV_VARIABLE = re.compile(r"\$\{[^}:]*(?::-[^}]*)?\}")


def _line_break_free(text: str) -> None:
    if "\n" in text or "\r" in text:
        raise ValueError("a value holds a line break, which no .env reader keeps; remove it")


def dotenv_value(value: Scalar, readers: Sequence[DotenvReader] = COMPOSE_AND_RUBY) -> str:
    """A .env value every parser in ``readers`` reads back exactly: bare when safe, single-quoted
    (literal) when possible, else double-quoted with \\\\, \\" and \\$ escaped."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = "" if value is None else str(value)
    _line_break_free(text)
    if "python" in readers:
        return _python_dotenv_value(text)
    if _DOTENV_BARE.fullmatch(text):
        return text
    # compose-go dotenv/parser.go: in single quotes a backslash before the closing quote escapes
    # it ("unterminated quoted value"), so a trailing backslash needs double quotes.
    if "'" not in text and not text.endswith("\\"):
        return f"'{text}'"
    if "ruby2" in readers and ("\\n" in text or "\\r" in text):
        # Ruby dotenv 2.x turns \n into a line break before it unescapes \\ (parser.rb expand_newlines).
        raise ValueError(
            "a value holds a backslash followed by n or r next to a quote or trailing backslash, which Ruby "
            "dotenv 2.x turns into a line break; change that password, or enter it in the app directly"
        )
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def _python_dotenv_value(text: str) -> str:
    """For python-dotenv (interpolating, its default) and django-environ (no interpolation, but a
    value starting with $ names another variable)."""
    if any(char in text for char in "\v\f\x1c\x1d\x1e\x85\u2028\u2029"):
        # django-environ read_env splits the file with str.splitlines, which breaks lines at these too.
        raise ValueError("a value holds a character django-environ reads as a line break (such as U+0085); remove it")
    if _PYTHON_DOTENV_VARIABLE.search(text):
        raise ValueError(
            "a value holds ${...}, which python-dotenv replaces with another variable even inside quotes; "
            "change that password, or set it in the environment directly"
        )
    if text.startswith("$"):
        raise ValueError(
            "a value starts with $, which django-environ reads as the name of another variable; "
            "change that password, or set it in the environment directly"
        )
    # Unquoted, both keep the value as is (python-dotenv cuts " #..." and outer blanks).
    if text and text == text.strip() and text[0] not in "'\"#" and not re.search(r"\s#", text):
        return text
    if "'" not in text and "\\" not in text:
        return f"'{text}'"
    if text.endswith("\\"):
        # python-dotenv's quoted-value regex reads a backslash before the closing quote as an escape.
        raise ValueError(
            "a value ends in a backslash and also holds a space, a quote or #, which python-dotenv cannot read "
            "back; change that password, or set it in the environment directly"
        )
    # Both unescape \\ and \" inside double quotes (python-dotenv decode_escapes, django-environ re.sub).
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def render_dotenv(
    pairs: Sequence[tuple[str, Scalar]], header: str, readers: Sequence[DotenvReader] = COMPOSE_AND_RUBY
) -> str:
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    lines += [f"{key}={dotenv_value(value, readers)}" for key, value in pairs]
    return "\n".join(lines) + "\n"


def _escape_unprintable(char: str) -> str:
    # NEL, LS, PS and BOM are line breaks or marks to YAML readers; C0/C1 controls are not allowed raw.
    if char in "\x85\u2028\u2029\ufeff" or unicodedata.category(char) in ("Cc", "Cs", "Co", "Cn"):
        return f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}"
    return char


def yaml_string(text: str) -> str:
    """A YAML double-quoted scalar every YAML reader (Psych, PyYAML, go-yaml) reads as ``text``:
    a JSON string (valid YAML) with NEL, LS, PS, BOM and control characters escaped."""
    quoted = json.dumps(text, ensure_ascii=False)
    return "".join(_escape_unprintable(c) for c in quoted)


def yaml_scalar(value: Scalar) -> str:
    """Booleans and integers as YAML reads them; every string double-quoted, so words such as y,
    N, on, 1e3 or 0o17 stay strings for go-yaml v2 (Helm) as much as for Psych."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return yaml_string("" if value is None else value)


def _yaml_lines(data: Mapping[str, Any], indent: str) -> list[str]:
    lines: list[str] = []
    for key, value in data.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", key):
            raise ValueError(f"internal: {key!r} is not a plain YAML key")
        if isinstance(value, Mapping):
            lines.append(f"{indent}{key}:")
            lines += _yaml_lines(value, indent + "  ")
        else:
            lines.append(f"{indent}{key}: {yaml_scalar(value)}")
    return lines


def render_yaml(data: Mapping[str, Any], header: str) -> str:
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    return comment + "\n".join(_yaml_lines(data, "")) + "\n"


def render_compose_override(services: Sequence[str], pairs: Sequence[tuple[str, Scalar]], header: str) -> str:
    """A docker-compose.override.yml giving ``services`` these environment variables. compose
    interpolates $ in compose files (compose-go template: $$ is a literal $), so $ is doubled;
    every value is a string, as a container's environment is."""
    environment = {
        key: ("true" if value else "false") if isinstance(value, bool) else str("" if value is None else value)
        for key, value in pairs
    }
    escaped = {key: value.replace("$", "$$") for key, value in environment.items()}
    return render_yaml({"services": {name: {"environment": escaped} for name in services}}, header)


def yaml_unquoted_safe(text: str) -> str:
    """``text`` as it must be written where a template pastes it unquoted into YAML (omnibus'
    gitlab.yml, Mastodon's config/email.yml): itself when YAML reads it back unchanged, else a
    double-quoted YAML scalar."""
    plain = bool(re.fullmatch(r"[A-Za-z0-9_.@+/<>=-]+( [A-Za-z0-9_.@+/<>=-]+)*", text))
    if plain:
        try:
            plain = yaml.safe_load(f"k: {text}") == {"k": text}
        except yaml.YAMLError:
            plain = False
    return text if plain else yaml_string(text)


_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+")


def display_address(name: str | None, address: str) -> str:
    """``Name <address>`` with the name as an RFC 5322 quoted string when it holds anything but
    atom characters (a comma, a quote, a colon...). Non-ASCII stays as is (not RFC 2047 words):
    the app's mail library encodes it, and a pre-encoded word with a comma becomes two addresses
    when Python's email package (Django 6.1) decodes and refolds it."""
    if not name:
        return address
    if "\n" in name or "\r" in name:
        raise ValueError("the sender name holds a line break; remove it")
    if _ATOM.fullmatch(name) and name == name.strip():
        return f"{name} <{address}>"
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}" <{address}>'


def render_json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def ruby_value(value: Scalar) -> str:
    """A Ruby literal: single-quoted strings (no interpolation), true/false, integers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nil"
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def python_value(value: Scalar) -> str:
    return repr(value)
