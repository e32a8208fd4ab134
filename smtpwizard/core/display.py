"""The one place where text from outside (server replies, certificate fields, config values
shown back) becomes safe to put on a terminal, in JSON or in the TUI.

Whatever is not printable is escaped visibly, so the user sees that it was there: C0 and
C1 controls (ESC, CSI, OSC such as OSC 52 that writes the clipboard, BEL, CR), bidi
controls that reorder text (U+202A-U+202E, U+2066-U+2069), zero-width and other invisible
format characters, separators other than the space, and lone surrogates (bytes that were
not UTF-8, kept by ``surrogateescape``; shown as the byte, e.g. ``\\xe9``). Backslashes
are left alone, so escaping twice changes nothing.
"""

from __future__ import annotations

from typing import Any


def _escape(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape of the byte code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def safe_text(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every character that is not printable escaped visibly: Unicode's
    controls (Cc), format characters (Cf: bidi, zero-width), surrogates, separators other
    than the space (Zl, Zp, Zs such as U+00A0), private-use and unassigned code points.

    With ``keep_newlines`` a line feed stays (for multi-line output written line by line).
    """
    if text.isprintable():  # the common case, at C speed
        return text
    return "".join(ch if ch.isprintable() or (keep_newlines and ch == "\n") else _escape(ch) for ch in text)


def safe_data(value: Any) -> Any:
    """A JSON-ready structure with every string in it (keys too) passed through safe_text."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict):
        return {safe_data(k): safe_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [safe_data(v) for v in value]
    return value
