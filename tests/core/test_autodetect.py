"""Autodetect races the candidates and answers as soon as the best one is certain."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import ssl
from pathlib import Path

import trustme

from smtpwizard.cli import main
from smtpwizard.core.autodetect import Candidate, candidates_for, detect, shorten
from smtpwizard.core.exit_codes import ExitCode
from smtpwizard.core.probe import ProbeOptions
from smtpwizard.core.providers import get_provider
from tests.conftest import TEST_SECRET
from tests.servers import filtered_port, scripted_server, silent, smtp_server

FAST = ProbeOptions(connect_timeout_s=1.5, banner_timeout_s=1.5)


async def test_preferred_working_candidate_answers_without_waiting_for_filtered_or_silent(
    good_tls: ssl.SSLContext, ca_file: str
) -> None:
    with (
        smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (starttls, mailbox),
        smtp_server(password=TEST_SECRET, implicit_context=good_tls, auth_require_tls=False) as (implicit, _),
        scripted_server(silent) as quiet,
        filtered_port() as blocked,
    ):
        candidates = [
            Candidate(starttls.port, "starttls"),
            Candidate(implicit.port, "tls"),
            Candidate(blocked, "starttls"),
            Candidate(quiet.port, "starttls"),
        ]
        found = await detect("127.0.0.1", candidates, ca_file=ca_file, options=FAST)
    assert found.best == Candidate(starttls.port, "starttls")
    # the filtered and silent ports (1.5 s timeouts) were not waited for; how fast: benchmarks/
    statuses = {r.candidate.port: r.status for r in found.results}
    assert statuses[blocked] == "not waited for" and statuses[quiet.port] == "not waited for"
    assert found.results[0].candidate == found.best
    assert "AUTH LOGIN PLAIN" in found.results[0].summary() or "AUTH PLAIN LOGIN" in found.results[0].summary()
    assert mailbox.auth_attempts == [] and mailbox.messages == []  # no credentials, no mail


async def test_when_the_preferred_ports_fail_the_next_working_one_wins(good_tls: ssl.SSLContext, ca_file: str) -> None:
    with (
        smtp_server(password=TEST_SECRET, implicit_context=good_tls) as (implicit, _),
        scripted_server(silent) as quiet,
        filtered_port() as blocked,
    ):
        candidates = [
            Candidate(blocked, "starttls"),
            Candidate(quiet.port, "starttls"),
            Candidate(implicit.port, "tls"),
        ]
        found = await detect("127.0.0.1", candidates, ca_file=ca_file, options=FAST)
    assert found.best == Candidate(implicit.port, "tls")
    assert [r.status for r in found.results] == ["works", "fails", "fails"]
    assert [r.report.failure.kind for r in found.results[1:] if r.report and r.report.failure] == [
        "banner_timeout",  # a silent port answered (in another mode?): a better state than filtered
        "connect_timeout",
    ]


async def test_nothing_working_reports_every_failure(ca_file: str) -> None:
    with scripted_server(silent) as quiet, filtered_port() as blocked:
        found = await detect("127.0.0.1", [Candidate(blocked, "starttls"), Candidate(quiet.port, "tls")], options=FAST)
    assert found.best is None
    assert {r.diagnosis.code for r in found.results if r.diagnosis} == {"connect_timeout", "tls_timeout"}


def test_candidates_follow_the_provider_recommended_first() -> None:
    resend = candidates_for(get_provider("resend"))
    assert resend[0] == Candidate(465, "tls") and Candidate(587, "starttls") in resend
    assert candidates_for(None)[0] == Candidate(587, "starttls")


def test_detect_command_prints_the_best_choice_and_json(good_tls: ssl.SSLContext, ca_file: str) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, _), scripted_server(silent) as quiet:
        out = io.StringIO()
        code = main(
            ["detect", "127.0.0.1", "--candidate", f"{server.port}/starttls", "--candidate", f"{quiet.port}/tls",
             "--ca-file", ca_file, "--json"],
            out=out, err=io.StringIO(),
        )  # fmt: skip
    data = json.loads(out.getvalue())
    assert code == 0 and data["best"] == {"port": server.port, "security": "starttls"}
    assert [c["status"] for c in data["candidates"]] == ["works", "not waited for"]
    err = io.StringIO()
    assert main(["detect", "127.0.0.1", "--candidate", "x/y"], out=io.StringIO(), err=err) == 65
    assert "--candidate: 'x/y' is not PORT/MODE" in err.getvalue()


async def long_banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A plaintext ESMTP server whose greeting is longer than the summary shows."""
    writer.write(b"220 mail.example.com ESMTP Postfix (Debian/GNU) ready for your message\r\n")
    while line := await reader.readline():
        if line.upper().startswith(b"EHLO"):
            writer.write(b"250-mail.example.com\r\n250 AUTH PLAIN\r\n")
        elif line.upper().startswith(b"QUIT"):
            writer.write(b"221 bye\r\n")
            return
        await writer.drain()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_untrusted_certificate_is_reported_as_an_answer_with_the_ca_fix(
    untrusted_tls: ssl.SSLContext,
) -> None:
    with (
        smtp_server(password=TEST_SECRET, starttls_context=untrusted_tls) as (starttls, _),
        smtp_server(password=TEST_SECRET, implicit_context=untrusted_tls) as (implicit, _),
    ):
        refused = closed_port()
        candidates = [
            Candidate(refused, "starttls"),
            Candidate(starttls.port, "starttls"),
            Candidate(implicit.port, "tls"),
        ]
        found = await detect("127.0.0.1", candidates, options=FAST)
    assert found.best is None
    assert [r.state for r in found.results] == ["certificate", "certificate", "refused"]
    verdict = found.verdict
    assert verdict.state == "certificate" and verdict.candidate == Candidate(starttls.port, "starttls")
    assert (
        verdict.headline == f"Port {starttls.port} with STARTTLS answered, but the server's certificate is not trusted"
    )
    assert verdict.exit_code == ExitCode.PROTOCOL and verdict.fix is not None and "--ca-file PATH" in verdict.fix
    assert "ca_file" in verdict.fix
    assert found.results[0].summary().startswith("answered, but the server's certificate is not trusted")
    assert "--ca-file" in found.results[0].summary()


async def test_each_candidate_reports_the_state_it_reached(good_tls: ssl.SSLContext, ca_file: str) -> None:
    with (
        smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (starttls, _),
        scripted_server(long_banner) as plain,
        filtered_port() as blocked,
    ):
        refused = closed_port()
        candidates = [
            Candidate(blocked, "starttls"),
            Candidate(refused, "starttls"),
            Candidate(starttls.port, "tls"),  # implicit TLS spoken to a STARTTLS port
            Candidate(plain.port, "starttls"),  # answers, but offers no STARTTLS
            Candidate(starttls.port, "starttls"),
        ]
        found = await detect("127.0.0.1", candidates, ca_file=ca_file, options=FAST)
    states = {(r.candidate.port, r.candidate.security): r.state for r in found.results}
    assert states == {
        (starttls.port, "starttls"): "answered",
        (plain.port, "starttls"): "failed",
        (starttls.port, "tls"): "mismatch",
        (refused, "starttls"): "refused",
        (blocked, "starttls"): "filtered",
    }
    assert [r.state for r in found.results] == ["answered", "failed", "mismatch", "refused", "filtered"]
    assert found.verdict.headline == f"Best: port {starttls.port}, security: starttls"
    assert found.verdict.exit_code == ExitCode.OK
    summaries = [r.summary() for r in found.results]
    assert summaries[0].startswith("answered: banner '") and "certificate valid" in summaries[0]
    assert summaries[1] == "connected, but the server does not offer STARTTLS"
    assert summaries[2].startswith("TLS mismatch: ") and summaries[3] == "refused: nothing listens on this port"
    assert summaries[4] == "filtered: no answer (a firewall drops the connection)"


async def test_without_an_answer_the_headline_follows_the_best_state_reached(good_tls: ssl.SSLContext) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (starttls, _), filtered_port() as blocked:
        found = await detect(
            "127.0.0.1", [Candidate(blocked, "starttls"), Candidate(starttls.port, "tls")], options=FAST
        )
    assert found.verdict.state == "mismatch" and found.verdict.candidate == Candidate(starttls.port, "tls")
    assert found.verdict.headline.startswith(f"Port {starttls.port} with implicit TLS (SSL) answered in another")
    assert found.verdict.fix is not None and "starttls" in found.verdict.fix
    with filtered_port() as blocked:
        found = await detect(
            "127.0.0.1", [Candidate(blocked, "starttls"), Candidate(closed_port(), "tls")], options=FAST
        )
    assert found.verdict.state == "refused" and found.verdict.exit_code == ExitCode.UNAVAILABLE
    assert found.verdict.headline == "Every port tried refused the connection: no mail server listens on 127.0.0.1"
    with filtered_port() as blocked:
        found = await detect("127.0.0.1", [Candidate(blocked, "starttls")], options=FAST)
    assert found.verdict.state == "filtered" and "firewall" in found.verdict.headline


async def test_the_banner_is_cut_at_a_word_boundary() -> None:
    with scripted_server(long_banner) as plain:
        found = await detect("127.0.0.1", [Candidate(plain.port, "none")], options=FAST)
    assert found.best == Candidate(plain.port, "none")
    assert found.results[0].summary().startswith("answered: banner 'mail.example.com ESMTP Postfix …'; no encryption")
    assert shorten("a" * 50) == "a" * 50  # one long word is kept whole
    assert shorten("short banner") == "short banner"


def test_the_typed_port_is_tried_first() -> None:
    ses = get_provider("amazon_ses")
    assert candidates_for(ses, 2465)[0] == Candidate(2465, "tls")
    assert candidates_for(ses, 2465).count(Candidate(2465, "tls")) == 1
    assert candidates_for(None, 2526)[:2] == [Candidate(2526, "starttls"), Candidate(2526, "tls")]
    assert candidates_for(None, 4650)[:2] == [Candidate(4650, "starttls"), Candidate(4650, "tls")]
    assert candidates_for(None, 465, "starttls")[:2] == [Candidate(465, "starttls"), Candidate(465, "tls")]
    assert candidates_for(None, 25, "none")[0] == Candidate(25, "none")


def test_detect_command_tries_the_typed_port_first_and_reports_an_untrusted_certificate(
    untrusted_tls: ssl.SSLContext, other_ca: trustme.CA, tmp_path: Path
) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=untrusted_tls) as (server, _):
        out, err = io.StringIO(), io.StringIO()
        code = main(["detect", "127.0.0.1", "--port", str(server.port)], out=out, err=err)
        assert code == ExitCode.PROTOCOL, out.getvalue() + err.getvalue()
        text = out.getvalue()
        assert "Nothing answered" not in text
        assert f"Port {server.port} with STARTTLS answered, but the server's certificate is not trusted (" in text
        assert "Fix: Give the server's CA certificate" in text and "--ca-file PATH" in text
        quiet_err = io.StringIO()
        assert main(["detect", "127.0.0.1", "--port", str(server.port), "-q"], out=out, err=quiet_err) == code
        assert quiet_err.getvalue().count("\n") == 1 and "certificate is not trusted. Fix: " in quiet_err.getvalue()
        trusted = tmp_path / "other-ca.pem"
        other_ca.cert_pem.write_to_path(str(trusted))
        out = io.StringIO()
        code = main(["detect", "127.0.0.1", "--port", str(server.port), "--ca-file", str(trusted), "--json"], out=out)
    data = json.loads(out.getvalue())
    assert code == 0 and data["best"] == {"port": server.port, "security": "starttls"}
    assert data["candidates"][0]["state"] == "answered" and data["verdict"]["state"] == "answered"


def test_detect_without_a_host_uses_the_config_and_tries_its_port_first(
    good_tls: ssl.SSLContext, ca_file: str, tmp_path: Path
) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, _):
        config = tmp_path / "config.yaml"
        config.write_text(
            "version: 1\nprovider: custom\nsmtp:\n  host: 127.0.0.1\n"
            f"  port: {server.port}\n  security: starttls\n  ca_file: {ca_file}\n"
            "sender:\n  address: app@example.com\n"
        )
        out = io.StringIO()
        code = main(["detect", "--config", str(config), "--json"], out=out, err=io.StringIO())
    data = json.loads(out.getvalue())
    assert code == 0 and data["best"] == {"port": server.port, "security": "starttls"}
    assert data["candidates"][0]["port"] == server.port
