"""Concurrent DNS look-ups for the sender-domain check (dnspython's async resolver).

A failed look-up (SERVFAIL, timeout, refused) stays a failure and is never reported as a
missing record. The server is chosen by configuration: ``SMTPWIZARD_DNS=IP[:PORT]`` (or
``[IPv6]:PORT``) or :class:`DnsConfig`; otherwise the system's resolvers.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar

import dns.asyncresolver
import dns.exception
import dns.message
import dns.resolver

from smtpwizard.core.errors import FieldError

LookupStatus = Literal["ok", "nodata", "nxdomain", "servfail", "refused", "timeout", "error"]
FAILED: frozenset[str] = frozenset({"servfail", "refused", "timeout", "error"})
DEFAULT_TIMEOUT_S = 1.5
MAX_CNAME_HOPS = 8

T = TypeVar("T")


@dataclass(frozen=True)
class DnsConfig:
    """Which server answers and how long one query may take."""

    server: str | None = None  # None: the system's resolvers (/etc/resolv.conf)
    port: int = 53
    timeout_s: float = DEFAULT_TIMEOUT_S
    parallel: bool = True  # False: one look-up after another (the benchmark's baseline)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, timeout_s: float | None = None, server: str | None = None
    ) -> DnsConfig:
        """The configuration from SMTPWIZARD_DNS and SMTPWIZARD_DNS_TIMEOUT, or ``server`` (the --dns
        option) and ``timeout_s`` when given; FieldError when malformed."""
        env = os.environ if environ is None else environ
        address, port = parse_server(server, "--dns") if server else parse_server(env.get("SMTPWIZARD_DNS", ""))
        if timeout_s is None:
            text = env.get("SMTPWIZARD_DNS_TIMEOUT", "")
            try:
                timeout_s = float(text) if text else DEFAULT_TIMEOUT_S
            except ValueError:
                raise FieldError(
                    "SMTPWIZARD_DNS_TIMEOUT", f"'{text}' is not a number", "give seconds, e.g. 1.5"
                ) from None
        if not 0 < timeout_s <= 30:
            raise FieldError("--dns-timeout", f"{timeout_s} s is out of range", "give 0.1 to 30 seconds")
        return cls(server=address, port=port, timeout_s=timeout_s)


def parse_server(text: str, field: str = "SMTPWIZARD_DNS") -> tuple[str | None, int]:
    """``127.0.0.1:5353``, ``[::1]:5353``, ``::1`` or ``127.0.0.1`` -> (address, port)."""
    import ipaddress

    text = text.strip()
    if not text:
        return None, 53
    host, port_text = text, ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    try:
        ipaddress.ip_address(host)
        port = int(port_text) if port_text else 53
    except ValueError:
        raise FieldError(field, f"'{text}' is not IP[:PORT]", "write e.g. 127.0.0.1:5353 or [::1]:5353") from None
    if not 0 < port < 65536:
        raise FieldError(field, f"port {port} is out of range", "use 1-65535")
    return host, port


@dataclass(frozen=True)
class Lookup:
    """One question and what came back."""

    name: str
    rdtype: str
    status: LookupStatus
    records: tuple[str, ...] = ()  # TXT strings joined; MX "pref host"; SRV "prio weight port target"
    chain: tuple[str, ...] = ()  # CNAME targets followed from ``name``, in order
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    @property
    def cname(self) -> str | None:
        return self.chain[0] if self.chain else None

    def describe_failure(self) -> str:
        """E.g. 'SERVFAIL for TXT _dmarc.example.com'."""
        what = {"servfail": "SERVFAIL", "refused": "REFUSED", "timeout": "no answer in time"}.get(self.status, "error")
        return f"{what} for {self.rdtype} {self.name}" + (f" ({self.detail})" if self.detail else "")


def _printable(text: str) -> str:
    """DNS data is anyone's: control characters (terminal escapes) are shown as \\xNN, never sent."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def _text(rdtype: str, rdata: object) -> str:
    if rdtype == "TXT":
        strings: tuple[bytes, ...] = getattr(rdata, "strings", ())
        return _printable(b"".join(strings).decode("utf-8", "replace"))
    if rdtype == "MX":
        return f"{getattr(rdata, 'preference', 0)} {_host(getattr(rdata, 'exchange', ''))}"
    if rdtype == "SRV":
        r = rdata
        return f"{getattr(r, 'priority', 0)} {getattr(r, 'weight', 0)} {getattr(r, 'port', 0)} {_host(getattr(r, 'target', ''))}"
    return str(rdata)


def _host(name: object) -> str:
    return str(name).rstrip(".").lower() or "."


@dataclass
class Resolver:
    """Look-ups for one check: identical questions are asked once; counts what was sent."""

    config: DnsConfig = field(default_factory=DnsConfig)
    queries: int = 0
    _memo: dict[tuple[str, str], asyncio.Task[Lookup]] = field(default_factory=dict)
    _resolver: dns.asyncresolver.Resolver | None = None

    def _backend(self) -> dns.asyncresolver.Resolver:
        if self._resolver is None:
            if self.config.server is None:
                resolver = dns.asyncresolver.Resolver(configure=True)
            else:
                resolver = dns.asyncresolver.Resolver(configure=False)
                resolver.nameservers = [self.config.server]
                resolver.port = self.config.port
            resolver.timeout = self.config.timeout_s
            resolver.lifetime = self.config.timeout_s  # one short try per question; the whole check stays short
            resolver.cache = None
            self._resolver = resolver
        return self._resolver

    async def all(self, awaitables: Iterable[Awaitable[T]]) -> list[T]:
        """Await every item: at once, or one after another when the config says so."""
        items = list(awaitables)
        if self.config.parallel:
            return list(await asyncio.gather(*items))
        return [await item for item in items]

    async def lookup(self, name: str, rdtype: str) -> Lookup:
        """``rdtype`` records at ``name``, following CNAMEs ourselves (an authoritative server stops
        at its zone's edge). Never raises for DNS trouble: the status says what happened."""
        key = (name.lower().rstrip("."), rdtype)
        task = self._memo.get(key)
        if task is None:
            task = asyncio.ensure_future(self._follow(key[0], rdtype))
            self._memo[key] = task
        return await asyncio.shield(task)

    async def _follow(self, name: str, rdtype: str) -> Lookup:
        chain: list[str] = []
        current = name
        for _ in range(MAX_CNAME_HOPS):
            result, target = await self._ask(current, rdtype)
            if target is None or result.status != "nodata":
                return Lookup(name, rdtype, result.status, result.records, (*chain, *result.chain), result.detail)
            chain.extend((*result.chain, target))
            current = target
        return Lookup(name, rdtype, "error", (), tuple(chain), "CNAME chain too long")

    async def _ask(self, name: str, rdtype: str) -> tuple[Lookup, str | None]:
        """One question. Returns the answer, and the CNAME target when the answer stopped at one."""
        self.queries += 1
        started = time.monotonic()
        try:
            answer = await self._backend().resolve(name, rdtype, search=False, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN as exc:  # a CNAME to a name that does not exist keeps its chain
            return Lookup(name, rdtype, "nxdomain", (), _nx_chain(exc, name)), None
        except dns.resolver.LifetimeTimeout:
            return Lookup(name, rdtype, "timeout", detail=f"after {time.monotonic() - started:.1f} s"), None
        except dns.resolver.NoNameservers as exc:
            status: LookupStatus = "refused" if "REFUSED" in str(exc) else "servfail"
            return Lookup(name, rdtype, status), None
        except (dns.exception.DNSException, OSError, ValueError) as exc:
            return Lookup(name, rdtype, "error", detail=type(exc).__name__), None
        chain = tuple(_host(rrset[0].target) for rrset in answer.response.resolve_chaining().cnames)
        if answer.rrset is not None:
            return Lookup(name, rdtype, "ok", tuple(sorted(_text(rdtype, r) for r in answer.rrset)), chain), None
        if chain:  # the answer ended at a CNAME whose target it did not include: ask for the target
            return Lookup(name, rdtype, "nodata", (), chain[:-1]), chain[-1]
        return Lookup(name, rdtype, "nodata"), None


def _nx_chain(exc: dns.resolver.NXDOMAIN, name: str) -> tuple[str, ...]:
    """The CNAMEs a server followed before the name that does not exist (a recursive resolver, or
    an authoritative one within its zone, answers NXDOMAIN with the chain in the answer)."""
    responses: dict[object, dns.message.QueryMessage] = exc.kwargs.get("responses") or {}
    for response in responses.values():
        return tuple(_host(rrset[0].target) for rrset in response.resolve_chaining().cnames)
    return ()
