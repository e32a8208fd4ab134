"""The provider proposed from the sender's domain (MX and RFC 6186/8314 SRV), against the Knot
server, and headless ``provider: auto``."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from smtpwizard.cli import main
from smtpwizard.core.config import parse_document
from smtpwizard.core.domain.detect import LookupFailed, propose_provider, suggest_provider
from smtpwizard.core.domain.resolver import DnsConfig
from smtpwizard.core.exit_codes import ExitCode
from tests.domain.knot import KnotServer

MX_FIXTURES = [
    ("google-ok.test", "google_workspace_relay"),
    ("m365-ok.test", "microsoft365"),
    ("zoho-mx.test", "zoho"),
    ("fastmail-ok.test", "fastmail"),
    ("icloud-mx.test", "icloud"),
    ("proton-mx.test", "proton_bridge"),
]


@pytest.mark.parametrize(("domain", "provider"), MX_FIXTURES)
async def test_the_mailbox_host_found_by_mx_is_proposed(dns_config: DnsConfig, domain: str, provider: str) -> None:
    proposal = await propose_provider(f"me@{domain}", dns_config)
    assert proposal is not None and proposal.provider_id == provider and proposal.found_by == "mx"
    assert proposal.reason.startswith(f"{domain} receives its mail at ")
    assert proposal.reason.endswith(
        f", a {proposal.provider_name} server, so {proposal.provider_name} is the likely sender."
    )


async def test_the_mx_data_centre_picks_the_presets_regional_host(dns_config: DnsConfig) -> None:
    proposal = await propose_provider("me@zoho-mx.test", dns_config)  # MX mx.zoho.eu
    assert proposal is not None and proposal.host == "smtp.zoho.eu"
    google = await propose_provider("me@google-ok.test", dns_config)
    assert google is not None and google.host == "smtp-relay.gmail.com"  # one host: the preset's own


async def test_a_self_hosted_server_found_by_srv_prefers_implicit_tls(dns_config: DnsConfig) -> None:
    proposal = await propose_provider("me@srv-only.test", dns_config)
    assert proposal is not None
    assert (proposal.provider_id, proposal.host, proposal.port, proposal.security) == (
        "custom",
        "mail.srv-only.test",
        465,
        "tls",
    )
    assert "_submissions._tcp.srv-only.test SRV" in proposal.reason


async def test_submission_srv_alone_means_starttls_on_its_port(dns_config: DnsConfig) -> None:
    proposal = await propose_provider("me@srv-starttls.test", dns_config)
    assert proposal is not None
    assert (proposal.host, proposal.port, proposal.security) == ("smtp.srv-starttls.test", 587, "starttls")


@pytest.mark.parametrize("domain", ["srv-none.test", "nothing.test", "no-dkim.test"])
async def test_nothing_is_proposed_without_a_known_mx_or_a_usable_srv(dns_config: DnsConfig, domain: str) -> None:
    assert await propose_provider(f"me@{domain}", dns_config) is None


async def test_a_failing_lookup_proposes_nothing_rather_than_guessing(dns_config: DnsConfig) -> None:
    with pytest.raises(LookupFailed, match="SERVFAIL"):
        await propose_provider("me@servfail.test", dns_config)


async def test_a_failing_srv_lookup_is_not_taken_for_no_srv_record(dns_config: DnsConfig) -> None:
    with pytest.raises(LookupFailed, match=re.escape("SERVFAIL for SRV _submission._tcp.srv-broken.test")):
        await propose_provider("me@srv-broken.test", dns_config)


@pytest.mark.parametrize(
    ("typed", "why_not"),
    [
        (
            "me@missing.sendgrid-ok.test",
            "No proposal: missing.sendgrid-ok.test does not exist (NXDOMAIN); check the spelling.",
        ),
        (
            "srv-broken.test",
            "No proposal: DNS failed for srv-broken.test (SERVFAIL for SRV _submission._tcp.srv-broken.test); "
            "press Enter in the field to try again.",
        ),
        ("me@", "No proposal: 'me@' is not an address or a domain; type e.g. you@yourcompany.com."),
        (
            "a@docs.example.org",
            "No proposal: docs.example.org is reserved for examples and has no DNS; type your own domain.",
        ),
    ],
)
async def test_the_tui_suggestion_says_why_there_is_no_proposal(
    dns_config: DnsConfig, typed: str, why_not: str
) -> None:
    suggestion = await suggest_provider(typed, dns_config)
    assert suggestion.proposal is None and suggestion.why_not == why_not


async def test_a_bad_dns_setting_is_a_suggestion_line_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTPWIZARD_DNS", "not-an-ip")
    suggestion = await suggest_provider("me@fastmail-ok.test")
    assert suggestion.proposal is None
    assert suggestion.why_not.startswith("No proposal: SMTPWIZARD_DNS: 'not-an-ip' is not IP[:PORT]")


def test_headless_provider_auto_fills_in_the_preset(dns_server: KnotServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTPWIZARD_DNS", dns_server.address)
    document = parse_document(
        {
            "version": 1,
            "provider": "auto",
            "smtp": {"username": "me@fastmail-ok.test", "password": {"env": "SMTP_PASSWORD"}},
            "sender": {"address": "me@fastmail-ok.test"},
        },
        "input",
    )
    smtp = document.config.smtp
    assert document.config.provider == "fastmail"
    assert (smtp.host, smtp.port, smtp.security) == ("smtp.fastmail.com", 465, "tls")
    assert any(
        w.startswith(
            "provider: auto chose Fastmail: fastmail-ok.test receives its mail at in1-smtp.messagingengine.com"
        )
        for w in document.warnings
    )


def test_headless_provider_auto_that_finds_nothing_names_the_field(
    tmp_path: Path, dns_server: KnotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTPWIZARD_DNS", dns_server.address)
    source = tmp_path / "input.yaml"
    source.write_text("version: 1\nprovider: auto\nsmtp: {port: 587}\nsender: {address: app@nothing.test}\n")
    out, err = io.StringIO(), io.StringIO()
    code = main(["apply", str(source), "--yes", "--dry-run"], out=out, err=err)
    assert code == ExitCode.DATA_ERROR
    assert err.getvalue().splitlines() == [
        "smtpwizard: error: provider: auto found nothing; nothing.test's MX matches no preset and it publishes "
        "no _submission/_submissions SRV record; choose the provider yourself"
    ]


def test_check_domain_without_a_provider_proposes_one(dns_server: KnotServer) -> None:
    out = io.StringIO()
    code = main(["check-domain", "me@m365-ok.test", "--dns", dns_server.address, "--json"], out=out)
    data = json.loads(out.getvalue())
    assert code == 0 and data["provider"] == "microsoft365" and data["proposed_provider"]["found_by"] == "mx"
