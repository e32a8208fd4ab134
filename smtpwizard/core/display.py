"""The one place where text from outside (server replies, certificate fields, config values
shown back) becomes safe to put on a terminal, in JSON or in the TUI.

Whatever cannot be shown as itself is escaped visibly, so the user sees that it was there:
C0 and C1 controls (ESC, CSI, OSC such as OSC 52 that writes the clipboard, BEL, CR),
bidi controls that reorder text (U+202A-U+202E, U+2066-U+2069), zero-width and other
invisible format characters, line and paragraph separators, and lone surrogates (bytes
that were not UTF-8, kept by ``surrogateescape``; shown as the byte, e.g. ``\\xe9``).
Backslashes are left alone, so escaping twice changes nothing.
"""

from __future__ import annotations

import functools
import re
from typing import Any

# Unicode's Cc (controls), Cf (format: bidi, zero-width, tags...), Cs (surrogates), Zl and Zp.
# Written out rather than derived from unicodedata at start-up; a test checks it against it.
_UNSAFE_RANGES = (
    "\x00-\x1f\x7f-\x9f"  # C0, DEL, C1 (CSI is U+009B, OSC U+009D)
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f"  # zero-width space/joiners, LRM, RLM
    "\u2028-\u202e"  # line/paragraph separators, bidi embeddings and overrides
    "\u2060-\u2064\u2066-\u206f"  # word joiner, invisible operators, bidi isolates
    "\ud800-\udfff"  # lone surrogates: undecodable bytes
    "\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"  # tag characters
)


@functools.cache
def _unsafe(keep_newlines: bool) -> re.Pattern[str]:
    ranges = _UNSAFE_RANGES.replace("\x00-\x1f", "\x00-\x09\x0b-\x1f") if keep_newlines else _UNSAFE_RANGES
    return re.compile(f"[{ranges}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape of the byte code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def safe_text(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every character that could act on a terminal or hide text escaped.

    With ``keep_newlines`` a line feed stays (for multi-line output written line by line).
    """
    return _unsafe(keep_newlines).sub(_escape, text)


def safe_data(value: Any) -> Any:
    """A JSON-ready structure with every string in it (keys too) passed through safe_text."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return {safe_data(k): safe_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [safe_data(v) for v in value]
    return value
