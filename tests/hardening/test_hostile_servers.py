"""Hostile or broken servers, on real sockets: every misbehaviour ends in a diagnosis within
the configured timeout, with no traceback, no hang and no credentials sent in clear text."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from smtpwizard.core.diagnose import diagnose
from smtpwizard.core.probe import ProbeOptions, ProbeReport, Stage, run_probe
from smtpwizard.core.settings import Secret, Sender, SmtpSettings
from tests.conftest import TEST_SECRET
from tests.hardening.hostile import HOWS, STAGES, TLS_HOWS, Wire, misbehaving, raw_server, stripping_proxy
from tests.servers import USERNAME, smtp_server

TIMEOUT_S = 2.0  # the configured overall timeout of every probe here
FAST = ProbeOptions(connect_timeout_s=1.0, banner_timeout_s=1.0)
SENDER = Sender("notifications@example.com", "Hardening")

EXPECTED_STAGE = {
    "banner": Stage.BANNER,
    "ehlo": Stage.EHLO,
    "starttls": Stage.STARTTLS,
    "tls": Stage.TLS,
    "ehlo_tls": Stage.EHLO_TLS,
    "auth": Stage.AUTH,
    "mail": Stage.MAIL,
    "rcpt": Stage.RCPT,
    "data": Stage.DATA,
}


def settings(port: int, ca_file: str, security: str = "starttls") -> SmtpSettings:
    return SmtpSettings(
        host="127.0.0.1",
        port=port,
        security=security,  # type: ignore[arg-type]
        ca_file=ca_file,
        username=USERNAME,
        timeout_s=TIMEOUT_S,
    )


async def probe(s: SmtpSettings, test_to: str | None = "admin@example.com") -> ProbeReport:
    """The live test, with a hang guard well past the configured timeout."""
    return await asyncio.wait_for(
        run_probe(s, Secret(TEST_SECRET), sender=SENDER, test_to=test_to, options=FAST), TIMEOUT_S + 5
    )


def assert_clean_failure(report: ProbeReport, s: SmtpSettings, wire: Wire | None = None) -> None:
    """A failure with a diagnosis in words, and no secret anywhere."""
    assert not report.ok
    diagnosis = diagnose(report, s)
    assert diagnosis is not None and diagnosis.title and diagnosis.fix
    assert diagnosis.exit_code != 0
    everything = str(report.to_dict()) + "\n".join(report.transcript) + str(diagnosis.to_dict())
    assert TEST_SECRET not in everything
    assert "Traceback" not in everything
    if wire is not None:
        assert not wire.exposes(TEST_SECRET), "credentials crossed the wire in clear text"


def test_the_well_behaved_version_of_the_hostile_server_passes(good_tls: ssl.SSLContext, ca_file: str) -> None:
    """The control: without misbehaviour the same server passes, so every failure below is
    caused by the misbehaviour and nothing else."""
    with misbehaving(None, "code", good_tls, TEST_SECRET) as (server, wire):
        report = asyncio.run(probe(settings(server.port, ca_file)))
    assert report.ok, report.failure
    assert b"AUTH" not in wire.cleartext and b"AUTH PLAIN" in wire.encrypted


@pytest.mark.parametrize("stage", STAGES)
async def test_misbehaviour_at_every_stage_is_diagnosed(stage: str, good_tls: ssl.SSLContext, ca_file: str) -> None:
    """Each way of misbehaving at ``stage``, all at once (each on its own server)."""
    hows = TLS_HOWS if stage == "tls" else HOWS
    with_servers = [misbehaving(stage, how, good_tls, TEST_SECRET) for how in hows]
    servers = [cm.__enter__() for cm in with_servers]
    try:
        runs = [settings(server.port, ca_file) for server, _ in servers]
        reports = await asyncio.gather(*(probe(s) for s in runs))
    finally:
        for cm in with_servers:
            cm.__exit__(None, None, None)
    for how, s, report, (_, wire) in zip(hows, runs, reports, servers, strict=True):
        if stage == "quit":  # the test is done by then: QUIT's reply is not waited for
            assert report.ok, (how, report.failure)
            continue
        assert_clean_failure(report, s, wire)
        assert report.failure is not None
        expected = EXPECTED_STAGE[stage]
        if stage == "tls":  # aiosmtplib's STARTTLS call is command and handshake in one
            assert report.failure.stage in (Stage.STARTTLS, Stage.TLS), (how, report.failure)
        else:
            assert report.failure.stage == expected, (how, report.failure)
        assert report.elapsed_s <= TIMEOUT_S + 1, (how, "not bounded by the configured timeout")


async def test_stripped_starttls_fails_instead_of_downgrading(good_tls: ssl.SSLContext, ca_file: str) -> None:
    """A man in the middle overwrites STARTTLS in the EHLO reply: the test must stop there."""
    with (
        smtp_server(password=TEST_SECRET, starttls_context=good_tls, auth_require_tls=False) as (server, mailbox),
        stripping_proxy(server.port) as (port, wire),
    ):
        s = settings(port, ca_file)
        report = await probe(s)
    assert_clean_failure(report, s, wire)
    assert report.failure is not None and report.failure.kind == "starttls_missing"
    assert b"AUTH" not in wire.cleartext and b"MAIL" not in wire.cleartext
    assert mailbox.auth_attempts == [] and mailbox.messages == []


async def endless_continuation(reader: object, writer: asyncio.StreamWriter) -> None:
    writer.write(b"220-mx.endless\r\n")
    with pytest.raises(ConnectionError):
        while True:
            writer.write(b"220-and more, and more, and more\r\n" * 64)
            await writer.drain()


async def megabyte_line(reader: object, writer: asyncio.StreamWriter) -> None:
    writer.write(b"220 " + b"A" * (4 << 20) + b"\r\n")
    await writer.drain()
    await reader.read()  # type: ignore[attr-defined]


async def megabyte_ehlo_line(reader: object, writer: asyncio.StreamWriter) -> None:
    writer.write(b"220 mx.test\r\n")
    await reader.readline()  # type: ignore[attr-defined]
    writer.write(b"250-mx.test\r\n250 " + b"STARTTLS " * (1 << 18) + b"\r\n")
    await writer.drain()
    await reader.read()  # type: ignore[attr-defined]


async def eight_bit_banner(reader: object, writer: asyncio.StreamWriter) -> None:
    writer.write("220 mx.tést ÉSMTP ready ".encode() + b"\xff\xfe\xc3\x28\r\n")
    while line := await reader.readline():  # type: ignore[attr-defined]
        if line.upper().startswith(b"EHLO"):
            writer.write(b"250-mx.t\xe9st\r\n250 8BITMIME\r\n")  # no STARTTLS, no AUTH
        elif line.upper().startswith(b"QUIT"):
            writer.write(b"221 bye\r\n")
        else:
            writer.write(b"250 ok\r\n")
        await writer.drain()


async def bare_lf(reader: object, writer: asyncio.StreamWriter) -> None:
    writer.write(b"220 mx.lf ESMTP\n")
    while line := await reader.readline():  # type: ignore[attr-defined]
        writer.write(b"250-mx.lf\n250 AUTH PLAIN\n" if line.upper().startswith(b"EHLO") else b"250 ok\n")
        await writer.drain()


async def greets_then_hangs_up(reader: object, writer: asyncio.StreamWriter) -> None:
    writer.write(b"220 mx.test\r\n")
    await writer.drain()
    writer.transport.abort()


async def banner_then_garbage_forever(reader: object, writer: asyncio.StreamWriter) -> None:
    writer.write(b"\x16\x03\x01" + bytes(range(256)) * 8)
    await writer.drain()
    await reader.read()  # type: ignore[attr-defined]


RAW_SERVERS = {
    "endless continuation lines": endless_continuation,
    "a four-megabyte greeting line": megabyte_line,
    "a two-megabyte EHLO line": megabyte_ehlo_line,
    "8-bit bytes and invalid UTF-8 in replies": eight_bit_banner,
    "bare LF line ends": bare_lf,
    "a greeting, then a hang-up": greets_then_hangs_up,
    "binary garbage instead of a greeting": banner_then_garbage_forever,
}


@pytest.mark.parametrize("name", list(RAW_SERVERS))
async def test_broken_replies_end_in_a_diagnosis(name: str, ca_file: str) -> None:
    with raw_server(RAW_SERVERS[name]) as (server, wire):  # type: ignore[arg-type]
        s = settings(server.port, ca_file)
        report = await probe(s)
    assert_clean_failure(report, s, wire)
    assert report.elapsed_s <= TIMEOUT_S + 1


async def test_replies_split_across_many_packets_still_pass(good_tls: ssl.SSLContext, ca_file: str) -> None:
    """Not every oddity is an error: a reply dribbled out a few bytes per packet is valid SMTP."""

    async def dribble(reader: object, writer: asyncio.StreamWriter) -> None:
        async def say(text: bytes) -> None:
            for i in range(0, len(text), 3):
                writer.write(text[i : i + 3])
                await writer.drain()
                await asyncio.sleep(0.001)

        await say(b"220 mx.dribble ESMTP\r\n")
        while line := await reader.readline():  # type: ignore[attr-defined]
            verb = line.split(b" ")[0].strip().upper()
            if verb == b"EHLO":
                await say(b"250-mx.dribble\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            elif verb == b"QUIT":
                await say(b"221 bye\r\n")
                return
            else:
                await say(b"250 2.0.0 ok\r\n")

    with raw_server(dribble) as (server, wire):  # type: ignore[arg-type]
        s = SmtpSettings(host="127.0.0.1", port=server.port, security="none", auth="none", timeout_s=TIMEOUT_S)
        report = await asyncio.wait_for(run_probe(s, None, sender=SENDER, options=FAST), TIMEOUT_S + 5)
    assert report.ok, report.failure
    assert b"MAIL FROM:<notifications@example.com>" in wire.cleartext


async def test_plaintext_server_offering_auth_never_gets_the_password(ca_file: str) -> None:
    """security: none with a password, without allow_insecure_auth: refused before AUTH."""

    async def offers_auth(reader: object, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mx.plain\r\n")
        while line := await reader.readline():  # type: ignore[attr-defined]
            writer.write(
                b"250-mx.plain\r\n250 AUTH PLAIN LOGIN\r\n" if line.upper().startswith(b"EHLO") else b"250 ok\r\n"
            )
            await writer.drain()

    with raw_server(offers_auth) as (server, wire):  # type: ignore[arg-type]
        s = settings(server.port, ca_file, security="none")
        report = await probe(s)
    assert_clean_failure(report, s, wire)
    assert report.failure is not None and report.failure.kind == "insecure_auth"
    assert b"AUTH" not in wire.cleartext
