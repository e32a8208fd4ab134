"""The wizard driven with Textual's Pilot against real SMTP servers on 127.0.0.1."""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

import pytest
import yaml
from keyring.backends import fail
from textual.widgets import Button, Input

from smtpwizard.core.answers import WizardAnswers
from smtpwizard.core.apply import save, verification_from
from smtpwizard.core.config import read_document_file
from smtpwizard.core.secrets import KeyringStore
from smtpwizard.ui.app import WizardApp, make_app
from smtpwizard.ui.steps.finish import FinishScreen
from smtpwizard.ui.widgets.dialogs import ConfirmQuit
from tests.conftest import TEST_SECRET, MemoryKeyring, using_keyring
from tests.servers import USERNAME, Mailbox, ServerThread, scripted_server, silent, smtp_server
from tests.ui.scenes import FAST, answers_for, settle, step, wizard_at

SIZE = (80, 24)


def fill(app: WizardApp, **values: str) -> None:
    for field, value in values.items():
        app.screen.query_one(f"#{field}", Input).value = value


async def test_full_journey_writes_a_verified_config_and_stores_the_password(
    tmp_path: Path, server: tuple[ServerThread, Mailbox], ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    srv, mailbox = server
    config_path = tmp_path / "smtpwizard" / "config.yaml"
    app = make_app(config_path, probe_options=FAST, stable=True)
    async with app.run_test(size=SIZE) as pilot:
        assert step(app) == "target"
        for _ in range(4):  # from "Just SMTP" up to Mastodon
            await pilot.press("up")
        await pilot.press("enter")
        assert step(app) == "provider" and app.answers.target == "mastodon"
        await pilot.press(*"custom", "enter")
        assert step(app) == "connection" and app.answers.provider == "custom"
        fill(app, host="127.0.0.1", port=str(srv.port), **{"ca-file": ca_file})
        await pilot.press("enter")
        assert step(app) == "credentials"
        await settle(app, pilot)
        fill(app, username=USERNAME, password=TEST_SECRET)
        await pilot.press("enter")
        assert step(app) == "sender"
        fill(app, **{"sender-address": "notifications@example.com", "test-to": "admin@example.com"})
        await pilot.press("enter")
        assert step(app) == "consequences"
        await pilot.press("enter")  # not acknowledged yet: stays
        assert step(app) == "consequences" and "I understand" in str(app.screen.query_one("#error").render())
        await pilot.press("space", "enter")
        assert step(app) == "live_test"
        await settle(app, pilot)
        assert app.last_report is not None and app.last_report.ok
        await pilot.press("enter")
        assert step(app) == "review"
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, FinishScreen)
        assert TEST_SECRET not in app.export_screenshot()
    written = yaml.safe_load(config_path.read_text())
    assert written["target"] == "mastodon" and written["verified"]["status"] == "passed"
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    ref = written["smtp"]["password"]["keyring"]
    assert memory_keyring.entries[(ref["service"], ref["account"])] == TEST_SECRET
    assert TEST_SECRET not in config_path.read_text()
    assert len(mailbox.messages) == 1


async def test_apply_fix_turns_a_failing_test_into_a_passing_one(
    tmp_path: Path, server: tuple[ServerThread, Mailbox], ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    wrong = answers_for(server[0].port, ca_file, TEST_SECRET, security="tls")
    app = wizard_at("live_test", wrong, tmp_path / "config.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert screen.diagnosis is not None and screen.diagnosis.code == "tls_wrong_version"  # type: ignore[attr-defined]
        assert screen.query_one("#apply-fix", Button).display
        assert screen.query_one("#next", Button).disabled
        await pilot.press("f")
        await settle(app, pilot)
        assert app.answers.security == "starttls"
        assert app.last_report is not None and app.last_report.ok
        assert not screen.query_one("#next", Button).disabled


async def test_failed_login_is_not_retried_until_the_user_asks(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    with smtp_server(password="something-else", starttls_context=good_tls) as (srv, mailbox):
        app = wizard_at("live_test", answers_for(srv.port, ca_file, TEST_SECRET), tmp_path / "c.yaml")
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await pilot.pause(0.5)
            assert len(mailbox.auth_attempts) == 1
            assert "refused the username or password" in str(app.screen.query_one("#diagnosis").render())
            await pilot.press("r")
            await settle(app, pilot)
            assert len(mailbox.auth_attempts) == 2


async def test_going_back_keeps_every_answer(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    app = make_app(tmp_path / "c.yaml", probe_options=FAST, stable=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", *"sendgrid", "enter")
        assert step(app) == "connection"
        assert app.screen.query_one("#host", Input).value == "smtp.sendgrid.net"
        fill(app, helo="mail.example.com")
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen.query_one("#username", Input).value == "apikey"  # SendGrid's convention
        fill(app, username="apikey", password="SG.secret")
        await pilot.press("escape", "escape")
        assert step(app) == "provider"
        await pilot.press("enter")  # Enter in the filter picks the highlighted provider
        assert step(app) == "connection"
        assert app.screen.query_one("#helo", Input).value == "mail.example.com"
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen.query_one("#password", Input).value == "SG.secret"


async def test_port_change_proposes_the_matching_security(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    app = wizard_at("connection", WizardAnswers(provider="custom", host="mail.example.com"), tmp_path / "c.yaml")
    async with app.run_test(size=SIZE) as pilot:
        fill(app, port="465")
        app.screen.query_one("#port", Input).focus()
        await pilot.press("tab")  # leaving the field proposes the port's usual mode
        assert app.answers.security == "tls"
        assert "implicit TLS" in str(app.screen.query_one("#port-hint").render())
        fill(app, port="99999")
        app.screen.query_one("#port", Input).focus()
        await pilot.press("enter")
        assert step(app) == "connection"
        assert "port: 99999 is out of range" in str(app.screen.query_one("#error").render())


async def test_quit_asks_first_when_answers_would_be_lost(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    app = make_app(tmp_path / "c.yaml", probe_options=FAST, stable=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", *"sendgrid", "enter")
        await pilot.press("ctrl+q")
        assert isinstance(app.screen, ConfirmQuit)
        await pilot.press("n")
        assert step(app) == "connection"
        await pilot.press("ctrl+q", "y")
    assert app.return_code == 130
    assert not (tmp_path / "c.yaml").exists()


async def test_edit_mode_opens_prefilled_and_retests_with_the_stored_password(
    tmp_path: Path, server: tuple[ServerThread, Mailbox], ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    from smtpwizard.core.probe import run_probe

    config_path = tmp_path / "config.yaml"
    document = answers_for(server[0].port, ca_file, TEST_SECRET).to_document()
    report = await run_probe(document.config.smtp, answers_for(0, ca_file, TEST_SECRET).password)
    save(
        document.config,
        answers_for(0, ca_file, TEST_SECRET).password,
        document.password_source,
        KeyringStore(),
        config_path,
        verification_from(report),
    )
    app = make_app(config_path, probe_options=FAST, stable=True)
    async with app.run_test(size=SIZE) as pilot:
        assert step(app) == "live_test"
        await settle(app, pilot)
        assert app.answers.host == "127.0.0.1" and app.answers.keep_stored_password
        assert app.last_report is None  # the summary waits for "Test now"
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.last_report is not None and app.last_report.ok
    assert read_document_file(config_path, "config").config.target == "mastodon"


async def test_no_usable_keyring_explains_and_does_not_continue(tmp_path: Path) -> None:
    with using_keyring(fail.Keyring()):
        app = wizard_at("credentials", answers_for(587, "", TEST_SECRET), tmp_path / "c.yaml")
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            text = str(app.screen.query_one("#keyring").render())
            assert "No usable keyring" in text and "keyring.backends.fail.Keyring" in text and "gnome-keyring" in text
            assert app.screen.query_one("#next", Button).disabled
            await pilot.press("enter")
            assert step(app) == "credentials"


async def test_cancel_closes_the_connection_and_writes_nothing(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    with scripted_server(silent) as srv:
        answers = answers_for(srv.port, "", TEST_SECRET)
        answers.ca_file = ""
        app = wizard_at("live_test", answers, tmp_path / "c.yaml")
        app.probe_options = None  # the default 3 s greeting timeout: long enough to cancel
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.3)
            await pilot.press("c")
            await settle(app, pilot)
            assert "Test cancelled" in str(app.screen.query_one("#outcome").render())
            assert app.screen.query_one("#next", Button).disabled
    assert not (tmp_path / "c.yaml").exists()


async def test_password_is_masked_until_revealed(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    app = wizard_at("credentials", answers_for(587, "", TEST_SECRET), tmp_path / "c.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert TEST_SECRET[:6] not in app.export_screenshot()
        await pilot.press("ctrl+r")
        assert app.screen.query_one("#password", Input).password is False


async def test_an_unexpected_error_in_the_test_is_shown_not_a_traceback(
    tmp_path: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    import smtpwizard.ui.steps.live_test as live

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(live, "live_test", broken)
    app = wizard_at("live_test", answers_for(587, "", TEST_SECRET), tmp_path / "c.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.is_running
        assert "the test stopped unexpectedly (RuntimeError)" in str(app.screen.query_one("#error").render())


async def test_detect_button_fills_in_the_working_port(
    tmp_path: Path, server: tuple[ServerThread, Mailbox], ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    from smtpwizard.core import autodetect

    answers = answers_for(587, ca_file, TEST_SECRET)
    app = wizard_at("connection", answers, tmp_path / "c.yaml")
    original = autodetect.candidates_for
    try:  # the loopback server's port stands in for a provider's port list
        autodetect.candidates_for = lambda provider, *typed: [
            autodetect.Candidate(9, "tls"),
            autodetect.Candidate(server[0].port, "starttls"),
        ]  # type: ignore[assignment]
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f5")
            await settle(app, pilot)
            assert app.screen.query_one("#port", Input).value == str(server[0].port)
            assert f"Best: port {server[0].port}, security" in str(app.screen.query_one("#detect-result").render())
    finally:
        autodetect.candidates_for = original
    assert server[1].auth_attempts == []
