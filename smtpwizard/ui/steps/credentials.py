"""Step 4: username and password; names the keyring that will hold the password."""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
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

KEPT_PLACEHOLDER = "kept from the keyring; type a new one to replace it"


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

    stored = False  # the keyring holds the password the config refers to

    def compose_body(self) -> ComposeResult:
        a = self.answers
        preset = a.provider_preset
        if self.wizard.switch_note:
            yield Static(escape(f"ℹ {self.wizard.switch_note}"), id="switch-note", classes="hint")
        with Horizontal(classes="row"):
            yield Label("Username", classes="label")
            yield Input(a.username, placeholder="empty for a relay without login", compact=True, id="username")
        yield Static(f"  {escape(preset.username_hint)}", classes="hint")
        with Horizontal(classes="row"):
            yield Label("Password", classes="label")
            yield Input(
                a.password.reveal() if a.password else "",
                placeholder=KEPT_PLACEHOLDER if a.stored_password else "stored only in the OS keyring",
                password=True,
                compact=True,
                id="password",
            )
            yield Button("Show", id="reveal", classes="small", compact=True)
        yield Static(f"  {escape(preset.password_hint)}", classes="hint", id="password-hint")
        yield Tick("Send the password without encryption (local relay only)", a.allow_insecure_auth, id="insecure")
        yield Static("Checking the keyring...", id="keyring")

    def on_mount(self) -> None:
        self.query_one("#insecure", Checkbox).display = self.answers.allows_insecure_auth_here()
        self.query_one("#next", Button).disabled = True
        self.query_one("#username", Input).focus()
        self.check_keyring()

    @work(thread=True, exclusive=True, group="keyring")
    def check_keyring(self) -> None:
        """Keyring calls block on D-Bus: ask in a thread, answer on the UI thread."""
        store = self.wizard.store
        info = store.backend()
        secret = None
        problem = None
        if info.usable and self.answers.stored_password is not None:
            try:
                secret = store.get(self.answers.stored_password)
            except SecretStoreError as exc:
                problem = str(exc)
        self.app.call_from_thread(self.show_keyring, info, secret, problem)

    def show_keyring(self, info: BackendInfo, secret: Secret | None, problem: str | None) -> None:
        label = self.query_one("#keyring", Static)
        self.query_one("#next", Button).disabled = not info.usable
        self.wizard.keyring_ok = info.usable
        if not info.usable:
            from smtpwizard.core.secrets import WAYS_FORWARD

            label.update(
                escape(
                    f"✗ No usable keyring: {info.problem} (backend {info.name}).\n"
                    f"smtpwizard will not store the password in a plain file. To continue: {WAYS_FORWARD}."
                )
            )
            label.add_class("problem")
            return
        label.update(escape(f"✓ The password will be stored in the OS keyring ({info.name})."))
        if problem:
            label.update(escape(f"✗ {problem}"))
        stored = self.stored = secret is not None
        self.answers.carried_password = secret  # used only if the login or server no longer fits the entry
        if not stored:
            self.answers.keep_stored_password = False
            if self.answers.stored_password is not None and not problem:
                hint = self.query_one("#password-hint", Static)
                hint.update("  password: the keyring no longer holds the stored one; type it again")
        self.show_password_state()

    def show_password_state(self) -> None:
        """Edit mode: the stored password stays unless a new one is typed; say which it is."""
        if not self.stored:
            return
        typed = bool(self.query_one("#password", Input).value)
        self.answers.keep_stored_password = not typed
        hint = self.query_one("#password-hint", Static)
        if typed:
            hint.update("  password: the one you typed replaces the stored one when you write")
        elif self.answers.stored_password_fits():
            hint.update("  password: kept from the keyring (type a new one to replace it)")
        else:
            hint.update("  password: kept from the keyring, and stored again for this login and server when you write")

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "username":
            self.answers.username = event.value.strip()
        self.show_password_state()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        if event.checkbox.id == "insecure":
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
        if self.stored:
            a.keep_stored_password = not typed

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
