"""Step 4: how smtpwizard logs in. A password (kept in the OS keyring), or, for a provider with
OAuth2, a sign-in with Microsoft or Google (XOAUTH2): what to register, then Sign in; the refresh
token (and a client secret) live only in the keyring."""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from smtpwizard.core.answers import FLOW_LABELS, OAUTH_PROVIDER_NAMES
from smtpwizard.core.display import safe_text
from smtpwizard.core.errors import FieldError, SecretStoreError
from smtpwizard.core.secrets import BackendInfo
from smtpwizard.core.settings import Secret, SecretRef
from smtpwizard.ui.steps.base import StepScreen
from smtpwizard.ui.widgets.tick import Tick

KEPT_PLACEHOLDER = "kept from the keyring; type a new one to replace it"
DELEGATED = ("auth_code", "device_code")


def secret_input(typed: Secret | None, *, kept: bool, id: str) -> Input:
    """A masked field for a password or client secret: what was typed, else a placeholder saying
    where the secret goes (or that the stored one is kept)."""
    return Input(
        typed.reveal() if typed else "",
        placeholder=KEPT_PLACEHOLDER if kept else "stored only in the OS keyring",
        password=True,
        compact=True,
        id=id,
    )


class CredentialsStep(StepScreen):
    STEP = "credentials"
    TITLE = "Login"
    SHORT = "Login"
    INTRO = "How smtpwizard logs in. The password goes to your OS keyring, never into a file."
    HELP = (
        "Leave the username empty for a relay that accepts mail without login (e.g. a local Postfix). "
        "The password is only kept in the OS keyring (Secret Service, Keychain or Credential Locker); "
        "the config file refers to it. Ctrl+R shows or hides what you typed. "
        "With OAuth2 (Microsoft 365, Outlook.com, Gmail) you register an app with the provider once, "
        "then Sign in (Ctrl+O): the refresh token is kept in the keyring, never in a file."
    )
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        *StepScreen.BINDINGS,
        Binding("ctrl+r", "reveal", "Show password"),
        Binding("ctrl+o", "sign_in", "Sign in"),
    ]

    stored = False  # the keyring holds the password the config refers to

    def compose_body(self) -> ComposeResult:
        a = self.answers
        preset = a.provider_preset
        if self.wizard.switch_note:
            yield Static(escape(f"ℹ {self.wizard.switch_note}"), id="switch-note", classes="hint")
        yield from self.compose_method()
        with Horizontal(classes="row"):
            yield Label("Username", classes="label")
            yield Input(a.username, placeholder="empty for a relay without login", compact=True, id="username")
        yield Static(f"  {escape(preset.username_hint)}", classes="hint")
        with Vertical(id="oauth-fields"):
            yield from self.compose_oauth()
        # not in a container of their own: the hint's margin then collapses with the keyring line's
        with Horizontal(classes="row password-field", id="password-row"):
            yield Label("Password", classes="label")
            yield secret_input(a.password, kept=a.stored_password is not None, id="password")
            yield Button("Show", id="reveal", classes="small", compact=True)
        yield Static(f"  {escape(preset.password_hint)}", classes="hint password-field", id="password-hint")
        yield Tick(
            "Send the password without encryption (local relay only)",
            a.allow_insecure_auth,
            id="insecure",
            classes="password-field",
        )
        yield Static("Checking the keyring...", id="keyring")

    def compose_method(self) -> ComposeResult:
        """OAuth2 or a password, where the provider has both; OAuth2 alone where it takes no password."""
        a = self.answers
        oauth = a.oauth_preset
        if oauth is None and not a.uses_oauth:
            return
        label = oauth.label if oauth else f"Sign in with {OAUTH_PROVIDER_NAMES[a.oauth.provider]} (OAuth2)"
        if a.offers_password():
            password = oauth.password_label if oauth and oauth.password_label else "Password"
            with Horizontal(classes="row"):
                yield Label("Log in with", classes="label")
                yield Select(
                    [(label, "oauth"), (password, "password")],
                    value=a.auth_method,
                    allow_blank=False,
                    compact=True,
                    id="method",
                )
        else:
            yield Static(escape(f"Log in with: {label} (the only way {a.provider_preset.name} accepts)"), id="method")
        if oauth and oauth.note:
            yield Static(f"  {escape(oauth.note)}", classes="hint", id="oauth-note")

    def compose_oauth(self) -> ComposeResult:
        o = self.answers.oauth
        flows = self.answers.oauth_flows()
        with Horizontal(classes="row", id="flow-row"):
            yield Label("Sign-in", classes="label")
            yield Select(
                [(FLOW_LABELS[f], f) for f in flows],
                value=o.flow if o.flow in flows else flows[0],
                allow_blank=False,
                compact=True,
                id="flow",
            )
        with Horizontal(classes="row", id="tenant-row"):
            yield Label("Tenant", classes="label")
            yield Input(o.tenant, placeholder="e.g. contoso.onmicrosoft.com", compact=True, id="tenant")
        yield Static(
            "  Directory (tenant) ID or domain, from the app registration's Overview page "
            "(empty: any work account; app-only sending needs it)",
            classes="hint",
            id="tenant-hint",
        )
        with Horizontal(classes="row"):
            yield Label("Client ID", classes="label")
            yield Input(o.client_id, placeholder="the app's client ID", compact=True, id="client-id")
        yield Static("", classes="hint", id="client-id-hint")
        with Horizontal(classes="row", id="secret-row"):
            yield Label("Client secret", classes="label")
            yield secret_input(o.client_secret, kept=o.stored_client_secret is not None, id="client-secret")
        yield Static("", classes="hint", id="secret-hint")
        with Horizontal(classes="row", id="certificate-row"):
            yield Label("Certificate", classes="label")
            yield Input(
                o.certificate, placeholder="or: PEM file with key and certificate", compact=True, id="certificate"
            )
        yield Static("", id="register", classes="hint")
        with Horizontal(classes="row", id="sign-in-row"):
            yield Button("Sign in (Ctrl+O)", id="sign-in", variant="primary", compact=True)
        yield Static("", id="sign-in-status")

    def on_mount(self) -> None:
        if self.answers.uses_oauth or self.answers.oauth_preset is not None:
            self.query_one(".intro", Static).update(
                "How smtpwizard logs in. A password or an OAuth2 sign-in: either goes to your OS keyring, never into a file."
            )
        self.query_one("#next", Button).disabled = True
        self.show_method()
        self.query_one("#username", Input).focus()
        self.check_keyring()

    # --- what is shown -----------------------------------------------------------------

    def show_method(self) -> None:
        """Show the fields of the chosen way of logging in, for the chosen provider and flow."""
        a = self.answers
        self.query_one("#oauth-fields").display = a.uses_oauth
        # a sign-in is always for a mailbox; only a password login may be left empty (a relay)
        self.query_one("#username", Input).placeholder = (
            "the mailbox, e.g. me@contoso.com" if a.uses_oauth else "empty for a relay without login"
        )
        for widget in self.query(".password-field"):
            widget.display = not a.uses_oauth and (widget.id != "insecure" or a.allows_insecure_auth_here())
        self.refresh_bindings()
        self.show_keyring_line()
        if not a.uses_oauth:
            return
        o = a.oauth
        microsoft, app_only = o.provider == "microsoft", o.flow == "client_credentials"
        preset = a.oauth_preset
        self.query_one("#flow-row").display = len(a.oauth_flows()) > 1
        tenant_fixed = preset is not None and preset.tenant is not None
        for row in ("#tenant-row", "#tenant-hint"):
            self.query_one(row).display = microsoft and not tenant_fixed
        self.query_one("#client-id-hint", Static).update(
            "  Application (client) ID, from the app registration's Overview page"
            if microsoft
            else "  The OAuth client ID of a 'Desktop app' client (Google Cloud console > Credentials)"
        )
        takes_secret = app_only or not microsoft
        for row in ("#secret-row", "#secret-hint"):
            self.query_one(row).display = takes_secret
        self.query_one("#secret-hint", Static).update(
            "  The client secret's Value (Certificates & secrets); it expires: note the date. Kept in the keyring only."
            if microsoft
            else "  The Desktop app client's secret. Kept in the keyring only."
        )
        self.query_one("#certificate-row").display = app_only
        self.query_one("#sign-in-row").display = not app_only
        self.query_one("#sign-in-status").display = not app_only
        self.show_registration()
        self.show_sign_in()

    def show_registration(self) -> None:
        """What to register with the provider, with the exact redirect URI smtpwizard uses."""
        from smtpwizard.core.oauth import registration_steps

        settings = self.answers.oauth_settings()
        assert settings is not None
        steps = registration_steps(settings)
        text = "Register once:\n" + "\n".join(f"{i}. {step}" for i, step in enumerate(steps, 1))
        self.query_one("#register", Static).update(escape(text))

    def show_sign_in(self) -> None:
        a = self.answers
        status = self.query_one("#sign-in-status", Static)
        who = safe_text(a.oauth.signed_in_as)  # the provider's text: no markup, no controls
        self.query_one("#sign-in", Button).label = "Sign in again (Ctrl+O)" if a.signed_in() else "Sign in (Ctrl+O)"
        if a.signed_in():
            kept = "" if a.oauth.signed_in_now else " (kept from the keyring)"
            line = f"✓ Signed in as {who}{kept}; the refresh token stays in the OS keyring."
            if "@" in who and who.lower() != a.username.lower():
                line += f"\n⚠ The username is {safe_text(a.username)}: the server refuses a token for another user."
            status.update(escape(line))
        elif a.oauth.refresh_token is not None:
            status.update(
                escape(f"Signed in as {who} for other settings (username, client ID or tenant): sign in again.")
            )
        else:
            status.update("Not signed in yet: press Sign in (Ctrl+O).")

    # --- the keyring ---------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="keyring")
    def check_keyring(self) -> None:
        """Keyring calls block on D-Bus: ask in a thread, answer on the UI thread."""
        store = self.wizard.store
        info = store.backend()
        secret = None
        problem = None
        kept: dict[str, bool] = {}
        if info.usable:
            try:
                if self.answers.stored_password is not None:
                    secret = store.get(self.answers.stored_password)
                kept = self.kept_oauth_entries()
            except SecretStoreError as exc:
                problem = str(exc)
        self.app.call_from_thread(self.show_keyring, info, secret, problem, kept)

    def kept_oauth_entries(self) -> dict[str, bool]:
        """Edit mode: whether the keyring still holds the sign-in and the client secret."""
        o = self.answers.oauth
        refs: dict[str, SecretRef | None] = {"refresh": o.refresh_token, "secret": o.stored_client_secret}
        return {name: self.wizard.store.get(ref) is not None for name, ref in refs.items() if ref is not None}

    def show_keyring(
        self, info: BackendInfo, secret: Secret | None, problem: str | None, kept: dict[str, bool]
    ) -> None:
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
        self.keyring_name = info.name
        self.show_keyring_line()
        if problem:
            label.update(escape(f"✗ {problem}"))
        if kept.get("refresh") is False:
            self.answers.forget_sign_in()
            self.query_one("#sign-in-status", Static).update("The keyring no longer holds the sign-in: sign in again.")
        if kept.get("secret") is False:
            self.answers.oauth.stored_client_secret = None
            self.query_one("#client-secret", Input).placeholder = "the keyring no longer holds it; type it again"
        stored = self.stored = secret is not None
        self.answers.carried_password = secret  # used only if the login or server no longer fits the entry
        if not stored:
            self.answers.keep_stored_password = False
            if self.answers.stored_password is not None and not problem:
                hint = self.query_one("#password-hint", Static)
                hint.update("  password: the keyring no longer holds the stored one; type it again")
        self.show_password_state()

    keyring_name: str | None = None  # the usable backend, once checked

    def show_keyring_line(self) -> None:
        """What the keyring will hold for the chosen way of logging in."""
        if self.keyring_name is None:
            return
        a = self.answers
        what = "The password"
        if a.uses_oauth:
            what = "The client secret" if a.oauth.flow == "client_credentials" else "The sign-in (refresh token)"
        self.query_one("#keyring", Static).update(
            escape(f"✓ {what} will be stored in the OS keyring ({self.keyring_name}).")
        )

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

    # --- events --------------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        o = self.answers.oauth
        if event.input.id == "username":
            self.answers.username = event.value.strip()
        elif event.input.id == "tenant":
            o.tenant = event.value.strip()
        elif event.input.id == "client-id":
            o.client_id = event.value.strip()
        elif event.input.id == "certificate":
            o.certificate = event.value.strip()
        if self.answers.uses_oauth and event.input.id in ("username", "tenant", "client-id"):
            self.show_sign_in()
        self.show_password_state()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "method" and event.value in ("oauth", "password"):
            self.answers.choose_auth_method(event.value)  # type: ignore[arg-type]
            self.show_method()
        elif event.select.id == "flow" and isinstance(event.value, str):
            self.answers.choose_flow(event.value)  # type: ignore[arg-type]
            self.show_method()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        if event.checkbox.id == "insecure":
            self.answers.allow_insecure_auth = event.value

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "reveal":  # Back/Continue are handled by StepScreen's handler
            event.stop()
            self.action_reveal()
        elif event.button.id == "sign-in":
            event.stop()
            self.action_sign_in()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "sign_in":
            return self.is_mounted and self.answers.uses_oauth and self.answers.oauth.flow in DELEGATED
        if action == "reveal":
            return not (self.is_mounted and self.answers.uses_oauth)
        return True

    def action_reveal(self) -> None:
        field = self.query_one("#password", Input)
        field.password = not field.password
        self.query_one("#reveal", Button).label = "Hide" if not field.password else "Show"

    def action_sign_in(self) -> None:
        """Open the sign-in (browser on a loopback redirect, a pasted URL, or a device code)."""
        from smtpwizard.ui.steps.oauth_sign_in import OAuthSignInScreen

        self.collect()
        self.clear_error()
        problem = self.oauth_problem(signing_in=True)
        if problem:
            self.show_error(problem)
            return
        config = self.answers.sign_in_config()

        def signed_in(who: str | None) -> None:
            from smtpwizard.core.oauth import refresh_token_ref

            if who:
                self.answers.record_sign_in(who, refresh_token_ref(config))
                self.show_sign_in()
                self.query_one("#next", Button).focus()

        screen = OAuthSignInScreen(config, self.wizard.store, client_secret=self.answers.oauth.client_secret)
        self.app.push_screen(screen, signed_in)

    # --- answers -------------------------------------------------------------------------

    def collect(self) -> None:
        a = self.answers
        a.username = self.query_one("#username", Input).value.strip()
        typed = self.query_one("#password", Input).value
        a.password = Secret(typed) if typed else None
        if self.stored:
            a.keep_stored_password = not typed
        secret = self.query_one("#client-secret", Input).value.strip()
        a.oauth.client_secret = Secret(secret) if secret else None

    def oauth_problem(self, *, signing_in: bool = False) -> str | None:
        """The first OAuth answer that is missing or wrong, as one line naming the field and the fix."""
        a = self.answers
        o = a.oauth
        microsoft = o.provider == "microsoft"
        if not self.wizard.keyring_ok:
            return "keyring: not usable, so the sign-in cannot be kept; see the message above"
        if not a.username:
            return "username: missing; give the mailbox address to send as (XOAUTH2 logs in as this user)"
        if not o.client_id:
            where = "the app registration's Overview page" if microsoft else "the Google Cloud console (Credentials)"
            return f"client ID: missing; copy it from {where}"
        has_secret = o.client_secret is not None or o.stored_client_secret is not None
        if o.flow == "client_credentials":
            if has_secret == bool(o.certificate):
                return "client secret: give either the client secret or a certificate file (one of them)"
        elif not microsoft and not has_secret:
            return "client secret: missing; copy the Desktop app client's secret from the Google Cloud console"
        try:
            a.sign_in_config()
        except FieldError as exc:
            return str(exc)
        if a.security == "none" and not a.allow_insecure_auth:
            return "security: none would send the token unencrypted; go back and choose STARTTLS or implicit TLS"
        if not signing_in and o.flow in DELEGATED and not a.signed_in():
            return "sign-in: not signed in yet; press Sign in (Ctrl+O) and finish in the browser"
        return None

    def save(self) -> bool:
        self.collect()
        self.clear_error()
        a = self.answers
        if a.uses_oauth:
            problem = self.oauth_problem()
            if problem:
                self.show_error(problem)
                return False
            return True
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
