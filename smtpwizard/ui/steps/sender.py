"""Step 5: From address, display name, Reply-To, and where to send a test message."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label

from smtpwizard.core.errors import FieldError
from smtpwizard.core.settings import validate_email
from smtpwizard.ui.steps.base import StepScreen


class SenderStep(StepScreen):
    STEP = "sender"
    TITLE = "Sender"
    SHORT = "Sender"
    INTRO = "Who the app's mail comes from. Give a test address to receive a real test message."
    HELP = (
        "The From address must be one your provider lets you send from (a verified sender or domain). "
        "A test message is the only proof that mail really goes out: providers often accept the login "
        "but refuse the sender. It will also show you whether mail lands in spam."
    )

    FIELDS = (
        ("From address", "sender_address", "no-reply@example.com", True),
        ("Display name", "sender_name", "optional: e.g. Example App", False),
        ("Reply-To", "reply_to", "optional: e.g. support@example.com", False),
        ("Test to", "test_to", "optional: your address, for a test message", False),
    )
    NOT_ADDRESSES = frozenset({"sender_name"})  # a display name is free text, not an address

    def compose_body(self) -> ComposeResult:
        for label, attr, placeholder, _required in self.FIELDS:
            with Horizontal(classes="row"):
                yield Label(label, classes="label")
                yield Input(
                    getattr(self.answers, attr), placeholder=placeholder, compact=True, id=attr.replace("_", "-")
                )

    def on_mount(self) -> None:
        first = self.query_one("#sender-address", Input)
        if not first.value and "@" in self.answers.username:
            first.value = self.answers.username  # mailbox providers send from the login address
        first.focus()

    def collect(self) -> None:
        for _label, attr, _placeholder, _required in self.FIELDS:
            setattr(self.answers, attr, self.query_one(f"#{attr.replace('_', '-')}", Input).value.strip())

    def save(self) -> bool:
        self.collect()
        self.clear_error()
        try:
            for label, attr, _placeholder, required in self.FIELDS:
                value = getattr(self.answers, attr)
                if attr in self.NOT_ADDRESSES:
                    continue
                if value or required:
                    if not value:
                        raise FieldError(label, "is missing", "give the address the app's mail comes from")
                    validate_email(value, label)
        except FieldError as exc:
            self.show_error(str(exc))
            return False
        return True

    def save_quietly(self) -> None:
        self.collect()
