"""The sender-domain catalog: each DNS finding as plain words, a fix and the exact records to add.

The one home of every message of ``smtpwizard check-domain`` (as :mod:`diagnose` is for the live
test); the TUI and the CLI render the same :class:`Finding` objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from smtpwizard.core.domain.resolver import Lookup

if TYPE_CHECKING:
    from smtpwizard.core.domain.detect import Proposal

Severity = Literal["ok", "info", "warning", "unchecked", "problem", "unknown"]  # unchecked: needs more input
Area = Literal["domain", "dkim", "spf", "dmarc", "mx"]
GOOGLE_SENDER_RULES = (
    "https://support.google.com/a/answer/81126"  # Gmail's rules for senders: SPF or DKIM, DMARC for bulk
)


@dataclass(frozen=True)
class RecordToAdd:
    """A DNS record exactly as the user enters it at their DNS host."""

    name: str
    type: str
    value: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "type": self.type, "value": self.value}

    def line(self) -> str:
        return f"{self.name}  {self.type}  {self.value}"


@dataclass(frozen=True)
class Finding:
    code: str
    area: Area
    severity: Severity
    title: str
    explanation: str
    fix: str = ""
    records: tuple[RecordToAdd, ...] = ()
    details: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "area": self.area,
            "severity": self.severity,
            "title": self.title,
            "explanation": self.explanation,
            "fix": self.fix,
            "records": [r.to_dict() for r in self.records],
            "details": list(self.details),
        }


VERDICTS: dict[str, str] = {  # the report's one-line outcome, by DomainReport.verdict
    "ready": "Ready: receivers can authenticate mail from this domain.",
    "incomplete": "Not fully checked: nothing wrong so far; give your DKIM selector (--dkim-selector) to finish.",
    "problems": "Not ready: add or fix these records at your DNS host, or mail may go to spam or be rejected.",
    "unknown": "No verdict: DNS look-ups failed; try again.",
}


# --- any area --------------------------------------------------------------------------------


def dns_failure(area: Area, lookup: Lookup) -> Finding:
    return Finding(
        "dns_failure",
        area,
        "unknown",
        f"{area.upper()} could not be checked: the DNS look-up failed",
        f"{lookup.describe_failure()}. This says nothing about whether the record exists: "
        "the name server did not give an answer.",
        "Try again in a minute. If it persists, the domain's name servers are broken or unreachable "
        f"(try: dig {lookup.rdtype} {lookup.name}).",
    )


def domain_missing(domain: str, dmarc: tuple[str, str, str] | None = None) -> Finding:
    """``dmarc``: (where, tag, policy) of the DMARC policy for it, e.g. a parent's np=reject."""
    policy = f" The DMARC policy that covers it is {dmarc[1]}={dmarc[2]} (at {dmarc[0]})." if dmarc else ""
    return Finding(
        "domain_missing",
        "domain",
        "problem",
        f"The domain {domain} does not exist",
        f"DNS says {domain} does not exist (NXDOMAIN), so receivers reject mail from it.{policy}",
        "Check the spelling of the sender address, or register the domain.",
    )


# --- DKIM ------------------------------------------------------------------------------------


def dkim_ok(provider: str, selectors: tuple[str, ...], details: tuple[str, ...]) -> Finding:
    names = ", ".join(f"{s}._domainkey" for s in selectors)
    return Finding(
        "dkim_ok",
        "dkim",
        "ok",
        f"DKIM: {provider} can sign as your domain",
        f"{names} {'holds' if len(selectors) == 1 else 'hold'} a valid key, so receivers can verify {provider}'s "
        "signature on your domain, and it aligns with your From address for DMARC.",
        details=details,
    )


def dkim_missing(provider: str, domain: str, records: tuple[RecordToAdd, ...], where: str) -> Finding:
    what = ", ".join(r.name for r in records)
    return Finding(
        "dkim_missing",
        "dkim",
        "problem",
        f"DKIM: {provider}'s key records are missing",
        f"{what} {'does' if len(records) == 1 else 'do'} not exist. Without them {provider} signs with its own "
        f"domain, not {domain}: DMARC cannot pass through DKIM and big mailbox providers send the mail to spam.",
        f"Add {'this record' if len(records) == 1 else 'these records'} at your DNS host"
        + (f" ({where})" if where else "")
        + f", then verify the domain in {provider}.",
        records,
    )


def dkim_other_provider(provider: str, name: str, target: str, other: str, record: RecordToAdd | None) -> Finding:
    return Finding(
        "dkim_other_provider",
        "dkim",
        "problem",
        f"DKIM: {name} points to {other}, not {provider}",
        f"{name} is a CNAME to {target}, a key of {other}. {provider} cannot sign with it, so its signature "
        "on your domain will fail.",
        f"Replace the record with {provider}'s value"
        + ("." if record else f"; if you still send through {other}, {provider} needs its own selector."),
        (record,) if record else (),
    )


def dkim_wrong_target(provider: str, name: str, target: str, expected: tuple[str, ...], record: RecordToAdd) -> Finding:
    return Finding(
        "dkim_wrong_target",
        "dkim",
        "problem",
        f"DKIM: {name} points somewhere {provider} does not",
        f"{name} is a CNAME to {target}; {provider}'s keys live under {' or '.join(expected)}.",
        "Replace the record with the value from your provider's panel.",
        (record,),
    )


def dkim_dangling(provider: str, name: str, target: str, record: RecordToAdd) -> Finding:
    return Finding(
        "dkim_dangling",
        "dkim",
        "problem",
        f"DKIM: {name} points to a key that does not exist",
        f"{name} is a CNAME to {target}, where there is no DKIM key. A typo in the value, or {provider} "
        "has not published (or has removed) the key for this domain.",
        f"Copy the exact value again from {provider}'s domain settings, and check that the domain is still set up "
        "there. The record should read:",
        (record,),
    )


def dkim_bad_key(name: str, problem: str, record: RecordToAdd | None) -> Finding:
    return Finding(
        "dkim_bad_key",
        "dkim",
        "problem",
        f"DKIM: the key at {name} is not usable",
        f"The record at {name} is not a valid DKIM key record: {problem}. Signatures will fail to verify.",
        "Copy the whole record again from your provider; long keys must stay in one record "
        "(split into quoted strings is fine, cut is not).",
        (record,) if record else (),
    )


def dkim_static_key(provider: str, name: str) -> Finding:
    return Finding(
        "dkim_static_key",
        "dkim",
        "warning",
        f"DKIM: {name} is a copied key, not {provider}'s CNAME",
        f"{name} holds a valid key as a TXT record. It works today, but {provider} rotates its keys through "
        "the CNAME it asks for, and signing breaks after the next rotation.",
        f"Replace the TXT record with the CNAME shown in {provider}'s domain settings.",
    )


def dkim_selector_needed(provider: str, hint: str, tried: tuple[str, ...]) -> Finding:
    tried_text = f" None of the common selectors ({', '.join(tried)}) holds a key." if tried else ""
    return Finding(
        "dkim_selector_needed",
        "dkim",
        "unchecked",
        f"DKIM: smtpwizard needs your {provider} selector to check it",
        f"{provider} gives each domain its own DKIM record name, and DNS cannot list names.{tried_text}",
        f"Run again with --dkim-selector SELECTOR: {hint}." if hint else "Run again with --dkim-selector SELECTOR.",
    )


def dkim_fewer_selectors(provider: str, expected: int, given: int, hint: str) -> Finding:
    return Finding(
        "dkim_fewer_selectors",
        "dkim",
        "warning",
        f"DKIM: {provider} publishes {expected} records; {given} checked",
        f"The selectors you gave hold valid keys, but {provider} asks for {expected} and signs with any of them.",
        f"Check all {expected} with --dkim-selector: {hint}."
        if hint
        else f"Check all {expected} with --dkim-selector.",
    )


def dkim_no_facts(provider: str) -> Finding:
    return Finding(
        "dkim_no_facts",
        "dkim",
        "info",
        f"DKIM: no DNS facts for {provider}",
        f"smtpwizard's catalog has no DKIM record names for {provider}; SPF, DMARC and MX are still checked.",
        "Look up the DKIM records in your provider's domain settings, or pass --dkim-selector SELECTOR to check one.",
    )


# --- SPF -------------------------------------------------------------------------------------


def spf_ok(domain: str, lookups: int, qualifier: str, authorized: str | None) -> Finding:
    who = f" It includes {authorized}." if authorized else ""
    return Finding(
        "spf_ok",
        "spf",
        "ok",
        f"SPF: {domain} publishes one valid record",
        f"It needs {lookups} of the 10 DNS look-ups receivers allow and ends in {qualifier}all.{who}",
    )


def spf_missing_include(
    provider: str, domain: str, include: str, required: bool, record: RecordToAdd, why: str
) -> Finding:
    return Finding(
        "spf_missing_include" if required else "spf_include_optional",
        "spf",
        "problem" if required else "warning",
        f"SPF: {domain} does not authorize {provider}",
        f"{domain}'s SPF has no include:{include} (nor another include of {provider}). {why}",
        f"{'Publish' if required else 'For completeness, publish'} this record"
        + (" (it replaces the current SPF record; keep exactly one):" if record.value else ":"),
        (record,),
    )


def spf_none(domain: str, required: bool, record: RecordToAdd, why: str) -> Finding:
    return Finding(
        "spf_none",
        "spf",
        "problem" if required else "warning",
        f"SPF: {domain} has no SPF record",
        f"Receivers cannot tell which servers may send for {domain}. {why}",
        "Publish this record:",
        (record,),
    )


def spf_multiple(domain: str, records: tuple[str, ...], merged: RecordToAdd) -> Finding:
    return Finding(
        "spf_multiple",
        "spf",
        "problem",
        f"SPF: {domain} has {len(records)} SPF records; receivers treat that as an error",
        "RFC 7208 allows exactly one v=spf1 record per name; with more, every receiver's SPF check fails "
        "(permerror), whichever server sends.",
        "Delete all of them and publish one merged record:",
        (merged,),
        records,
    )


def spf_too_many_lookups(domain: str, lookups: int, reached: tuple[str, ...]) -> Finding:
    return Finding(
        "spf_too_many_lookups",
        "spf",
        "problem",
        f"SPF: {domain}'s record needs {lookups} DNS look-ups; receivers stop at 10",
        "Each include, a, mx, ptr, exists and redirect costs a look-up, and the includes' own includes count "
        "too. Past 10 receivers give up with a permanent error, so SPF fails for every sender.",
        "Remove includes of services you no longer use, or replace an include by the ip4:/ip6: ranges it lists.",
        details=tuple(f"includes {r}" for r in reached),
    )


def spf_void_lookups(domain: str, voids: tuple[str, ...], fixed: RecordToAdd | None) -> Finding:
    terms = ", ".join(v.partition(": ")[0] for v in voids)
    return Finding(
        "spf_void_lookups",
        "spf",
        "problem",
        f"SPF: {len(voids)} of {domain}'s look-ups find nothing; receivers stop at 2",
        "RFC 7208 (section 4.6.4) lets receivers give up with a permanent error after two look-ups that find "
        f"no record or a name that does not exist, so SPF fails for every sender. Pointing nowhere: {terms}.",
        "Remove those mechanisms from the record (usually servers or services you no longer use), "
        "or publish the records they expect." + (" Without them the record reads:" if fixed else ""),
        (fixed,) if fixed else (),
        voids,
    )


def spf_broken_include(domain: str, problem: str) -> Finding:
    return Finding(
        "spf_broken_include",
        "spf",
        "problem",
        f"SPF: {domain}'s record is broken",
        f"Receivers get a permanent error: {problem}.",
        "Fix or remove that include (check its spelling against the provider's documentation).",
    )


def spf_plus_all(domain: str, record: RecordToAdd) -> Finding:
    return Finding(
        "spf_plus_all",
        "spf",
        "problem",
        f"SPF: {domain} allows every server in the world (+all)",
        "A record ending in +all (or a bare all) authorizes anyone to send as your domain; spam filters "
        "treat it as a sign of a spoofable domain.",
        "End the record with ~all (or -all) instead:",
        (record,),
    )


def spf_neutral_all(domain: str, qualifier: str | None, record: RecordToAdd) -> Finding:
    how = "ends in ?all (neutral)" if qualifier == "?" else "has no all term"
    return Finding(
        "spf_neutral_all",
        "spf",
        "warning",
        f"SPF: {domain}'s record {how}",
        "It says nothing about servers it does not list, so it does not protect the domain from spoofing.",
        "End the record with ~all (or -all):",
        (record,),
    )


def spf_ptr(domain: str) -> Finding:
    return Finding(
        "spf_ptr",
        "spf",
        "warning",
        f"SPF: {domain}'s record uses ptr",
        "RFC 7208 says not to use ptr: it is slow and some receivers ignore it.",
        "Replace ptr with the ip4:/ip6: ranges of your servers.",
    )


# --- DMARC -----------------------------------------------------------------------------------


def dmarc_missing(domain: str) -> Finding:
    return Finding(
        "dmarc_missing",
        "dmarc",
        "warning",
        f"DMARC: {domain} has no DMARC record",
        "Gmail and Yahoo require a DMARC record from bulk senders and spam-folder unauthenticated mail "
        f"({GOOGLE_SENDER_RULES}); it also tells you who sends as your domain. No record was found at "
        f"_dmarc.{domain} nor at any of its parent domains.",
        "Publish this record (p=none only reports; tighten it once the reports look right; a record at your "
        "organization's own domain covers its subdomains too):",
        (RecordToAdd(f"_dmarc.{domain}", "TXT", f"v=DMARC1; p=none; rua=mailto:postmaster@{domain}"),),
    )


def dmarc_multiple(domain: str, count: int) -> Finding:
    return Finding(
        "dmarc_multiple",
        "dmarc",
        "problem",
        f"DMARC: _dmarc.{domain} has {count} DMARC records",
        "With more than one, receivers discard them all and look for a policy higher up (RFC 9989, DNS Tree Walk).",
        "Keep exactly one v=DMARC1 record.",
    )


def dmarc_invalid(name: str, record: str) -> Finding:
    return Finding(
        "dmarc_invalid",
        "dmarc",
        "problem",
        f"DMARC: the record at {name} has no valid policy",
        f"'{record}' lacks p=none, p=quarantine or p=reject, so receivers ignore it.",
        "Fix the record, e.g. v=DMARC1; p=none; rua=mailto:postmaster@<your domain>.",
    )


def dmarc_assumed_none(name: str, record: str, tag: str) -> Finding:
    return Finding(
        "dmarc_assumed_none",
        "dmarc",
        "warning",
        f"DMARC: the record at {name} has no valid {tag}=, so receivers treat it as p=none",
        f"'{record}' lacks a valid {tag}= (none, quarantine or reject); because it names a rua= report address, "
        "receivers act as if it said p=none (RFC 9989): reports arrive, but nothing is enforced for your domain.",
        f"Write the policy you mean, e.g. v=DMARC1; {tag}=none (then quarantine or reject once reports are clean), "
        "keeping the rua= address.",
    )


def _applies(tag: str) -> str:
    """How a policy tag applies to the From domain, when it is not the domain's own p=."""
    return {"sp": ", the policy for its subdomains", "np": ", the policy for its subdomains that do not exist"}.get(
        tag, ""
    )


def dmarc_ok(domain: str, policy: str, through: str, found_at: str, tag: str = "p") -> Finding:
    note = " (p=none only monitors; tighten to quarantine once reports look right)" if policy == "none" else ""
    return Finding(
        "dmarc_ok",
        "dmarc",
        "ok",
        f"DMARC: mail will pass ({through} aligns with {domain})",
        f"The policy at {found_at} is {tag}={policy}{_applies(tag)}{note}.",
    )


def dmarc_unaligned(domain: str, policy: str, provider: str, tag: str = "p", found_at: str = "") -> Finding:
    outcome = {
        "reject": ("problem", "receivers will REJECT the mail"),
        "quarantine": ("problem", "receivers will put the mail in spam"),
    }.get(policy, ("warning", "the mail fails DMARC; with p=none it is still delivered, but often to spam"))
    inherited = ""
    if found_at and found_at != f"_dmarc.{domain}":  # found by the tree walk, higher up
        inherited = f" {domain} has no record of its own: {found_at} applies ({tag}=)."
    return Finding(
        "dmarc_unaligned",
        "dmarc",
        outcome[0],  # type: ignore[arg-type]
        f"DMARC ({tag}={policy}): {outcome[1]}",
        f"Neither DKIM nor SPF from {provider} will align with {domain}: {provider} signs and bounces with "
        f"its own domain until its DKIM records are on {domain}.{inherited}",
        "Add the DKIM records above (the usual way), or set a custom return-path/MAIL FROM domain under "
        f"{domain} that includes {provider} in its SPF.",
    )


def dmarc_alignment_unknown(domain: str, policy: str, tag: str = "p") -> Finding:
    return Finding(
        "dmarc_alignment_unknown",
        "dmarc",
        "unchecked",
        f"DMARC ({tag}={policy}): alignment could not be confirmed",
        f"Whether mail passes DMARC for {domain} depends on the DKIM records smtpwizard could not check.",
        "See the DKIM finding above.",
    )


# --- MX --------------------------------------------------------------------------------------


def mx_ok(domain: str, hosts: tuple[str, ...], hosted_by: str | None) -> Finding:
    who = f" They are {hosted_by}'s servers." if hosted_by else ""
    return Finding(
        "mx_ok",
        "mx",
        "ok",
        f"MX: {domain} receives mail",
        f"Bounces and replies can arrive (MX: {', '.join(hosts)}).{who}",
    )


def mx_none(domain: str) -> Finding:
    return Finding(
        "mx_none",
        "mx",
        "warning",
        f"MX: {domain} receives no mail",
        f"{domain} has no MX record: replies and bounces to the sender address are lost, and some receivers "
        "distrust senders whose domain cannot receive.",
        "Add an MX record for your mailbox host, or set a Reply-To address on a domain that receives mail.",
    )


def mx_implicit(domain: str, addresses: tuple[str, ...]) -> Finding:
    return Finding(
        "mx_implicit",
        "mx",
        "warning",
        f"MX: {domain} has no MX record",
        f"Mail to {domain} falls back to its address record ({', '.join(addresses)}, RFC 5321 section 5.1), which "
        "rarely runs a mail server: replies and bounces are likely lost.",
        "Add an MX record for your mailbox host, or set a Reply-To address on a domain that receives mail.",
    )


def mx_null(domain: str) -> Finding:
    return Finding(
        "mx_null",
        "mx",
        "warning",
        f"MX: {domain} declares that it receives no mail (null MX)",
        "Its MX is '0 .' (RFC 7505): replies and bounces are refused, and some receivers reject mail from "
        "domains that cannot receive.",
        "Use a sender domain that receives mail, or set a Reply-To address that does.",
    )


# --- provider from the domain ----------------------------------------------------------------


def proposed_by_mx(provider: str, domain: str, mx_host: str) -> str:
    return f"{domain} receives its mail at {mx_host}, a {provider} server, so {provider} is the likely sender."


def proposed_by_srv(domain: str, record: str, host: str, port: int, security: str) -> str:
    how = "implicit TLS (RFC 8314)" if security == "tls" else "STARTTLS (RFC 6186)"
    return f"{domain} publishes {record} SRV: its own submission server {host} port {port}, {how}."


def nothing_proposed(domain: str) -> str:
    return (
        f"{domain}'s MX matches no preset and it publishes no _submission/_submissions SRV record; "
        "choose the provider yourself"
    )


def proposal_lookup_failed(domain: str, failure: str) -> str:
    return f"the provider of {domain} could not be looked up ({failure}); try again or name the provider"


# the provider step's one line about what it looked up (TUI)


def proposal_line(proposal: Proposal, highlighted: bool) -> str:
    """E.g. "example.com's mail is hosted by Google Workspace (MX aspmx.l.google.com): ..."."""
    name = proposal.provider_name
    if proposal.found_by == "srv":
        how = "implicit TLS" if proposal.security == "tls" else "STARTTLS"
        found = (
            f"{proposal.domain} runs its own submission server (SRV {proposal.via}: {proposal.host} port "
            f"{proposal.port}, {how})"
        )
        then = f"{name} is highlighted below; choosing it fills in that server"
    else:
        found = f"{proposal.domain}'s mail is hosted by {name} (MX {proposal.via})"
        then = "highlighted below; Enter chooses it"
    if highlighted:
        return f"{found}: {then}."
    return f"{found}: clear the filter to see {name}."


def no_proposal_nothing(domain: str) -> str:
    return f"No proposal: {domain}'s MX matches no preset and it publishes no submission SRV record."


def no_proposal_nxdomain(domain: str) -> str:
    return f"No proposal: {domain} does not exist (NXDOMAIN); check the spelling."


def no_proposal_dns(domain: str, lookup: Lookup) -> str:
    if lookup.status == "timeout":
        return f"No proposal: DNS timed out for {domain}; press Enter in the field to try again."
    what = {"servfail": "SERVFAIL", "refused": "REFUSED"}.get(lookup.status, "an error")
    return f"No proposal: DNS failed for {domain} ({what} for {lookup.rdtype} {lookup.name}); press Enter in the field to try again."


def no_proposal_reserved(domain: str) -> str:
    return f"No proposal: {domain} is reserved for examples and has no DNS; type your own domain."


def no_proposal_bad_input(text: str) -> str:
    from smtpwizard.core.errors import one_line

    return f"No proposal: '{one_line(text, 60)}' is not an address or a domain; type e.g. you@yourcompany.com."


def no_proposal_config(problem: str) -> str:
    return f"No proposal: {problem}"
