"""What every app module is made of: its identity, its client profile (how its mail library
really connects), its export formats and its consequences; plus the export helpers they share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from smtpwizard.core.consequences import Consequence
from smtpwizard.core.errors import ExportError
from smtpwizard.core.settings import Config, SmtpSettings

PASSWORD_PLACEHOLDER = "REPLACE_WITH_SMTP_PASSWORD"  # noqa: S105 - a placeholder, not a password

# required: upgrades when set to STARTTLS and stops if the server does not offer it; never otherwise.
# opportunistic: upgrades when set to STARTTLS and the server offers it, else goes on in plain text.
# whenever-offered: upgrades whenever the server offers STARTTLS, whatever it is set to.
# never: has no STARTTLS.
StartTlsPolicy = Literal["required", "opportunistic", "whenever-offered", "never"]
# preference: the first of auth_mechanisms the server offers (the app cannot be told which);
# configured: the one mechanism written into its settings, sent whatever the server offers.
AuthChoice = Literal["preference", "configured"]
# anywhere: sends a password over plain text to any server;
# localhost-names: only to a server named exactly localhost, 127.0.0.1 or ::1 (Go's net/smtp);
# never: never over plain text.
PlaintextLogin = Literal["anywhere", "localhost-names", "never"]
Charset = Literal["ascii", "utf-8"]
LOCALHOST_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class ClientProfile:
    """How an app's mail client connects, as read from the app's and its library's sources."""

    app: str  # the app's name, for the diagnoses that name it
    library: str  # the mail library, in the user's words
    starttls: StartTlsPolicy
    implicit_tls: bool
    verify_switch: str | None  # the app's setting that turns certificate checks off; None: always verifies
    ca_file_setting: str | None  # the app's setting for a CA file; None: system store only
    auth_mechanisms: tuple[str, ...]  # what it can send, in its order of preference
    auth_choice: AuthChoice
    auth_setting: str | None  # the setting that names the mechanism (configured choice)
    charset: Charset  # what a username and password may hold
    plaintext_login: PlaintextLogin
    timeout_setting: str | None  # None: no timeout setting
    default_timeout_s: float | None  # None: waits forever
    helo: str  # the EHLO name it sends, in the user's words
    helo_setting: str | None = None


@dataclass(frozen=True)
class Export:
    text: str
    notes: tuple[str, ...] = ()
    # The keys and values written, for write-into and for tests (format-independent).
    values: tuple[tuple[str, object], ...] = field(default=(), compare=False)
    # Keys that must be absent in the app's file (write-into comments them out).
    unset: tuple[str, ...] = ()
    # Keys holding a default the config does not set: write-into keeps a value the file already has.
    fill_only: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """What every exporter reads: the config plus the password text (or a placeholder)."""

    config: Config
    password: str | None  # None when the config has no password
    revealed: bool

    @property
    def smtp(self) -> SmtpSettings:
        return self.config.smtp

    @property
    def mechanism(self) -> str | None:
        """The AUTH mechanism to name in apps that need one: the configured one, else the one
        the live test used, else None."""
        if self.config.smtp.auth not in ("auto", "none"):
            return self.config.smtp.auth.upper()
        verified = self.config.verified
        return verified.auth_mechanism.upper() if verified and verified.auth_mechanism else None

    @property
    def uses_auth(self) -> bool:
        return self.config.smtp.wants_auth

    def refuse(self, app: str, problem: str, fix: str) -> ExportError:
        return ExportError(f"{app} export: {problem}; {fix}")

    def require_verification(self, app: str) -> None:
        """Apps without a switch for certificate checks always verify."""
        if not self.smtp.verify_certificate:
            raise self.refuse(
                app,
                "it has no setting to skip certificate verification, so it would refuse this server",
                "give the server a trusted certificate (or install its CA system-wide) and set verify_certificate: true",
            )

    def require_automatic_auth(self, app: str, supported: tuple[str, ...] = ()) -> None:
        """Apps that choose the AUTH mechanism themselves cannot honour a fixed choice."""
        auth = self.smtp.auth
        if auth in ("auto", "none") or auth.upper() in supported:
            return
        raise self.refuse(
            app,
            f"it cannot be told to use AUTH {auth.upper()}; it picks the login method itself",
            "set auth: auto",
        )


Renderer = Callable[[Source], Export]


@dataclass(frozen=True)
class App:
    """One target app: the interface the probe, the exports, the consequences and the TUI ask."""

    id: str
    name: str
    where: str  # where the app reads its mail settings, in the user's words
    blurb: str  # what the app is, in a few words
    profile: ClientProfile
    formats: dict[str, tuple[str, Renderer]]  # format -> (description, renderer)
    default_format: str
    write_into: tuple[str, ...] = ()  # formats that support --write-into
    consequences: tuple[Consequence, ...] = ()
    compose: str | None = None  # how its usual docker setup hands settings to the app
    caveat: str | None = None  # what a user must know before using any export (shown by export --list)


def header(app: str, source: Source, where: str, password_note: str | None = None) -> str:
    verified = source.config.verified
    status = f"verified by smtpwizard at {verified.at}" if verified and verified.status == "passed" else "NOT verified"
    lines = [f"{app} mail settings from smtpwizard ({status}).", f"Put these in: {where}."]
    if source.password is not None and not source.revealed:
        lines.append(
            password_note
            or f"The password is a placeholder ({PASSWORD_PLACEHOLDER}); add --reveal-secret to fill it in."
        )
    return "\n".join(lines)
