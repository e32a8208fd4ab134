"""The wizard's answers, kept UI-free: the TUI fills them step by step, and they become the
same :class:`~smtpwizard.core.config.Document` a headless input file would, so both front
ends validate, test and write through the same core functions."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from smtpwizard.core.config import (
    Document,
    InlineSource,
    KeyringSource,
    PasswordSource,
    inline_secret,
    parse_document,
)
from smtpwizard.core.errors import FieldError
from smtpwizard.core.providers import Provider, get_provider
from smtpwizard.core.settings import (
    DEFAULT_TIMEOUT_S,
    SECURITY_LABELS,
    AuthChoice,
    Config,
    Secret,
    SecretRef,
    Security,
    is_loopback,
    keyring_ref_problem,
    suggested_security,
    validate_email,
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

    @classmethod
    def from_config(cls, config: Config) -> WizardAnswers:
        """Answers pre-filled from a written config (edit mode); its password stays in the keyring."""
        smtp, sender = config.smtp, config.sender
        return cls(
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
        if not self.username:
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
        doc = {
            "version": 1,
            "profile": self.profile,
            "target": self.target,
            "provider": self.provider,
            "smtp": smtp,
            "sender": {
                "address": self.sender_address,
                "name": self.sender_name or None,
                "reply_to": self.reply_to or None,
            },
        }
        document = parse_document(doc, "input")
        if isinstance(source, InlineSource):  # a typed password gets the checks of every source
            document = replace(document, password_source=InlineSource(inline_secret(source.secret.reveal())))
        return document

    def allows_insecure_auth_here(self) -> bool:
        """Whether to offer 'send the password without encryption' (only for loopback relays)."""
        return self.security == "none" and is_loopback(self.host.strip())


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def field_step(error: FieldError) -> str:
    """Which wizard step owns the field an error names."""
    name = error.field
    if name.startswith("sender."):
        return "sender"
    if name in ("smtp.username", "smtp.password", "smtp.allow_insecure_auth"):
        return "credentials"
    if name in ("target", "provider"):
        return name
    return "connection"
