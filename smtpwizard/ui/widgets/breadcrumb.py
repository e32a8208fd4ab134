"""The step trail under the header, cut to the terminal's width around the current step."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

SEPARATOR = " › "
ELLIPSIS = "…"


def trail(names: list[str], current: int, width: int) -> Text:
    """``3/8  App › Provider › [Connection] › ...``; when it does not fit, steps are dropped
    from the ends (shown as …) so the current one always stays visible."""
    first, last = 0, len(names) - 1
    while True:
        text = _render(names, current, first, last)
        if text.cell_len <= width or first == last == current:
            return text
        # drop the step farthest from the current one
        if current - first >= last - current and first < current:
            first += 1
        elif last > current:
            last -= 1
        else:
            first += 1


def _render(names: list[str], current: int, first: int, last: int) -> Text:
    text = Text(f"{current + 1}/{len(names)}  ")
    if first > 0:
        text.append(ELLIPSIS + SEPARATOR)
    for index in range(first, last + 1):
        if index > first:
            text.append(SEPARATOR)
        if index == current:
            text.append(f" {names[index]} ", style="bold reverse")
        else:
            text.append(names[index])
    if last < len(names) - 1:
        text.append(SEPARATOR + ELLIPSIS)
    return text


class Breadcrumb(Widget):
    DEFAULT_CSS = "Breadcrumb { height: 1; }"

    def __init__(self, names: list[str], current: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.names = names
        self.current = current

    def render(self) -> Text:
        return trail(self.names, self.current, self.content_size.width or 80)
