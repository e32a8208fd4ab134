"""Find the working port and security mode of a host by racing the candidates.

Every candidate is probed at once, without credentials (no AUTH, no mail). The answer is
certain as soon as the most preferred candidate that is still possible has succeeded: every
candidate before it in the preference order has already failed. Then the slower ones are
cancelled, so a filtered or silent port never delays the result.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from smtpwizard.core.diagnose import Diagnosis, diagnose
from smtpwizard.core.exit_codes import ExitCode
from smtpwizard.core.probe import ProbeOptions, ProbeReport, run_probe
from smtpwizard.core.providers import Provider
from smtpwizard.core.settings import IMPLICIT_TLS_PORTS, SECURITY_LABELS, Security, SmtpSettings, is_loopback

DEFAULT_CANDIDATES: tuple[tuple[int, Security], ...] = (
    (587, "starttls"),
    (465, "tls"),
    (2525, "starttls"),
    (25, "starttls"),
    (25, "none"),
)


@dataclass(frozen=True)
class Candidate:
    port: int
    security: Security

    @property
    def label(self) -> str:
        return f"{self.port} {SECURITY_LABELS[self.security]}"


# What a candidate reached, best first: the headline follows the best state any candidate reached.
State = Literal["answered", "certificate", "failed", "mismatch", "refused", "filtered", "unreachable", "not tried"]
STATES: tuple[State, ...] = (
    "answered",  # a working SMTP server in this mode
    "certificate",  # an SMTP server in this mode, but its certificate was not accepted
    "failed",  # connected, then something else went wrong (no STARTTLS, a rejection, silence)
    "mismatch",  # something answered, but in the other security mode
    "refused",  # nothing listens on the port
    "filtered",  # the connection was silently dropped (a firewall)
    "unreachable",  # no address for the name, or no route to it
    "not tried",  # not waited for: a preferred candidate answered first
)
_CERTIFICATE = frozenset({"cert_untrusted", "cert_self_signed", "cert_hostname", "cert_expired", "cert_not_yet_valid"})
_CA_KINDS = frozenset({"cert_untrusted", "cert_self_signed"})
CA_FIX = (
    "Give the server's CA certificate (a PEM file from its administrator): --ca-file PATH for detect, "
    "ca_file: PATH in the config, or the CA file field in the wizard."
)
BANNER_CHARS = 40


def _state(candidate: Candidate, report: ProbeReport | None) -> State:
    if report is None:
        return "not tried"
    failure = report.failure
    if failure is None:
        return "answered"
    kind = failure.kind
    if kind in _CERTIFICATE:
        return "certificate"
    if kind == "tls_wrong_version" or (kind == "banner_timeout" and candidate.security != "tls"):
        return "mismatch"
    if kind == "refused":
        return "refused"
    if kind == "connect_timeout":
        return "filtered"
    return "unreachable" if kind in ("dns", "unreachable") else "failed"


def _lower(title: str) -> str:
    return title[:1].lower() + title[1:]


def shorten(text: str, limit: int = BANNER_CHARS) -> str:
    """``text`` cut at a word boundary with an ellipsis; never mid-word (a first word longer
    than ``limit`` is kept whole)."""
    words = text.split()
    kept: list[str] = []
    for word in words:
        if kept and len(" ".join([*kept, word])) > limit:
            return " ".join(kept) + " …"
        kept.append(word)
    return " ".join(kept)


@dataclass
class CandidateResult:
    candidate: Candidate
    status: Literal["works", "fails", "not waited for"]
    report: ProbeReport | None = None
    diagnosis: Diagnosis | None = None

    @property
    def state(self) -> State:
        return _state(self.candidate, self.report)

    def summary(self) -> str:
        """What this candidate reached and offers (or why it failed), in one line."""
        state = self.state
        if self.report is None:
            return "not needed: a preferred choice answered first"
        if state == "answered":
            return "answered: " + self._offers()
        title = self.diagnosis.title if self.diagnosis is not None else "failed"
        if state == "certificate":
            kind = self.report.failure.kind if self.report.failure else ""
            extra = "; give its CA with --ca-file PATH (ca_file)" if kind in _CA_KINDS else ""
            return f"answered, but {_lower(title)}{extra}"
        fixed = {"refused": "nothing listens on this port", "filtered": "no answer (a firewall drops the connection)"}
        prefix = {"failed": "connected, but", "mismatch": "TLS mismatch:", "unreachable": "unreachable:"}.get(state)
        if prefix is None:
            return f"{state}: {fixed[state]}"
        return f"{prefix} {_lower(title) if state == 'failed' else title}"

    def _offers(self) -> str:
        report = self.report
        assert report is not None
        parts = [f"banner '{shorten(report.banner or '')}'"]
        if report.tls is not None:
            checked = "certificate valid" if report.tls.verified else "certificate NOT checked"
            parts.append(f"{report.tls.version}, {checked}")
        else:
            parts.append("no encryption")
        parts.append("AUTH " + (" ".join(report.auth_offered) if report.auth_offered else "not offered"))
        return "; ".join(parts)


@dataclass(frozen=True)
class Verdict:
    """The headline of a detection: the best state any candidate reached, and what to do."""

    state: State
    candidate: Candidate | None
    headline: str
    fix: str | None
    exit_code: ExitCode


@dataclass
class Detection:
    host: str
    results: list[CandidateResult]
    best: Candidate | None
    elapsed_s: float

    @property
    def verdict(self) -> Verdict:
        return verdict(self)


def verdict(found: Detection) -> Verdict:
    """What the detection found, led by the best state reached (never "nothing answered"
    when a port answered and only its certificate was refused)."""
    if found.best is not None:
        return Verdict(
            "answered", found.best, f"Best: port {found.best.port}, security: {found.best.security}", None, ExitCode.OK
        )
    tried = [r for r in found.results if r.report is not None]
    if not tried:
        return Verdict("not tried", None, "Nothing was tried", "Give at least one candidate.", ExitCode.USAGE)
    top = min(tried, key=lambda r: STATES.index(r.state))
    state, where = top.state, f"Port {top.candidate.port} with {SECURITY_LABELS[top.candidate.security]}"
    diagnosis = top.diagnosis
    title = diagnosis.title if diagnosis is not None else "it failed"
    fix = diagnosis.fix if diagnosis is not None else None
    code = diagnosis.exit_code if diagnosis is not None else ExitCode.UNAVAILABLE
    lower = _lower(title)
    if state == "certificate":
        kind = top.report.failure.kind if top.report and top.report.failure else ""
        return Verdict(
            state, top.candidate, f"{where} answered, but {lower}", CA_FIX if kind in _CA_KINDS else fix, code
        )
    if state == "failed":
        return Verdict(state, top.candidate, f"{where} answered, but: {lower}", fix, code)
    if state == "mismatch":
        return Verdict(state, top.candidate, f"{where} answered in another security mode: {lower}", fix, code)
    if state == "refused":
        return Verdict(
            state,
            None,
            f"Every port tried refused the connection: no mail server listens on {found.host}",
            fix if is_loopback(found.host) and fix else "Check the host name, and that a mail server runs there.",
            ExitCode.UNAVAILABLE,
        )
    if state == "filtered":
        return Verdict(
            state,
            None,
            "No port answered: the connections were silently dropped (a firewall on the way)",
            "Ask your hosting provider whether outgoing mail ports are blocked, or try from another network.",
            ExitCode.UNAVAILABLE,
        )
    return Verdict(state, None, title, fix, code)


def candidates_for(
    provider: Provider | None, port: int | None = None, security: Security | None = None
) -> list[Candidate]:
    """The provider's ports (recommended first), or the common ones for an unknown host.

    ``port`` (the one the user typed) goes first: with ``security`` if given, then the modes
    the list has for it, or else STARTTLS and implicit TLS (implicit first on 465-like ports).
    """
    if provider is None or provider.id in ("custom",):
        listed = [Candidate(p, s) for p, s in DEFAULT_CANDIDATES]
    else:
        ports = sorted(provider.ports, key=lambda p: p.port != provider.recommended_port)
        listed = [Candidate(p.port, p.security) for p in ports]
    if port is None:
        return listed
    usual: list[Security] = ["tls", "starttls"] if port in IMPLICIT_TLS_PORTS else ["starttls", "tls"]
    modes = [c.security for c in listed if c.port == port] or usual
    first = [Candidate(port, m) for m in dict.fromkeys([security, *modes] if security else modes)]
    return first + [c for c in listed if c not in first]


async def detect(
    host: str,
    candidates: list[Candidate],
    *,
    verify_certificate: bool = True,
    ca_file: str | None = None,
    helo_domain: str | None = None,
    timeout_s: float = 10.0,
    options: ProbeOptions | None = None,
) -> Detection:
    """Race ``candidates`` (in preference order) against ``host``; best working one first."""
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def attempt(candidate: Candidate) -> ProbeReport:
        settings = SmtpSettings(
            host=host,
            port=candidate.port,
            security=candidate.security,
            verify_certificate=verify_certificate,
            ca_file=ca_file,
            auth="none",
            helo_domain=helo_domain,
            timeout_s=timeout_s,
        )
        return await run_probe(settings, None, options=options)

    tasks = [asyncio.create_task(attempt(c)) for c in candidates]
    done: dict[int, ProbeReport] = {}
    best: int | None = None
    try:
        pending = set(tasks)
        while pending and best is None:
            finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in finished:
                done[tasks.index(task)] = task.result()
            best = _certain_best(done, len(candidates))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    results = []
    for index, candidate in enumerate(candidates):
        report = done.get(index)
        if report is None:
            results.append(CandidateResult(candidate, "not waited for"))
        elif report.ok:
            results.append(CandidateResult(candidate, "works", report))
        else:
            settings = SmtpSettings(host=host, port=candidate.port, security=candidate.security)
            results.append(CandidateResult(candidate, "fails", report, diagnose(report, settings)))
    ordered = sorted(results, key=lambda r: (STATES.index(r.state), candidates.index(r.candidate)))
    return Detection(host, ordered, candidates[best] if best is not None else None, loop.time() - started)


def _certain_best(done: dict[int, ProbeReport], count: int) -> int | None:
    """The index of the best candidate once no better one can still succeed."""
    for index in range(count):
        report = done.get(index)
        if report is None:
            return None  # a better candidate is still running
        if report.ok:
            return index
    return None
