"""One home per app: every app is one module under smtpwizard/core/apps/, and nothing else
in the package asks which app it is."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from smtpwizard.core.apps import APP_IDS, APPS, get_app
from smtpwizard.core.consequences import consequences_for
from smtpwizard.core.exporters import exporters
from smtpwizard.core.targets import TARGET_IDS, TARGETS

PACKAGE = Path(__file__).parents[2] / "smtpwizard"
APPS_DIR = PACKAGE / "core" / "apps"


@pytest.mark.parametrize("app_id", APP_IDS)
def test_each_app_lives_in_its_own_module(app_id: str) -> None:
    module = importlib.import_module(f"smtpwizard.core.apps.{app_id}")
    app = module.APP
    assert app is get_app(app_id)
    assert app.name and app.where and app.blurb
    assert app.default_format in app.formats
    assert set(app.write_into) <= set(app.formats)
    assert app.profile.auth_mechanisms
    assert all(c.id.startswith(app_id) for c in app.consequences)


def test_targets_exports_and_consequences_are_views_over_the_apps_registry() -> None:
    assert TARGETS == APPS
    assert TARGET_IDS == APP_IDS
    assert list(exporters().values()) == list(APPS)
    forem = [c.id for c in consequences_for("forem", None)]
    assert "forem_logout" in forem and "forem_logout" not in [c.id for c in consequences_for("gitlab", None)]


def test_no_module_outside_an_app_names_that_app() -> None:
    ids = "|".join(APP_IDS)
    literal = re.compile(rf"""["']({ids})["']""")
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.parent == APPS_DIR and path.stem in APP_IDS:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if literal.search(line):
                offenders.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_old_per_app_homes_are_gone() -> None:
    assert not any((PACKAGE / "core" / "exporters" / f"{app_id}.py").exists() for app_id in APP_IDS)
    assert "BY_TARGET" not in (PACKAGE / "core" / "consequences.py").read_text()
