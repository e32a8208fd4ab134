"""The sender-domain check: will mail from this domain, sent through this provider, land in the inbox?

Every look-up runs at once (a level of SPF includes at a time), each with a short timeout, and a
failed look-up is reported as a failure, never as a missing record.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any, Literal

from smtpwizard.core import domain_findings as cat
from smtpwizard.core.domain.dkim import check_key, looks_like_dkim
from smtpwizard.core.domain.dmarc import Walk, applied_policy, tree_walk
from smtpwizard.core.domain.facts import DkimFacts, ProviderDns, dns_facts, load_dns_facts, under
from smtpwizard.core.domain.resolver import DnsConfig, Lookup, Resolver
from smtpwizard.core.domain.spf import LOOKUP_LIMIT, VOID_LIMIT, SpfResult, evaluate, parse, probe
from smtpwizard.core.domain_findings import Finding, RecordToAdd
from smtpwizard.core.errors import FieldError
from smtpwizard.core.exit_codes import ExitCode

Verdict = Literal["ready", "incomplete", "problems", "unknown"]
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class DomainCheckOptions:
    dkim_selectors: tuple[str, ...] = ()  # the user's own selectors (SES tokens, Postmark's dated one...)
    return_path: str | None = None  # a custom MAIL FROM / return-path domain


@dataclass(frozen=True)
class DomainReport:
    domain: str
    provider_id: str | None
    provider_name: str | None
    findings: tuple[Finding, ...]
    elapsed_s: float
    queries: int

    @property
    def verdict(self) -> Verdict:
        severities = {f.severity for f in self.findings}
        if "problem" in severities:
            return "problems"
        if "unknown" in severities:
            return "unknown"
        return "incomplete" if "unchecked" in severities else "ready"

    @property
    def exit_code(self) -> ExitCode:
        codes = {
            "ready": ExitCode.OK,
            "incomplete": ExitCode.OK,
            "problems": ExitCode.CONFIG,
            "unknown": ExitCode.TEMP_FAIL,
        }
        return codes[self.verdict]  # incomplete: nothing wrong found, but a selector is needed to finish

    def to_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "provider": self.provider_id,
            "verdict": self.verdict,
            "exit_code": int(self.exit_code),
            "elapsed_s": round(self.elapsed_s, 3),
            "queries": self.queries,
            "findings": [f.to_dict() for f in self.findings],
        }


def sender_domain(address: str, field: str = "ADDRESS") -> str:
    """The domain of an e-mail address (or a bare domain), lower-cased; FieldError when it is not one."""
    domain = address.rpartition("@")[2].strip().lower().rstrip(".")
    try:
        domain = domain.encode("idna").decode("ascii") if not domain.isascii() else domain
    except UnicodeError:
        domain = ""
    labels = domain.split(".")
    if len(labels) < 2 or len(domain) > 253 or not all(_LABEL.match(label) for label in labels):
        raise FieldError(field, f"'{address}' has no valid domain", "give an address like no-reply@example.com")
    return domain


DOCUMENTATION_DOMAINS = ("example", "example.com", "example.net", "example.org", "invalid", "localhost")  # RFC 2606


def is_documentation_domain(domain: str) -> bool:
    """A name reserved for examples (RFC 2606): it has no real DNS to check."""
    return any(domain == d or domain.endswith("." + d) for d in DOCUMENTATION_DOMAINS)


def dkim_selectors(texts: list[str] | tuple[str, ...], field: str = "--dkim-selector") -> tuple[str, ...]:
    """The user's DKIM selectors, lower-cased and de-duplicated; FieldError for one that is not a name."""
    selectors: list[str] = []
    for text in texts:
        selector = text.strip().lower().removesuffix("._domainkey")
        if not selector or len(selector) > 200 or not all(_LABEL.match(part) for part in selector.split(".")):
            raise FieldError(field, f"'{text}' is not a DKIM selector", "give the part before ._domainkey, e.g. s1")
        if selector not in selectors:
            selectors.append(selector)
    if len(selectors) > 10:
        raise FieldError(field, f"{len(selectors)} selectors given", "give at most 10")
    return tuple(selectors)


async def check_domain(
    address: str,
    provider_id: str | None,
    config: DnsConfig | None = None,
    options: DomainCheckOptions | None = None,
) -> DomainReport:
    """Look up and judge the DKIM, SPF, DMARC and MX of ``address``'s domain for ``provider_id``.
    FieldError for an address without a valid domain; DNS trouble becomes findings, never raises."""
    domain = sender_domain(address)
    options = options or DomainCheckOptions()
    if options.return_path:
        sender_domain(options.return_path, "--return-path")  # a bad value is the user's error, before any look-up
    resolver = Resolver(config or DnsConfig.from_env())
    facts = dns_facts(provider_id)
    name = _provider_name(provider_id)
    started = time.monotonic()
    parts = (
        _check_dkim(resolver, domain, facts, name, options),
        _spf_results(resolver, domain, facts, options),
        _dmarc_walks(resolver, domain, _return_path(domain, facts, options)),
        _mx_lookups(resolver, domain),
    )
    if resolver.config.parallel:
        dkim, spf, walks, (mx, fallback) = await asyncio.gather(*parts)
    else:  # the benchmark's baseline: the same look-ups one after another
        dkim, spf, walks, (mx, fallback) = await parts[0], await parts[1], await parts[2], await parts[3]
    if mx.status == "nxdomain":
        findings: list[Finding] = [cat.domain_missing(domain, _dmarc_for_missing(walks[0]))]
    elif mx.failed and spf[0].failed_lookup is not None and spf[0].failed_lookup.name == domain:
        findings = [cat.dns_failure("domain", mx)]  # the domain's own servers fail: one finding, not five
    else:
        dkim_findings, dkim_aligned = dkim
        findings = [*dkim_findings, *_judge_spf(domain, facts, name, options, spf)]
        spf_aligned = _spf_aligned(domain, facts, spf, walks)
        findings += _judge_dmarc(domain, name, walks[0], dkim_aligned, spf_aligned)
        findings.append(_judge_mx(domain, mx, fallback))
    return DomainReport(domain, provider_id, name, tuple(findings), time.monotonic() - started, resolver.queries)


def _provider_name(provider_id: str | None) -> str:
    from smtpwizard.core.providers import get_provider

    try:
        return get_provider(provider_id or "").name
    except KeyError:
        return "your provider"


# --- DKIM ------------------------------------------------------------------------------------


def _fill(template: str, selector: str, domain: str, index: int) -> str:
    return (
        template.replace("{selector}", selector)
        .replace("{domain_dashed}", domain.replace(".", "-"))
        .replace("{domain}", domain)
        .replace("{index}", str(index))
    )


def _record(dkim: DkimFacts, selector: str, domain: str, index: int) -> RecordToAdd:
    return RecordToAdd(f"{selector}._domainkey.{domain}", dkim.record_type, _fill(dkim.value, selector, domain, index))


def _other_provider(target: str, mine: str | None) -> str | None:
    from smtpwizard.core.providers import get_provider

    for facts in load_dns_facts().values():
        if facts.provider_id != mine and facts.dkim and under(target, facts.dkim.cname_to):
            return get_provider(facts.provider_id).name
    return None


def _judge_selector(
    lookup: Lookup, dkim: DkimFacts, facts: ProviderDns, name: str, record: RecordToAdd
) -> tuple[str, Finding | None]:
    """('ok'|'missing'|'failed'|'bad', the finding to show when not ok)."""
    if lookup.failed:
        return "failed", cat.dns_failure("dkim", lookup)
    keys = [r for r in lookup.records if looks_like_dkim(r)]
    if lookup.cname is not None:
        target = lookup.cname
        if dkim.cname_to and not under(target, dkim.cname_to):
            other = _other_provider(target, facts.provider_id)
            if other is not None:
                return "bad", cat.dkim_other_provider(name, lookup.name, target, other, record)
            if not dkim.txt:
                return "bad", cat.dkim_wrong_target(name, lookup.name, target, dkim.cname_to, record)
        if not keys:
            return "bad", cat.dkim_dangling(name, lookup.name, lookup.chain[-1], record)
    elif not keys:
        return "missing", None
    verdict = check_key(keys[0])
    if not verdict.valid:
        return "bad", cat.dkim_bad_key(lookup.name, verdict.problem, record)
    if lookup.cname is None and not dkim.txt:
        return "ok", cat.dkim_static_key(name, lookup.name)
    return "ok", None


async def _check_dkim(
    resolver: Resolver, domain: str, facts: ProviderDns | None, name: str, options: DomainCheckOptions
) -> tuple[list[Finding], bool | None]:
    """The DKIM findings, and whether the provider's signature aligns (None: unknown)."""
    dkim = facts.dkim if facts else None
    if dkim is None and not options.dkim_selectors:
        return [cat.dkim_no_facts(name)], None
    if dkim is None:  # the user named a selector for a provider without facts: judge it as a plain key
        dkim = DkimFacts((), "all", True, (), "<the key shown by your provider>")
    selectors, need = dkim.selectors, dkim.need
    if options.dkim_selectors:
        selectors, need = options.dkim_selectors, "all"
    elif not selectors:
        selectors, need = dkim.tried, "any"
        if not selectors:
            return [cat.dkim_selector_needed(name, dkim.selector_hint, ())], None
    lookups = await resolver.all(resolver.lookup(f"{s}._domainkey.{domain}", "TXT") for s in selectors)
    facts = facts or ProviderDns("", "", "provider", dkim, None, ())
    judged = [
        _judge_selector(lookup, dkim, facts, name, _record(dkim, s, domain, i))
        for i, (s, lookup) in enumerate(zip(selectors, lookups, strict=True), start=1)
    ]
    oks = [s for s, (status, _) in zip(selectors, judged, strict=True) if status == "ok"]
    notes = [f for status, f in judged if status == "ok" and f is not None]
    if (need == "any" and oks) or (need == "all" and len(oks) == len(selectors)):
        if dkim.count > len(selectors):  # e.g. one SES token given where SES publishes three
            notes.append(cat.dkim_fewer_selectors(name, dkim.count, len(selectors), dkim.selector_hint))
        return [cat.dkim_ok(name, tuple(oks), ()), *notes], True
    if not options.dkim_selectors and not dkim.selectors:  # only common guesses were tried
        return [cat.dkim_selector_needed(name, dkim.selector_hint, selectors)], None
    findings = [f for status, f in judged if status in ("bad", "failed") and f is not None]
    missing = [
        _record(dkim, s, domain, i)
        for i, (s, (status, _)) in enumerate(zip(selectors, judged, strict=True), start=1)
        if status == "missing"
    ]
    if missing and (need == "all" or len(missing) == len(selectors)):
        shown = tuple(missing) if need == "all" else (missing[0],)
        findings.insert(0, cat.dkim_missing(name, domain, shown, dkim.panel or dkim.selector_hint))
    failed = any(status == "failed" for status, _ in judged)
    return findings, None if failed and not any(status in ("bad", "missing") for status, _ in judged) else False


# --- SPF -------------------------------------------------------------------------------------


def _return_path(domain: str, facts: ProviderDns | None, options: DomainCheckOptions) -> str | None:
    if options.return_path:
        return sender_domain(options.return_path, "--return-path")
    if facts and facts.return_path and facts.return_path.type == "TXT":  # e.g. Resend's send.<domain>
        return f"{facts.return_path.name}.{domain}"
    return None


async def _spf_results(
    resolver: Resolver, domain: str, facts: ProviderDns | None, options: DomainCheckOptions
) -> tuple[SpfResult, SpfResult | None]:
    bounce = _return_path(domain, facts, options)
    if bounce is None or bounce == domain:
        return await evaluate(resolver, domain), None
    own, other = await resolver.all([evaluate(resolver, domain), evaluate(resolver, bounce)])
    return own, other


def _with_include(record: str | None, include: str) -> str:
    """``record`` with ``include:`` added before its all (a new record when there is none)."""
    if not record:
        return f"v=spf1 include:{include} ~all"
    words = record.split()
    at = next((i for i, w in enumerate(words) if w.lstrip("+-~?").lower() == "all"), len(words))
    return " ".join([*words[:at], f"include:{include}", *words[at:]])


def _with_all(record: str, qualifier: str = "~") -> str:
    words = [w for w in record.split() if w.lstrip("+-~?").lower() != "all"]
    return " ".join([*words, f"{qualifier}all"])


def _merged(records: tuple[str, ...]) -> str:
    words: list[str] = []
    for record in records:
        for word in record.split()[1:]:
            if word.lstrip("+-~?").lower() != "all" and word not in words:
                words.append(word)
    return " ".join(["v=spf1", *words, "~all"])


def _without_voids(domain: str, spf: SpfResult) -> RecordToAdd | None:
    """The record without the terms that find nothing, when they are all in the domain's own record."""
    gone = {void.partition(": ")[0] for void in spf.voids}
    words = spf.records[0].split()
    kept = [w for w in words if (probe(w, domain) or ("",))[0] not in gone]
    return RecordToAdd(domain, "TXT", " ".join(kept)) if len(words) - len(kept) == len(spf.voids) else None


def _judge_one_spf(
    domain: str, facts: ProviderDns | None, name: str, spf: SpfResult, required: bool, why: str
) -> list[Finding]:
    if spf.status == "temperror" and spf.failed_lookup is not None:
        return [cat.dns_failure("spf", spf.failed_lookup)]
    if len(spf.records) > 1:
        return [cat.spf_multiple(domain, spf.records, RecordToAdd(domain, "TXT", _merged(spf.records)))]
    if spf.status == "permerror":
        if spf.lookups > LOOKUP_LIMIT:
            return [cat.spf_too_many_lookups(domain, spf.lookups, tuple(spf.reached))]
        if len(spf.voids) > VOID_LIMIT:
            return [cat.spf_void_lookups(domain, tuple(spf.voids), _without_voids(domain, spf))]
        return [cat.spf_broken_include(domain, spf.problem)]
    include = facts.spf.include if facts and facts.spf else None
    if spf.status == "none":
        value = _with_include(None, include) if include else "v=spf1 mx ~all"
        return [cat.spf_none(domain, required and include is not None, RecordToAdd(domain, "TXT", value), why)]
    record = spf.records[0]
    findings: list[Finding] = []
    if spf.all_qualifier == "+":
        findings.append(cat.spf_plus_all(domain, RecordToAdd(domain, "TXT", _with_all(record))))
    elif spf.all_qualifier in ("?", None):
        findings.append(cat.spf_neutral_all(domain, spf.all_qualifier, RecordToAdd(domain, "TXT", _with_all(record))))
    if spf.uses_ptr:
        findings.append(cat.spf_ptr(domain))
    authorized = spf.authorizes(facts.spf.domains) if facts and facts.spf else None
    if facts and facts.spf and include and authorized is None:
        fixed = RecordToAdd(domain, "TXT", _with_include(record, include))
        findings.append(cat.spf_missing_include(name, domain, include, required, fixed, why))
    if not findings:
        findings.append(cat.spf_ok(domain, spf.lookups, spf.all_qualifier or "?", authorized))
    return findings


def _judge_spf(
    domain: str,
    facts: ProviderDns | None,
    name: str,
    options: DomainCheckOptions,
    results: tuple[SpfResult, SpfResult | None],
) -> list[Finding]:
    own, bounce = results
    sender_envelope = facts is not None and facts.envelope == "sender"
    if sender_envelope:
        why = f"{name} sends with your address as the envelope sender, so SPF is checked on {domain}."
    else:
        why = (
            f"{name} bounces through its own domain, so receivers check SPF there and DMARC relies on DKIM; "
            "the include only matters for a custom return-path."
        )
    # a provider envelope with its return-path checked below: the From domain's own SPF needs no include
    own_facts = None if bounce is not None and not sender_envelope else facts
    findings = _judge_one_spf(domain, own_facts, name, own, sender_envelope, why)
    if bounce is not None:
        why = f"Your custom return-path {bounce.domain} is the envelope sender, so SPF is checked there."
        findings += _judge_one_spf(bounce.domain, facts, name, bounce, True, why)
    return findings


def _spf_aligned(
    domain: str,
    facts: ProviderDns | None,
    results: tuple[SpfResult, SpfResult | None],
    walks: tuple[Walk, Walk | None],
) -> bool:
    """Whether SPF passes for a MAIL FROM domain with the From domain's Organizational Domain
    (relaxed alignment; each found by its own DNS Tree Walk)."""
    own, bounce = results
    checked = bounce if bounce is not None else (own if facts and facts.envelope == "sender" else None)
    if checked is None or checked.status != "pass" or facts is None or facts.spf is None:
        return False
    if checked.authorizes(facts.spf.domains) is None:
        return False
    author, other = walks
    if checked.domain == domain:
        return True
    if other is None or author.failed is not None or other.failed is not None:
        return False  # an unfinished walk proves no common organization
    return other.organizational_domain == author.organizational_domain


# --- DMARC -----------------------------------------------------------------------------------


async def _dmarc_walks(resolver: Resolver, domain: str, bounce: str | None) -> tuple[Walk, Walk | None]:
    """The From domain's DNS Tree Walk, and the custom return-path's (for relaxed SPF alignment)."""
    if bounce is None or bounce == domain:
        return await tree_walk(resolver, domain), None
    author, other = await resolver.all([tree_walk(resolver, domain), tree_walk(resolver, bounce)])
    return author, other


def _dmarc_for_missing(walk: Walk) -> tuple[str, str, str] | None:
    """The DMARC policy for a From domain that does not exist (a parent's np=, else sp=, else p=)."""
    policy = applied_policy(walk, exists=False)
    if walk.failed is not None or policy.found_at is None or policy.policy is None:
        return None
    return f"_dmarc.{policy.found_at}", policy.tag, policy.policy


def _judge_dmarc(domain: str, name: str, walk: Walk, dkim_aligned: bool | None, spf_aligned: bool) -> list[Finding]:
    if walk.multiple is not None and walk.multiple[0] == domain:
        return [cat.dmarc_multiple(domain, walk.multiple[1])]
    own_record = bool(walk.records) and walk.records[0][0] == domain
    if walk.failed is not None and not own_record:  # the policy may be the one behind the failed question
        return [cat.dns_failure("dmarc", walk.failed)]
    policy = applied_policy(walk)
    if policy.found_at is None:
        return [cat.dmarc_missing(domain)]
    if policy.policy is None:
        return [cat.dmarc_invalid(f"_dmarc.{policy.found_at}", policy.record)]
    where = f"_dmarc.{policy.found_at}"
    if policy.assumed:  # acted on as p=none: nothing is enforced, and the record says something else was meant
        return [cat.dmarc_assumed_none(where, policy.record, policy.tag)]
    if dkim_aligned or spf_aligned:
        return [cat.dmarc_ok(domain, policy.policy, "DKIM" if dkim_aligned else "SPF", where, policy.tag)]
    if dkim_aligned is None:
        return [cat.dmarc_alignment_unknown(domain, policy.policy, policy.tag)]
    return [cat.dmarc_unaligned(domain, policy.policy, name, policy.tag, where)]


# --- MX --------------------------------------------------------------------------------------


def mx_hosts(lookup: Lookup) -> tuple[str, ...]:
    """The MX host names by preference."""
    pairs = sorted((int(p), h) for p, _, h in (r.partition(" ") for r in lookup.records))
    return tuple(h for _, h in pairs)


def hosted_by(hosts: tuple[str, ...]) -> str | None:
    """The provider id whose mail servers the MX hosts are."""
    for facts in load_dns_facts().values():
        if facts.mx and any(under(h, facts.mx) for h in hosts):
            return facts.provider_id
    return None


async def _mx_lookups(resolver: Resolver, domain: str) -> tuple[Lookup, Lookup | None]:
    """The MX, and when there is none the address record mail would fall back to (RFC 5321 5.1)."""
    mx = await resolver.lookup(domain, "MX")
    return mx, await resolver.lookup(domain, "A") if mx.status == "nodata" else None


def _judge_mx(domain: str, lookup: Lookup, address: Lookup | None) -> Finding:
    if lookup.failed:
        return cat.dns_failure("mx", lookup)
    hosts = mx_hosts(lookup)
    if not hosts and address is not None and address.status == "ok":
        return cat.mx_implicit(domain, address.records)
    if not hosts:
        return cat.mx_none(domain)
    if hosts == (".",):
        return cat.mx_null(domain)
    host_id = hosted_by(hosts)
    return cat.mx_ok(domain, hosts, _provider_name(host_id) if host_id else None)


__all__ = ["DomainCheckOptions", "DomainReport", "check_domain", "parse", "sender_domain"]
