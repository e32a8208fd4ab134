"""TLS and protocol cases diagnosed for what they are (issue 11, item 11): a server that only
speaks TLS 1.0, one that wants a client certificate, EHLO answered 502 (HELO fallback), a 250
reply to AUTH and a multi-line reply whose lines disagree (535- then 235). None of them is
"the server hung up, test again in a few minutes", a refused password or a login."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

from smtpwizard.core.diagnose import diagnose
from smtpwizard.core.exit_codes import ExitCode
from smtpwizard.core.probe import ProbeOptions, ProbeReport, Stage, run_probe
from smtpwizard.core.settings import Secret, Sender, SmtpSettings
from tests.conftest import TEST_SECRET, server_context
from tests.hardening.hostile import blocking_tls_server, raw_server
from tests.servers import USERNAME, smtp_server

FAST = ProbeOptions(connect_timeout_s=2.0, banner_timeout_s=2.0)
PROTOCOL_VERSION_ALERT = b"\x15\x03\x01\x00\x02\x02\x46"  # TLS alert record: fatal, protocol_version (70)


def tls10_only(ca: trustme.CA) -> ssl.SSLContext:
    context = server_context(ca.issue_cert("127.0.0.1", "localhost"))
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # that is the point
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1
    return context


def wants_client_certificate(ca: trustme.CA, ca_file: str, max_version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    context = server_context(ca.issue_cert("127.0.0.1", "localhost"))
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(ca_file)
    if max_version is not None:
        context.maximum_version = max_version
    return context


@contextlib.contextmanager
def alert_server(implicit: bool) -> Iterator[int]:
    """Answers the ClientHello with a protocol_version alert, as an MTA limited to TLS 1.0 does."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not implicit:
            writer.write(b"220 mx.old ESMTP\r\n")
            while line := await reader.readline():
                if line.upper().startswith(b"EHLO"):
                    writer.write(b"250-mx.old\r\n250 STARTTLS\r\n")
                elif line.upper().startswith(b"STARTTLS"):
                    writer.write(b"220 go ahead\r\n")
                    await writer.drain()
                    break
                await writer.drain()
        await reader.read(5)  # the ClientHello's record header
        writer.write(PROTOCOL_VERSION_ALERT)
        await writer.drain()

    with raw_server(handler) as (server, _):
        yield server.port


def tls_settings(port: int, mode: str, ca_file: str) -> SmtpSettings:
    return SmtpSettings(
        "127.0.0.1",
        port,
        security=mode,
        ca_file=ca_file,
        username=USERNAME,
        timeout_s=8,  # type: ignore[arg-type]
    )


async def probe(s: SmtpSettings) -> ProbeReport:
    return await asyncio.wait_for(run_probe(s, Secret(TEST_SECRET), options=FAST), s.timeout_s + 5)


MODES = ["starttls", "tls"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("server", ["asyncio_tls10", "alert"])
async def test_a_tls10_only_server_is_diagnosed_as_outdated_tls(
    server: str, mode: str, ca: trustme.CA, ca_file: str
) -> None:
    where = "starttls_context" if mode == "starttls" else "implicit_context"
    with contextlib.ExitStack() as stack:
        if server == "alert":
            port, mailbox = stack.enter_context(alert_server(mode == "tls")), None
        else:
            running, mailbox = stack.enter_context(smtp_server(password=TEST_SECRET, **{where: tls10_only(ca)}))  # type: ignore[arg-type]
            port = running.port
        s = tls_settings(port, mode, ca_file)
        report = await probe(s)
    assert report.failure is not None and report.failure.kind == "tls_outdated", report.failure
    diagnosis = diagnose(report, s)
    assert diagnosis is not None and diagnosis.title == "The server only offers an outdated TLS version"
    assert "hung up" not in diagnosis.title and diagnosis.exit_code == ExitCode.PROTOCOL
    assert mailbox is None or mailbox.auth_attempts == []


def client_certificate_servers(
    ca: trustme.CA, ca_file: str
) -> dict[str, Callable[[bool], contextlib.AbstractContextManager[int]]]:
    @contextlib.contextmanager
    def asyncio_server(implicit: bool, max_version: ssl.TLSVersion | None) -> Iterator[int]:
        context = wants_client_certificate(ca, ca_file, max_version)
        where = {"implicit_context": context} if implicit else {"starttls_context": context}
        with smtp_server(password=TEST_SECRET, **where) as (server, mailbox):  # type: ignore[arg-type]
            yield server.port
        assert mailbox.auth_attempts == []

    @contextlib.contextmanager
    def mta(implicit: bool, max_version: ssl.TLSVersion | None) -> Iterator[int]:
        with blocking_tls_server(wants_client_certificate(ca, ca_file, max_version), implicit) as (port, seen):
            yield port
        assert seen.logins == 0

    return {
        "asyncio_tls13": lambda implicit: asyncio_server(implicit, None),
        "asyncio_tls12": lambda implicit: asyncio_server(implicit, ssl.TLSVersion.TLSv1_2),
        "mta_tls13": lambda implicit: mta(implicit, None),
        "mta_tls12": lambda implicit: mta(implicit, ssl.TLSVersion.TLSv1_2),
    }


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("server", ["asyncio_tls13", "asyncio_tls12", "mta_tls13", "mta_tls12"])
async def test_a_server_that_wants_a_client_certificate_is_diagnosed_so(
    server: str, mode: str, ca: trustme.CA, ca_file: str
) -> None:
    with client_certificate_servers(ca, ca_file)[server](mode == "tls") as port:
        s = tls_settings(port, mode, ca_file)
        report = await probe(s)
    assert report.failure is not None and report.failure.kind == "tls_client_certificate", report.failure
    diagnosis = diagnose(report, s)
    assert diagnosis is not None and diagnosis.title == "The server wants a client certificate"
    assert report.auth_used is None


async def helo_only(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """An old relay: EHLO is 'command not implemented', HELO works, no extensions at all."""
    writer.write(b"220 mx.old SMTP\r\n")
    while line := await reader.readline():
        verb = line.split(b" ", 1)[0].strip().upper()
        replies = {
            b"EHLO": b"502 5.5.2 command not implemented\r\n",
            b"HELO": b"250 mx.old\r\n",
            b"QUIT": b"221 bye\r\n",
        }
        writer.write(replies.get(verb, b"250 OK\r\n" if verb in (b"MAIL", b"RCPT") else b"502 no\r\n"))
        await writer.drain()
        if verb == b"QUIT":
            return


async def test_ehlo_answered_502_falls_back_to_helo_and_a_plain_relay_passes() -> None:
    with raw_server(helo_only) as (server, wire):
        s = SmtpSettings("127.0.0.1", server.port, security="none")
        report = await run_probe(s, None, sender=Sender("app@example.com"), options=FAST)
    assert report.ok, report.failure
    assert report.helo_only and b"HELO localhost" in wire.cleartext
    ehlo = report.stage(Stage.EHLO)
    assert ehlo is not None and "no STARTTLS or AUTH" in ehlo.detail


@pytest.mark.parametrize("security", ["starttls", "none"])
async def test_a_helo_only_server_is_explained_as_offering_no_starttls_and_no_login(security: str) -> None:
    with raw_server(helo_only) as (server, wire):
        s = SmtpSettings(
            "127.0.0.1",
            server.port,
            security=security,
            username=USERNAME,
            allow_insecure_auth=True,  # type: ignore[arg-type]
        )
        report = await run_probe(s, Secret(TEST_SECRET), options=FAST)
    assert report.failure is not None and report.failure.kind == "ehlo_unsupported", report.failure
    diagnosis = diagnose(report, s)
    assert diagnosis is not None and diagnosis.title == "The server only speaks old SMTP (HELO)"
    assert "no STARTTLS" in diagnosis.explanation and "no AUTH" in diagnosis.explanation
    assert b"AUTH" not in wire.cleartext


def auth_answering(reply: bytes) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], object]:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mx.odd ESMTP\r\n")
        while line := await reader.readline():
            verb = line.split(b" ", 1)[0].strip().upper()
            answer = {b"EHLO": b"250-mx.odd\r\n250 AUTH PLAIN LOGIN\r\n", b"AUTH": reply, b"QUIT": b"221 bye\r\n"}
            writer.write(answer.get(verb, b"250 OK\r\n"))
            await writer.drain()

    return handler


def plaintext_login(port: int) -> SmtpSettings:
    return SmtpSettings("127.0.0.1", port, security="none", username=USERNAME, allow_insecure_auth=True, auth="plain")


async def test_a_250_reply_to_auth_is_a_protocol_error_not_a_refused_password() -> None:
    with raw_server(auth_answering(b"250 2.0.0 OK\r\n")) as (server, _):
        s = plaintext_login(server.port)
        report = await run_probe(s, Secret(TEST_SECRET), options=FAST)
    assert report.failure is not None and report.failure.stage == Stage.AUTH
    assert report.failure.kind == "protocol", report.failure
    diagnosis = diagnose(report, s)
    assert diagnosis is not None and diagnosis.code == "protocol" and diagnosis.exit_code == ExitCode.PROTOCOL
    assert "refused" not in diagnosis.title


async def test_a_multi_line_reply_whose_lines_disagree_is_never_counted_as_logged_in(tmp_path: Path) -> None:
    with raw_server(auth_answering(b"535-5.7.8 credentials invalid\r\n235 2.7.0 accepted\r\n")) as (server, _):
        s = plaintext_login(server.port)
        report = await run_probe(s, Secret(TEST_SECRET), sender=Sender("app@example.com"), options=FAST)
    assert not report.ok and report.auth_used is None
    assert report.failure is not None and report.failure.stage == Stage.AUTH and report.failure.kind == "protocol"
    assert "535 then 235" in report.failure.message
    diagnosis = diagnose(report, s)
    assert diagnosis is not None and diagnosis.exit_code == ExitCode.PROTOCOL
