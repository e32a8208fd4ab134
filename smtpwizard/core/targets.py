"""The apps smtpwizard configures mail for: a view over the apps registry (core/apps/)."""

from __future__ import annotations

from smtpwizard.core.apps import APP_IDS, APPS, App, get_app

Target = App
TARGETS: tuple[App, ...] = APPS
TARGET_IDS: tuple[str, ...] = APP_IDS
get_target = get_app

__all__ = ["TARGETS", "TARGET_IDS", "Target", "get_target"]
