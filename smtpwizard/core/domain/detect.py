"""The provider from the sender's domain: its MX hosts, and the submission SRV records of
RFC 6186 (``_submission._tcp``, STARTTLS) and RFC 8314 (``_submissions._tcp``, implicit TLS)."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from smtpwizard.core import domain_findings as cat
from smtpwizard.core.domain.check import hosted_by, is_documentation_domain, mx_hosts, sender_domain
from smtpwizard.core.domain.resolver import DnsConfig, Lookup, Resolver
from smtpwizard.core.errors import FieldError, WizardError
from smtpwizard.core.exit_codes import ExitCode
from smtpwizard.core.providers import Provider, get_provider
from smtpwizard.core.settings import Security


class LookupFailed(WizardError):
    """The domain's DNS failed while finding its provider (SERVFAIL, timeout): try again."""

    exit_code = ExitCode.TEMP_FAIL

    def __init__(self, message: str, lookup: Lookup) -> None:
        super().__init__(message)
        self.lookup = lookup


@dataclass(frozen=True)
class Proposal:
    """A preset (or a custom server found by SRV) proposed for the sender's domain."""

    provider_id: str  # a preset id; "custom" for a server found by SRV
    provider_name: str
    reason: str
    host: str
    port: int
    security: Security
    found_by: Literal["mx", "srv"]
    domain: str = ""
    via: str = ""  # the record that told: the first MX host, or the SRV record's name

    def line(self, highlighted: bool) -> str:
        """The one line the provider step shows for this proposal."""
        return cat.proposal_line(self, highlighted)

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider_id,
            "name": self.provider_name,
            "reason": self.reason,
            "smtp": {"host": self.host, "port": self.port, "security": self.security},
            "found_by": self.found_by,
        }


def _srv(lookup: Lookup) -> tuple[str, int] | None:
    """The best target of an SRV answer; None when absent or "." (RFC 2782: no service here)."""
    best = sorted((int(p), -int(w), int(port), host) for p, w, port, host in (r.split() for r in lookup.records))
    if not best or best[0][3] == "." or best[0][2] == 0:
        return None
    return best[0][3], best[0][2]


async def propose_provider(address: str, config: DnsConfig | None = None) -> Proposal | None:
    """The preset for ``address``'s domain, or None when nothing points to one. Raises
    LookupFailed when the MX look-up failed, or a SRV look-up failed with no preset found by MX
    (no proposal is better than a wrong one)."""
    domain = sender_domain(address)
    return (await _propose(domain, Resolver(config or DnsConfig.from_env())))[0]


async def _propose(domain: str, resolver: Resolver) -> tuple[Proposal | None, Lookup]:
    """The proposal and the MX look-up it came from (whose NXDOMAIN says the domain is not there)."""
    mx, tls, starttls = await asyncio.gather(
        resolver.lookup(domain, "MX"),
        resolver.lookup(f"_submissions._tcp.{domain}", "SRV"),
        resolver.lookup(f"_submission._tcp.{domain}", "SRV"),
    )
    if mx.failed:
        raise LookupFailed(cat.proposal_lookup_failed(domain, mx.describe_failure()), mx)
    return _from_answers(domain, mx, tls, starttls), mx


def _regional_host(preset: Provider, mx: tuple[str, ...]) -> str | None:
    """The preset's host in the data centre the MX points to (Zoho's mx.zoho.eu -> smtp.zoho.eu):
    the host whose parent domain is the MX host's, the longest match first, the first listed on a tie."""
    if len(preset.hosts) < 2:
        return None
    matches = [
        (-len(parent), i, option.host)
        for i, option in enumerate(preset.hosts)
        if (parent := option.host.partition(".")[2]) and any(h == parent or h.endswith("." + parent) for h in mx)
    ]
    return min(matches)[2] if matches else None


def _from_answers(domain: str, mx: Lookup, tls: Lookup, starttls: Lookup) -> Proposal | None:
    hosts = mx_hosts(mx)
    provider_id = hosted_by(hosts)
    if provider_id is not None:
        preset = get_provider(provider_id)
        return Proposal(
            provider_id,
            preset.name,
            cat.proposed_by_mx(preset.name, domain, hosts[0]),
            _regional_host(preset, hosts) or preset.default_host or "",
            preset.recommended_port,
            preset.recommended_security,
            "mx",
            domain,
            hosts[0],
        )
    for lookup, security, record in ((tls, "tls", "_submissions._tcp"), (starttls, "starttls", "_submission._tcp")):
        found = _srv(lookup)
        if found is not None:
            host, port = found
            name = f"{record}.{domain}"
            reason = cat.proposed_by_srv(domain, name, host, port, security)
            return Proposal("custom", "Custom server", reason, host, port, security, "srv", domain, name)  # type: ignore[arg-type]
    failed = next((lookup for lookup in (tls, starttls) if lookup.failed), None)
    if failed is not None:  # a SRV record may be there: say the look-up failed, not that nothing is there
        raise LookupFailed(cat.proposal_lookup_failed(domain, failed.describe_failure()), failed)
    return None


@dataclass(frozen=True)
class Suggestion:
    """What the provider step shows after looking up what the user typed: a proposal, or why none."""

    text: str  # what was looked up, as typed
    proposal: Proposal | None
    why_not: str = ""  # one line, when there is no proposal


async def suggest_provider(text: str, config: DnsConfig | None = None) -> Suggestion:
    """The proposal for a typed address or bare domain, for the TUI: never raises; a bad input,
    a reserved domain, NXDOMAIN, a failed or timed-out look-up and "nothing found" each come back
    as a plain ``why_not`` line (from the catalog)."""
    try:
        domain = sender_domain(text)
    except FieldError:
        return Suggestion(text, None, cat.no_proposal_bad_input(text))
    if is_documentation_domain(domain):
        return Suggestion(text, None, cat.no_proposal_reserved(domain))
    try:
        proposal, mx = await _propose(domain, Resolver(config or DnsConfig.from_env()))
    except LookupFailed as exc:
        return Suggestion(text, None, cat.no_proposal_dns(domain, exc.lookup))
    except WizardError as exc:  # a malformed SMTPWIZARD_DNS
        return Suggestion(text, None, cat.no_proposal_config(str(exc)))
    if proposal is not None:
        return Suggestion(text, proposal)
    if mx.status == "nxdomain":
        return Suggestion(text, None, cat.no_proposal_nxdomain(domain))
    return Suggestion(text, None, cat.no_proposal_nothing(domain))


def resolve_auto_provider(root: Mapping[str, Any], config: DnsConfig | None = None) -> tuple[dict[str, Any], str]:
    """A headless input with ``provider: auto``, with the provider found from ``sender.address``
    and the smtp host, port and security it implies filled in where the input leaves them out;
    and a note saying what was chosen and why. FieldError when nothing is found; LookupFailed
    when DNS fails."""
    sender = root.get("sender")
    address = sender.get("address") if isinstance(sender, Mapping) else None
    if not isinstance(address, str):
        raise FieldError("provider", "auto needs sender.address", "add sender: {address: ...} or name the provider")
    sender_domain(address, "sender.address")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # its own loop, even when called inside one
        proposal = pool.submit(asyncio.run, propose_provider(address, config)).result()
    if proposal is None:
        raise FieldError("provider", "auto found nothing", cat.nothing_proposed(sender_domain(address)))
    smtp = dict(root.get("smtp") or {})
    smtp.setdefault("host", proposal.host)
    smtp.setdefault("port", proposal.port)
    smtp.setdefault("security", proposal.security)
    note = f"provider: auto chose {proposal.provider_name}: {proposal.reason}"
    return {**root, "provider": proposal.provider_id, "smtp": smtp}, note
