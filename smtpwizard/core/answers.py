"""The wizard's answers, kept UI-free: the TUI fills them step by step, and they become the
same :class:`~smtpwizard.core.config.Document` a headless input file would, so both front
ends validate, test and write through the same core functions."""

from __future__ import annotations

from dataclasses import dataclass, replace
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
    SECURITY_LABELS,
    Config,
    Secret,
    SecretRef,
    Security,
    is_loopback,
    suggested_security,
)


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
    username: str = ""
    password: Secret | None = None
    stored_password: SecretRef | None = None  # an existing keyring entry the user may keep
    keep_stored_password: bool = False
    allow_insecure_auth: bool = False
    sender_address: str = ""
    sender_name: str = ""
    reply_to: str = ""
    test_to: str = ""
    profile: str = "default"
    acknowledged: bool = False

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
            username=smtp.username or "",
            stored_password=smtp.password,
            keep_stored_password=smtp.password is not None,
            allow_insecure_auth=smtp.allow_insecure_auth,
            sender_address=sender.address,
            sender_name=sender.name or "",
            reply_to=sender.reply_to or "",
            test_to=(config.verified.test_message_to or "") if config.verified else "",
            profile=config.profile,
            acknowledged=True,  # they were acknowledged when this config was written
        )

    @property
    def provider_preset(self) -> Provider:
        return get_provider(self.provider)

    def choose_provider(self, provider_id: str, host: str | None = None) -> None:
        """Fill the connection defaults of a preset (keeps answers the user typed elsewhere)."""
        if provider_id != self.provider:
            self.acknowledged = False  # the consequences differ per provider
        preset = get_provider(provider_id)
        self.provider = provider_id
        self.host = host or preset.default_host or ""
        self.port = str(preset.recommended_port)
        self.security = preset.recommended_security
        if preset.username_default:
            self.username = preset.username_default
        if preset.id == "local_relay":
            self.username = ""

    def choose_target(self, target: str | None) -> None:
        if target != self.target:
            self.acknowledged = False
        self.target = target

    def port_hint(self) -> str | None:
        """Why the chosen security may be wrong for the port, or None when they agree."""
        try:
            port = int(self.port)
        except ValueError:
            return None
        preset = self.provider_preset
        listed = preset.security_for_port(port)
        expected = listed or suggested_security(port)
        if expected is None or expected == self.security:
            return None
        mode = SECURITY_LABELS[expected]
        if listed:
            return f"{preset.name} uses {mode} on port {port}."
        return f"Port {port} conventionally uses {mode}."

    def suggested_security(self) -> Security | None:
        """The security mode the port calls for (provider's list first, then convention)."""
        try:
            port = int(self.port)
        except ValueError:
            return None
        return self.provider_preset.security_for_port(port) or suggested_security(port)

    def apply_change(self, change: dict[str, Any]) -> None:
        """Apply a diagnosis' settings change to the answers."""
        for key, value in change.items():
            if key == "auth" and value == "none":
                self.username = ""
            elif key == "port":
                self.port = str(value)
            elif hasattr(self, key):
                setattr(self, key, value)

    def password_source(self) -> PasswordSource | None:
        if not self.username:
            return None
        if self.keep_stored_password and self.stored_password is not None:
            return KeyringSource(self.stored_password)
        return InlineSource(self.password) if self.password is not None else None

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
            "auth": "auto" if self.username else "none",
            "username": self.username or None,
            "helo_domain": self.helo_domain or None,
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


def field_step(error: FieldError) -> str:
    """Which wizard step owns the field an error names."""
    field = error.field
    if field.startswith("sender."):
        return "sender"
    if field in ("smtp.username", "smtp.password", "smtp.allow_insecure_auth"):
        return "credentials"
    if field in ("target", "provider"):
        return field
    return "connection"
