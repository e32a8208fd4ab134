"""The wizard's answers, kept UI-free: the TUI fills them step by step, and they become the
same :class:`~smtpwizard.core.config.Document` a headless input file would, so both front
ends validate, test and write through the same core functions."""

from __future__ import annotations

import functools
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from smtpwizard.core.config import (
    Document,
    InlineSource,
    KeyringSource,
    PasswordSource,
    inline_secret,
    parse_document,
)
from smtpwizard.core.errors import FieldError, SecretStoreError
from smtpwizard.core.providers import Provider, get_provider
from smtpwizard.core.secrets import BackendInfo, SecretStore
from smtpwizard.core.settings import (
    DEFAULT_TIMEOUT_S,
    KEYRING_SERVICE,
    SECURITY_LABELS,
    AuthChoice,
    Config,
    OAuthFlow,
    OAuthProvider,
    OAuthSettings,
    Secret,
    SecretRef,
    Security,
    is_loopback,
    keyring_ref_problem,
    oauth_keyring_account,
    suggested_security,
    validate_email,
)

if TYPE_CHECKING:
    from smtpwizard.core.apps import App

AuthMethod = Literal["password", "oauth"]
FLOW_LABELS: dict[OAuthFlow, str] = {
    "auth_code": "Browser sign-in (or paste the redirect URL over SSH)",
    "device_code": "Device code (sign in on another device)",
    "client_credentials": "App-only, unattended (secret or certificate)",
}


@dataclass(frozen=True)
class OAuthPreset:
    """How a mailbox preset signs in with OAuth2 (facts: shared/reference/modern-auth.md)."""

    provider: OAuthProvider
    label: str  # the OAuth choice, in the user's words
    flows: tuple[OAuthFlow, ...]
    password_label: str  # the password choice, with its caveat ("" when the provider refuses passwords)
    tenant: str | None = None  # a fixed tenant: personal Microsoft accounts sign in at 'consumers'
    note: str = ""


# Keyed by preset id (providers.yaml): which OAuth provider signs in for it and which flows it has.
OAUTH_PRESETS: dict[str, OAuthPreset] = {
    "microsoft365": OAuthPreset(
        "microsoft",
        "Sign in with Microsoft (OAuth2)",
        ("auth_code", "device_code", "client_credentials"),
        "Password (basic authentication: Microsoft turns it off by default at the end of December 2026)",
    ),
    "outlook_com": OAuthPreset(
        "microsoft",
        "Sign in with Microsoft (OAuth2)",
        ("auth_code", "device_code"),  # personal accounts have no app-only sending
        "",
        tenant="consumers",
        note="Outlook.com accepts only OAuth2 (since September 2024; app passwords are refused too). "
        "Register the app for 'Personal Microsoft accounts'.",
    ),
    "gmail": OAuthPreset(
        "google",
        "Sign in with Google (OAuth2)",
        ("auth_code",),  # Google's device flow refuses the Gmail scope
        "App Password (needs 2-Step Verification; revoked whenever the Google password changes)",
        note="A Google Cloud 'Desktop app' OAuth client: its client ID and client secret.",
    ),
}
OAUTH_PROVIDER_NAMES: dict[OAuthProvider, str] = {"microsoft": "Microsoft", "google": "Google", "generic": "OAuth2"}


@dataclass
class OAuthAnswers:
    """The OAuth2 answers; the refresh token and a stored client secret stay in the keyring."""

    provider: OAuthProvider = "microsoft"
    flow: OAuthFlow = "auth_code"
    tenant: str = ""
    client_id: str = ""
    client_secret: Secret | None = None  # typed now: stored in the keyring when the config is written
    stored_client_secret: SecretRef | None = None  # edit mode: the keyring entry, kept
    certificate: str = ""  # client_credentials: a PEM file with the key and certificate
    # Where the provider is when not at its public endpoints (another cloud, a private server).
    authority: str = ""
    authorize_url: str = ""
    token_url: str = ""
    device_url: str = ""
    scopes: tuple[str, ...] = ()
    ca_file: str = ""
    # The sign-in: where its refresh token is, whose it is, and which answers it was made for.
    refresh_token: SecretRef | None = None
    signed_in_as: str = ""
    signed_in_for: tuple[str, ...] = ()
    signed_in_now: bool = False  # in this session (not kept from an earlier one)

    def settings(self, tenant: str | None) -> OAuthSettings:
        return OAuthSettings(
            provider=self.provider,
            client_id=self.client_id.strip(),
            flow=self.flow,
            tenant=self.tenant.strip() or tenant,
            scopes=self.scopes,
            authority=self.authority or None,
            authorize_url=self.authorize_url or None,
            token_url=self.token_url or None,
            device_url=self.device_url or None,
            client_secret=self.stored_client_secret if self.client_secret is None else None,
            certificate=self.certificate.strip() or None,
            ca_file=self.ca_file or None,
        )


@dataclass(frozen=True)
class PortAdvice:
    """The security mode a port calls for (None when nothing is known) and the reason."""

    security: Security | None
    reason: str


@dataclass
class WizardAnswers:
    target: str | None = None
    provider: str = "custom"
    host: str = ""
    port: str = "587"
    security: str = "starttls"
    verify_certificate: bool = True
    ca_file: str = ""
    helo_domain: str = ""
    auth: AuthChoice = "auto"
    timeout_s: float = DEFAULT_TIMEOUT_S
    username: str = ""
    password: Secret | None = None
    stored_password: SecretRef | None = None  # an existing keyring entry the user may keep
    keep_stored_password: bool = False
    # the stored password read back, to store again if the login or server changes (not an answer)
    carried_password: Secret | None = field(default=None, compare=False)
    allow_insecure_auth: bool = False
    sender_address: str = ""
    sender_name: str = ""
    reply_to: str = ""
    test_to: str = ""
    profile: str = "default"
    acknowledged: bool = False
    security_by_hand: bool = False  # a mode the user picked is never replaced by a port's proposal
    sender_hint: str = ""  # the address or domain typed in the provider step, to propose a provider
    auth_method: AuthMethod = "password"
    oauth: OAuthAnswers = field(default_factory=OAuthAnswers)

    @classmethod
    def from_config(cls, config: Config) -> WizardAnswers:
        """Answers pre-filled from a written config (edit mode); its password stays in the keyring."""
        smtp, sender = config.smtp, config.sender
        answers = cls(
            target=config.target,
            provider=config.provider,
            host=smtp.host,
            port=str(smtp.port),
            security=smtp.security,
            verify_certificate=smtp.verify_certificate,
            ca_file=smtp.ca_file or "",
            helo_domain=smtp.helo_domain or "",
            auth=smtp.auth,
            timeout_s=smtp.timeout_s,
            username=smtp.username or "",
            stored_password=smtp.password,
            keep_stored_password=smtp.password is not None,
            allow_insecure_auth=smtp.allow_insecure_auth,
            sender_address=sender.address,
            sender_name=sender.name or "",
            reply_to=sender.reply_to or "",
            test_to="",  # a test message goes out only when the user asks for one this time
            profile=config.profile,
            acknowledged=True,  # they were acknowledged when this config was written
            sender_hint=sender.address,
        )
        if config.oauth is not None:
            answers.auth, answers.auth_method = "auto", "oauth"
            answers.oauth = _oauth_answers(config)
            answers.oauth.signed_in_for = answers.sign_in_key() if answers.oauth.refresh_token else ()
        return answers

    @property
    def provider_preset(self) -> Provider:
        return get_provider(self.provider)

    def choose_provider(self, provider_id: str, host: str | None = None) -> str | None:
        """Fill the connection defaults of a preset. Switching to another provider also drops
        what belonged to the old one (login, stored password, CA file...); returns a sentence
        saying what was cleared, or None when nothing was."""
        switched = provider_id != self.provider
        old = self.provider_preset
        if switched:
            self.acknowledged = False  # the consequences differ per provider
        preset = get_provider(provider_id)
        self.provider = provider_id
        self.host = host or preset.default_host or ""
        self.port = str(preset.recommended_port)
        self.security = preset.recommended_security
        self.security_by_hand = False
        if not switched:
            return None
        cleared = self._forget_provider_answers()
        self.username = preset.username_default or ""
        oauth = OAUTH_PRESETS.get(provider_id)
        # OAuth is preselected where the preset has it; Outlook.com has nothing else
        self.auth_method = "oauth" if oauth is not None else "password"
        self.oauth = OAuthAnswers(provider=oauth.provider if oauth else "microsoft")
        if not cleared:
            return None
        return f"Switched from {old.name} to {preset.name}: cleared the {_join(cleared)} you gave for {old.name}."

    def _forget_provider_answers(self) -> list[str]:
        """Drop the answers that only make sense for one provider; name what was dropped."""
        cleared = []
        if self.username and self.username != self.provider_preset.username_default:
            cleared.append("username")
        if self.password is not None or (self.keep_stored_password and self.stored_password is not None):
            cleared.append("password")
        if self.ca_file:
            cleared.append("CA file")
        if self.oauth.refresh_token is not None:
            cleared.append("OAuth sign-in")
        if self.oauth.client_id or self.oauth.client_secret is not None or self.oauth.stored_client_secret:
            cleared.append("OAuth app registration")
        self.username, self.password, self.ca_file = "", None, ""
        self.stored_password, self.keep_stored_password = None, False
        self.verify_certificate, self.allow_insecure_auth = True, False
        self.auth = "auto"
        return cleared

    def give_sender_hint(self, text: str) -> None:
        """Keep what was typed in the provider step; a full, valid address also becomes the
        sender address, unless the user typed another one in the sender step."""
        text = text.strip()
        previous, self.sender_hint = self.sender_hint, text
        if "@" not in text or self.sender_address not in ("", previous):
            return
        try:
            validate_email(text, "sender")
        except FieldError:
            return
        self.sender_address = text

    def choose_target(self, target: str | None) -> None:
        if target != self.target:
            self.acknowledged = False
        self.target = target

    def port_advice(self) -> PortAdvice:
        """What the port says about the security mode, and why, in the preset's own words
        first: a provider that lists its ports is believed over the general convention."""
        try:
            port = int(self.port)
        except ValueError:
            return PortAdvice(None, "Type the port number your provider gives (587, 465, 2525 or 25).")
        preset = self.provider_preset
        listed = preset.security_for_port(port)
        if listed is not None and preset.id != "custom":  # custom's list is only the convention
            return PortAdvice(listed, f"{preset.name} uses {SECURITY_LABELS[listed]} on port {port}")
        if preset.group in ("transactional", "mailbox"):
            known = ", ".join(f"{p.port} ({SECURITY_LABELS[p.security]})" for p in preset.ports)
            return PortAdvice(None, f"{preset.name} does not offer port {port}; its ports: {known}")
        usual = suggested_security(port)
        if usual is None:
            return PortAdvice(None, f"Port {port} has no usual security mode; choose the one your server names")
        return PortAdvice(usual, f"Port {port} normally uses {SECURITY_LABELS[usual]}")

    def propose_security(self) -> Security | None:
        """Set the port's usual mode unless the user picked one by hand; returns the mode set."""
        expected = self.port_advice().security
        if expected is None or expected == self.security or self.security_by_hand:
            return None
        self.security = expected
        return expected

    def apply_change(self, change: dict[str, Any]) -> None:
        """Apply a diagnosis' settings change to the answers."""
        for key, value in change.items():
            if key == "auth" and value == "none":
                self.username = ""
            elif key == "port":
                self.port = str(value)
            elif hasattr(self, key):
                setattr(self, key, value)

    def auth_choice(self) -> AuthChoice:
        """The config's mechanism while there is a login; none without a username."""
        if self.uses_oauth:
            return "xoauth2"
        if not self.username:
            return "none"
        return "auto" if self.auth == "none" else self.auth

    def stored_password_fits(self) -> bool:
        """Whether the stored keyring entry was stored for this user, host and port; a changed
        login or server needs the password stored again under its own entry."""
        if self.stored_password is None or not self.port.isdigit():
            return False
        return keyring_ref_problem(self.stored_password, self.username or None, self.host, int(self.port)) is None

    def password_source(self) -> PasswordSource | None:
        """Where the password comes from: typed now, else the stored entry (read back and
        stored again when the login or server changed)."""
        if not self.username or self.uses_oauth:
            return None
        if self.password is not None:
            return InlineSource(self.password)
        if self.keep_stored_password and self.stored_password is not None:
            if self.carried_password is not None and not self.stored_password_fits():
                return InlineSource(self.carried_password)
            return KeyringSource(self.stored_password)
        return None

    def to_document(self) -> Document:
        """The answers as a validated document; raises FieldError naming the field."""
        try:
            port: int | str = int(self.port)
        except ValueError:
            port = self.port
        smtp: dict[str, Any] = {
            "host": self.host,
            "port": port,
            "security": self.security,
            "verify_certificate": self.verify_certificate,
            "ca_file": self.ca_file or None,
            "auth": self.auth_choice(),
            "username": self.username or None,
            "helo_domain": self.helo_domain or None,
            "timeout_s": self.timeout_s,
            "allow_insecure_auth": self.allow_insecure_auth,
        }
        source = self.password_source()
        if isinstance(source, KeyringSource):
            smtp["password"] = {"keyring": {"service": source.ref.service, "account": source.ref.account}}
        elif isinstance(source, InlineSource):
            smtp["password"] = {"stdin": True}  # a stand-in: the secret itself never enters a plain dict
        doc: dict[str, Any] = {
            "version": 1,
            "profile": self.profile,
            # an app that cannot send XOAUTH2 sends through the bridge: this config is the bridge's sign-in
            "target": None if self.bridge_app() is not None else self.target,
            "provider": self.provider,
            "smtp": smtp,
            "sender": {
                "address": self.sender_address,
                "name": self.sender_name or None,
                "reply_to": self.reply_to or None,
            },
        }
        if self.uses_oauth:
            doc["version"], doc["oauth"] = 2, self._oauth_doc()
        document = parse_document(doc, "input")
        if isinstance(source, InlineSource):  # a typed password gets the checks of every source
            document = replace(document, password_source=InlineSource(inline_secret(source.secret.reveal())))
        typed = self.oauth.client_secret
        if "client_secret" in doc.get("oauth", {}) and typed is not None:
            secret = inline_secret(typed.reveal(), "oauth.client_secret")
            document = replace(document, client_secret_source=InlineSource(secret))
        return document

    # --- OAuth2 (XOAUTH2) ------------------------------------------------------------------

    @property
    def uses_oauth(self) -> bool:
        return self.auth_method == "oauth"

    @property
    def oauth_preset(self) -> OAuthPreset | None:
        return OAUTH_PRESETS.get(self.provider)

    def offers_password(self) -> bool:
        """Whether the provider takes a password at all (Outlook.com does not)."""
        return self.provider_preset.password_auth_possible

    def oauth_flows(self) -> tuple[OAuthFlow, ...]:
        preset = self.oauth_preset
        if preset is not None:
            return preset.flows
        return ("auth_code",) if self.oauth.provider == "google" else ("auth_code", "device_code", "client_credentials")

    def choose_auth_method(self, method: AuthMethod) -> None:
        if method == "password" and not self.offers_password():
            return  # the provider refuses passwords: the OAuth answers stay
        if method != self.auth_method:
            self.acknowledged = False  # the consequences differ (token lifetimes, password retirement)
        self.auth_method = method
        if method == "oauth" and (preset := self.oauth_preset) is not None:
            self.oauth.provider = preset.provider

    def choose_flow(self, flow: OAuthFlow) -> None:
        if flow != self.oauth.flow:
            self.acknowledged = False  # device code and app-only sending have consequences of their own
        self.oauth.flow = flow

    def oauth_settings(self) -> OAuthSettings | None:
        """The OAuth settings the answers describe (unvalidated: for what is shown before the test)."""
        if not self.uses_oauth:
            return None
        return self.oauth.settings(self.oauth_preset.tenant if self.oauth_preset else None)

    def sign_in_key(self) -> tuple[str, ...]:
        """What a sign-in was made for: another user, app, tenant or server needs a new one."""
        o = self.oauth
        server = (o.authority, o.authorize_url, o.token_url, " ".join(o.scopes))
        return (self.profile, o.provider, o.tenant.strip(), o.client_id.strip(), self.username.lower(), *server)

    def signed_in(self) -> bool:
        """Whether the keyring holds a refresh token for exactly these answers."""
        return self.oauth.refresh_token is not None and self.oauth.signed_in_for == self.sign_in_key()

    def record_sign_in(self, identity: str, ref: SecretRef) -> None:
        self.oauth.refresh_token, self.oauth.signed_in_as = ref, identity
        self.oauth.signed_in_for, self.oauth.signed_in_now = self.sign_in_key(), True

    def forget_sign_in(self) -> None:
        self.oauth.refresh_token, self.oauth.signed_in_as, self.oauth.signed_in_for = None, "", ()

    def sign_in_config(self) -> Config:
        """The config a sign-in is made for, validated (FieldError names the field) before the
        sender is known: the mailbox stands in as the sender."""
        validate_email(self.username, "username")
        saved = self.sender_address
        try:
            self.sender_address = self.sender_address or self.username
            return self.to_document().config
        finally:
            self.sender_address = saved

    def bridge_app(self) -> App | None:
        """The target app when it cannot send XOAUTH2 itself (it sends through the bridge)."""
        if not self.uses_oauth:
            return None
        from smtpwizard.core.apps import find_app

        app = find_app(self.target)
        return app if app is not None and "XOAUTH2" not in app.profile.auth_mechanisms else None

    def bridge_command(self, config_path: str) -> str:
        """The command that gives a password-only app its way through the bridge."""
        app = self.bridge_app()
        assert app is not None
        out = f"{config_path.rsplit('/', 1)[0] or '.'}/bridge"
        quote = shlex.quote  # the command is copied into a shell: a path with spaces stays one argument
        command = f"smtpwizard bridge --config {quote(config_path)} --out {quote(out)} --target {app.id}"
        if app.profile.plaintext_login == "never":  # its client sends a password only over TLS
            command += " --tls-cert /path/to/bridge-cert-and-key.pem --tls-ca /path/to/its-ca.pem"
        return command

    def _oauth_doc(self) -> dict[str, Any]:
        o = self.oauth
        preset = self.oauth_preset
        doc: dict[str, Any] = {
            "provider": o.provider,
            "client_id": o.client_id.strip(),
            "flow": o.flow,
            "tenant": o.tenant.strip() or (preset.tenant if preset else None),
        }
        extra = {
            "authority": o.authority,
            "authorize_url": o.authorize_url,
            "token_url": o.token_url,
            "device_url": o.device_url,
            "ca_file": o.ca_file,
            "certificate": o.certificate.strip(),
        }
        doc.update({key: value for key, value in extra.items() if value})
        if o.scopes:
            doc["scopes"] = list(o.scopes)
        takes_secret = (o.flow == "client_credentials" and not o.certificate.strip()) or o.provider != "microsoft"
        if o.client_secret is not None and (takes_secret or o.flow == "client_credentials"):
            doc["client_secret"] = {"stdin": True}  # a stand-in: the secret itself never enters a plain dict
        elif o.stored_client_secret is not None and takes_secret:
            doc["client_secret"] = {"keyring": _ref_dict(o.stored_client_secret)}
        if o.flow != "client_credentials" and o.refresh_token is not None and self.signed_in():
            doc["refresh_token"] = {"keyring": _ref_dict(o.refresh_token)}
        return doc

    def pending_secrets(self, config: Config) -> PendingSecrets | None:
        """The client secret typed in this session, which the live test uses before the write stores it."""
        secret = self.oauth.client_secret
        if not self.uses_oauth or secret is None or config.oauth is None or config.oauth.certificate:
            return None
        ref = config.oauth.client_secret or SecretRef(
            KEYRING_SERVICE, oauth_keyring_account(config.profile, config.oauth, "client-secret", config.smtp.username)
        )
        return PendingSecrets({ref: secret})

    def allows_insecure_auth_here(self) -> bool:
        """Whether to offer 'send the password without encryption' (only for loopback relays)."""
        return self.security == "none" and is_loopback(self.host.strip())


def _ref_dict(ref: SecretRef) -> dict[str, str]:
    return {"service": ref.service, "account": ref.account}


def _oauth_answers(config: Config) -> OAuthAnswers:
    """Edit mode: the oauth block as answers; the refresh token and client secret stay in the keyring."""
    o = config.oauth
    assert o is not None
    preset = OAUTH_PRESETS.get(config.provider)
    refresh = None
    if o.flow != "client_credentials":
        account = oauth_keyring_account(config.profile, o, "refresh-token", config.smtp.username)
        refresh = o.refresh_token or SecretRef(KEYRING_SERVICE, account)
    return OAuthAnswers(
        provider=o.provider,
        flow=o.flow,
        tenant="" if preset is not None and o.tenant == preset.tenant else (o.tenant or ""),
        client_id=o.client_id,
        stored_client_secret=o.client_secret,
        certificate=o.certificate or "",
        authority=o.authority or "",
        authorize_url=o.authorize_url or "",
        token_url=o.token_url or "",
        device_url=o.device_url or "",
        scopes=o.scopes,
        ca_file=o.ca_file or "",
        refresh_token=refresh,
        signed_in_as=(config.smtp.username or "") if refresh else "",
    )


class PendingSecrets:
    """Secrets typed in this session (an OAuth client secret), held until the write: the live test
    reads them through :meth:`over` as if they were in the keyring; :meth:`store` puts them there."""

    def __init__(self, secrets: dict[SecretRef, Secret]) -> None:
        self.secrets = secrets

    def over(self, store: SecretStore) -> SecretStore:
        return _Overlay(store, self.secrets)

    def store(self, store: SecretStore) -> Callable[[], None]:
        """Store each secret and read it back; returns how to undo (the previous entries come back)."""
        previous = {ref: store.get(ref) for ref in self.secrets}
        undo = functools.partial(_restore, store, previous)
        try:
            for ref, secret in self.secrets.items():
                store.put(ref, secret)
                if store.get(ref) != secret:
                    raise SecretStoreError(
                        f"keyring: {store.backend().name} accepted the client secret but did not return it; "
                        "choose a working backend with PYTHON_KEYRING_BACKEND"
                    )
        except BaseException:
            undo()
            raise
        return undo


def _restore(store: SecretStore, previous: dict[SecretRef, Secret | None]) -> None:
    from smtpwizard.core.apply import restore_secret

    for ref, secret in previous.items():
        restore_secret(store, ref, secret)


@dataclass
class _Overlay:
    """A keyring that answers from ``pending`` first (the live test before the write)."""

    store: SecretStore
    pending: dict[SecretRef, Secret]

    def backend(self) -> BackendInfo:
        return self.store.backend()

    def require_usable(self) -> BackendInfo:
        return self.store.require_usable()

    def get(self, ref: SecretRef) -> Secret | None:
        return self.pending.get(ref) or self.store.get(ref)

    def put(self, ref: SecretRef, secret: Secret) -> None:
        self.store.put(ref, secret)

    def delete(self, ref: SecretRef) -> bool:
        return self.store.delete(ref)

    def abandon(self) -> None:
        self.store.abandon()


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def field_step(error: FieldError) -> str:
    """Which wizard step owns the field an error names."""
    name = error.field
    if name.startswith("sender."):
        return "sender"
    if name in ("smtp.username", "smtp.password", "smtp.allow_insecure_auth", "username") or name.startswith("oauth"):
        return "credentials"
    if name in ("target", "provider"):
        return name
    return "connection"
