"""The doctor in the TUI: from the first step, F4 ('I already have settings: check them') opens the
doctor screen; Check shows the diagnosis in the app's keys; Apply fix asks, then writes."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import pytest
from textual.widgets import Button, Input, Static

from smtpwizard.ui.app import make_app
from smtpwizard.ui.steps.doctor import ConfirmFix, DoctorScreen
from tests.conftest import MemoryKeyring
from tests.doctor.cases import CASES, PASSWORD, write_app_file
from tests.servers import smtp_server
from tests.ui.scenes import FAST
from tests.ui.test_wizard import SIZE, settle


async def test_check_then_apply_fix_from_the_first_step(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, monkeypatch: pytest.MonkeyPatch,
    memory_keyring: MemoryKeyring, config_home: Path,
) -> None:  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    with smtp_server(password=PASSWORD, implicit_context=good_tls, auth_require_tls=False) as (server, _mailbox):
        path = write_app_file(tmp_path, CASES["mattermost"], server.port)
        app = make_app(tmp_path / "config.yaml", probe_options=FAST, stable=True)
        async with app.run_test(size=SIZE) as pilot:
            targets = app.screen.query_one("#targets")
            targets.highlighted = next(i for i, o in enumerate(targets.options) if o.id == "mattermost")  # type: ignore[attr-defined]
            await pilot.press("f4")
            assert isinstance(app.screen, DoctorScreen) and app.screen.app_id == "mattermost"
            field = app.screen.query_one("#doctor-path", Input)
            assert field.value == "/opt/mattermost/config/config.json"  # where Mattermost keeps it
            field.value = str(path)
            await pilot.press("f5")
            await settle(app, pilot)
            shown = str(app.screen.query_one("#doctor-diagnosis", Static).render())
            assert "No greeting: this port probably expects implicit TLS" in shown
            assert 'set ConnectionSecurity to "TLS"' in shown and PASSWORD not in shown
            assert not app.screen.query_one("#apply", Button).disabled
            await pilot.press("f6")
            assert isinstance(app.screen, ConfirmFix)
            await pilot.press("y")
            await settle(app, pilot)
            shown = str(app.screen.query_one("#doctor-diagnosis", Static).render())
            assert "Fixed:" in shown and PASSWORD not in shown
            await pilot.press("escape")
            assert getattr(app.screen, "STEP", "") == "target"
    assert json.loads(path.read_text())["EmailSettings"]["ConnectionSecurity"] == "TLS"


async def test_an_unreadable_file_is_named_on_screen_and_nothing_connects(tmp_path: Path) -> None:
    path = write_app_file(tmp_path, CASES["gitlab"], 587, (("= __PORT__", "= ENV['PORT']"),))
    app = make_app(tmp_path / "config.yaml", probe_options=FAST, stable=True)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(DoctorScreen("gitlab"))
        await pilot.pause()
        app.screen.query_one("#doctor-path", Input).value = str(path)
        await pilot.press("f5")
        await settle(app, pilot)
        error = str(app.screen.query_one("#error", Static).render())
        assert f"{path}:25: smtp_port: is Ruby code smtpwizard does not evaluate" in error
        assert app.screen.query_one("#apply", Button).disabled


async def test_a_contradiction_is_shown_before_connecting_and_apply_fix_resolves_it(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, monkeypatch: pytest.MonkeyPatch,
    memory_keyring: MemoryKeyring, config_home: Path,
) -> None:  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    case = CASES["django"]
    with smtp_server(password=PASSWORD, starttls_context=good_tls) as (server, mailbox):
        path = write_app_file(tmp_path, case, server.port, case.contradiction)
        app = make_app(tmp_path / "config.yaml", probe_options=FAST, stable=True)
        async with app.run_test(size=SIZE) as pilot:
            app.push_screen(DoctorScreen("django"))
            await pilot.pause()
            app.screen.query_one("#doctor-path", Input).value = str(path)
            await pilot.press("f5")
            await settle(app, pilot)
            shown = str(app.screen.query_one("#doctor-diagnosis", Static).render())
            assert "Django's settings contradict each other" in shown and mailbox.auth_attempts == []
            await pilot.press("f6")
            await pilot.press("y")
            await settle(app, pilot)
            assert "Fixed:" in str(app.screen.query_one("#doctor-diagnosis", Static).render())
    assert "EMAIL_USE_SSL=false" in path.read_text() and "EMAIL_USE_SSL=True" not in path.read_text()


def test_text_from_the_apps_file_is_shown_without_markup_or_terminal_escapes() -> None:
    from smtpwizard.ui.steps.doctor import shown

    text = shown("SMTPServer: \x1b]52;c;Y2xpcA==\x07evil [b]bold[/b]\nnext")
    assert "\x1b" not in text and "\\x1b]52" in text and "\\[b]" in text and "\nnext" in text
