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
from smtpwizard.core.probe import ProbeOptions, ProbeReport, run_probe
from smtpwizard.core.providers import Provider
from smtpwizard.core.settings import SECURITY_LABELS, Security, SmtpSettings

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


@dataclass
class CandidateResult:
    candidate: Candidate
    status: Literal["works", "fails", "not waited for"]
    report: ProbeReport | None = None
    diagnosis: Diagnosis | None = None

    def summary(self) -> str:
        """What this candidate offers (or why it failed), in one line."""
        if self.report is None:
            return "not needed: a preferred choice answered first"
        if self.diagnosis is not None:
            return self.diagnosis.title
        report = self.report
        parts = [f"banner '{(report.banner or '')[:40]}'"]
        if report.tls is not None:
            checked = "certificate valid" if report.tls.verified else "certificate NOT checked"
            parts.append(f"{report.tls.version}, {checked}")
        else:
            parts.append("no encryption")
        parts.append("AUTH " + (" ".join(report.auth_offered) if report.auth_offered else "not offered"))
        return "; ".join(parts)


@dataclass
class Detection:
    host: str
    results: list[CandidateResult]
    best: Candidate | None
    elapsed_s: float


def candidates_for(provider: Provider | None) -> list[Candidate]:
    """The provider's ports (recommended first), or the common ones for an unknown host."""
    if provider is None or provider.id in ("custom",):
        return [Candidate(port, security) for port, security in DEFAULT_CANDIDATES]
    ports = sorted(provider.ports, key=lambda p: p.port != provider.recommended_port)
    return [Candidate(p.port, p.security) for p in ports]


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
    ordered = sorted(results, key=lambda r: (r.status != "works", candidates.index(r.candidate)))
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
