"""Local errors are never blamed on the server (issue 11, item 9): international sender and
recipient addresses, addresses with a newline, and a CA file that is missing or not PEM are
the user's to fix (exit 65/66 naming the field), never "the server did not follow the SMTP
protocol" (76) nor "enable TLS 1.2"; and MAIL FROM never carries raw UTF-8 without SMTPUTF8."""

from __future__ import annotations

import io
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP
from hypothesis import given
from hypothesis import strategies as st

from smtpwizard.cli import main
from smtpwizard.core.diagnose import diagnose
from smtpwizard.core.errors import FieldError
from smtpwizard.core.exit_codes import ExitCode
from smtpwizard.core.probe import run_probe
from smtpwizard.core.settings import Secret, Sender, SmtpSettings, validate_email, validate_hostname, validate_profile
from tests.conftest import TEST_SECRET, MemoryKeyring
from tests.hardening.hostile import misbehaving
from tests.servers import USERNAME, Handler, Mailbox, ServerThread, smtp_server

IDN_SENDER = Sender("notifications@exämple.com", "Ünïcode Sender")
IDN_TO = "admin@bücher.example"
UTF8_SENDER = Sender("ünï@example.com", "Ünï")


@contextmanager
def smtputf8_server(tls: ssl.SSLContext) -> Iterator[tuple[ServerThread, Mailbox]]:
    """aiosmtpd offering SMTPUTF8 (and STARTTLS; no login needed)."""
    mailbox = Mailbox()

    def factory() -> SMTP:
        return SMTP(Handler(mailbox), hostname="mx.test", tls_context=tls, enable_SMTPUTF8=True, auth_require_tls=False)

    with ServerThread(factory=factory) as server:
        yield server, mailbox


async def test_an_international_domain_is_sent_as_idna_and_the_message_goes_through(
    good_tls: ssl.SSLContext, ca_file: str
) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, mailbox):
        s = SmtpSettings("127.0.0.1", server.port, ca_file=ca_file, username=USERNAME)
        report = await run_probe(s, Secret(TEST_SECRET), sender=IDN_SENDER, test_to=IDN_TO)
    assert report.ok, report.failure
    (envelope,) = mailbox.messages
    assert envelope.mail_from == "notifications@xn--exmple-cua.com"
    assert envelope.rcpt_tos == ["admin@xn--bcher-kva.example"]
    assert "SMTPUTF8" not in envelope.mail_options
    message = message_from_bytes(envelope.original_content or b"")
    assert "notifications@xn--exmple-cua.com" in str(message["From"])


async def test_a_utf8_local_part_without_smtputf8_is_refused_locally_and_never_sent(
    good_tls: ssl.SSLContext, ca_file: str
) -> None:
    with misbehaving(None, "code", good_tls, TEST_SECRET) as (server, wire):  # offers no SMTPUTF8
        s = SmtpSettings("127.0.0.1", server.port, ca_file=ca_file, username=USERNAME)
        report = await run_probe(s, Secret(TEST_SECRET), sender=UTF8_SENDER, test_to="admin@example.com")
    assert report.failure is not None and report.failure.kind == "smtputf8_missing"
    assert b"MAIL" not in wire.encrypted and b"MAIL" not in wire.cleartext  # raw UTF-8 never went out
    diagnosis = diagnose(report, s)
    assert diagnosis is not None and diagnosis.exit_code == ExitCode.DATA_ERROR
    assert "sender.address" in diagnosis.fix and "did nothing wrong" in diagnosis.explanation


async def test_a_utf8_local_part_uses_smtputf8_when_the_server_offers_it(
    good_tls: ssl.SSLContext, ca_file: str
) -> None:
    with smtputf8_server(good_tls) as (server, mailbox):
        s = SmtpSettings("127.0.0.1", server.port, ca_file=ca_file)
        report = await run_probe(s, None, sender=UTF8_SENDER, test_to="ädmin@bücher.example")
    assert report.ok, report.failure
    (envelope,) = mailbox.messages
    assert envelope.mail_from == "ünï@example.com" and "SMTPUTF8" in envelope.mail_options
    assert envelope.rcpt_tos == ["ädmin@xn--bcher-kva.example"]


def test_headless_apply_with_an_international_sender_passes(
    tmp_path: Path,
    good_tls: ssl.SSLContext,
    ca_file: str,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", TEST_SECRET)
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, mailbox):
        source = tmp_path / "input.yaml"
        source.write_text(
            f"version: 1\nsmtp:\n  host: 127.0.0.1\n  port: {server.port}\n  security: starttls\n  ca_file: {ca_file}\n"
            f"  username: {USERNAME}\n  password: {{env: SMTP_PASSWORD}}\n"
            f"sender:\n  address: {IDN_SENDER.address}\n  name: {IDN_SENDER.name}\n"
        )
        out, err = io.StringIO(), io.StringIO()
        args = ["apply", str(source), "--yes", "--config", str(tmp_path / "c.yaml"), "--send-test-to", IDN_TO]
        code = main(args, out=out, err=err)
    assert code == ExitCode.OK, out.getvalue() + err.getvalue()
    assert len(mailbox.messages) == 1
    for target in ("mastodon", "django", "gitea", "authentik", "ghost"):  # each puts the sender in a From setting
        out, err = io.StringIO(), io.StringIO()
        code = main(["export", "--config", str(tmp_path / "c.yaml"), "--target", target], out=out, err=err)
        assert code == ExitCode.OK, (target, err.getvalue())
        assert any(form in out.getvalue() for form in ("@xn--exmple-cua.com", "@exämple.com")), target


@pytest.mark.parametrize("address", ["notifications@exämple.com", "ünï@example.com"])
def test_an_international_sender_formats_for_an_apps_from_setting(address: str) -> None:
    shown = Sender(address, "Ünï, Sender").formatted()
    assert address.rpartition("@")[0] in shown and "@" in shown
    assert "exämple" not in shown  # the domain as IDNA, which every app's parser takes


@pytest.mark.parametrize(
    ("validate", "value"),
    [
        (validate_email, "admin\n@example.com"),
        (validate_email, "admin@example\n.com"),
        (validate_hostname, "smtp\n.example.com"),
        (validate_profile, "default\n"),
    ],
)
def test_a_newline_is_never_accepted_in_an_address_host_or_profile(validate: object, value: str) -> None:
    with pytest.raises(FieldError):
        validate(value, "field")  # type: ignore[operator]


@given(st.text(alphabet=st.sampled_from("ab.-@\n\r\x0b\x85\u2028 "), max_size=24))
def test_whatever_a_validator_returns_holds_no_line_break(text: str) -> None:
    for validate in (validate_email, validate_hostname, validate_profile):
        try:
            value = validate(text, "field")
        except FieldError:
            continue
        assert not any(ch in value for ch in "\n\r\x0b\x85\u2028"), (validate, value)


@pytest.fixture
def not_pem(tmp_path: Path) -> str:
    path = tmp_path / "ca.der"
    path.write_bytes(b"\x30\x82\x01\x0a not a certificate at all")
    return str(path)


def test_detect_with_a_missing_ca_file_is_a_local_error(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["detect", "127.0.0.1", "--candidate", "465/tls", "--ca-file", str(tmp_path / "none.pem")], out, err)
    assert code == ExitCode.NO_INPUT, err.getvalue()
    assert "--ca-file" in err.getvalue() and "does not exist" in err.getvalue()


def test_detect_with_a_non_pem_ca_file_is_a_local_error(not_pem: str, good_tls: ssl.SSLContext) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, _):
        out, err = io.StringIO(), io.StringIO()
        code = main(["detect", "127.0.0.1", "--candidate", f"{server.port}/starttls", "--ca-file", not_pem], out, err)
    assert code == ExitCode.DATA_ERROR, out.getvalue() + err.getvalue()
    assert "--ca-file" in err.getvalue() and "PEM" in err.getvalue()
    assert "TLS 1.2" not in out.getvalue() + err.getvalue()


def test_apply_with_a_non_pem_ca_file_names_the_field_and_never_blames_the_server(
    tmp_path: Path,
    not_pem: str,
    good_tls: ssl.SSLContext,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", TEST_SECRET)
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, mailbox):
        source = tmp_path / "input.yaml"
        source.write_text(
            f"version: 1\nsmtp:\n  host: 127.0.0.1\n  port: {server.port}\n  security: starttls\n  ca_file: {not_pem}\n"
            f"  username: {USERNAME}\n  password: {{env: SMTP_PASSWORD}}\nsender:\n  address: app@example.com\n"
        )
        out, err = io.StringIO(), io.StringIO()
        code = main(["apply", str(source), "--yes", "--config", str(tmp_path / "c.yaml")], out=out, err=err)
    assert code == ExitCode.DATA_ERROR, out.getvalue() + err.getvalue()
    assert "smtp.ca_file" in err.getvalue()
    assert "TLS 1.2" not in out.getvalue() + err.getvalue()
    assert mailbox.auth_attempts == [] and memory_keyring.entries == {}
    assert not (tmp_path / "c.yaml").exists()


async def test_the_tui_names_a_non_pem_ca_file_as_the_problem(
    tmp_path: Path, not_pem: str, good_tls: ssl.SSLContext, memory_keyring: MemoryKeyring
) -> None:
    from smtpwizard.ui.steps.live_test import LiveTestStep
    from tests.ui.scenes import answers_for, wizard_at

    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, mailbox):
        app = wizard_at("live_test", answers_for(server.port, not_pem, TEST_SECRET), tmp_path / "c.yaml")
        async with app.run_test(size=(120, 40)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, LiveTestStep)
            shown = str(screen.query_one("#error").render())
            assert "smtp.ca_file" in shown and "PEM" in shown, shown
            assert screen.diagnosis is None  # not a server diagnosis
    assert mailbox.auth_attempts == []
