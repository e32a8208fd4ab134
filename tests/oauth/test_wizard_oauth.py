"""The wizard's OAuth2 (XOAUTH2) path, driven with Pilot against the real authorization server
(oidc-provider on loopback) and the XOAUTH2 aiosmtpd server: Microsoft 365 delegated from the
first step to a written config that the installed `smtpwizard test` then passes, app-only
(client credentials) for an app that sends through the bridge, edit mode, Outlook.com, and a
search of every screen, file and output for the tokens and the client secret."""

from __future__ import annotations

import asyncio
import io
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from textual.widgets import Input, Select, Static

from smtpwizard.cli import main
from smtpwizard.core.answers import WizardAnswers
from smtpwizard.core.config import read_document_file
from smtpwizard.core.secrets import KeyringStore
from smtpwizard.core.settings import Secret, SecretRef
from smtpwizard.ui.app import WizardApp, make_app
from smtpwizard.ui.steps.finish import FinishScreen
from tests.cli.test_headless_subprocess import keyring_lookup, smtpwizard
from tests.conftest import MemoryKeyring, using_keyring
from tests.oauth.authserver import (
    ACCOUNT,
    APP_CLIENT,
    APP_SECRET,
    PUBLIC_CLIENT,
    SMTP_SCOPE,
    TENANT,
    AuthServer,
    UserAgent,
    xoauth2_smtp_server,
)
from tests.oauth.conftest import config_doc, write_doc
from tests.oauth.test_sign_in_screen import shown_url
from tests.oauth.test_xoauth2 import _config, signed_in
from tests.ui.scenes import FAST, settle, step, wizard_at

SIZE = (80, 24)
REFRESH_ACCOUNT = f"default/oauth/refresh-token/{PUBLIC_CLIENT}/{ACCOUNT}"


@pytest.fixture
def real_keyring(secret_service: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The wizard in this process and `smtpwizard test` in a subprocess share one real Secret Service."""
    from keyring.backends import SecretService

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", secret_service["DBUS_SESSION_BUS_ADDRESS"])
    with using_keyring(SecretService.Keyring()):
        yield secret_service


def fill(app: WizardApp, **values: str) -> None:
    for field, value in values.items():
        app.screen.query_one(f"#{field}", Input).value = value


def shown(app: WizardApp) -> str:
    """Everything the screen holds as text (scrolled out of view or not) and what is on the terminal."""
    texts = [getattr(w.content, "code", None) or str(w.render()) for w in app.screen.query(Static)]  # YAML: Syntax
    texts += [widget.value for widget in app.screen.query(Input) if not widget.password]
    return "\n".join(texts) + app.export_screenshot()


def point_at_test_server(answers: WizardAnswers, server: AuthServer) -> None:
    """The test authority is not login.microsoftonline.com and names its SMTP scope 'smtp.send'
    (the answers a private cloud or a test server needs; real users keep Microsoft's defaults)."""
    answers.oauth.authority = server.authority
    answers.oauth.ca_file = server.ca_file
    answers.oauth.scopes = (
        ("openid", "email", "offline_access", SMTP_SCOPE)
        if answers.oauth.flow != "client_credentials"
        else (SMTP_SCOPE,)
    )


async def to_credentials(app: WizardApp, pilot: Any, smtp_port: int, ca_file: str, *, target_ups: int) -> None:
    """Target (``target_ups`` up from 'Just SMTP'), Microsoft 365, the loopback server, then the Login step."""
    for _ in range(target_ups):
        await pilot.press("up")
    await pilot.press("enter")
    assert step(app) == "provider"
    await pilot.press(*"microsoft 365", "enter")
    assert step(app) == "connection" and app.answers.provider == "microsoft365"
    fill(app, host="127.0.0.1", port=str(smtp_port), **{"ca-file": ca_file})
    await pilot.press("enter")
    await settle(app, pilot)
    assert step(app) == "credentials"


async def back_on_credentials(app: WizardApp, pilot: Any) -> None:
    for _ in range(200):
        await pilot.pause(0.05)
        if step(app) == "credentials":
            return
    raise AssertionError("the sign-in never finished: " + shown(app))


def cli(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue() + err.getvalue()


# --- Microsoft 365, delegated: the whole journey, then the installed command ----------------


async def test_microsoft_365_delegated_journey_writes_a_config_that_smtpwizard_test_passes(
    tmp_path: Path,
    auth_server: AuthServer,
    good_tls: ssl.SSLContext,
    ca_file: str,
    real_keyring: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    config_path = tmp_path / "smtpwizard" / "config.yaml"
    seen: list[str] = []
    with xoauth2_smtp_server(auth_server, good_tls) as (smtp, mailbox, handler):
        app = make_app(config_path, store=KeyringStore(), probe_options=FAST, stable=True)
        async with app.run_test(size=SIZE) as pilot:
            await to_credentials(app, pilot, smtp.port, ca_file, target_ups=0)  # Just SMTP
            method = app.screen.query_one("#method", Select)
            assert method.value == "oauth"  # preselected for Microsoft 365
            password_label = dict((v, str(k)) for k, v in method._options)["password"]
            assert "end of December 2026" in password_label  # the password path names its retirement
            seen.append(shown(app))
            assert "http://127.0.0.1" in shown(app)  # the exact redirect URI to register
            point_at_test_server(app.answers, auth_server)
            fill(app, username=ACCOUNT, tenant=TENANT, **{"client-id": PUBLIC_CLIENT})
            await pilot.press("enter")  # Continue before signing in: refused, one line
            assert step(app) == "credentials"
            error = str(app.screen.query_one("#error").render())
            assert "sign-in: not signed in yet; press Sign in (Ctrl+O)" in error and "\n" not in error.strip()

            await pilot.press("ctrl+o")
            url = await shown_url(app, pilot)
            seen.append(shown(app))
            await pilot.press("ctrl+y")  # the wrapped address, copied whole
            assert app.clipboard == url
            redirect = await asyncio.to_thread(UserAgent(auth_server).sign_in, url)
            await asyncio.to_thread(UserAgent(auth_server).follow_redirect, redirect)
            await back_on_credentials(app, pilot)
            status = str(app.screen.query_one("#sign-in-status").render())
            assert f"Signed in as {ACCOUNT}" in status
            seen.append(shown(app))

            await pilot.press("enter")
            assert step(app) == "sender"
            assert app.screen.query_one("#sender-address", Input).value == ACCOUNT
            fill(app, **{"test-to": "admin@example.com"})
            await pilot.press("enter")
            assert step(app) == "consequences"
            consequences = shown(app)
            assert "90 days without use" in consequences  # Microsoft's refresh token lifetime
            seen.append(consequences)
            await pilot.press("enter")  # not acknowledged: stays
            assert step(app) == "consequences"
            await pilot.press("space", "enter")
            assert step(app) == "live_test"
            await settle(app, pilot)
            assert app.last_report is not None and app.last_report.ok, shown(app)
            stages = str(app.screen.query_one("#stages").render())
            assert f"token for {ACCOUNT}" in stages and "valid until" in stages
            seen.append(shown(app))
            await pilot.press("enter")
            assert step(app) == "review"
            review = shown(app)
            assert "refresh_token" in review and REFRESH_ACCOUNT in review
            seen.append(review)
            await pilot.press("enter")
            await settle(app, pilot)
            assert isinstance(app.screen, FinishScreen)
            assert f"Signed in as {ACCOUNT}: the refresh token stays in the OS keyring" in shown(app)
            seen.append(shown(app))
        refresh_after_wizard = keyring_lookup(real_keyring, REFRESH_ACCOUNT)
        retest = await asyncio.to_thread(smtpwizard, "test", "--config", str(config_path), "-v", env={**real_keyring})
        refresh_after_test = keyring_lookup(real_keyring, REFRESH_ACCOUNT)

    assert retest.returncode == 0, retest.stdout + retest.stderr
    assert f"XOAUTH2 accepted (token for {ACCOUNT}, valid until" in retest.stdout
    written = yaml.safe_load(config_path.read_text())
    assert written["version"] == 2 and written["smtp"]["auth"] == "xoauth2" and written["target"] is None
    assert written["oauth"]["refresh_token"] == {"keyring": {"service": "smtpwizard", "account": REFRESH_ACCOUNT}}
    assert written["verified"]["auth_mechanism"] == "XOAUTH2"
    assert len(mailbox.messages) == 1 and len(handler.accepted) == 2  # the wizard's test, then the command's
    assert refresh_after_wizard and refresh_after_test and refresh_after_wizard != refresh_after_test  # rotated
    secrets = [refresh_after_wizard, refresh_after_test, *handler.tokens]
    outputs = [*seen, config_path.read_text(), retest.stdout, retest.stderr, caplog.text]
    assert all(secret not in text for secret in secrets for text in outputs), "a token leaked"


# --- app-only (client credentials) for an app that sends through the bridge ------------------


async def test_app_only_journey_stores_the_client_secret_on_write_and_gives_the_bridge_command(
    tmp_path: Path, auth_server: AuthServer, good_tls: ssl.SSLContext, ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    config_path = tmp_path / "smtpwizard" / "config.yaml"
    seen: list[str] = []
    with xoauth2_smtp_server(auth_server, good_tls) as (smtp, _mailbox, handler):
        app = make_app(config_path, store=KeyringStore(), probe_options=FAST, stable=True)
        async with app.run_test(size=SIZE) as pilot:
            await to_credentials(app, pilot, smtp.port, ca_file, target_ups=4)  # Mastodon
            assert app.answers.target == "mastodon"
            app.screen.query_one("#flow", Select).value = "client_credentials"
            await pilot.pause()
            assert app.screen.query_one("#sign-in-row").display is False  # nobody signs in: the app does
            assert "SMTP.SendAsApp" in shown(app)
            point_at_test_server(app.answers, auth_server)
            fill(app, username="noreply@example.test", tenant=TENANT, **{"client-id": APP_CLIENT})
            await pilot.press("enter")
            error = str(app.screen.query_one("#error").render())
            assert "client secret: give either the client secret or a certificate file" in error
            fill(app, **{"client-secret": APP_SECRET})
            await pilot.press("enter")
            assert step(app) == "sender"
            await pilot.press("enter")
            assert step(app) == "consequences"
            consequences = shown(app)
            assert "Mastodon cannot send with OAuth2" in consequences
            assert f"smtpwizard bridge --config {config_path} --out {config_path.parent}/bridge" in consequences
            assert "An Entra client secret expires" in consequences
            seen.append(consequences)
            await pilot.press("space", "enter")
            await settle(app, pilot)
            assert app.last_report is not None and app.last_report.ok, shown(app)
            assert memory_keyring.entries == {}  # the secret waits for the write
            seen.append(shown(app))
            await pilot.press("enter")
            review = shown(app)
            assert "client_secret" in review and APP_SECRET not in review
            seen.append(review)
            await pilot.press("enter")
            await settle(app, pilot)
            assert isinstance(app.screen, FinishScreen)
            finish = shown(app)
            assert "Mastodon cannot send with OAuth2" in finish and "no Mastodon export" in finish
            assert f"smtpwizard bridge --config {config_path}" in finish
            assert not app.screen.query("#export")  # no export Mastodon could not use
            assert "Client secret stored in the OS keyring" in finish
            seen.append(finish)
            await pilot.press("y")
            assert (
                app.clipboard
                == f"smtpwizard bridge --config {config_path} --out {config_path.parent}/bridge --target mastodon"
            )

    written = read_document_file(config_path, "config").config
    assert written.target is None and written.oauth is not None and written.oauth.flow == "client_credentials"
    ref = written.oauth.client_secret
    assert ref is not None and memory_keyring.entries[(ref.service, ref.account)] == APP_SECRET
    assert handler.accepted and handler.accepted[0]["client_id"] == APP_CLIENT
    outputs = [*seen, config_path.read_text()]
    assert all(secret not in text for secret in [APP_SECRET, *handler.tokens] for text in outputs)


# --- edit mode: the sign-in is kept ----------------------------------------------------------


async def test_edit_mode_of_an_xoauth2_config_changes_only_the_sender_name_without_a_new_sign_in(
    tmp_path: Path, auth_server: AuthServer, good_tls: ssl.SSLContext, ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    config_path = tmp_path / "config.yaml"
    with xoauth2_smtp_server(auth_server, good_tls) as (smtp, _mailbox, handler):
        doc = config_doc(auth_server, smtp.port, ACCOUNT, ca_file)
        doc["provider"] = "microsoft365"
        doc["sender"] = {"address": ACCOUNT, "name": "Old name"}
        source = write_doc(tmp_path / "input.yaml", doc)
        signed_in(auth_server, _config(doc), KeyringStore())
        code, output = await asyncio.to_thread(cli, "--from-yaml", str(source), "--config", str(config_path), "--yes")
        assert code == 0, output
        before = yaml.safe_load(config_path.read_text())

        app = make_app(config_path, store=KeyringStore(), probe_options=FAST, stable=True)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            assert step(app) == "live_test"
            summary = str(app.screen.query_one("#stages").render())
            assert f"signed in as {ACCOUNT}, kept in the keyring" in summary
            await pilot.press("escape", "escape", "escape")
            await settle(app, pilot)
            assert step(app) == "credentials"
            assert "(kept from the keyring)" in str(app.screen.query_one("#sign-in-status").render())
            await pilot.press("enter")  # no new sign-in needed
            assert step(app) == "sender"
            fill(app, **{"sender-name": "New name"})
            await pilot.press("enter", "enter")
            assert step(app) == "live_test"
            await settle(app, pilot)
            assert app.last_report is not None and app.last_report.ok, shown(app)
            await pilot.press("enter")
            diff = app.screen.diff_text  # type: ignore[attr-defined]
            changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("---", "+++")]
            assert changed == ["-  name: Old name", "+  name: New name"], diff
            await pilot.press("enter")
            await settle(app, pilot)
            assert isinstance(app.screen, FinishScreen)

    after = yaml.safe_load(config_path.read_text())
    assert after["sender"]["name"] == "New name"
    assert after["oauth"] == before["oauth"] and after["smtp"] == before["smtp"]
    assert ("smtpwizard", REFRESH_ACCOUNT) in memory_keyring.entries  # the sign-in stays where it was
    assert len(handler.accepted) == 2  # the apply's test and the edit's: no sign-in in between


# --- Outlook.com takes no password -----------------------------------------------------------


async def test_outlook_com_offers_only_the_microsoft_sign_in(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    app = make_app(tmp_path / "c.yaml", probe_options=FAST, stable=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", *"outlook.com", "enter")
        assert step(app) == "connection" and app.answers.provider == "outlook_com"
        await pilot.press("enter")
        await settle(app, pilot)
        assert step(app) == "credentials"
        assert app.answers.auth_method == "oauth"
        assert not isinstance(app.screen.query_one("#method"), Select)  # nothing to choose
        assert "the only way Outlook.com / Hotmail accepts" in shown(app)
        assert app.screen.query_one("#password-row").display is False
        assert app.screen.query_one("#tenant-row").display is False  # personal accounts: 'consumers'
        app.answers.choose_auth_method("password")
        assert app.answers.auth_method == "oauth"
        fill(app, username="me@outlook.com", **{"client-id": "0000-app"})
        await pilot.pause()
        config = app.answers.sign_in_config()
    assert config.oauth is not None and config.oauth.tenant == "consumers" and config.smtp.auth == "xoauth2"


def test_switching_provider_clears_the_oauth_answers_and_says_so() -> None:
    answers = WizardAnswers()
    answers.choose_provider("microsoft365")
    answers.username, answers.oauth.client_id = "me@contoso.com", "app-id"
    answers.record_sign_in("me@contoso.com", SecretRef("smtpwizard", "default/oauth/refresh-token/app-id/me"))
    note = answers.choose_provider("gmail")
    assert note is not None and "OAuth sign-in" in note and "OAuth app registration" in note
    assert answers.auth_method == "oauth" and answers.oauth.provider == "google"
    assert answers.oauth.client_id == "" and not answers.signed_in()
    answers.choose_provider("sendgrid")
    assert answers.auth_method == "password"


def test_a_sign_in_no_longer_fits_when_the_username_changes() -> None:
    answers = WizardAnswers()
    answers.choose_provider("microsoft365")
    answers.username, answers.oauth.client_id = "me@contoso.com", "app-id"
    answers.record_sign_in("me@contoso.com", SecretRef("smtpwizard", "x"))
    assert answers.signed_in()
    answers.username = "other@contoso.com"
    assert not answers.signed_in()


# --- Gmail: a Desktop app client with its secret -----------------------------------------------


async def test_gmail_sign_in_uses_the_typed_client_secret_which_goes_to_the_keyring_on_write(
    tmp_path: Path, auth_server: AuthServer, good_tls: ssl.SSLContext, ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    from tests.oauth.authserver import DESKTOP_CLIENT, DESKTOP_SECRET

    config_path = tmp_path / "config.yaml"
    answers = WizardAnswers()
    answers.choose_provider("gmail")
    answers.host, answers.ca_file, answers.acknowledged = "127.0.0.1", ca_file, False
    with xoauth2_smtp_server(auth_server, good_tls) as (smtp, _mailbox, handler):
        answers.port = str(smtp.port)
        # Google's endpoints moved to the test server (the answers a private OAuth server needs too)
        answers.oauth.authorize_url, answers.oauth.token_url = (
            auth_server.endpoint("authorize"),
            auth_server.endpoint("token"),
        )
        point_at_test_server(answers, auth_server)
        app = wizard_at("credentials", answers, config_path)
        seen: list[str] = []
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            assert app.screen.query_one("#method", Select).value == "oauth"
            assert app.screen.query_one("#flow-row").display is False  # Google: the browser only
            fill(app, username=ACCOUNT, **{"client-id": DESKTOP_CLIENT})
            await pilot.press("ctrl+o")
            assert "client secret: missing" in str(app.screen.query_one("#error").render())
            fill(app, **{"client-secret": DESKTOP_SECRET})
            await pilot.press("ctrl+o")
            url = await shown_url(app, pilot)
            redirect = await asyncio.to_thread(UserAgent(auth_server).sign_in, url)
            await asyncio.to_thread(UserAgent(auth_server).follow_redirect, redirect)
            await back_on_credentials(app, pilot)
            await pilot.press("enter", "enter")
            assert step(app) == "consequences"
            assert "expire after 7 days" in shown(app)  # Google's testing-mode refresh tokens
            assert "App Password" not in shown(app)  # the password warnings do not apply to OAuth2
            seen.append(shown(app))
            await pilot.press("space", "enter")
            await settle(app, pilot)
            assert app.last_report is not None and app.last_report.ok, shown(app)
            assert memory_keyring.entries.keys() == {
                ("smtpwizard", f"default/oauth/refresh-token/{DESKTOP_CLIENT}/{ACCOUNT}")
            }
            seen.append(shown(app))
            await pilot.press("enter")
            seen.append(shown(app))
            await pilot.press("enter")
            await settle(app, pilot)
            assert isinstance(app.screen, FinishScreen)
            seen.append(shown(app))
    written = read_document_file(config_path, "config").config
    assert written.oauth is not None and written.oauth.provider == "google" and written.oauth.client_secret is not None
    ref = written.oauth.client_secret
    assert memory_keyring.entries[(ref.service, ref.account)] == DESKTOP_SECRET
    assert handler.accepted and handler.accepted[0]["client_id"] == DESKTOP_CLIENT
    assert all(s not in text for s in [DESKTOP_SECRET, *handler.tokens] for text in [*seen, config_path.read_text()])


# --- a failed token request is diagnosed in the live test -------------------------------------


async def test_a_revoked_sign_in_shows_the_oauth_diagnosis_in_the_live_test(
    tmp_path: Path, auth_server: AuthServer, good_tls: ssl.SSLContext, ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    with xoauth2_smtp_server(auth_server, good_tls) as (smtp, mailbox, _handler):
        doc = config_doc(auth_server, smtp.port, ACCOUNT, ca_file)
        config = _config(doc)
        refresh = signed_in(auth_server, config, KeyringStore())
        auth_server.revoke(refresh.reveal())
        answers = WizardAnswers.from_config(config)
        app = wizard_at("live_test", answers, tmp_path / "config.yaml")
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            panel = shown(app)
    assert "The sign-in expired or was revoked" in panel and "smtpwizard login" in panel
    assert mailbox.auth_attempts == []  # no AUTH without a token
    assert not (tmp_path / "config.yaml").exists()


async def test_the_identity_from_the_provider_is_shown_as_plain_text(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    from tests.ui.scenes import SIGN_IN_REF, oauth_answers_for

    answers = oauth_answers_for(2525, "", signed_in=False)
    answers.record_sign_in("[b]evil[/b]\x1b[2J@example.com", SIGN_IN_REF)
    KeyringStore().put(SIGN_IN_REF, Secret("rt"))
    app = wizard_at("credentials", answers, tmp_path / "c.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        status = str(app.screen.query_one("#sign-in-status").render())
    assert "[b]evil[/b]" in status and "\x1b" not in status


# --- Microsoft 365's password path is still there, with its caveat ----------------------------


async def test_choosing_the_password_on_microsoft_365_shows_the_password_form_and_writes_no_oauth(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    from tests.ui.scenes import oauth_answers_for

    answers = oauth_answers_for(587, "")
    answers.ca_file = ""
    app = wizard_at("credentials", answers, tmp_path / "c.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.screen.query_one("#oauth-fields").display is True
        username = app.screen.query_one("#username", Input)
        assert username.placeholder == "the mailbox, e.g. me@contoso.com"  # a sign-in is always a mailbox's
        app.screen.query_one("#method", Select).value = "password"
        await pilot.pause()
        assert username.placeholder == "empty for a relay without login"
        assert app.screen.query_one("#oauth-fields").display is False
        assert app.screen.query_one("#password-row").display is True
        assert "basic authentication, being retired" in shown(app)  # the preset's own password hint
        fill(app, password="the-mailbox-password")
        await pilot.press("enter")
        assert step(app) == "sender"
    document = app.answers.to_document()
    assert document.config.oauth is None and document.config.smtp.auth == "auto" and document.config.version == 1


def test_changing_the_way_of_logging_in_asks_for_the_consequences_again() -> None:
    answers = WizardAnswers()
    answers.choose_provider("microsoft365")
    answers.acknowledged = True
    answers.choose_auth_method("password")
    assert not answers.acknowledged
    answers.choose_auth_method("oauth")
    answers.acknowledged = True
    answers.choose_flow("device_code")
    assert not answers.acknowledged


# --- flow: device_code starts with the code, no loopback listener -------------------------------


async def test_the_device_code_flow_shows_the_code_at_once_without_a_listener(
    auth_server: AuthServer, ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    from tests.oauth.test_sign_in_screen import SignInApp

    config = _config(config_doc(auth_server, 587, ACCOUNT, ca_file, flow="device_code"))
    app = SignInApp(config)
    async with app.run_test(size=(100, 40)) as pilot:
        status = ""
        for _ in range(200):
            await pilot.pause(0.05)
            status = str(app.screen.query_one("#status", Static).render())
            if "enter the code" in status:
                break
        assert str(app.screen.query_one("#url", Static).render()) == ""  # no browser address, no listener
        words = status.split()
        await asyncio.to_thread(UserAgent(auth_server).enter_user_code, words[1], words[-1])
        for _ in range(400):  # the screen polls at the server's interval (5 s)
            await pilot.pause(0.05)
            if app.result != "not dismissed":
                break
    assert app.result == ACCOUNT
    assert memory_keyring.entries  # the refresh token, in the keyring only


async def test_edit_mode_of_an_app_only_config_keeps_the_stored_client_secret(
    tmp_path: Path, auth_server: AuthServer, good_tls: ssl.SSLContext, ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    config_path = tmp_path / "config.yaml"
    with xoauth2_smtp_server(auth_server, good_tls) as (smtp, _mailbox, handler):
        doc = config_doc(
            auth_server, smtp.port, "noreply@example.test", ca_file, client_id=APP_CLIENT, flow="client_credentials"
        )
        doc["provider"], doc["sender"] = "microsoft365", {"address": "noreply@example.test", "name": "Old name"}
        doc["oauth"]["client_secret"] = {"keyring": {"account": "default/oauth/client-secret/app"}}
        KeyringStore().put(SecretRef("smtpwizard", "default/oauth/client-secret/app"), Secret(APP_SECRET))
        source = write_doc(tmp_path / "input.yaml", doc)
        code, output = await asyncio.to_thread(cli, "--from-yaml", str(source), "--config", str(config_path), "--yes")
        assert code == 0, output
        before, keyring_before = yaml.safe_load(config_path.read_text()), dict(memory_keyring.entries)

        app = make_app(config_path, store=KeyringStore(), probe_options=FAST, stable=True)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            assert "app-only: client secret in the keyring" in str(app.screen.query_one("#stages").render())
            await pilot.press("escape", "escape", "escape")
            await settle(app, pilot)
            assert step(app) == "credentials"
            secret_field = app.screen.query_one("#client-secret", Input)
            assert secret_field.value == "" and "kept from the keyring" in secret_field.placeholder
            await pilot.press("enter")
            assert step(app) == "sender"
            fill(app, **{"sender-name": "New name"})
            await pilot.press("enter", "enter")
            await settle(app, pilot)
            assert app.last_report is not None and app.last_report.ok, shown(app)
            await pilot.press("enter", "enter")
            await settle(app, pilot)
            assert isinstance(app.screen, FinishScreen)
            assert "Client secret kept, unchanged, in the OS keyring" in shown(app)

    after = yaml.safe_load(config_path.read_text())
    assert after["oauth"] == before["oauth"] and after["sender"]["name"] == "New name"
    assert memory_keyring.entries == keyring_before
    assert len(handler.accepted) == 2


def test_an_oauth_config_gets_no_password_warnings_of_its_provider() -> None:
    from smtpwizard.core.consequences import consequences_for
    from smtpwizard.core.settings import OAuthSettings

    signed = OAuthSettings(provider="microsoft", client_id="app", tenant="consumers")
    assert "outlook_oauth_only" in {c.id for c in consequences_for(None, "outlook_com")}
    ids = {c.id for c in consequences_for(None, "outlook_com", signed)}
    assert "outlook_oauth_only" not in ids and "oauth_microsoft_inactivity" in ids


async def test_a_failed_write_leaves_no_client_secret_in_the_keyring(
    tmp_path: Path, auth_server: AuthServer, good_tls: ssl.SSLContext, ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    from tests.ui.scenes import oauth_answers_for

    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the config's folder would go")
    with xoauth2_smtp_server(auth_server, good_tls) as (smtp, _mailbox, _handler):
        answers = oauth_answers_for(smtp.port, ca_file, flow="client_credentials")
        answers.username, answers.sender_address = "noreply@example.test", "noreply@example.test"
        answers.oauth.tenant, answers.oauth.client_id = TENANT, APP_CLIENT
        answers.oauth.client_secret = Secret(APP_SECRET)
        point_at_test_server(answers, auth_server)
        app = wizard_at("live_test", answers, blocker / "config.yaml")
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            assert app.last_report is not None and app.last_report.ok, shown(app)
            await pilot.press("enter", "enter")
            await settle(app, pilot)
            assert step(app) == "review"
            error = str(app.screen.query_one("#error").render())
    assert "✗" in error and APP_SECRET not in error
    assert memory_keyring.entries == {}  # stored for the write, taken back when it failed


def test_the_bridge_command_keeps_a_path_with_spaces_as_one_argument() -> None:
    import shlex

    answers = WizardAnswers()
    answers.choose_target("mattermost")
    answers.choose_provider("microsoft365")
    command = answers.bridge_command("/srv/my configs/smtp.yaml")
    args = shlex.split(command)
    assert args[:3] == ["smtpwizard", "bridge", "--config"]
    assert args[3] == "/srv/my configs/smtp.yaml" and args[args.index("--out") + 1] == "/srv/my configs/bridge"
    assert "--tls-cert" in args  # Mattermost's Go client sends a password only over TLS
