"""Rendering values for each configuration language so that any string round-trips exactly:
dotenv (docker compose / Ruby dotenv), YAML, JSON, Ruby and Python literals."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

Scalar = str | int | bool | None
_DOTENV_BARE = re.compile(r"[A-Za-z0-9_./:@+,=-]*")  # fullmatch: `$` would pass a trailing newline


def dotenv_value(value: Scalar) -> str:
    """A dotenv value: bare when safe, single-quoted (literal) when possible, else double-quoted
    with \\\\, \\" and \\$ escaped (docker compose and Ruby dotenv unescape these)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = "" if value is None else str(value)
    if "\n" in text or "\r" in text:
        raise ValueError("a dotenv value cannot hold a line break")
    if _DOTENV_BARE.fullmatch(text) and text:
        return text
    if "'" not in text:
        return f"'{text}'"
    if "\\n" in text or "\\r" in text:
        # Ruby dotenv expands \n before unescaping \\, so no quoting keeps this exact.
        raise ValueError(
            "a value holds both a single quote and a backslash followed by n or r, which .env readers turn into "
            "a line break; change that password, or enter it in the app directly"
        )
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def render_dotenv(pairs: Sequence[tuple[str, Scalar]], header: str) -> str:
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    lines += [f"{key}={dotenv_value(value)}" for key, value in pairs]
    return "\n".join(lines) + "\n"


def render_yaml(data: Mapping[str, Any], header: str) -> str:
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    return comment + yaml.safe_dump(
        dict(data), sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000
    )


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
