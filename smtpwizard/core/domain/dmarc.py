"""DMARC policy discovery and the Organizational Domain by the DNS Tree Walk, without a public
suffix list.

RFC 9989 (DMARCbis, draft-ietf-dmarc-dmarcbis; it obsoletes RFC 7489 and RFC 9091), sections
"DNS Tree Walk", "DMARC Policy Discovery" and "Identifier Alignment Evaluation": ask
``_dmarc.<domain>``, then each parent in turn (a name of more than eight labels jumps to its last
seven), at most eight questions, stopping at a record with a ``psd=`` tag. All of a walk's
questions are sent at once and read in order, so the walk costs one round trip.
"""

from __future__ import annotations

from dataclasses import dataclass

from smtpwizard.core.domain.resolver import Lookup, Resolver

MAX_QUERIES = 8  # RFC 9989 "DNS Tree Walk": longer names do not cost more questions
POLICIES = ("none", "quarantine", "reject")


def walk_names(domain: str) -> tuple[str, ...]:
    """The names a DNS Tree Walk from ``domain`` asks about, in order: the domain, then (past
    eight labels, the last seven labels, else) its parent, and one label less each time."""
    labels = domain.split(".")
    rest = labels[1:] if len(labels) <= MAX_QUERIES else labels[-(MAX_QUERIES - 1) :]
    names = [domain]
    while rest:
        names.append(".".join(rest))
        rest = rest[1:]
    return tuple(names)


def tags(record: str) -> dict[str, str]:
    return {k.strip().lower(): v.strip().lower() for k, _, v in (p.partition("=") for p in record.split(";")) if k}


def dmarc_records(lookup: Lookup) -> list[str]:
    """The TXT strings that are DMARC records (their first tag is v=DMARC1)."""
    return [r for r in lookup.records if r.replace(" ", "").startswith("v=DMARC1")]


@dataclass(frozen=True)
class Walk:
    """What one DNS Tree Walk found: the single valid records, from the start domain upwards."""

    start: str
    records: tuple[tuple[str, str], ...]  # (domain, record) where exactly one DMARC record was found
    failed: Lookup | None = None  # a question the walk needed that got no answer
    multiple: tuple[str, int] | None = None  # (domain, count) where several records cancel each other

    @property
    def organizational_domain(self) -> str:
        """RFC 9989 "Identifier Alignment Evaluation": the domain of a psd=n record; below a psd=y
        record (not the start's); else the record nearest the root; else the start itself."""
        for domain, record in self.records:  # longest name first
            psd = tags(record).get("psd")
            if psd == "n":
                return domain
            if psd == "y" and domain != self.start:
                return _one_label_below(self.start, domain)
        if self.records:
            return min(self.records, key=lambda found: found[0].count("."))[0]
        return self.start


def _one_label_below(start: str, ancestor: str) -> str:
    labels = start.split(".")
    return ".".join(labels[len(labels) - ancestor.count(".") - 2 :])


async def tree_walk(resolver: Resolver, start: str) -> Walk:
    """Walk from ``start`` towards the root; a failed question the walk reached makes it unfinished."""
    names = walk_names(start)
    lookups = await resolver.all(resolver.lookup(f"_dmarc.{name}", "TXT") for name in names)
    found: list[tuple[str, str]] = []
    multiple = None
    for name, lookup in zip(names, lookups, strict=True):
        if lookup.failed:
            return Walk(start, tuple(found), lookup, multiple)
        records = dmarc_records(lookup)
        if len(records) > 1:  # all discarded, and the walk goes on
            multiple = multiple or (name, len(records))
            continue
        if records:
            found.append((name, records[0]))
            if tags(records[0]).get("psd") in ("y", "n"):
                break
    return Walk(start, tuple(found), None, multiple)


@dataclass(frozen=True)
class Policy:
    """The DMARC policy that applies to mail from ``author``, and where it was found."""

    author: str
    found_at: str | None  # the domain whose record applies; None when no record applies
    record: str = ""
    policy: str | None = None  # none | quarantine | reject; None when the record has no valid one
    tag: str = "p"  # the tag the policy came from: p, sp (a subdomain) or np (a subdomain that does not exist)
    assumed: bool = False  # the tag was missing or not valid: receivers act as if p=none because of rua=


def applied_policy(walk: Walk, exists: bool = True) -> Policy:
    """RFC 9989 "DMARC Policy Discovery": the Author Domain's own record, else its Organizational
    Domain's, else its Public Suffix Domain's; for a subdomain sp= (np= when it does not exist),
    falling back to p=."""
    records = dict(walk.records)
    org = walk.organizational_domain
    psd = next((d for d, r in walk.records if tags(r).get("psd") == "y" and d != walk.start), None)
    found_at = next((d for d in (walk.start, org, psd) if d is not None and d in records), None)
    if found_at is None:
        return Policy(walk.start, None)
    record = records[found_at]
    found = tags(record)
    tag = "p"
    if found_at != walk.start:
        wanted = "sp" if exists else "np"
        if wanted in found:
            tag = wanted
        elif not exists and "sp" in found:  # RFC 9989's np tag: without it, sp, then p
            tag = "sp"
    value = found.get(tag)
    if value not in POLICIES and reports_to(record):
        # RFC 9989 (policy discovery): a record whose applicable p=/sp=/np= is missing or not valid,
        # but with a valid rua= address, is acted on as p=none; without one it is ignored.
        return Policy(walk.start, found_at, record, "none", tag, assumed=True)
    return Policy(walk.start, found_at, record, value if value in POLICIES else None, tag)


def reports_to(record: str) -> bool:
    """Whether the record's rua= holds at least one syntactically valid reporting URI (mailto:)."""
    return any(uri.strip().startswith("mailto:") and "@" in uri for uri in tags(record).get("rua", "").split(","))
