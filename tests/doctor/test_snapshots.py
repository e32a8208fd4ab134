"""Snapshots of the doctor screen at 80x24: as opened from the first step, and with a diagnosis and
its proposed change. Fixed port and path, stable mode. Review snapshot_report.html before updating."""

from __future__ import annotations

import shutil
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from smtpwizard.ui.app import make_app
from tests.conftest import MemoryKeyring
from tests.doctor.cases import CASES, PASSWORD, write_app_file
from tests.servers import smtp_server
from tests.ui.scenes import FAST

SIZE = (80, 24)
PORT = 38465
ROOT = Path("/tmp/smtpwizard-doctor-snapshots")


@pytest.fixture
def app_file(good_tls: ssl.SSLContext, memory_keyring: MemoryKeyring) -> Iterator[Path]:
    ROOT.mkdir(exist_ok=True)
    with smtp_server(password=PASSWORD, implicit_context=good_tls, auth_require_tls=False, port=PORT):
        yield write_app_file(ROOT, CASES["mattermost"], PORT)
    shutil.rmtree(ROOT, ignore_errors=True)


def test_doctor_screen_opened_from_the_first_step(snap_compare: Any, app_file: Path) -> None:
    async def run(pilot: Any) -> None:
        await pilot.press("f4")
        await pilot.pause()

    app = make_app(ROOT / "config.yaml", probe_options=FAST, stable=True)
    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_doctor_screen_with_a_diagnosis_in_the_apps_keys(
    snap_compare: Any, app_file: Path, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)

    async def run(pilot: Any) -> None:
        targets = pilot.app.screen.query_one("#targets")
        targets.highlighted = next(i for i, o in enumerate(targets.options) if o.id == "mattermost")
        await pilot.press("f4")
        await pilot.pause()
        pilot.app.screen.query_one("#doctor-path", Input).value = str(app_file)
        await pilot.press("f5")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        pilot.app.screen.query_one("#doctor-diagnosis").scroll_visible()
        await pilot.pause()

    app = make_app(ROOT / "config.yaml", probe_options=FAST, stable=True)
    assert snap_compare(app, terminal_size=SIZE, run_before=run)
