"""Microsoft 365 and Gmail password-login retirement: each real reply, sent by a loopback server,
becomes a diagnosis saying what changed and when, with ways forward ranked for the app."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from smtpwizard.core.apps import find_app
from smtpwizard.core.diagnose import diagnose
from smtpwizard.core.probe import run_probe
from smtpwizard.core.settings import Secret, SmtpSettings
from tests.servers import scripted_server

M365_REPLIES = [
    b"535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.",
    b"535 5.7.139 Authentication unsuccessful, basic authentication is disabled.",
    b"550 5.7.30 Basic authentication is not supported for Client Submission.",
    b"535 5.7.3 Authentication unsuccessful [BN9PR03CA0123.namprd03.prod.outlook.com]",
]
GMAIL_REPLIES = [
    b"534-5.7.9 Application-specific password required. For more information, go to\r\n534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor",
    b"535-5.7.8 Username and Password not accepted. For more information, go to\r\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials",
]


def replying(reply: bytes) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 relay.test ESMTP\r\n")
        while line := await reader.readline():
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb == b"EHLO":
                writer.write(b"250-relay.test\r\n250 AUTH LOGIN PLAIN XOAUTH2\r\n")
            elif verb == b"AUTH":
                writer.write(reply + b"\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                return
            else:
                writer.write(b"250 OK\r\n")
            await writer.drain()

    return script


def diagnosis_for(reply: bytes, provider: str, target: str | None = None):  # type: ignore[no-untyped-def]
    app = find_app(target)
    with scripted_server(replying(reply)) as server:
        settings = SmtpSettings(
            "127.0.0.1", server.port, security="none", username="me@contoso.com", allow_insecure_auth=True
        )
        report = asyncio.run(run_probe(settings, Secret("pw-0b7e"), profile=app.profile if app else None))
    return diagnose(report, settings, provider, app.profile if app else None), report


@pytest.mark.parametrize("reply", M365_REPLIES, ids=["5.7.139-tenant", "5.7.139-basic", "5.7.30", "5.7.3"])
def test_microsoft_365_password_refusals_explain_the_retirement_with_ways_forward(reply: bytes) -> None:
    diagnosis, report = diagnosis_for(reply, "microsoft365")
    assert diagnosis is not None and diagnosis.code == "basic_auth_retired"
    assert "end of December 2026" in diagnosis.explanation and "2026-01-27" in diagnosis.explanation
    assert reply.decode().split(" ", 1)[1][:20] in diagnosis.explanation  # the server's own words
    assert diagnosis.details[0].startswith("1. OAuth2 (XOAUTH2)")  # smtpwizard itself can
    assert any("Azure Communication Services" in d for d in diagnosis.details)
    assert any("High Volume Email" in d and "September 2028" in d for d in diagnosis.details)
    assert sum(1 for line in report.transcript if line.startswith("C: AUTH")) == 1  # never retried


def test_for_an_app_without_xoauth2_the_bridge_comes_first() -> None:
    diagnosis, _ = diagnosis_for(M365_REPLIES[0], "microsoft365", target="django")
    assert diagnosis is not None
    assert diagnosis.details[0].startswith("1. A local bridge: emailproxy") and "Django" in diagnosis.details[0]
    assert not any("OAuth2 (XOAUTH2): set smtp.auth" in d for d in diagnosis.details)
    assert diagnosis.details[-1].startswith("Not offered: XOAUTH2 in Django itself")


@pytest.mark.parametrize("reply", GMAIL_REPLIES, ids=["534-5.7.9", "535-5.7.8"])
def test_gmail_password_refusals_explain_app_passwords_and_oauth(reply: bytes) -> None:
    diagnosis, _ = diagnosis_for(reply, "gmail")
    assert diagnosis is not None and diagnosis.code == "basic_auth_retired"
    assert "2022-05-30" in diagnosis.explanation and "App Password" in diagnosis.explanation
    assert not any("Azure" in d for d in diagnosis.details)


def test_outlook_com_is_oauth_only() -> None:
    diagnosis, _ = diagnosis_for(M365_REPLIES[0], "outlook_com")
    assert diagnosis is not None and "2024-09-16" in diagnosis.explanation


def test_a_wrong_password_elsewhere_keeps_the_ordinary_diagnosis() -> None:
    diagnosis, _ = diagnosis_for(b"535 5.7.8 Authentication credentials invalid", "custom")
    assert diagnosis is not None and diagnosis.code == "auth_rejected"


def test_the_azure_communication_services_preset_has_its_smtp_endpoint() -> None:
    from smtpwizard.core.providers import get_provider

    acs = get_provider("azure_communication_services")
    assert acs.default_host == "smtp.azurecomm.net"
    assert acs.recommended_port == 587 and acs.recommended_security == "starttls"
    assert "learn.microsoft.com" in acs.docs


def test_a_refused_token_at_microsoft_lists_the_exchange_side_causes() -> None:
    from datetime import UTC, datetime

    from smtpwizard.core.probe import BearerToken

    with scripted_server(replying(M365_REPLIES[3])) as server:
        settings = SmtpSettings(
            "127.0.0.1",
            server.port,
            security="none",
            auth="xoauth2",
            username="me@contoso.com",
            allow_insecure_auth=True,
        )
        token = BearerToken(Secret("eyJ0eXAi.token-5c1d"), "me@contoso.com", datetime.now(UTC))
        report = asyncio.run(run_probe(settings, None, token_source=lambda: token))
    diagnosis = diagnose(report, settings, "microsoft365")
    assert diagnosis is not None and diagnosis.code == "xoauth2_rejected"
    assert "SmtpClientAuthenticationDisabled $false" in diagnosis.fix and "SMTP.SendAsApp" in diagnosis.fix
    assert all("token-5c1d" not in line for line in report.transcript)
    assert report.transcript.count("C: AUTH XOAUTH2 ********") == 1
