"""The apps smtpwizard configures mail for: one module per app, one registry.

Each module defines ``APP`` (an :class:`App`): who the app is, where it reads its settings, how
its mail client connects (:class:`ClientProfile`), its export formats and its consequences.
Adding an app means adding its module and naming it in ``_MODULES`` below; nothing else asks
which app it is.
"""

from __future__ import annotations

from smtpwizard.core.apps import (
    authentik,
    discourse,
    django,
    forem,
    ghost,
    gitea,
    gitlab,
    mastodon,
    mattermost,
    posthog,
    selfmx,
    sourcegraph,
)
from smtpwizard.core.apps.base import App, ClientProfile
from smtpwizard.core.apps.readers import ReadSettings

__all__ = ["APPS", "APP_IDS", "App", "ClientProfile", "find_app", "get_app"]

_MODULES = (
    posthog,
    forem,
    sourcegraph,
    mattermost,
    selfmx,
    gitea,
    authentik,
    ghost,
    mastodon,
    discourse,
    gitlab,
    django,
)
APPS: tuple[App, ...] = tuple(module.APP for module in _MODULES)
APP_IDS: tuple[str, ...] = tuple(app.id for app in APPS)


def get_app(app_id: str) -> App:
    """The app with this id; KeyError when there is none."""
    for app in APPS:
        if app.id == app_id:
            return app
    raise KeyError(app_id)


def find_app(app_id: str | None) -> App | None:
    """The app with this id, or None for no target or an unknown one."""
    return next((app for app in APPS if app.id == app_id), None)


# What each app module offers ``smtpwizard doctor``: its reader, default path and key names.
IMPORTERS: dict[str, tuple[ReadSettings, str | None, dict[str, str]]] = {
    module.APP.id: (module.read_settings, module.DEFAULT_PATH, module.FIELDS) for module in _MODULES
}
