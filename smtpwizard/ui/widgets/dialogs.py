"""Modal dialogs: help, and quit confirmation."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

KEYS = (
    "Tab / Shift+Tab  move between fields      Enter  continue\n"
    "Esc  go back (answers are kept)            F1 or ?  this help\n"
    "Ctrl+Q  quit (asks first if answers would be lost)"
)


class HelpDialog(ModalScreen[None]):
    BINDINGS: ClassVar[list[Binding]] = [Binding("escape,enter,f1,question_mark", "close", "Close")]  # type: ignore[assignment]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(f"Help: {self.title_text}", classes="dialog-title")
            yield Static(self.text, classes="dialog-text")
            yield Static(KEYS, classes="dialog-keys")
            yield Button("Close", id="close", variant="primary", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss()

    def action_close(self) -> None:
        self.dismiss()


class ConfirmQuit(ModalScreen[bool]):
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("y", "answer(True)", "Quit"),
        Binding("n,escape", "answer(False)", "Stay"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Quit smtpwizard?", classes="dialog-title")
            yield Static(
                "Your answers have not been written and will be lost. Nothing was changed.", classes="dialog-text"
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Quit (y)", id="yes", variant="error", compact=True)
                yield Button("Stay (n)", id="no", variant="primary", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, quit_: bool) -> None:
        self.dismiss(quit_)
