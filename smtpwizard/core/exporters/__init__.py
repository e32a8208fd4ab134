"""Exports of a verified config into each app's own configuration format, behind one registry.

The front of the apps registry (``core/apps/``): each app's formats live in its own module.
Each exporter maps the settings onto the app's documented keys (``../shared/reference/
targets.md``) and raises ExportError when the app cannot express a setting, rather than
emitting a configuration that will not work.
"""

from __future__ import annotations

from smtpwizard.core.apps.base import PASSWORD_PLACEHOLDER, App, Export, Renderer, Source, header
from smtpwizard.core.errors import ExportError
from smtpwizard.core.settings import Config, Secret

__all__ = ["PASSWORD_PLACEHOLDER", "Export", "Exporter", "Renderer", "Source", "export", "exporters", "header"]

Exporter = App  # each app's exports live in its module under core/apps/


def exporters() -> dict[str, Exporter]:
    """Every exporter, by target id, in the order of the targets list."""
    from smtpwizard.core.apps import APPS  # the apps import this module's helpers

    return {app.id: app for app in APPS}


def _check_charset(app: App, username: str, password: str) -> None:
    """An app whose mail library sends the login as ASCII (Python's smtplib) can never log in with
    anything else: refuse rather than export a login that fails."""
    if app.profile.charset != "ascii":
        return
    for field, value in (("username", username), ("password", password)):
        if not value.isascii():
            raise ExportError(
                f"{app.name} export: the {field} holds non-ASCII characters, which {app.profile.library} cannot "
                f"send in AUTH; use an ASCII {field} (or an app password)"
            )


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
        result = exporter.formats[fmt][1](Source(config, password, reveal and secret is not None))
    except ValueError as exc:
        raise ExportError(f"{exporter.name} export: {exc}") from None
    if config.smtp.wants_auth:
        _check_charset(exporter, config.smtp.username or "", (password or "") if reveal and secret is not None else "")
    return result
