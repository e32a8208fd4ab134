"""The live test speaks as the app will: with a target's ClientProfile the probe upgrades,
picks a login method, encodes the password and sends a plain-text login the way that app's
mail client does, against real aiosmtpd servers on 127.0.0.1. A pass means the app passes too;
where the app would fail, the diagnosis names the app and the fix."""

from __future__ import annotations

import io
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from smtpwizard.cli import main
from smtpwizard.core.apps import APP_IDS, get_app
from smtpwizard.core.diagnose import Diagnosis, diagnose
from smtpwizard.core.probe import ProbeReport, run_probe
from smtpwizard.core.settings import Secret, SecretRef, Security, SmtpSettings
from tests.conftest import TEST_SECRET, MemoryKeyring
from tests.hardening.test_certificates import self_signed
from tests.servers import USERNAME, Mailbox, ServerThread, smtp_server

# TEST_SECRET holds non-ASCII letters; the same hard characters without them, for the apps
# whose client sends only ASCII.
ASCII_SECRET = "Zx9'q\"$HOME #not-a-comment \\n sp@ce=7f3a91"
IMPLICIT = tuple(a for a in APP_IDS if get_app(a).profile.implicit_tls)
NO_IMPLICIT = tuple(a for a in APP_IDS if not get_app(a).profile.implicit_tls)
ASCII_ONLY = tuple(a for a in APP_IDS if get_app(a).profile.charset == "ascii")
ANY_CHARSET = tuple(a for a in APP_IDS if get_app(a).profile.charset != "ascii")


@pytest.fixture(autouse=True)
def app_trusts_test_ca(monkeypatch: pytest.MonkeyPatch, ca_file: str) -> None:
    """The apps' machines trust the test CA through their system store (SSL_CERT_FILE)."""
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)


def settings(port: int, security: Security, *, login: bool = True, **changes: object) -> SmtpSettings:
    base = SmtpSettings(
        host="127.0.0.1",
        port=port,
        security=security,
        username=USERNAME if login else None,
        password=SecretRef("smtpwizard", "test") if login else None,
        allow_insecure_auth=security == "none",
        timeout_s=10,
    )
    return base.with_changes(**changes)


async def probe(
    app_id: str | None, smtp: SmtpSettings, password: str = ASCII_SECRET
) -> tuple[ProbeReport, Diagnosis | None]:
    profile = get_app(app_id).profile if app_id else None
    report = await run_probe(smtp, Secret(password) if smtp.username else None, profile=profile)
    shown = json.dumps(report.to_dict())
    assert password not in shown
    return report, diagnose(report, smtp, None, profile)


def passed(report: ProbeReport) -> bool:
    return report.ok and report.failure is None


@pytest.fixture
def starttls_server(good_tls: ssl.SSLContext) -> Iterator[tuple[ServerThread, Mailbox]]:
    with smtp_server(password=ASCII_SECRET, starttls_context=good_tls) as running:
        yield running


# --- the everyday cases pass for every app --------------------------------------------------


@pytest.mark.parametrize("app_id", APP_IDS)
async def test_starttls_with_login_passes_for_every_app(
    app_id: str, starttls_server: tuple[ServerThread, Mailbox]
) -> None:
    server, mailbox = starttls_server
    report, diagnosis = await probe(app_id, settings(server.port, "starttls"))
    assert passed(report), diagnosis
    assert report.tls is not None and len(mailbox.auth_attempts) == 1


@pytest.mark.parametrize("app_id", IMPLICIT)
async def test_implicit_tls_with_login_passes_for_apps_that_have_it(app_id: str, good_tls: ssl.SSLContext) -> None:
    with smtp_server(password=ASCII_SECRET, implicit_context=good_tls, auth_require_tls=False) as (server, mailbox):
        report, diagnosis = await probe(app_id, settings(server.port, "tls"))
    assert passed(report), diagnosis
    assert len(mailbox.auth_attempts) == 1


@pytest.mark.parametrize("app_id", APP_IDS)
async def test_plain_relay_without_login_passes_for_every_app(app_id: str) -> None:
    with smtp_server(password=ASCII_SECRET, require_auth=False) as (server, mailbox):
        report, diagnosis = await probe(app_id, settings(server.port, "none", login=False))
    assert passed(report), diagnosis
    assert report.tls is None and mailbox.auth_attempts == []


@pytest.mark.parametrize("app_id", [a for a in APP_IDS if get_app(a).profile.plaintext_login == "anywhere"])
async def test_plain_text_login_to_a_local_relay_passes_where_the_app_sends_it(app_id: str) -> None:
    with smtp_server(password=ASCII_SECRET, auth_require_tls=False) as (server, mailbox):
        report, diagnosis = await probe(app_id, settings(server.port, "none"))
    assert passed(report), diagnosis
    assert len(mailbox.auth_attempts) == 1


# --- implicit TLS ---------------------------------------------------------------------------


@pytest.mark.parametrize("app_id", NO_IMPLICIT)
async def test_implicit_tls_fails_for_apps_without_it_and_names_the_app(app_id: str, good_tls: ssl.SSLContext) -> None:
    with smtp_server(password=ASCII_SECRET, implicit_context=good_tls, auth_require_tls=False) as (server, mailbox):
        report, diagnosis = await probe(app_id, settings(server.port, "tls"))
    assert not report.ok and diagnosis is not None
    name = get_app(app_id).name
    assert diagnosis.code == "app_no_implicit_tls"
    assert diagnosis.title == f"{name} has no implicit TLS"
    assert diagnosis.settings_change == {"security": "starttls", "port": 587}
    assert mailbox.auth_attempts == []


# --- STARTTLS whenever offered ----------------------------------------------------------------


async def test_sourcegraph_with_security_none_upgrades_and_rejects_a_self_signed_relay(tmp_path: Path) -> None:
    with smtp_server(password=ASCII_SECRET, starttls_context=self_signed(tmp_path), require_auth=False) as (
        server,
        mailbox,
    ):
        report, diagnosis = await probe("sourcegraph", settings(server.port, "none", login=False))
    assert not report.ok and diagnosis is not None
    assert diagnosis.code == "app_starttls_certificate"
    assert (
        "Sourcegraph upgrades to STARTTLS whenever the server offers it and will reject this self-signed certificate"
        in diagnosis.explanation
    )
    assert diagnosis.fix == "Set noVerifyTLS (verify_certificate: false), or give the relay a trusted certificate."
    assert mailbox.messages == []


async def test_forem_with_a_self_signed_relay_is_told_it_has_no_switch(tmp_path: Path) -> None:
    with smtp_server(password=ASCII_SECRET, starttls_context=self_signed(tmp_path)) as (server, mailbox):
        _report, diagnosis = await probe("forem", settings(server.port, "none"))
    assert diagnosis is not None and diagnosis.code == "app_starttls_certificate"
    assert diagnosis.explanation.startswith("Forem upgrades to STARTTLS whenever the server offers it")
    assert diagnosis.fix == "Give the relay a trusted certificate, or turn STARTTLS off on the relay."
    assert mailbox.auth_attempts == []


async def test_sourcegraph_with_verification_off_upgrades_and_passes_over_tls(tmp_path: Path) -> None:
    with smtp_server(password=ASCII_SECRET, starttls_context=self_signed(tmp_path)) as (server, mailbox):
        report, diagnosis = await probe("sourcegraph", settings(server.port, "none", verify_certificate=False))
    assert passed(report), diagnosis
    assert report.tls is not None  # like Sourcegraph, the login went over TLS
    assert mailbox.auth_attempts == [("PLAIN", USERNAME)]


@pytest.mark.parametrize("app_id", [None, "django", "posthog", "mattermost", "mastodon", "discourse", "gitlab"])
async def test_apps_that_obey_security_none_stay_in_plain_text_beside_a_self_signed_relay(
    app_id: str | None, tmp_path: Path
) -> None:
    with smtp_server(password=ASCII_SECRET, starttls_context=self_signed(tmp_path), require_auth=False) as (
        server,
        _mailbox,
    ):
        report, diagnosis = await probe(app_id, settings(server.port, "none", login=False))
    assert passed(report), diagnosis
    assert report.tls is None


# --- the mechanism the app picks --------------------------------------------------------------


async def test_sourcegraph_against_a_login_only_server_fails_before_sending_plain(
    starttls_server: tuple[ServerThread, Mailbox], good_tls: ssl.SSLContext
) -> None:
    with smtp_server(password=ASCII_SECRET, starttls_context=good_tls, auth_exclude=("PLAIN",)) as (server, mailbox):
        _report, diagnosis = await probe("sourcegraph", settings(server.port, "starttls"))
    assert diagnosis is not None and diagnosis.code == "app_no_mechanism"
    assert diagnosis.title == "Sourcegraph cannot log in to this server"
    assert "The server offers LOGIN; Sourcegraph can only log in with PLAIN, CRAM-MD5" in diagnosis.explanation
    assert "authentication setting" in diagnosis.explanation and "504 5.5.4" in diagnosis.explanation
    assert mailbox.auth_attempts == []


@pytest.mark.parametrize("app_id", [None, "django", "posthog", "mattermost", "mastodon"])
async def test_apps_that_can_send_login_pass_against_a_login_only_server(app_id: str, good_tls: ssl.SSLContext) -> None:
    with smtp_server(password=ASCII_SECRET, starttls_context=good_tls, auth_exclude=("PLAIN",)) as (server, mailbox):
        report, diagnosis = await probe(app_id, settings(server.port, "starttls"))
    assert passed(report), diagnosis
    assert mailbox.auth_attempts == [("LOGIN", USERNAME)]


async def test_mattermost_against_a_cram_md5_only_server_fails_and_django_uses_cram_md5(
    good_tls: ssl.SSLContext,
) -> None:
    only_cram = {"starttls_context": good_tls, "cram_md5": True, "auth_exclude": ("PLAIN", "LOGIN")}
    with smtp_server(password=ASCII_SECRET, **only_cram) as (server, mailbox):  # type: ignore[arg-type]
        _report, diagnosis = await probe("mattermost", settings(server.port, "starttls"))
        assert diagnosis is not None and diagnosis.code == "app_no_mechanism"
        assert "Mattermost can only log in with PLAIN, LOGIN" in diagnosis.explanation
        assert mailbox.auth_attempts == []
        report, diagnosis = await probe("django", settings(server.port, "starttls"))
    assert passed(report), diagnosis
    assert mailbox.auth_attempts == [("CRAM-MD5", USERNAME)]


# --- password charset -----------------------------------------------------------------------------


@pytest.mark.parametrize("app_id", ASCII_ONLY)
async def test_non_ascii_password_fails_before_auth_for_smtplib_apps(app_id: str, good_tls: ssl.SSLContext) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, mailbox):
        _report, diagnosis = await probe(app_id, settings(server.port, "starttls"), TEST_SECRET)
    assert diagnosis is not None and diagnosis.code == "app_charset"
    name = get_app(app_id).name
    assert diagnosis.title == f"{name} cannot send this password"
    assert "Python smtplib" in diagnosis.explanation and "ASCII" in diagnosis.explanation
    assert "UnicodeEncodeError" in diagnosis.explanation and "ASCII" in diagnosis.fix
    assert mailbox.auth_attempts == []  # the app could never log in: nothing was tried
    assert TEST_SECRET not in json.dumps(diagnosis.to_dict())


@pytest.mark.parametrize("app_id", [None, *ANY_CHARSET])
async def test_non_ascii_password_passes_where_the_client_sends_utf8(app_id: str, good_tls: ssl.SSLContext) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, mailbox):
        report, diagnosis = await probe(app_id, settings(server.port, "starttls"), TEST_SECRET)
    assert passed(report), diagnosis
    assert len(mailbox.auth_attempts) == 1


# --- plain-text login rule -------------------------------------------------------------------------


async def test_mattermost_never_sends_a_login_without_tls() -> None:
    with smtp_server(password=ASCII_SECRET, auth_require_tls=False) as (server, mailbox):
        _report, diagnosis = await probe("mattermost", settings(server.port, "none"))
        assert diagnosis is not None and diagnosis.code == "app_plaintext_login"
        assert diagnosis.title == "Mattermost will not send the login without encryption"
        assert "host:port" in diagnosis.explanation and "unencrypted connection" in diagnosis.explanation
        assert diagnosis.settings_change == {"security": "starttls"}
        # Even with the login allowed in smtpwizard's own settings, and to localhost.
        _report, again = await probe("mattermost", settings(server.port, "none", allow_insecure_auth=False))
    assert again is not None and again.code == "app_plaintext_login"
    assert mailbox.auth_attempts == []


async def test_sourcegraph_sends_a_plain_login_in_clear_text_only_to_a_localhost_name() -> None:
    with smtp_server(password=ASCII_SECRET, auth_require_tls=False) as (server, mailbox):
        report, diagnosis = await probe("sourcegraph", settings(server.port, "none"))
        assert passed(report), diagnosis  # 127.0.0.1 is one of Go's localhost names
        # 127.1 is the same address, but not a name Go's PlainAuth accepts without TLS.
        report, diagnosis = await probe("sourcegraph", settings(server.port, "none", host="127.1"))
    assert diagnosis is not None and diagnosis.code == "app_plaintext_login"
    assert "only to a server named exactly localhost, 127.0.0.1, ::1" in diagnosis.explanation
    assert "127.1 is not one of them" in diagnosis.explanation
    assert mailbox.auth_attempts == [("PLAIN", USERNAME)]


# --- certificate rules ------------------------------------------------------------------------------


async def test_verification_off_is_ignored_for_apps_that_always_verify(untrusted_tls: ssl.SSLContext) -> None:
    with smtp_server(password=ASCII_SECRET, starttls_context=untrusted_tls) as (server, mailbox):
        smtp = settings(server.port, "starttls", verify_certificate=False)
        report, diagnosis = await probe("django", smtp)
        assert diagnosis is not None and diagnosis.code == "app_always_verifies"
        assert diagnosis.title == "Django always checks the certificate"
        report, diagnosis = await probe("mattermost", smtp)  # SkipServerCertificateVerification
    assert passed(report), diagnosis
    assert mailbox.auth_attempts == [("PLAIN", USERNAME)]


async def test_a_ca_file_counts_only_for_apps_that_read_one(
    good_tls: ssl.SSLContext, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")  # the CA is only in smtpwizard's ca_file now
    with smtp_server(password=ASCII_SECRET, starttls_context=good_tls) as (server, _mailbox):
        smtp = settings(server.port, "starttls", ca_file=ca_file)
        _report, diagnosis = await probe("mattermost", smtp)
        assert diagnosis is not None and diagnosis.code == "app_no_ca_file"
        assert diagnosis.title == "Mattermost cannot be given this CA file"
        assert "SSL_CERT_FILE" in diagnosis.fix
        for app_id in (None, "mastodon", "gitlab"):  # SMTP_CA_FILE, smtp_ca_file
            report, diagnosis = await probe(app_id, smtp)
            assert passed(report), (app_id, diagnosis)


# --- through the command line: the config's target ----------------------------------------------


def test_apply_speaks_as_the_configs_target_and_names_it(
    tmp_path: Path, memory_keyring: MemoryKeyring, config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", ASCII_SECRET)
    with smtp_server(password=ASCII_SECRET, starttls_context=self_signed(tmp_path), require_auth=False) as (
        server,
        _mailbox,
    ):
        for target, expected in (("sourcegraph", 76), ("django", 0)):
            source = tmp_path / f"{target}.yaml"
            source.write_text(
                f"version: 1\ntarget: {target}\nprovider: custom\n"
                f"smtp:\n  host: 127.0.0.1\n  port: {server.port}\n  security: none\n  auth: none\n"
                "sender:\n  address: app@example.com\n"
            )
            out, err = io.StringIO(), io.StringIO()
            code = main(["apply", str(source), "--yes", "--dry-run"], out=out, err=err)
            assert code == expected, out.getvalue() + err.getvalue()
            if target == "sourcegraph":
                assert "Sourcegraph will upgrade to STARTTLS and reject this certificate" in out.getvalue()


# --- the new apps' own rules ---------------------------------------------------------------------


async def test_gitea_like_sourcegraph_sends_plain_in_clear_text_only_to_localhost_names() -> None:
    with smtp_server(password=ASCII_SECRET, auth_require_tls=False) as (server, mailbox):
        report, diagnosis = await probe("gitea", settings(server.port, "none"))
        assert passed(report), diagnosis
        _report, diagnosis = await probe("gitea", settings(server.port, "none", host="127.1"))
    assert diagnosis is not None and diagnosis.title == "Gitea will not send the login without encryption"
    assert mailbox.auth_attempts == [("PLAIN", USERNAME)]


async def test_ghost_and_gitea_stay_in_plain_text_beside_a_self_signed_relay_when_set_to_none(
    tmp_path: Path,
) -> None:
    with smtp_server(password=ASCII_SECRET, starttls_context=self_signed(tmp_path), require_auth=False) as (
        server,
        _mailbox,
    ):
        report, diagnosis = await probe("ghost", settings(server.port, "none", login=False))  # ignoreTLS
        assert passed(report) and report.tls is None, diagnosis
        _report, diagnosis = await probe("gitea", settings(server.port, "none", login=False))  # PROTOCOL=smtp
    assert diagnosis is None


def test_test_command_speaks_as_the_saved_target(
    tmp_path: Path,
    good_tls: ssl.SSLContext,
    memory_keyring: MemoryKeyring,
    config_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", TEST_SECRET)  # non-ASCII: Django's smtplib cannot send it
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, mailbox):
        source = tmp_path / "django.yaml"
        source.write_text(
            f"version: 1\ntarget: django\nprovider: custom\nsmtp:\n  host: 127.0.0.1\n  port: {server.port}\n"
            f"  security: starttls\n  username: {USERNAME}\n  password: {{env: SMTP_PASSWORD}}\n"
            "sender:\n  address: app@example.com\n"
        )
        out, err = io.StringIO(), io.StringIO()
        assert main(["apply", str(source), "--yes", "--skip-test"], out=out, err=err) == 0
        out, err = io.StringIO(), io.StringIO()
        code = main(["test"], out=out, err=err)
    assert code == 78, out.getvalue() + err.getvalue()
    assert "Django cannot send this password" in out.getvalue()
    assert mailbox.auth_attempts == []
    assert TEST_SECRET not in out.getvalue() + err.getvalue()
