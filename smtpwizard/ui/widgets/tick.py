"""A checkbox toggled by Space or a click only, so Enter always means 'continue'."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding
from textual.widgets import Checkbox


class Tick(Checkbox, inherit_bindings=False):
    BINDINGS: ClassVar[list[Binding]] = [Binding("space", "toggle_button", "Toggle", show=False)]  # type: ignore[assignment]
