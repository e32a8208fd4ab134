"""DMARC for subdomain senders: the policy and the Organizational Domain found by RFC 9989's DNS
Tree Walk (no public suffix list), against the Knot server on loopback."""

from __future__ import annotations

import pytest

from smtpwizard.core.domain.check import check_domain
from smtpwizard.core.domain.dmarc import applied_policy, tree_walk
from smtpwizard.core.domain.resolver import DnsConfig, Resolver
from smtpwizard.core.domain_findings import Finding


async def dmarc_finding(config: DnsConfig, address: str) -> Finding:
    report = await check_domain(address, "sendgrid", config)
    return next(f for f in report.findings if f.area == "dmarc")


async def test_a_subdomain_sender_passes_under_the_parents_subdomain_policy(dns_config: DnsConfig) -> None:
    finding = await dmarc_finding(dns_config, "a@mail.sub.walk.test")
    assert finding.code == "dmarc_ok"
    assert finding.explanation == "The policy at _dmarc.walk.test is sp=quarantine, the policy for its subdomains."


async def test_sp_of_the_organizational_domain_decides_for_an_unaligned_subdomain(dns_config: DnsConfig) -> None:
    finding = await dmarc_finding(dns_config, "a@bare.sub.walk.test")
    assert (finding.code, finding.severity) == ("dmarc_unaligned", "problem")
    assert finding.title == "DMARC (sp=quarantine): receivers will put the mail in spam"
    assert finding.explanation.endswith("bare.sub.walk.test has no record of its own: _dmarc.walk.test applies (sp=).")


async def test_without_sp_the_parents_p_applies_to_its_subdomains(dns_config: DnsConfig) -> None:
    finding = await dmarc_finding(dns_config, "a@news.walkp.test")
    assert finding.title == "DMARC (p=reject): receivers will REJECT the mail"
    assert finding.explanation.endswith("news.walkp.test has no record of its own: _dmarc.walkp.test applies (p=).")


async def test_a_record_between_the_sender_and_the_top_is_found(dns_config: DnsConfig) -> None:
    # the last-two-labels guess looked only at _dmarc.mid.test, found nothing and called DMARC missing
    finding = await dmarc_finding(dns_config, "a@mail.sub.mid.test")
    assert finding.title == "DMARC (p=quarantine): receivers will put the mail in spam"
    assert finding.explanation.endswith("_dmarc.sub.mid.test applies (p=).")


async def test_psd_n_marks_the_organization_and_its_policy_applies(dns_config: DnsConfig) -> None:
    # a guess from the last labels would take psd.test's p=reject; org.psd.test says it is the organization
    finding = await dmarc_finding(dns_config, "a@team.org.psd.test")
    assert (finding.code, finding.severity) == ("dmarc_unaligned", "warning")
    assert finding.title.startswith("DMARC (p=none): ")
    walk = await tree_walk(Resolver(dns_config), "team.org.psd.test")
    assert walk.organizational_domain == "org.psd.test"


async def test_below_a_psd_y_record_the_organization_is_one_label_down(dns_config: DnsConfig) -> None:
    walk = await tree_walk(Resolver(dns_config), "mail.shop.psd.test")
    assert walk.organizational_domain == "shop.psd.test"
    policy = applied_policy(walk)  # shop.psd.test publishes nothing: the public suffix's policy applies
    assert (policy.found_at, policy.tag, policy.policy) == ("psd.test", "p", "reject")


@pytest.mark.parametrize(
    ("domain", "exists", "tag", "policy"),
    [
        ("gone.walk.test", False, "np", "reject"),
        ("bare.sub.walk.test", True, "sp", "quarantine"),
        ("gone.walkp.test", False, "p", "reject"),  # neither np nor sp: p
        ("walk.test", True, "p", "reject"),
    ],
)
async def test_the_policy_tag_follows_whether_the_sender_domain_exists(
    dns_config: DnsConfig, domain: str, exists: bool, tag: str, policy: str
) -> None:
    found = applied_policy(await tree_walk(Resolver(dns_config), domain), exists=exists)
    assert (found.tag, found.policy) == (tag, policy)


async def test_a_sender_domain_that_does_not_exist_names_its_parents_np_policy(dns_config: DnsConfig) -> None:
    report = await check_domain("a@gone.walk.test", "sendgrid", dns_config)
    (finding,) = report.findings
    assert finding.code == "domain_missing"
    assert finding.explanation == (
        "DNS says gone.walk.test does not exist (NXDOMAIN), so receivers reject mail from it. "
        "The DMARC policy that covers it is np=reject (at _dmarc.walk.test)."
    )


async def test_a_deep_name_costs_at_most_eight_questions(dns_config: DnsConfig) -> None:
    resolver = Resolver(dns_config)
    walk = await tree_walk(resolver, "a.b.c.d.e.f.g.mail.sub.walk.test")  # 11 labels
    assert resolver.queries == 8
    assert walk.organizational_domain == "walk.test"
    assert applied_policy(walk).found_at == "walk.test"


async def test_a_failed_question_on_the_way_up_is_reported_not_taken_for_no_record(dns_config: DnsConfig) -> None:
    finding = await dmarc_finding(dns_config, "a@mail.sub.cname-walk.test")
    assert (finding.code, finding.severity) == ("dns_failure", "unknown")
    assert finding.explanation.startswith("SERVFAIL for TXT _dmarc.sub.cname-walk.test.")


async def test_a_record_without_a_valid_policy_but_with_rua_counts_as_p_none(dns_config: DnsConfig) -> None:
    # RFC 9989: receivers act as if p=none was published; calling it "ignored" would be wrong
    finding = await dmarc_finding(dns_config, "a@rua-only.test")
    assert (finding.code, finding.severity) == ("dmarc_assumed_none", "warning")
    assert finding.title == "DMARC: the record at _dmarc.rua-only.test has no valid p=, so receivers treat it as p=none"
    assert "keeping the rua= address" in finding.fix


async def test_a_record_without_a_valid_policy_or_rua_is_ignored(dns_config: DnsConfig) -> None:
    finding = await dmarc_finding(dns_config, "a@bad-policy.test")
    assert (finding.code, finding.severity) == ("dmarc_invalid", "problem")
    assert "receivers ignore it" in finding.explanation
