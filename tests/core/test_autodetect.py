"""Autodetect races the candidates and answers as soon as the best one is certain."""

from __future__ import annotations

import io
import json
import ssl

from smtpwizard.cli import main
from smtpwizard.core.autodetect import Candidate, candidates_for, detect
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
        "connect_timeout",
        "banner_timeout",
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
