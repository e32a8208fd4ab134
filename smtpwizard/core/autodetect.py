"""Find the working port and security mode of a host by racing the candidates.

Every candidate is probed at once, without credentials (no AUTH, no mail). The answer is
certain as soon as the most preferred candidate that is still possible has succeeded: every
candidate before it in the preference order has already failed. Then the slower ones are
cancelled, so a filtered or silent port never delays the result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from smtpwizard.core.diagnose import Diagnosis, diagnose
from smtpwizard.core.exit_codes import ExitCode
from smtpwizard.core.probe import ProbeOptions, ProbeReport, Stage, StageResult, run_probe
from smtpwizard.core.providers import Provider
from smtpwizard.core.settings import IMPLICIT_TLS_PORTS, SECURITY_LABELS, Security, SmtpSettings, is_loopback

DEFAULT_CANDIDATES: tuple[tuple[int, Security], ...] = (
    (587, "starttls"),
    (465, "tls"),
    (2525, "starttls"),
    (25, "starttls"),
    (25, "none"),
)

# A candidate still without a TCP handshake this long after the start, while another port of the
# same host has completed one, is judged "probably blocked": a firewall drops its SYNs.
EARLY_MIN_S = 1.0
EARLY_RTT_FACTOR = 20


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
    status: Literal["works", "fails", "not waited for", "probably blocked"]
    report: ProbeReport | None = None
    diagnosis: Diagnosis | None = None
    early: EarlyVerdict | None = None  # with "probably blocked": why it was judged so

    @property
    def state(self) -> State:
        if self.status == "probably blocked":  # judged early: no TCP handshake yet, still confirming
            return "filtered"
        return _state(self.candidate, self.report)

    def summary(self) -> str:
        """What this candidate reached and offers (or why it failed), in one line."""
        if self.status == "probably blocked" and self.early is not None:
            return f"probably blocked: {self.early.silence()}; still confirming"
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
class EarlyVerdict:
    """An answer given before the normal timeouts ran out, and what confirming it found."""

    best: Candidate
    blocked: tuple[Candidate, ...]  # silent when judged, better ranked than ``best``
    after_s: float  # when the early answer was given, from the start
    bound_s: float  # max(EARLY_MIN_S, EARLY_RTT_FACTOR x rtt_s)
    rtt_s: float  # the fastest TCP handshake to this host
    measured_on: Candidate  # the candidate whose handshake gave ``rtt_s``
    confirmed: bool | None = None  # None while confirming; False: the final verdict differs
    correction: str = ""  # what the confirmation found that the early verdict did not say

    def silence(self) -> str:
        return f"no TCP handshake within {self.bound_s:.1f} s"

    def reason(self) -> str:
        """Why the answer could be given early, in one line."""
        ports = ", ".join(str(c.port) for c in dict.fromkeys(self.blocked))
        rtt = f"{self.rtt_s * 1000:.1f} ms" if self.rtt_s < 1 else f"{self.rtt_s:.2f} s"
        return (
            f"early verdict after {self.after_s:.1f} s: port {ports} gave {self.silence()} while port "
            f"{self.measured_on.port} of the same host completed one in {rtt} "
            f"(bound: max({EARLY_MIN_S:g} s, {EARLY_RTT_FACTOR} x that round trip))"
        )

    def outcome(self) -> str:
        """What confirming the early verdict found, in one sentence."""
        if self.confirmed is None:
            return "Early verdict, still being confirmed until the normal timeouts"
        if self.confirmed:
            silent = ", ".join(f"port {c.port} gave no answer until its timeout" for c in self.blocked)
            return f"Early verdict confirmed: {silent}"
        return f"The early verdict was wrong: {self.correction}"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {
            "best": {"port": self.best.port, "security": self.best.security},
            "probably_blocked": [{"port": c.port, "security": c.security} for c in self.blocked],
            "after_s": round(self.after_s, 3),
            "bound_s": round(self.bound_s, 3),
            "rtt_s": round(self.rtt_s, 4),
            "reason": self.reason(),
            "confirmed": self.confirmed,
            "outcome": self.outcome(),
        }


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
    early: EarlyVerdict | None = None

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
    on_early: Callable[[Detection], None] | None = None,
) -> Detection:
    """Race ``candidates`` (in preference order) against ``host``; best working one first.

    When a better-ranked candidate is still silent (no TCP handshake) past a bound derived from
    another candidate's handshake, ``on_early`` gets the answer then (those candidates "probably
    blocked"); the detection keeps waiting for them until their normal timeouts, and the returned
    Detection says whether that confirmed the early answer.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    watch = _HandshakeWatch(candidates, started)

    async def attempt(candidate: Candidate, index: int) -> ProbeReport:
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
        return await run_probe(settings, None, options=options, on_stage=watch.on_stage(index))

    tasks = [asyncio.create_task(attempt(c, i)) for i, c in enumerate(candidates)]
    done: dict[int, ProbeReport] = {}
    best: int | None = None
    early: EarlyVerdict | None = None
    try:
        pending = set(tasks)
        while pending and best is None:
            waiting: set[asyncio.Future[Any]] = {*pending, watch.changed()}
            finished, _ = await asyncio.wait(waiting, timeout=watch.wait_s(early), return_when=asyncio.FIRST_COMPLETED)
            for index, task in enumerate(tasks):
                if task in finished:
                    done[index] = task.result()
                    pending.discard(task)
            best = _certain_best(done, len(candidates))
            if best is None and early is None:
                early = watch.judge(done, loop.time() - started)
                if early is not None:
                    for index, task in enumerate(tasks):
                        if candidates[index] not in early.blocked and index not in done:
                            task.cancel()  # worse than the early answer: not needed
                            pending.discard(task)
                    if on_early is not None:
                        blocked = {candidates.index(c) for c in early.blocked}
                        on_early(_detection(host, candidates, done, early, blocked, early.after_s))
    finally:
        watch.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if early is not None:
        early = _confirmation(early, candidates, done)
    return _detection(host, candidates, done, early, set(), loop.time() - started)


def _detection(
    host: str,
    candidates: list[Candidate],
    done: dict[int, ProbeReport],
    early: EarlyVerdict | None,
    blocked: set[int],
    elapsed_s: float,
) -> Detection:
    """The candidates' results, working ones first; ``blocked`` are judged so, still unconfirmed."""
    results = []
    for index, candidate in enumerate(candidates):
        report = done.get(index)
        if index in blocked:
            results.append(CandidateResult(candidate, "probably blocked", early=early))
        elif report is None:
            results.append(CandidateResult(candidate, "not waited for"))
        elif report.ok:
            results.append(CandidateResult(candidate, "works", report))
        else:
            settings = SmtpSettings(host=host, port=candidate.port, security=candidate.security)
            results.append(CandidateResult(candidate, "fails", report, diagnose(report, settings)))
    ordered = sorted(results, key=lambda r: (STATES.index(r.state), candidates.index(r.candidate)))
    best = _certain_best(done, len(candidates))
    if best is None and blocked and early is not None:
        best = candidates.index(early.best)
    return Detection(host, ordered, candidates[best] if best is not None else None, elapsed_s, early)


def _confirmation(early: EarlyVerdict, candidates: list[Candidate], done: dict[int, ProbeReport]) -> EarlyVerdict:
    """The early verdict, marked confirmed or corrected by what the normal timeouts found."""
    for candidate in early.blocked:
        report = done.get(candidates.index(candidate))
        if report is None:
            continue  # cancelled with the detection itself
        connect = report.stage(Stage.CONNECT)
        if report.ok:
            return replace(
                early,
                confirmed=False,
                correction=f"port {candidate.port} answered after all; it is the better choice",
            )
        if connect is not None and connect.status == "ok":
            why = report.failure.message if report.failure else "it failed"
            return replace(
                early,
                confirmed=False,
                correction=f"port {candidate.port} was not blocked (it connected later), but it failed: {why}",
            )
    return replace(early, confirmed=True)


class _HandshakeWatch:
    """Which candidates completed their TCP handshake, how fast, and when to judge the silent ones."""

    def __init__(self, candidates: list[Candidate], started: float) -> None:
        self.candidates = candidates
        self.started = started
        self.loop = asyncio.get_running_loop()
        self.handshakes: dict[int, float] = {}  # candidate index: its TCP handshake time
        self._changed: asyncio.Future[Any] = self.loop.create_future()

    def on_stage(self, index: int) -> Callable[[StageResult], None]:
        def seen(result: StageResult) -> None:
            if result.stage == Stage.CONNECT and result.status == "ok":
                self.handshakes[index] = result.handshake_s if result.handshake_s is not None else result.elapsed_s
                if not self._changed.done():
                    self._changed.set_result(None)

        return seen

    def changed(self) -> asyncio.Future[Any]:
        if self._changed.done():
            self._changed = self.loop.create_future()
        return self._changed

    def close(self) -> None:
        self._changed.cancel()

    def bound(self) -> tuple[float, int] | None:
        """max(EARLY_MIN_S, EARLY_RTT_FACTOR x the fastest handshake) and whose it was."""
        if not self.handshakes:
            return None
        fastest = min(self.handshakes, key=self.handshakes.__getitem__)
        return max(EARLY_MIN_S, EARLY_RTT_FACTOR * self.handshakes[fastest]), fastest

    def wait_s(self, early: EarlyVerdict | None) -> float | None:
        """How long until the silent candidates can be judged (None: nothing to judge yet)."""
        found = self.bound()
        if early is not None or found is None:
            return None
        left = self.started + found[0] - self.loop.time()
        return left if left > 0 else None  # past the bound: judged again whenever something changes

    def judge(self, done: dict[int, ProbeReport], elapsed_s: float) -> EarlyVerdict | None:
        """The early verdict, once every candidate better than a working one is silent past the bound."""
        found = self.bound()
        if found is None or elapsed_s < found[0]:
            return None
        bound_s, fastest = found
        silent = {i for i in range(len(self.candidates)) if i not in done and i not in self.handshakes}
        best = _certain_best({**done, **{i: _SILENT for i in silent}}, len(self.candidates))
        if best is None or not silent & set(range(best)):
            return None
        return EarlyVerdict(
            best=self.candidates[best],
            blocked=tuple(self.candidates[i] for i in sorted(silent) if i < best),
            after_s=elapsed_s,
            bound_s=bound_s,
            rtt_s=self.handshakes[fastest],
            measured_on=self.candidates[fastest],
        )


_SILENT = ProbeReport(host="", port=0, security="")  # stands for "failed": no stages, so not ok


def _certain_best(done: dict[int, ProbeReport], count: int) -> int | None:
    """The index of the best candidate once no better one can still succeed."""
    for index in range(count):
        report = done.get(index)
        if report is None:
            return None  # a better candidate is still running
        if report.ok:
            return index
    return None
