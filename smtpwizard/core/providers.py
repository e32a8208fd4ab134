"""Provider presets, loaded from the data file ``providers.yaml`` beside this module."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from smtpwizard.core.settings import Security

GROUPS: dict[str, str] = {
    "transactional": "Transactional services",
    "mailbox": "Mailbox providers",
    "self-hosted": "Self-hosted and local",
    "custom": "Custom",
}


@dataclass(frozen=True)
class HostOption:
    host: str
    region: str | None = None
    note: str | None = None

    @property
    def label(self) -> str:
        extra = " - ".join(part for part in (self.region, self.note) if part)
        return f"{self.host} ({extra})" if extra else self.host


@dataclass(frozen=True)
class PortOption:
    port: int
    security: Security


@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    group: str
    summary: str
    hosts: tuple[HostOption, ...]
    ports: tuple[PortOption, ...]
    recommended_port: int
    recommended_security: Security
    username_default: str | None
    username_hint: str
    username_is_email: bool
    password_hint: str
    auth_mechanisms: tuple[str, ...]
    gotchas: tuple[str, ...]
    docs: str

    @property
    def has_regions(self) -> bool:
        return sum(1 for h in self.hosts if h.region) > 1

    @property
    def default_host(self) -> str | None:
        return self.hosts[0].host if self.hosts else None

    def host_option(self, host: str) -> HostOption | None:
        """The preset's entry for ``host`` (case and a trailing dot ignored), if it lists it."""
        wanted = host.lower().rstrip(".")
        return next((h for h in self.hosts if h.host == wanted), None)

    def region_named_in(self, host: str) -> HostOption | None:
        """The one regional host whose region appears as a label of ``host`` (a typo keeps it)."""
        labels = f".{host.lower().rstrip('.')}."
        found = [h for h in self.hosts if h.region and f".{h.region.lower()}." in labels]
        return found[0] if len(found) == 1 else None

    def security_for_port(self, port: int) -> Security | None:
        """The security mode this provider uses on ``port``, if it lists the port."""
        for option in self.ports:
            if option.port == port:
                return option.security
        return None

    @property
    def password_auth_possible(self) -> bool:
        return any(m in ("PLAIN", "LOGIN", "CRAM-MD5") for m in self.auth_mechanisms)


def _provider(entry: dict[str, Any]) -> Provider:
    username = entry.get("username") or {}
    return Provider(
        id=entry["id"],
        name=entry["name"],
        group=entry["group"],
        summary=entry["summary"],
        hosts=tuple(HostOption(**h) for h in entry.get("hosts") or ()),
        ports=tuple(PortOption(port=p["port"], security=p["security"]) for p in entry["ports"]),
        recommended_port=entry["recommended"]["port"],
        recommended_security=entry["recommended"]["security"],
        username_default=username.get("default"),
        username_hint=username.get("hint", ""),
        username_is_email=username.get("pattern") == "email",
        password_hint=entry.get("password_hint", ""),
        auth_mechanisms=tuple(entry.get("auth") or ()),
        gotchas=tuple(entry.get("gotchas") or ()),
        docs=entry["docs"],
    )


@cache
def load_providers() -> tuple[Provider, ...]:
    """Every preset, in catalog order. The catalog ships with the package."""
    text = resources.files("smtpwizard.core").joinpath("providers.yaml").read_text("utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # our own file; the C loader is 8x faster
    return tuple(_provider(entry) for entry in yaml.load(text, Loader=loader)["providers"])  # noqa: S506


def provider_ids() -> tuple[str, ...]:
    return tuple(p.id for p in load_providers())


def get_provider(provider_id: str) -> Provider:
    """The preset with this id; KeyError when there is none."""
    for provider in load_providers():
        if provider.id == provider_id:
            return provider
    raise KeyError(provider_id)


def provider_for_host(host: str) -> Provider | None:
    """The preset whose host list contains ``host`` (used to give provider-specific hints)."""
    for provider in load_providers():
        if provider.group in ("custom", "self-hosted"):
            continue
        if any(h.host == host for h in provider.hosts):
            return provider
    return None
