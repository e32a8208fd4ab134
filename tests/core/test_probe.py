"""The live test against real servers on 127.0.0.1, one scenario each: the stage that
failed and the diagnosis the user gets."""

from __future__ import annotations

import asyncio
import email
import ssl
import threading

import pytest

from smtpwizard.core.diagnose import apply_change, diagnose
from smtpwizard.core.exit_codes import ExitCode
from smtpwizard.core.probe import ProbeOptions, ProbeReport, Stage, StageResult, run_probe
from smtpwizard.core.settings import Secret, Sender, SmtpSettings
from tests.conftest import TEST_SECRET
from tests.servers import (
    USERNAME,
    drops_during_auth,
    filtered_port,
    scripted_server,
    silent,
    smtp_server,
)

SENDER = Sender("app@example.com", "Example App")
FAST = ProbeOptions(connect_timeout_s=1.0, banner_timeout_s=1.0)


def settings(port: int, ca_file: str | None = None, **changes: object) -> SmtpSettings:
    base = SmtpSettings(host="127.0.0.1", port=port, username=USERNAME, ca_file=ca_file, timeout_s=10)
    return base.with_changes(**changes)


def stages(report: ProbeReport) -> dict[str, str]:
    return {r.stage.value: r.status for r in report.stages}


def assert_no_secret(report: ProbeReport) -> None:
    assert TEST_SECRET not in repr(report.to_dict())
    assert TEST_SECRET not in "\n".join(report.transcript)


async def test_starttls_with_auth_passes_and_delivers_test_message(good_tls: ssl.SSLContext, ca_file: str) -> None:
    seen: list[StageResult] = []
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, mailbox):
        report = await run_probe(
            settings(server.port, ca_file),
            Secret(TEST_SECRET),
            sender=SENDER,
            test_to="admin@example.com",
            on_stage=lambda r: seen.append(StageResult(r.stage, r.status)),
        )
    assert report.ok, report.failure
    assert [r.stage for r in report.stages] == [
        Stage.RESOLVE, Stage.CONNECT, Stage.BANNER, Stage.EHLO, Stage.STARTTLS, Stage.TLS,
        Stage.EHLO_TLS, Stage.AUTH, Stage.MAIL, Stage.RCPT, Stage.DATA, Stage.QUIT,
    ]  # fmt: skip
    assert report.tls is not None and report.tls.version.startswith("TLSv1.")
    assert report.tls.certificate is not None and "127.0.0.1" in report.tls.certificate.sans
    assert report.auth_used == "PLAIN"
    assert "STARTTLS" not in report.auth_offered
    assert [s.status for s in seen if s.stage == Stage.AUTH] == ["running", "ok"]
    assert mailbox.auth_attempts == [("PLAIN", USERNAME)]
    (envelope,) = mailbox.messages
    message = email.message_from_bytes(envelope.original_content or b"")
    assert message["From"] == "Example App <app@example.com>"
    assert message["To"] == "admin@example.com"
    assert message["Date"] and message["Message-ID"] == report.message_id
    assert_no_secret(report)
    assert any("AUTH PLAIN ********" in line for line in report.transcript)


async def test_implicit_tls_with_auth_passes(good_tls: ssl.SSLContext, ca_file: str) -> None:
    with smtp_server(password=TEST_SECRET, implicit_context=good_tls, auth_require_tls=False) as (server, _mailbox):
        report = await run_probe(settings(server.port, ca_file, security="tls"), Secret(TEST_SECRET), sender=SENDER)
    assert report.ok, report.failure
    assert stages(report)["tls"] == "ok"
    assert [r.stage for r in report.stages][:4] == [Stage.RESOLVE, Stage.CONNECT, Stage.TLS, Stage.BANNER]
    assert stages(report)["rcpt"] == "skipped"
    assert report.tls is not None and report.tls.verified
    assert_no_secret(report)


async def test_plaintext_relay_without_auth_passes_with_security_none() -> None:
    with smtp_server(password="unused", require_auth=False) as (server, mailbox):
        relay = SmtpSettings(host="127.0.0.1", port=server.port, security="none", auth="none")
        report = await run_probe(relay, None, sender=SENDER, test_to="ops@example.com")
    assert report.ok, report.failure
    assert stages(report)["starttls"] == "skipped" and stages(report)["auth"] == "skipped"
    assert len(mailbox.messages) == 1


async def test_starttls_not_offered_stops_instead_of_continuing_in_plaintext() -> None:
    with smtp_server(password=TEST_SECRET, auth_require_tls=False) as (server, mailbox):
        report = await run_probe(settings(server.port), Secret(TEST_SECRET), sender=SENDER)
    assert report.failure is not None and report.failure.stage == Stage.STARTTLS
    assert report.failure.kind == "starttls_missing"
    assert mailbox.auth_attempts == []  # nothing sent in the clear
    diagnosis = diagnose(report, settings(server.port))
    assert diagnosis is not None and diagnosis.code == "starttls_missing"
    assert diagnosis.settings_change == {"port": 465, "security": "tls"}
    assert diagnosis.exit_code == ExitCode.UNAVAILABLE


async def test_plaintext_connection_never_sends_credentials_without_opt_in() -> None:
    with smtp_server(password=TEST_SECRET, auth_require_tls=False) as (server, mailbox):
        plain = settings(server.port, security="none")
        report = await run_probe(plain, Secret(TEST_SECRET))
    assert report.failure is not None and report.failure.kind == "insecure_auth"
    assert mailbox.auth_attempts == []
    diagnosis = diagnose(report, plain)
    assert diagnosis is not None and diagnosis.exit_code == ExitCode.CONFIG


async def test_wrong_password_is_tried_once_and_diagnosed(good_tls: ssl.SSLContext, ca_file: str) -> None:
    with smtp_server(password="the-right-one", starttls_context=good_tls) as (server, mailbox):
        report = await run_probe(settings(server.port, ca_file), Secret(TEST_SECRET), sender=SENDER)
    assert report.failure is not None and report.failure.stage == Stage.AUTH
    assert report.failure.kind == "auth_rejected" and report.failure.code == 535
    assert len(mailbox.auth_attempts) == 1  # never retried
    diagnosis = diagnose(report, settings(server.port, ca_file))
    assert diagnosis is not None and diagnosis.exit_code == ExitCode.NO_PERMISSION
    assert "will not retry" in diagnosis.explanation
    assert_no_secret(report)


async def test_wrong_password_for_sendgrid_suggests_apikey_username(good_tls: ssl.SSLContext, ca_file: str) -> None:
    with smtp_server(password="x", starttls_context=good_tls) as (server, _):
        sendgrid = settings(server.port, ca_file, username="me@example.com")
        report = await run_probe(sendgrid, Secret(TEST_SECRET))
    diagnosis = diagnose(report, sendgrid, "sendgrid")
    assert diagnosis is not None and diagnosis.settings_change == {"username": "apikey"}
    assert "apikey" in diagnosis.fix


async def test_certificate_for_another_host_is_diagnosed_with_its_names(
    wrong_host_tls: ssl.SSLContext, ca_file: str
) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=wrong_host_tls) as (server, mailbox):
        report = await run_probe(settings(server.port, ca_file), Secret(TEST_SECRET))
    assert report.failure is not None and report.failure.stage == Stage.TLS
    assert report.failure.kind == "cert_hostname"
    assert mailbox.auth_attempts == []
    diagnosis = diagnose(report, settings(server.port, ca_file))
    assert diagnosis is not None
    assert diagnosis.settings_change is None  # advice only: never a one-key move of the login
    assert "mail.elsewhere.test" in diagnosis.fix
    assert any("mail.elsewhere.test" in line for line in diagnosis.details)
    assert any(line.startswith("Issuer:") for line in diagnosis.details)


async def test_untrusted_certificate_suggests_ca_file_before_disabling_checks(
    untrusted_tls: ssl.SSLContext, ca_file: str
) -> None:
    with smtp_server(password=TEST_SECRET, implicit_context=untrusted_tls) as (server, _mailbox):
        s = settings(server.port, ca_file, security="tls")
        report = await run_probe(s, Secret(TEST_SECRET))
    assert report.failure is not None and report.failure.kind == "cert_untrusted"
    diagnosis = diagnose(report, s)
    assert diagnosis is not None and diagnosis.fix.index("ca_file") < diagnosis.fix.index("verify_certificate")
    assert any("Untrusted CA" in line for line in diagnosis.details)


async def test_expired_certificate_is_diagnosed(expired_tls: ssl.SSLContext, ca_file: str) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=expired_tls) as (server, _):
        s = settings(server.port, ca_file)
        report = await run_probe(s, Secret(TEST_SECRET))
    assert report.failure is not None and report.failure.kind == "cert_expired"
    diagnosis = diagnose(report, s)
    assert diagnosis is not None and "expired" in diagnosis.title
    assert any(line.startswith("Valid:") for line in diagnosis.details)


async def test_opting_out_of_verification_connects_and_reports_unverified(untrusted_tls: ssl.SSLContext) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=untrusted_tls) as (server, _):
        report = await run_probe(settings(server.port, verify_certificate=False), Secret(TEST_SECRET))
    assert report.ok, report.failure
    assert report.tls is not None and not report.tls.verified
    assert "NOT verified" in (report.stage(Stage.TLS) or StageResult(Stage.TLS, "ok")).detail
    assert report.tls.certificate is not None and report.tls.certificate.issuer  # decoded without verification


async def test_starttls_on_implicit_tls_port_is_diagnosed_as_implicit_tls_within_seconds(
    good_tls: ssl.SSLContext, ca_file: str
) -> None:
    with smtp_server(password=TEST_SECRET, implicit_context=good_tls) as (server, _):
        s = settings(server.port, ca_file)
        report = await run_probe(s, Secret(TEST_SECRET), options=FAST)
    assert report.failure is not None and report.failure.stage == Stage.BANNER
    assert report.failure.kind == "banner_timeout"
    # "banner_timeout", not "timeout": the short banner timeout answered, not the overall one
    diagnosis = diagnose(report, s)
    assert diagnosis is not None and diagnosis.settings_change == {"security": "tls"}


async def test_silent_port_is_diagnosed_by_the_banner_timeout() -> None:
    with scripted_server(silent) as server:
        s = settings(server.port)
        report = await run_probe(s, Secret(TEST_SECRET), options=FAST)
    assert report.failure is not None and report.failure.kind == "banner_timeout"
    assert report.stage(Stage.CONNECT) is not None


async def test_implicit_tls_against_plaintext_port_is_diagnosed_as_wrong_version(
    good_tls: ssl.SSLContext, ca_file: str
) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, _):
        s = settings(server.port, ca_file, security="tls")
        report = await run_probe(s, Secret(TEST_SECRET))
    assert report.failure is not None and report.failure.stage == Stage.TLS
    assert report.failure.kind == "tls_wrong_version"
    diagnosis = diagnose(report, s)
    assert diagnosis is not None and diagnosis.settings_change == {"security": "starttls"}
    # Applying the fix makes the same server pass.
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, _):
        fixed = apply_change(settings(server.port, ca_file, security="tls"), diagnosis)
        assert (await run_probe(fixed, Secret(TEST_SECRET))).ok


async def test_connection_dropped_during_auth_is_diagnosed() -> None:
    with scripted_server(drops_during_auth) as server:
        s = settings(server.port, security="none", allow_insecure_auth=True)
        report = await run_probe(s, Secret(TEST_SECRET))
    assert report.failure is not None and report.failure.stage == Stage.AUTH
    assert report.failure.kind == "disconnected"
    diagnosis = diagnose(report, s)
    assert diagnosis is not None and diagnosis.code == "disconnected"
    assert_no_secret(report)


@pytest.mark.parametrize(
    ("where", "reply", "stage", "code", "exit_code"),
    [
        ("mail", "451 4.3.0 Try again later", Stage.MAIL, "sender_temporary", ExitCode.TEMP_FAIL),
        ("mail", "554 5.7.1 Email address is not verified", Stage.MAIL, "sender_refused", ExitCode.NO_PERMISSION),
        ("rcpt", "450 4.2.0 Greylisted", Stage.RCPT, "recipient_temporary", ExitCode.TEMP_FAIL),
        ("rcpt", "550 5.7.1 Relaying denied", Stage.RCPT, "recipient_refused", ExitCode.NO_PERMISSION),
        ("mail", "421 4.7.0 Too many connections", Stage.MAIL, "service_unavailable", ExitCode.TEMP_FAIL),
    ],
)
async def test_4xx_and_5xx_on_mail_and_rcpt_are_diagnosed(
    good_tls: ssl.SSLContext, ca_file: str, where: str, reply: str, stage: Stage, code: str, exit_code: ExitCode
) -> None:
    replies = {"mail_reply": reply} if where == "mail" else {"rcpt_reply": reply}
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls, **replies) as (server, mailbox):  # type: ignore[arg-type]
        s = settings(server.port, ca_file)
        report = await run_probe(s, Secret(TEST_SECRET), sender=SENDER, test_to="someone@example.com")
    assert report.failure is not None and report.failure.stage == stage
    diagnosis = diagnose(report, s, "amazon_ses")
    assert diagnosis is not None and diagnosis.code == code and diagnosis.exit_code == exit_code
    assert mailbox.messages == []


async def test_ses_sender_rejection_mentions_sandbox(good_tls: ssl.SSLContext, ca_file: str) -> None:
    with smtp_server(
        password=TEST_SECRET,
        starttls_context=good_tls,
        mail_reply="554 Message rejected: Email address is not verified",
    ) as (server, _):
        s = settings(server.port, ca_file)
        report = await run_probe(s, Secret(TEST_SECRET), sender=SENDER)
    diagnosis = diagnose(report, s, "amazon_ses")
    assert diagnosis is not None and "sandbox" in diagnosis.fix


async def test_refused_connection_is_diagnosed() -> None:
    with scripted_server(silent) as server:
        port = server.port
    report = await run_probe(settings(port), None, options=FAST)
    assert report.failure is not None and report.failure.kind == "refused"
    diagnosis = diagnose(report, settings(port))
    assert diagnosis is not None and "container" in diagnosis.fix


async def test_filtered_port_is_diagnosed_as_blocked_within_the_connect_timeout() -> None:
    with filtered_port() as port:
        s = settings(port)
        report = await run_probe(s, None, options=FAST)
    assert report.failure is not None and report.failure.kind == "connect_timeout"  # not the overall timeout
    diagnosis = diagnose(report, s)
    assert diagnosis is not None and "block" in diagnosis.explanation
    assert diagnosis.settings_change == {"port": 587, "security": "starttls"}


async def test_unknown_host_is_diagnosed_as_dns_failure() -> None:
    s = SmtpSettings(host="no-such-host.invalid", port=587)
    report = await run_probe(s, None, options=FAST)
    assert report.failure is not None and report.failure.kind == "dns"
    diagnosis = diagnose(report, s)
    assert diagnosis is not None and diagnosis.exit_code == ExitCode.UNAVAILABLE


async def test_cancelling_the_probe_closes_the_connection() -> None:
    closed = threading.Event()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # returns when the client closes
        closed.set()

    with scripted_server(hold) as server:
        task = asyncio.create_task(run_probe(settings(server.port), None))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(50):
            if closed.is_set():
                break
            await asyncio.sleep(0.02)
    assert closed.is_set()


async def test_auto_auth_uses_plain_over_tls_and_cram_md5_without_tls(good_tls: ssl.SSLContext, ca_file: str) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls, cram_md5=True, auth_require_tls=False) as (
        server,
        mailbox,
    ):
        over_tls = await run_probe(settings(server.port, ca_file), Secret(TEST_SECRET))
        plain = settings(server.port, security="none", allow_insecure_auth=True)
        without_tls = await run_probe(plain, Secret(TEST_SECRET))
    assert "CRAM-MD5" in over_tls.auth_offered and over_tls.auth_used == "PLAIN"  # one round trip, TLS protects it
    assert without_tls.ok and without_tls.auth_used == "CRAM-MD5"  # the password never crosses in the clear
    assert mailbox.auth_attempts == [("PLAIN", USERNAME), ("CRAM-MD5", USERNAME)]
    assert_no_secret(without_tls)
