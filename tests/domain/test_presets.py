"""Each preset's DKIM as check-domain asks for it, against the real DNS server (Knot) on loopback:
a domain without its DKIM is told exactly which records to add, and publishing them makes it ready."""

from __future__ import annotations

import re

import pytest

from smtpwizard.core.domain.check import DomainCheckOptions, DomainReport, check_domain
from smtpwizard.core.domain.resolver import DnsConfig
from smtpwizard.core.domain_findings import RecordToAdd
from tests.domain.zones import PRESET_SELECTORS, preset_ok_zones

_PROTON = ("protonmail", "protonmail2", "protonmail3")

# preset id, its fixture domain's short name, and the records (selector, type, value pattern) its
# provider asks for: written out here from the providers' documentation, not read back from providers.yaml
ASKED_FOR: list[tuple[str, str, list[tuple[str, str, str]]]] = [
    ("gmail", "gmail", [("google", "TXT", r"v=DKIM1; k=rsa; p=<the key from Admin console > .*Authenticate email>")]),
    (
        "sparkpost",
        "sparkpost",
        [("scph0124", "TXT", r"v=DKIM1; k=rsa; h=sha256; p=<the key shown in SparkPost > Sending Domains>")],
    ),
    ("mandrill", "mandrill", [(f"mte{i}", "CNAME", rf"dkim{i}\.mandrillapp\.com") for i in (1, 2)]),
    ("mailjet", "mailjet", [("mailjet", "TXT", r"k=rsa; p=<the key shown in Mailjet > .*Domains>")]),
    ("resend", "resend", [("resend", "TXT", r"p=<the key shown in Resend > Domains>")]),
    ("smtp2go", "smtp2go", [("s123456", "CNAME", r"dkim\.smtp2go\.net")]),
    ("zoho", "zoho", [("zmail", "TXT", r"v=DKIM1; k=rsa; p=<the key shown in Zoho Mail Admin > .*DKIM>")]),
    ("icloud", "icloud", [("sig1", "CNAME", r"sig1\.dkim\.icloud-nodkim\.test\.at\.icloudmailadmin\.com")]),
    ("proton_bridge", "proton", [(s, "CNAME", rf"{s}\.domainkey\.<ID>\.domains\.proton\.ch") for s in _PROTON]),
]


async def check(dns_config: DnsConfig, domain: str, provider: str) -> DomainReport:
    options = DomainCheckOptions(dkim_selectors=PRESET_SELECTORS.get(provider, ()))
    return await check_domain(f"no-reply@{domain}", provider, dns_config, options)


@pytest.mark.parametrize(("provider", "short", "asked"), ASKED_FOR, ids=[a[0] for a in ASKED_FOR])
async def test_a_preset_domain_without_dkim_is_told_exactly_the_records_to_add(
    dns_config: DnsConfig, provider: str, short: str, asked: list[tuple[str, str, str]]
) -> None:
    domain = f"{short}-nodkim.test"
    report = await check(dns_config, domain, provider)
    with_records = [f for f in report.findings if f.records]
    assert [f.code for f in with_records] == ["dkim_missing"]  # nothing else is asked for
    (missing,) = with_records
    assert missing.severity == "problem"
    assert [(r.name, r.type) for r in missing.records] == [(f"{s}._domainkey.{domain}", t) for s, t, _ in asked]
    for record, (_, _, pattern) in zip(missing.records, asked, strict=True):
        assert re.fullmatch(pattern, record.value), record.value
    assert all(f"{s}._domainkey.{domain}" in missing.explanation for s, _, _ in asked)


@pytest.mark.parametrize(("provider", "short"), [("mandrill", "mandrill"), ("smtp2go", "smtp2go")])
async def test_publishing_the_cnames_asked_for_is_what_the_ready_domain_has(
    dns_config: DnsConfig, provider: str, short: str
) -> None:
    """The records asked for on the bare domain, published as told, are the ones that check as ready."""
    report = await check(dns_config, f"{short}-nodkim.test", provider)
    (missing,) = [f for f in report.findings if f.code == "dkim_missing"]
    published = [r for r in preset_ok_zones()[f"{short}-ok.test"] if "_domainkey" in r[0]]
    assert [(r.name.split(".")[0], r.type, r.value + ".") for r in missing.records] == [
        (name.split(".")[0], rtype, value) for name, rtype, value in published
    ]
    assert (await check(dns_config, f"{short}-ok.test", provider)).verdict == "ready"


async def test_resend_needs_no_include_at_the_root_when_send_subdomain_has_it(dns_config: DnsConfig) -> None:
    report = await check(dns_config, "resend-ok.test", "resend")
    spf = [f for f in report.findings if f.area == "spf"]
    assert [(f.code, f.title) for f in spf] == [
        ("spf_ok", "SPF: resend-ok.test publishes one valid record"),
        ("spf_ok", "SPF: send.resend-ok.test publishes one valid record"),
    ]
    assert spf[1].explanation.endswith("It includes amazonses.com.")


async def test_resend_without_its_send_subdomain_is_told_the_spf_record_to_add_there(dns_config: DnsConfig) -> None:
    report = await check(dns_config, "resend-nosend.test", "resend")
    (finding,) = [f for f in report.findings if f.code == "spf_none"]
    assert finding.severity == "problem"
    assert finding.records == (RecordToAdd("send.resend-nosend.test", "TXT", "v=spf1 include:amazonses.com ~all"),)
