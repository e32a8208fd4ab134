"""The sender-domain check against a real DNS server (Knot) on loopback: each fixture domain's
verdict, the findings the user sees and the exact records they are told to add."""

from __future__ import annotations

import pytest

from smtpwizard.core.domain.check import DomainCheckOptions, DomainReport, check_domain
from smtpwizard.core.domain.resolver import DnsConfig
from smtpwizard.core.domain_findings import RecordToAdd
from smtpwizard.core.exit_codes import ExitCode
from tests.domain.zones import POSTMARK_SELECTOR, PRESET_SELECTORS, SES_TOKENS


async def check(dns_config: DnsConfig, domain: str, provider: str, **options: object) -> DomainReport:
    return await check_domain(f"no-reply@{domain}", provider, dns_config, DomainCheckOptions(**options))  # type: ignore[arg-type]


def codes(report: DomainReport) -> dict[str, str]:
    return {f.code: f.severity for f in report.findings}


READY = {"dkim_ok", "spf_ok", "dmarc_ok", "mx_ok"}
# without DKIM a provider that bounces through its own domain has nothing left to align DMARC with
NO_DKIM_UNALIGNED = {"dkim_missing", "spf_ok", "dmarc_unaligned", "mx_ok"}
SELECTOR_NEEDED = {"dkim_selector_needed", "spf_ok", "dmarc_alignment_unknown", "mx_ok"}

# The fixture table: domain, provider, the user's selectors, the verdict, the finding codes.
TABLE = [
    ("sendgrid-ok.test", "sendgrid", (), "ready", {"dkim_ok", "spf_ok", "dmarc_ok", "mx_ok"}),
    ("ses-ok.test", "amazon_ses", SES_TOKENS, "ready", {"dkim_ok", "spf_include_optional", "dmarc_ok", "mx_ok"}),
    ("google-ok.test", "google_workspace_relay", (), "ready", {"dkim_ok", "spf_ok", "dmarc_ok", "mx_ok"}),
    ("m365-ok.test", "microsoft365", (), "ready", {"dkim_ok", "spf_ok", "dmarc_ok", "mx_ok"}),
    ("fastmail-ok.test", "fastmail", (), "ready", {"dkim_ok", "spf_ok", "dmarc_ok", "mx_ok"}),
    (
        "postmark-ok.test",
        "postmark",
        (POSTMARK_SELECTOR,),
        "ready",
        {"dkim_ok", "spf_include_optional", "dmarc_ok", "mx_ok"},
    ),
    ("brevo-ok.test", "brevo", (), "ready", {"dkim_ok", "spf_ok", "dmarc_ok", "mx_ok"}),
    ("mailgun-ok.test", "mailgun", (), "ready", {"dkim_ok", "spf_ok", "dmarc_ok", "mx_ok"}),
    ("no-dkim.test", "sendgrid", (), "problems", {"dkim_missing", "spf_ok", "dmarc_unaligned", "mx_ok"}),
    ("dkim-other.test", "sendgrid", (), "problems", {"dkim_other_provider", "spf_ok", "dmarc_unaligned", "mx_ok"}),
    ("two-spf.test", "google_workspace_relay", (), "problems", {"dkim_ok", "spf_multiple", "dmarc_ok", "mx_ok"}),
    ("spf-11.test", "sendgrid", (), "problems", {"dkim_ok", "spf_too_many_lookups", "dmarc_ok", "mx_ok"}),
    ("plus-all.test", "sendgrid", (), "problems", {"dkim_ok", "spf_plus_all", "dmarc_ok", "mx_ok"}),
    ("dmarc-reject.test", "sendgrid", (), "problems", {"dkim_missing", "spf_ok", "dmarc_unaligned", "mx_ok"}),
    ("no-mx.test", "sendgrid", (), "ready", {"dkim_ok", "spf_ok", "dmarc_ok", "mx_none"}),
    ("implicit-mx.test", "sendgrid", (), "ready", {"dkim_ok", "spf_ok", "dmarc_ok", "mx_implicit"}),
    ("bad-key.test", "google_workspace_relay", (), "problems", {"dkim_bad_key", "spf_ok", "dmarc_ok", "mx_ok"}),
    ("dangling.test", "fastmail", (), "problems", {"dkim_dangling", "spf_ok", "dmarc_ok", "mx_ok"}),
    ("m365-nospf.test", "microsoft365", (), "problems", {"dkim_ok", "spf_missing_include", "dmarc_ok", "mx_ok"}),
    ("brevo-dangling.test", "brevo", (), "problems", {"dkim_dangling", "spf_ok", "dmarc_unaligned", "mx_ok"}),
    ("redirect.test", "brevo", (), "ready", {"dkim_ok", "spf_ok", "dmarc_ok", "mx_ok"}),
    ("void-spf.test", "sendgrid", (), "problems", {"dkim_ok", "spf_void_lookups", "dmarc_ok", "mx_ok"}),
    ("void-two.test", "sendgrid", (), "ready", {"dkim_ok", "spf_ok", "dmarc_ok", "mx_ok"}),
    ("rua-only.test", "sendgrid", (), "ready", {"dkim_ok", "spf_ok", "dmarc_assumed_none", "mx_ok"}),
    ("bad-policy.test", "sendgrid", (), "problems", {"dkim_ok", "spf_ok", "dmarc_invalid", "mx_ok"}),
    # --- the other presets with DNS facts: set up correctly, then without DKIM ---
    ("gmail-ok.test", "gmail", (), "ready", READY),
    ("gmail-nodkim.test", "gmail", (), "problems", {"dkim_missing", "spf_ok", "dmarc_ok", "mx_ok"}),
    ("sparkpost-ok.test", "sparkpost", PRESET_SELECTORS["sparkpost"], "ready", READY),
    ("sparkpost-nodkim.test", "sparkpost", PRESET_SELECTORS["sparkpost"], "problems", NO_DKIM_UNALIGNED),
    ("sparkpost-nodkim.test", "sparkpost", (), "incomplete", SELECTOR_NEEDED),
    ("mandrill-ok.test", "mandrill", (), "ready", READY),
    ("mandrill-nodkim.test", "mandrill", (), "problems", NO_DKIM_UNALIGNED),
    ("mailjet-ok.test", "mailjet", (), "ready", READY),  # found through the preset's try list
    ("mailjet-nodkim.test", "mailjet", PRESET_SELECTORS["mailjet"], "problems", NO_DKIM_UNALIGNED),
    ("mailjet-nodkim.test", "mailjet", (), "incomplete", SELECTOR_NEEDED),
    ("resend-ok.test", "resend", (), "ready", READY),  # SPF checked on the root and on send.<domain>
    ("resend-nodkim.test", "resend", (), "problems", {"dkim_missing", "spf_ok", "dmarc_ok", "mx_ok"}),
    ("resend-nosend.test", "resend", (), "problems", {"dkim_ok", "spf_ok", "spf_none", "dmarc_ok", "mx_ok"}),
    ("smtp2go-ok.test", "smtp2go", PRESET_SELECTORS["smtp2go"], "ready", READY),
    ("smtp2go-nodkim.test", "smtp2go", PRESET_SELECTORS["smtp2go"], "problems", NO_DKIM_UNALIGNED),
    ("smtp2go-nodkim.test", "smtp2go", (), "incomplete", SELECTOR_NEEDED),
    ("zoho-ok.test", "zoho", (), "ready", READY),  # found through the preset's try list
    ("zoho-nodkim.test", "zoho", PRESET_SELECTORS["zoho"], "problems", {"dkim_missing", "spf_ok", "dmarc_ok", "mx_ok"}),
    ("zoho-nodkim.test", "zoho", (), "incomplete", {"dkim_selector_needed", "spf_ok", "dmarc_ok", "mx_ok"}),
    ("icloud-ok.test", "icloud", (), "ready", READY),
    ("icloud-nodkim.test", "icloud", (), "problems", {"dkim_missing", "spf_ok", "dmarc_ok", "mx_ok"}),
    ("proton-ok.test", "proton_bridge", (), "ready", READY),
    ("proton-nodkim.test", "proton_bridge", (), "problems", {"dkim_missing", "spf_ok", "dmarc_ok", "mx_ok"}),
    ("missing.sendgrid-ok.test", "sendgrid", (), "problems", {"domain_missing"}),
    ("servfail.test", "sendgrid", (), "unknown", {"dns_failure"}),
]


@pytest.mark.parametrize(
    ("domain", "provider", "selectors", "verdict", "expected"),
    TABLE,
    ids=[f"{t[0]}-{t[1]}" + ("-selector" if t[2] else "") for t in TABLE],
)
async def test_each_fixture_domain_gets_its_verdict(
    dns_config: DnsConfig, domain: str, provider: str, selectors: tuple[str, ...], verdict: str, expected: set[str]
) -> None:
    report = await check(dns_config, domain, provider, dkim_selectors=selectors)
    assert set(codes(report)) == expected
    assert report.verdict == verdict
    exit_codes = {"ready": ExitCode.OK, "incomplete": ExitCode.OK, "problems": ExitCode.CONFIG}
    assert report.exit_code == {**exit_codes, "unknown": ExitCode.TEMP_FAIL}[verdict]


async def test_missing_sendgrid_dkim_names_both_cnames_to_add(dns_config: DnsConfig) -> None:
    report = await check(dns_config, "no-dkim.test", "sendgrid")
    missing = next(f for f in report.findings if f.code == "dkim_missing")
    assert missing.severity == "problem"
    assert [(r.name, r.type) for r in missing.records] == [
        ("s1._domainkey.no-dkim.test", "CNAME"),
        ("s2._domainkey.no-dkim.test", "CNAME"),
    ]
    assert missing.records[0].value.startswith("s1.domainkey.u")
    assert missing.records[0].value.split(" ")[0].endswith(".sendgrid.net")


async def test_missing_fastmail_dkim_gives_the_exact_cname_values(dns_config: DnsConfig) -> None:
    report = await check(dns_config, "no-dkim.test", "fastmail")
    missing = next(f for f in report.findings if f.code == "dkim_missing")
    assert missing.records == tuple(
        RecordToAdd(f"fm{i}._domainkey.no-dkim.test", "CNAME", f"fm{i}.no-dkim.test.dkim.fmhosted.com")
        for i in (1, 2, 3)
    )


async def test_ses_tokens_become_their_amazonses_cnames_when_missing(dns_config: DnsConfig) -> None:
    report = await check(dns_config, "no-dkim.test", "amazon_ses", dkim_selectors=SES_TOKENS)
    missing = next(f for f in report.findings if f.code == "dkim_missing")
    assert [r.line() for r in missing.records] == [
        f"{t}._domainkey.no-dkim.test  CNAME  {t}.dkim.amazonses.com" for t in SES_TOKENS
    ]


async def test_dkim_cname_to_another_provider_is_named(dns_config: DnsConfig) -> None:
    report = await check(dns_config, "dkim-other.test", "sendgrid")
    wrong = [f for f in report.findings if f.code == "dkim_other_provider"]
    assert {f.title for f in wrong} == {
        "DKIM: s1._domainkey.dkim-other.test points to Mailgun, not SendGrid",
        "DKIM: s2._domainkey.dkim-other.test points to Mailgun, not SendGrid",
    }


async def test_two_spf_records_are_merged_into_one_to_publish(dns_config: DnsConfig) -> None:
    report = await check(dns_config, "two-spf.test", "google_workspace_relay")
    finding = next(f for f in report.findings if f.code == "spf_multiple")
    assert finding.records == (
        RecordToAdd("two-spf.test", "TXT", "v=spf1 include:_spf.google.com include:sendgrid.net ~all"),
    )


async def test_spf_with_three_void_lookups_names_each_and_the_fix(dns_config: DnsConfig) -> None:
    report = await check(dns_config, "void-spf.test", "sendgrid")
    finding = next(f for f in report.findings if f.code == "spf_void_lookups")
    assert finding.severity == "problem"
    assert finding.title == "SPF: 3 of void-spf.test's look-ups find nothing; receivers stop at 2"
    assert finding.explanation.endswith(
        "Pointing nowhere: a:old1.void-spf.test, a:old2.void-spf.test, mx:gone.void-spf.test."
    )
    assert finding.details == (
        "a:old1.void-spf.test: old1.void-spf.test does not exist",
        "a:old2.void-spf.test: old2.void-spf.test has no A record",
        "mx:gone.void-spf.test: gone.void-spf.test does not exist",
    )
    assert finding.fix.startswith("Remove those mechanisms from the record")
    assert finding.records == (RecordToAdd("void-spf.test", "TXT", "v=spf1 include:sendgrid.net ~all"),)


async def test_spf_over_ten_lookups_counts_them(dns_config: DnsConfig) -> None:
    report = await check(dns_config, "spf-11.test", "sendgrid")
    finding = next(f for f in report.findings if f.code == "spf_too_many_lookups")
    assert "11 DNS look-ups" in finding.title


async def test_plus_all_is_replaced_by_softfail(dns_config: DnsConfig) -> None:
    report = await check(dns_config, "plus-all.test", "sendgrid")
    finding = next(f for f in report.findings if f.code == "spf_plus_all")
    assert finding.records == (RecordToAdd("plus-all.test", "TXT", "v=spf1 include:sendgrid.net ~all"),)


async def test_dmarc_reject_without_aligned_dkim_says_mail_is_rejected(dns_config: DnsConfig) -> None:
    report = await check(dns_config, "dmarc-reject.test", "sendgrid")
    finding = next(f for f in report.findings if f.code == "dmarc_unaligned")
    assert finding.severity == "problem"
    assert "REJECT" in finding.title


async def test_missing_include_is_only_a_warning_for_a_provider_with_its_own_return_path(dns_config: DnsConfig) -> None:
    report = await check(dns_config, "ses-ok.test", "amazon_ses", dkim_selectors=SES_TOKENS)
    finding = next(f for f in report.findings if f.code == "spf_include_optional")
    assert finding.severity == "warning"
    assert finding.records == (RecordToAdd("ses-ok.test", "TXT", "v=spf1 mx include:amazonses.com ~all"),)


async def test_missing_include_on_a_custom_mail_from_domain_is_a_problem(dns_config: DnsConfig) -> None:
    bad = await check(
        dns_config, "ses-mailfrom.test", "amazon_ses", dkim_selectors=(), return_path="bad-bounce.ses-mailfrom.test"
    )
    finding = next(f for f in bad.findings if f.code == "spf_missing_include")
    assert finding.severity == "problem"
    assert finding.records == (
        RecordToAdd("bad-bounce.ses-mailfrom.test", "TXT", "v=spf1 mx include:amazonses.com ~all"),
    )
    good = await check(dns_config, "ses-mailfrom.test", "amazon_ses", return_path="good-bounce.ses-mailfrom.test")
    assert "spf_missing_include" not in codes(good)
    assert codes(good)["dmarc_ok"] == "ok"  # SPF on the custom MAIL FROM aligns with the From domain


async def test_missing_include_is_a_problem_for_a_mailbox_provider(dns_config: DnsConfig) -> None:
    report = await check(dns_config, "m365-nospf.test", "microsoft365")
    finding = next(f for f in report.findings if f.code == "spf_missing_include")
    assert finding.records == (
        RecordToAdd("m365-nospf.test", "TXT", "v=spf1 mx include:spf.protection.outlook.com -all"),
    )


async def test_a_provider_with_per_account_selectors_asks_for_one_instead_of_calling_it_missing(
    dns_config: DnsConfig,
) -> None:
    report = await check(dns_config, "postmark-ok.test", "postmark")
    assert codes(report)["dkim_selector_needed"] == "unchecked"
    assert codes(report)["dmarc_alignment_unknown"] == "unchecked"
    assert report.verdict == "incomplete" and report.exit_code == ExitCode.OK
    assert "--dkim-selector" in next(f.fix for f in report.findings if f.code == "dkim_selector_needed")


@pytest.mark.parametrize("domain", ["servfail.test", "slow.test"])
async def test_dns_failures_are_reported_as_such_never_as_missing_records(
    dns_config: DnsConfig, slow_dns_config: DnsConfig, domain: str
) -> None:
    report = await check(slow_dns_config if domain == "slow.test" else dns_config, domain, "sendgrid")
    assert report.verdict == "unknown"
    assert report.exit_code == ExitCode.TEMP_FAIL
    (finding,) = report.findings
    assert finding.code == "dns_failure"
    assert ("SERVFAIL" if domain == "servfail.test" else "no answer in time") in finding.explanation
    assert "says nothing about whether the record exists" in finding.explanation


async def test_mx_names_the_mailbox_host(dns_config: DnsConfig) -> None:
    report = await check(dns_config, "m365-ok.test", "microsoft365")
    mx = next(f for f in report.findings if f.code == "mx_ok")
    assert mx.explanation.endswith("They are Microsoft 365 / Exchange Online's servers.")


async def test_the_lookups_run_at_once(dns_config: DnsConfig) -> None:
    """The same questions one after another take at least as many round trips; here: counted queries."""
    parallel = await check(dns_config, "sendgrid-ok.test", "sendgrid")
    assert (
        parallel.queries == 9
    )  # TXT, 2 DKIM CNAMEs + their targets, the DMARC walk (2: the domain, test), MX, the include


async def test_a_redirect_is_followed_and_its_all_counts(dns_config: DnsConfig) -> None:
    report = await check(dns_config, "redirect.test", "brevo")
    spf = next(f for f in report.findings if f.code == "spf_ok")
    assert (
        spf.explanation
        == "It needs 3 of the 10 DNS look-ups receivers allow and ends in ~all. It includes spf.brevo.com."
    )


async def test_a_cname_to_a_name_that_does_not_exist_is_dangling_not_missing(dns_config: DnsConfig) -> None:
    report = await check(dns_config, "brevo-dangling.test", "brevo")
    finding = next(f for f in report.findings if f.code == "dkim_dangling")
    assert finding.title == "DKIM: mail._domainkey.brevo-dangling.test points to a key that does not exist"
    assert "mail.keys.brevo-dangling.test" in finding.explanation


async def test_one_ses_token_of_three_is_checked_but_the_others_are_asked_for(dns_config: DnsConfig) -> None:
    report = await check(dns_config, "ses-ok.test", "amazon_ses", dkim_selectors=SES_TOKENS[:1])
    assert codes(report)["dkim_ok"] == "ok"
    finding = next(f for f in report.findings if f.code == "dkim_fewer_selectors")
    assert finding.title == "DKIM: Amazon SES publishes 3 records; 1 checked"


async def test_a_domain_without_mx_falls_back_to_its_address_record(dns_config: DnsConfig) -> None:
    report = await check(dns_config, "implicit-mx.test", "sendgrid")
    finding = next(f for f in report.findings if f.code == "mx_implicit")
    assert "falls back to its address record (192.0.2.80, RFC 5321 section 5.1)" in finding.explanation


async def test_a_fastmail_cname_to_no_key_shows_the_value_it_should_have(dns_config: DnsConfig) -> None:
    report = await check(dns_config, "dangling.test", "fastmail")
    dangling = [f for f in report.findings if f.code == "dkim_dangling"]
    assert [f.records for f in dangling] == [
        (RecordToAdd(f"fm{i}._domainkey.dangling.test", "CNAME", f"fm{i}.dangling.test.dkim.fmhosted.com"),)
        for i in (1, 2, 3)
    ]
