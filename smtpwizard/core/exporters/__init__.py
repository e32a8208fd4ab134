"""Exports of a verified config into each app's own configuration format, behind one registry.

Each exporter maps the settings onto the app's documented keys (``../shared/reference/
targets.md``) and raises ExportError when the app cannot express a setting, rather than
emitting a configuration that will not work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from smtpwizard.core.errors import ExportError
from smtpwizard.core.settings import Config, Secret, SmtpSettings

PASSWORD_PLACEHOLDER = "REPLACE_WITH_SMTP_PASSWORD"  # noqa: S105 - a placeholder, not a password


@dataclass(frozen=True)
class Export:
    text: str
    notes: tuple[str, ...] = ()
    # The keys and values written, for write-into and for tests (format-independent).
    values: tuple[tuple[str, object], ...] = field(default=(), compare=False)
    # Keys that must be absent in the app's file (write-into comments them out).
    unset: tuple[str, ...] = ()


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
class Exporter:
    id: str
    name: str
    formats: dict[str, tuple[str, Renderer]]  # format -> (description, renderer)
    default_format: str
    write_into: tuple[str, ...] = ()  # formats that support --write-into


def _registry() -> dict[str, Exporter]:
    from smtpwizard.core.exporters import (
        discourse,
        django,
        forem,
        gitlab,
        mastodon,
        mattermost,
        posthog,
        selfmx,
        sourcegraph,
    )

    modules = (posthog, forem, sourcegraph, mattermost, selfmx, mastodon, discourse, gitlab, django)
    return {m.EXPORTER.id: m.EXPORTER for m in modules}


def exporters() -> dict[str, Exporter]:
    """Every exporter, by target id, in the order of the targets list."""
    return _registry()


def export(
    target: str, config: Config, secret: Secret | None, *, fmt: str | None = None, reveal: bool = False
) -> Export:
    """Render ``config`` for ``target``. The password is a placeholder unless ``reveal``.

    Raises ExportError for an unknown target/format or a setting the app cannot express.
    """
    registry = exporters()
    if target not in registry:
        raise ExportError(f"--target: '{target}' is not an export target; choose one of: {', '.join(registry)}")
    exporter = registry[target]
    fmt = fmt or exporter.default_format
    if fmt not in exporter.formats:
        raise ExportError(
            f"--format: {exporter.name} has no '{fmt}' format; choose one of: {', '.join(exporter.formats)}"
        )
    password: str | None = None
    if config.smtp.wants_auth:
        password = secret.reveal() if (reveal and secret is not None) else PASSWORD_PLACEHOLDER
    try:
        return exporter.formats[fmt][1](Source(config, password, reveal and secret is not None))
    except ValueError as exc:
        raise ExportError(f"{exporter.name} export: {exc}") from None


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
