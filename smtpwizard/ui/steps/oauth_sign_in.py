"""The sign-in step for an XOAUTH2 config: what to register, then a browser on the loopback
redirect, a pasted redirect URL (a server over SSH), or a device code (Microsoft). The refresh
token goes to the keyring only; the screen dismisses with whose token it is."""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Static

from smtpwizard.core.display import safe_text
from smtpwizard.core.secrets import SecretStore
from smtpwizard.core.settings import Config, Secret
from smtpwizard.ui.steps.base import bring_into_view

WAIT_S = 600.0


class OAuthSignInScreen(Screen[str | None]):
    """Dismisses with the signed-in identity, or None when the user leaves."""

    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("escape", "leave", "Back"),
        Binding("ctrl+y", "copy_url", "Copy address"),
    ]

    def __init__(self, config: Config, store: SecretStore, client_secret: Secret | None = None) -> None:
        super().__init__()
        assert config.oauth is not None
        self.config = config
        self.store = store
        self.client_secret = client_secret  # typed in the wizard, not stored yet (Google's desktop clients)
        self.session: object | None = None
        self.finished = False
        self.stopped_waiting = False  # a pasted URL or leaving ends the loopback wait on purpose

    def compose(self) -> ComposeResult:
        from smtpwizard.core.oauth import registration_steps

        assert self.config.oauth is not None
        yield Header(icon="@")
        with VerticalScroll(id="body"):
            yield Static(f"Sign in to send as {escape(self.config.smtp.username or '')}", classes="intro")
            yield Static("", id="url")  # first: it is what the user acts on
            with Horizontal(classes="row"):
                yield Button("Copy the address (Ctrl+Y)", id="copy-url", compact=True)
                if self.config.oauth.provider == "microsoft":
                    yield Button("Use a device code instead", id="device", compact=True)
            yield Input(placeholder="Over SSH? Paste the address the browser ends on, then Enter", id="paste")
            yield Static("", id="status")
            steps = registration_steps(self.config.oauth)
            text = "What the app registration needs (once):\n" + "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1))
            yield Static(escape(text), id="register", classes="hint")
        yield Footer()

    def action_copy_url(self) -> None:
        """A long address wraps on screen: copying it whole is what works in every terminal."""
        if self.url:
            self.app.copy_to_clipboard(self.url)
            self.notify("Copied the sign-in address to the clipboard.", timeout=4)

    url = ""

    def show_status(self, text: str) -> None:
        status = self.query_one("#status", Static)
        status.update(text)
        bring_into_view(status)  # after its new text is laid out

    def on_mount(self) -> None:
        from smtpwizard.core.oauth import AuthCodeSession

        assert self.config.oauth is not None
        from smtpwizard.core.oauth import client_secret_ref

        secret = self.client_secret
        if secret is None and self.config.oauth.provider != "microsoft":
            secret = self.store.get(client_secret_ref(self.config))
        session = AuthCodeSession(self.config.oauth, login_hint=self.config.smtp.username, client_secret=secret)
        self.session = session
        if self.config.oauth.flow == "device_code":  # the flow chosen: the code first, no listener
            self._device_code()
            return
        self.query_one("#url", Static).update("Preparing the sign-in address…")
        self._wait_for_browser()

    def _show_url(self, url: str, redirect_uri: str) -> None:
        self.url = url
        waits = f"smtpwizard waits for it to come back to {redirect_uri}"
        self.query_one("#url", Static).update(f"Open this address in a browser and sign in ({waits}):\n{escape(url)}")

    @work(thread=True, exclusive=True, group="sign-in")
    def _wait_for_browser(self) -> None:
        """Off the UI thread from the start: with msal, start() asks the authority's discovery
        document over the network before it can build the address."""
        from smtpwizard.core.oauth import AuthCodeSession

        session = self.session
        assert isinstance(session, AuthCodeSession)
        url = session.start()
        if self.stopped_waiting:  # left, or signed in another way, while the address was being prepared
            session.close()  # the listener start() opened: never left behind
            return
        self.app.call_from_thread(self._show_url, url, session.redirect_uri)
        self._finish(lambda: session.wait(WAIT_S), quiet=lambda: self.stopped_waiting)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        pasted = event.value
        self.stopped_waiting = True
        event.input.value = ""  # the redirect holds a one-time code: not kept on screen
        self._complete_pasted(pasted)

    @work(thread=True, exclusive=True, group="paste")
    def _complete_pasted(self, pasted: str) -> None:
        self._finish(lambda: self.session.complete(pasted))  # type: ignore[union-attr]

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "device":
            self._device_code()
        elif event.button.id == "copy-url":
            self.action_copy_url()

    @work(thread=True, exclusive=True, group="device")
    def _device_code(self) -> None:
        from smtpwizard.core.oauth import OAuthError, poll_device, start_device

        assert self.config.oauth is not None
        try:
            device = start_device(self.config.oauth)
        except OAuthError as exc:
            self.app.call_from_thread(self._show_failure, exc.kind, str(exc))
            return
        text = f"Open {safe_text(device.verification_uri)} and enter the code {safe_text(device.user_code)}"
        self.app.call_from_thread(self.show_status, escape(text))
        self._finish(lambda: poll_device(self.config.oauth, device))  # type: ignore[arg-type]

    def _finish(self, sign_in: object, quiet: object = lambda: False) -> None:
        """Run one way of signing in; the first to succeed stores the refresh token and wins."""
        from smtpwizard.core.errors import WizardError
        from smtpwizard.core.oauth import OAuthError, refresh_token_ref, store_refresh_token

        try:
            tokens = sign_in()  # type: ignore[operator]
        except OAuthError as exc:
            if not self.finished and not quiet():  # type: ignore[operator]
                self.app.call_from_thread(self._show_failure, exc.kind, str(exc))
            return
        except WizardError as exc:
            self.app.call_from_thread(self._show_failure, "oauth_keyring", str(exc))
            return
        if self.finished:
            return
        if tokens.refresh_token is None:
            message = "the provider issued no refresh token (is offline_access allowed?)"
            self.app.call_from_thread(self._show_failure, "oauth_error", message)
            return
        self.finished = True
        try:
            store_refresh_token(self.store, refresh_token_ref(self.config), tokens.refresh_token)
        except OAuthError as exc:
            self.app.call_from_thread(self._show_failure, exc.kind, str(exc))
            return
        who = tokens.identity or self.config.smtp.username or "?"
        self.app.call_from_thread(self._signed_in, who)

    def _signed_in(self, who: str) -> None:
        from smtpwizard.core.oauth import AuthCodeSession

        self.stopped_waiting = True
        if isinstance(self.session, AuthCodeSession):
            self.session.close()  # a device code or a pasted URL won: stop the loopback wait
        self.show_status(f"✓ Signed in as {escape(safe_text(who))}; the refresh token is in the keyring.")
        self.dismiss(who)

    def _show_failure(self, kind: str, message: str) -> None:
        from smtpwizard.core.diagnose import oauth_diagnosis

        diagnosis = oauth_diagnosis(kind, message)
        self.show_status(
            escape(safe_text(f"✗ {diagnosis.title}: {diagnosis.explanation}\nFix: {diagnosis.fix}", keep_newlines=True))
        )

    def on_unmount(self) -> None:
        from smtpwizard.core.oauth import AuthCodeSession

        self.stopped_waiting = True
        if isinstance(self.session, AuthCodeSession):
            self.session.close()  # never leave a listener (or a waiting thread) behind

    def action_leave(self) -> None:
        from smtpwizard.core.oauth import AuthCodeSession

        self.stopped_waiting = True
        if isinstance(self.session, AuthCodeSession):
            self.session.close()
        self.dismiss(None)
