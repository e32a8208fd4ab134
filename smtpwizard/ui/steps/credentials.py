"""Step 4: username and password; names the keyring that will hold the password."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Checkbox, Input, Label, Static

from smtpwizard.core.errors import SecretStoreError
from smtpwizard.core.secrets import BackendInfo
from smtpwizard.core.settings import Secret
from smtpwizard.ui.steps.base import StepScreen
from smtpwizard.ui.widgets.tick import Tick


class CredentialsStep(StepScreen):
    STEP = "credentials"
    TITLE = "Login"
    SHORT = "Login"
    INTRO = "How smtpwizard logs in. The password goes to your OS keyring, never into a file."
    HELP = (
        "Leave the username empty for a relay that accepts mail without login (e.g. a local Postfix). "
        "The password is only kept in the OS keyring (Secret Service, Keychain or Credential Locker); "
        "the config file refers to it. Ctrl+R shows or hides what you typed."
    )
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        *StepScreen.BINDINGS,
        Binding("ctrl+r", "reveal", "Show password"),
    ]

    def compose_body(self) -> ComposeResult:
        a = self.answers
        preset = a.provider_preset
        with Horizontal(classes="row"):
            yield Label("Username", classes="label")
            yield Input(a.username, placeholder="empty for a relay without login", compact=True, id="username")
        yield Static(f"  {preset.username_hint}", classes="hint")
        with Horizontal(classes="row"):
            yield Label("Password", classes="label")
            yield Input(
                a.password.reveal() if a.password else "",
                placeholder="stored only in the OS keyring",
                password=True,
                compact=True,
                id="password",
            )
            yield Button("Show", id="reveal", classes="small", compact=True)
        yield Static(f"  {preset.password_hint}", classes="hint")
        yield Tick("Keep the password already stored in the keyring", a.keep_stored_password, id="keep")
        yield Tick("Send the password without encryption (local relay only)", a.allow_insecure_auth, id="insecure")
        yield Static("Checking the keyring...", id="keyring")

    def on_mount(self) -> None:
        self.query_one("#keep", Checkbox).display = False
        self.query_one("#insecure", Checkbox).display = self.answers.allows_insecure_auth_here()
        self.query_one("#next", Button).disabled = True
        self.query_one("#username", Input).focus()
        self.check_keyring()

    @work(thread=True, exclusive=True, group="keyring")
    def check_keyring(self) -> None:
        """Keyring calls block on D-Bus: ask in a thread, answer on the UI thread."""
        store = self.wizard.store
        info = store.backend()
        stored = False
        problem = None
        if info.usable and self.answers.stored_password is not None:
            try:
                stored = store.get(self.answers.stored_password) is not None
            except SecretStoreError as exc:
                problem = str(exc)
        self.app.call_from_thread(self.show_keyring, info, stored, problem)

    def show_keyring(self, info: BackendInfo, stored: bool, problem: str | None) -> None:
        label = self.query_one("#keyring", Static)
        self.query_one("#next", Button).disabled = not info.usable
        self.wizard.keyring_ok = info.usable
        if not info.usable:
            from smtpwizard.core.secrets import WAYS_FORWARD

            label.update(
                f"✗ No usable keyring: {info.problem} (backend {info.name}).\n"
                f"smtpwizard will not store the password in a plain file. To continue: {WAYS_FORWARD}."
            )
            label.add_class("problem")
            return
        label.update(f"✓ The password will be stored in the OS keyring ({info.name}).")
        keep = self.query_one("#keep", Checkbox)
        keep.display = stored
        if problem:
            label.update(f"✗ {problem}")
        if not stored:
            self.answers.keep_stored_password = False
        self.sync_password_field()

    def sync_password_field(self) -> None:
        keep = self.query_one("#keep", Checkbox)
        self.query_one("#password", Input).disabled = keep.display and keep.value

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        if event.checkbox.id == "keep":
            self.answers.keep_stored_password = event.value
            self.sync_password_field()
        elif event.checkbox.id == "insecure":
            self.answers.allow_insecure_auth = event.value

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "reveal":  # Back/Continue are handled by StepScreen's handler
            event.stop()
            self.action_reveal()

    def action_reveal(self) -> None:
        field = self.query_one("#password", Input)
        field.password = not field.password
        self.query_one("#reveal", Button).label = "Hide" if not field.password else "Show"

    def collect(self) -> None:
        a = self.answers
        a.username = self.query_one("#username", Input).value.strip()
        typed = self.query_one("#password", Input).value
        a.password = Secret(typed) if typed else None

    def save(self) -> bool:
        self.collect()
        self.clear_error()
        a = self.answers
        if not self.wizard.keyring_ok and a.username:
            self.show_error("keyring: not usable, so the password cannot be stored; see the message above")
            return False
        if a.username and not (a.keep_stored_password and a.stored_password) and a.password is None:
            self.show_error("password: missing; type it, or empty the username for a relay without login")
            return False
        if a.username and a.security == "none" and not a.allow_insecure_auth:
            self.show_error(
                "security: none would send the password unencrypted; go back and choose STARTTLS or implicit TLS"
                + (", or tick 'Send the password without encryption'" if a.allows_insecure_auth_here() else "")
            )
            return False
        return True

    def save_quietly(self) -> None:
        self.collect()
