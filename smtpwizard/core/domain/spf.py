"""SPF as a receiver evaluates it (RFC 7208), without a sending IP: one record, includes and
redirects resolved recursively, the 10-look-up limit, and the final ``all``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from smtpwizard.core.domain.resolver import Lookup, Resolver

LOOKUP_LIMIT = 10  # RFC 7208 section 4.6.4
VOID_LIMIT = 2  # RFC 7208 section 4.6.4: more than two look-ups that find nothing is a permerror
DNS_TERMS = ("include", "a", "mx", "ptr", "exists", "redirect")  # the terms that cost a look-up
SpfStatus = Literal["none", "pass", "permerror", "temperror"]


def spf_records(lookup: Lookup) -> tuple[str, ...]:
    """The TXT strings of ``lookup`` that are SPF records (``v=spf1`` then a space or nothing)."""
    return tuple(r for r in lookup.records if r.lower() == "v=spf1" or r.lower().startswith("v=spf1 "))


@dataclass(frozen=True)
class Term:
    qualifier: str  # + - ~ ?
    name: str  # include, a, mx, ip4, all, redirect, exp, ...
    value: str  # the domain or network after ':' or '=' (may be empty)


def parse(record: str) -> tuple[Term, ...]:
    terms: list[Term] = []
    for word in record.split()[1:]:
        if "=" in word and ":" not in word.split("=", 1)[0]:
            name, _, value = word.partition("=")
            terms.append(Term("", name.lower(), value))
            continue
        qualifier = word[0] if word[0] in "+-~?" else "+"
        body = word[1:] if word[0] in "+-~?" else word
        name, _, value = body.partition(":")
        name, _, _cidr = name.partition("/")
        terms.append(Term(qualifier, name.lower(), value))
    return tuple(terms)


@dataclass
class SpfResult:
    """What a receiver would make of the domain's SPF, before looking at any IP."""

    domain: str
    records: tuple[str, ...] = ()
    status: SpfStatus = "none"
    lookups: int = 0
    all_qualifier: str | None = None  # the top record's final all (through a redirect), None when there is none
    reached: list[str] = field(default_factory=list)  # every domain reached through include/redirect
    problem: str = ""  # why permerror / temperror, in plain words
    failed_lookup: Lookup | None = None  # the DNS failure behind a temperror
    uses_ptr: bool = False
    voids: list[str] = field(default_factory=list)  # the terms whose look-up found nothing, with why

    def authorizes(self, domains: tuple[str, ...]) -> str | None:
        """The first reached include at or under one of ``domains``."""
        for reached in self.reached:
            for domain in domains:
                if reached == domain or reached.endswith("." + domain):
                    return reached
        return None


async def evaluate(resolver: Resolver, domain: str, top: Lookup | None = None) -> SpfResult:
    """Evaluate the SPF of ``domain``; ``top`` is its TXT look-up when already made."""
    result = SpfResult(domain)
    lookup = top if top is not None else await resolver.lookup(domain, "TXT")
    if lookup.failed:
        result.status, result.failed_lookup = "temperror", lookup
        result.problem = lookup.describe_failure()
        return result
    result.records = spf_records(lookup)
    if not result.records:
        return result
    if len(result.records) > 1:
        result.status, result.problem = "permerror", f"{domain} publishes {len(result.records)} SPF records"
        return result
    result.status = "pass"
    result.all_qualifier = await _walk(resolver, result, domain, result.records[0], {domain}, top_level=True)
    if result.status == "pass" and result.lookups > LOOKUP_LIMIT:
        result.status = "permerror"
        result.problem = f"it needs {result.lookups} DNS look-ups; receivers stop at {LOOKUP_LIMIT}"
    elif result.status == "pass" and len(result.voids) > VOID_LIMIT:
        result.status = "permerror"
        result.problem = f"{len(result.voids)} of its look-ups find nothing; receivers stop at {VOID_LIMIT}"
    return result


def probe(word: str, domain: str) -> tuple[str, str, str] | None:
    """The look-up a receiver makes for one a, mx or exists term of ``domain``'s record."""
    terms = parse(f"v=spf1 {word}")
    return _probe(terms[0], domain) if terms else None


def _probe(term: Term, domain: str) -> tuple[str, str, str] | None:
    """The look-up a receiver makes for an a, mx or exists term: (the term as written, name, type).
    ``a`` is asked as A, what a receiver asks for an IPv4 sender (the usual case); None for macros."""
    if term.name not in ("a", "mx", "exists") or (term.name == "exists" and not term.value):
        return None
    name = (term.value.split("/", 1)[0] or domain).lower().rstrip(".")
    if "%" in name or not name:
        return None
    written = f"{term.name}:{name}" if term.value else f"{term.name} ({domain})"
    return written, name, "MX" if term.name == "mx" else "A"


def _void(written: str, lookup: Lookup) -> str | None:
    """Why a term's look-up counts as void (RFC 7208 4.6.4: NXDOMAIN, or an answer with no records)."""
    if lookup.status == "nxdomain":
        return f"{written}: {lookup.name} does not exist"
    if lookup.status == "nodata" or (lookup.status == "ok" and not lookup.records):
        return f"{written}: {lookup.name} has no {lookup.rdtype} record"
    return None


async def _walk(
    resolver: Resolver, result: SpfResult, domain: str, record: str, seen: set[str], top_level: bool
) -> str | None:
    """Count the look-ups of ``record`` and of every include/redirect under it, a level at a time
    (all of a level's look-ups at once). Returns the record's final ``all`` qualifier."""
    terms = parse(record)
    all_term = next((t.qualifier for t in terms if t.name == "all"), None)
    redirect = next((t.value for t in terms if t.name == "redirect"), None)
    # a redirect is ignored (and costs nothing) when the record has an all (RFC 7208 6.1)
    result.lookups += sum(1 for t in terms if t.name in DNS_TERMS and not (t.name == "redirect" and all_term))
    result.uses_ptr = result.uses_ptr or any(t.name == "ptr" for t in terms)
    targets = [t.value.lower().rstrip(".") for t in terms if t.name == "include" and t.value]
    if redirect and all_term is None:
        targets.append(redirect.lower().rstrip("."))
    targets = [t for t in targets if "%" not in t and t not in seen]  # macros need the sender's IP
    if result.lookups > LOOKUP_LIMIT:
        return all_term
    probes = [p for p in (_probe(t, domain) for t in terms) if p is not None]
    seen.update(targets)
    result.reached.extend(targets)
    # one round trip for the level: the includes' records and the a/mx/exists look-ups at once
    answers = await resolver.all(
        [*(resolver.lookup(t, "TXT") for t in targets), *(resolver.lookup(n, rdtype) for _, n, rdtype in probes)]
    )
    lookups = answers[: len(targets)]
    for (written, _, _), probe in zip(probes, answers[len(targets) :], strict=True):
        void = _void(written, probe)
        if void is not None:
            result.voids.append(void)
    if not targets:
        return all_term
    children: list[tuple[str, str]] = []
    for target, lookup in zip(targets, lookups, strict=True):
        if lookup.failed:
            if result.status == "pass":
                result.status, result.failed_lookup = "temperror", lookup
                result.problem = f"the look-up of {target} failed: {lookup.describe_failure()}"
            continue
        records = spf_records(lookup)
        if len(records) != 1:
            if result.status == "pass":  # RFC 7208 5.2: an include without exactly one record is a permerror
                result.status = "permerror"
                result.problem = f"{target} (included by {domain}) has {len(records) or 'no'} SPF record{'s' if len(records) > 1 else ''}"
            continue
        children.append((target, records[0]))
    qualifiers = await resolver.all(
        _walk(resolver, result, target, child, seen, top_level=top_level and target == _norm(redirect))
        for target, child in children
    )
    if redirect and all_term is None and top_level:
        for (target, _), qualifier in zip(children, qualifiers, strict=True):
            if target == _norm(redirect):
                return qualifier
    return all_term


def _norm(domain: str | None) -> str:
    return (domain or "").lower().rstrip(".")
