"""The sender-domain facts of each provider: the ``dns:`` blocks of ``providers.yaml``.

Read from the same catalog as the presets (data, each block with its source), kept apart from
:mod:`smtpwizard.core.providers` so the SMTP presets load without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml

Envelope = Literal["provider", "sender"]


@dataclass(frozen=True)
class DkimFacts:
    """Where a provider's DKIM key lives on the sender's domain and what it looks like."""

    selectors: tuple[str, ...]  # fixed selector names; empty when each account gets its own
    need: Literal["all", "any"]  # every selector must hold a key (SendGrid s1+s2), or one is enough
    txt: bool  # the key may be published directly as a TXT record
    cname_to: tuple[str, ...]  # a CNAME under one of these domains is this provider's key
    value: str  # what to publish, with {selector}, {domain}, {domain_dashed}, {index} filled in
    tried: tuple[str, ...] = ()  # selectors commonly given out, looked up when none is known
    count: int = 0  # how many selectors the user must give when they are per account (SES: 3)
    selector_hint: str = ""  # where the user finds their selector
    panel: str = ""  # where the provider shows the exact values to publish
    source: str = ""  # where the DKIM fact comes from, when not the provider's dns source
    source_note: str = ""  # why a fact stays third-party, or which part a first-party page shows

    @property
    def record_type(self) -> str:
        return "CNAME" if not self.txt else "TXT"


@dataclass(frozen=True)
class ReturnPath:
    """The record a provider asks for on the sender's domain for its bounce (Return-Path) domain."""

    name: str
    type: str
    value: str


@dataclass(frozen=True)
class SpfFacts:
    include: str  # the include the provider documents
    domains: tuple[str, ...]  # an include at or under one of these authorizes the provider


@dataclass(frozen=True)
class ProviderDns:
    provider_id: str
    source: str
    envelope: Envelope  # whose domain is the SMTP MAIL FROM: the provider's own or the sender's
    dkim: DkimFacts | None
    spf: SpfFacts | None
    mx: tuple[str, ...]  # MX host names (or their parent domains) that mean this provider hosts the mailbox
    return_path: ReturnPath | None = None


def _dkim(entry: dict[str, Any] | None) -> DkimFacts | None:
    if not entry:
        return None
    return DkimFacts(
        selectors=tuple(entry.get("selectors") or ()),
        need=entry.get("need", "all"),
        txt=bool(entry.get("txt", False)),
        cname_to=tuple(entry.get("cname_to") or ()),
        value=entry["value"],
        tried=tuple(entry.get("try") or ()),
        count=int(entry.get("count", 0)),
        selector_hint=entry.get("selector_hint", ""),
        panel=entry.get("panel", ""),
        source=entry.get("source", ""),
        source_note=entry.get("source_note", ""),
    )


def _facts(provider_id: str, entry: dict[str, Any]) -> ProviderDns:
    spf = entry.get("spf")
    rp = entry.get("return_path")
    return ProviderDns(
        provider_id=provider_id,
        source=entry["source"],
        envelope=entry.get("envelope", "provider"),
        dkim=_dkim(entry.get("dkim")),
        spf=SpfFacts(spf["include"], tuple(spf.get("domains") or ())) if spf else None,
        mx=tuple(entry.get("mx") or ()),
        return_path=ReturnPath(rp["name"], rp["type"], rp["value"]) if rp else None,
    )


@cache
def load_dns_facts() -> dict[str, ProviderDns]:
    """Every provider's sender-domain facts, by provider id (providers without a ``dns:`` block
    are absent)."""
    text = resources.files("smtpwizard.core").joinpath("providers.yaml").read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    entries = yaml.load(text, Loader=loader)["providers"]  # noqa: S506 - our own file, safe loader
    return {e["id"]: _facts(e["id"], e["dns"]) for e in entries if e.get("dns")}


def dns_facts(provider_id: str | None) -> ProviderDns | None:
    return load_dns_facts().get(provider_id or "")


def under(host: str, domains: tuple[str, ...]) -> str | None:
    """The entry of ``domains`` that ``host`` equals or lies under, if any."""
    host = host.lower().rstrip(".")
    for domain in domains:
        if host == domain or host.endswith("." + domain):
            return domain
    return None
