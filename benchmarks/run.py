#!/usr/bin/env python3
"""smtpwizard's benchmarks: every figure measured side by side with its baseline in one run.

Everything talks to servers on 127.0.0.1 started by this script (aiosmtpd with trustme
certificates, plus a filtered port, a silent port and a delay-adding TCP proxy). Nothing
leaves the machine.

Usage (after `pip install -e '.[test]'`):

    python3 benchmarks/run.py            # everything; the baselines' 60 s timeouts make it ~1.5 min
    python3 benchmarks/run.py --quick    # baselines capped at 5 s, fewer repetitions (~30 s)
    python3 benchmarks/run.py --only diagnosis autodetect

Sections: diagnosis, autodetect, roundtrips, startup, memory, domain (needs knotd). Each prints its figures, the
baselines and the ratios, and the targets it is held to; a summary of the targets ends the run.
The exit status is 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import select
import shutil
import signal
import smtplib
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiosmtplib  # noqa: E402
import trustme  # noqa: E402

from benchmarks.domain_check import bench_domain  # noqa: E402
from smtpwizard.core.autodetect import Candidate, detect  # noqa: E402
from smtpwizard.core.diagnose import diagnose  # noqa: E402
from smtpwizard.core.probe import ProbeReport, run_probe  # noqa: E402
from smtpwizard.core.settings import Secret, Sender, SmtpSettings  # noqa: E402
from tests.secret_service import missing_tools, running_secret_service  # noqa: E402
from tests.servers import USERNAME, ServerThread, filtered_port, scripted_server, silent, smtp_server  # noqa: E402

PASSWORD = "benchmark-password-5b1e"  # noqa: S105 - the loopback servers' password
HOST = "127.0.0.1"
SENDER = Sender("bench@example.com", "Benchmark")


@dataclass
class Target:
    what: str
    measured: str
    met: bool


@dataclass
class Run:
    quick: bool
    cap_s: float
    repeats: int
    rtt_s: float
    ca: trustme.CA
    ca_file: str
    server_tls: ssl.SSLContext
    tmp: Path
    targets: list[Target] = field(default_factory=list)

    def target(self, what: str, measured: str, met: bool) -> str:
        self.targets.append(Target(what, measured, met))
        return "ok" if met else "MISSED"


def heading(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 96 - len(title)))


def table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def seconds(value: float | None, cap: float | None = None) -> str:
    if value is None:
        return f"> {cap:.0f} s" if cap else "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def ratio(baseline: float | None, ours: float, cap: float) -> str:
    if baseline is None:
        return f"> x{cap / ours:.0f}"
    return f"x{baseline / ours:.1f}"


def settings_for(port: int, security: str, run: Run, **extra: Any) -> SmtpSettings:
    return SmtpSettings(
        host=HOST,
        port=port,
        security=security,
        ca_file=run.ca_file,
        username=USERNAME,
        **extra,  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------------------------------
# Baselines: the same attempt with aiosmtplib's and smtplib's default settings.


def client_context(run: Run) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=run.ca_file)


async def aiosmtplib_attempt(port: int, security: str, password: str, run: Run) -> None:
    """aiosmtplib as its docs show it: default timeout (60 s), the mode's flag, our CA."""
    client = aiosmtplib.SMTP(
        hostname=HOST,
        port=port,
        use_tls=security == "tls",
        start_tls=security == "starttls",
        tls_context=client_context(run),
    )
    try:
        await client.connect()
        await client.login(USERNAME, password)
        await client.mail(SENDER.address)
        await client.quit()
    finally:
        client.close()


def smtplib_attempt(port: int, security: str, password: str, run: Run) -> None:
    """smtplib as its docs show it: no timeout at all (blocks until the kernel gives up)."""
    if security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(HOST, port, context=client_context(run))
    else:
        client = smtplib.SMTP(HOST, port)
        client.starttls(context=client_context(run))
    try:
        client.login(USERNAME, password)
        client.mail(SENDER.address)
        client.quit()
    finally:
        client.close()


@dataclass
class Outcome:
    elapsed_s: float | None = None  # None: no answer within the cap
    error: str = ""


class Background:
    """Baseline attempts that may block for minutes, each in a daemon thread of its own,
    started together so their timeouts run side by side; collected with a cap."""

    def __init__(self) -> None:
        self.attempts: list[tuple[threading.Thread, Outcome, threading.Event]] = []

    def start(self, attempt: Callable[[], object]) -> int:
        outcome = Outcome()
        running = threading.Event()

        def body() -> None:
            started = time.perf_counter()
            running.set()
            try:
                result = attempt()
                if asyncio.iscoroutine(result):
                    asyncio.run(result)
                error = "no error"
            except BaseException as exc:  # the error *is* the measurement
                error = type(exc).__name__
            outcome.elapsed_s, outcome.error = time.perf_counter() - started, error

        thread = threading.Thread(target=body, daemon=True)
        thread.start()
        self.attempts.append((thread, outcome, running))
        return len(self.attempts) - 1

    def collect(self, cap_s: float, started: float) -> list[Outcome]:
        """Each attempt's outcome, or "no answer" for those still running ``cap_s`` after ``started``."""
        results = []
        for thread, outcome, running in self.attempts:
            running.wait()
            thread.join(max(0.0, started + cap_s - time.perf_counter()))
            if thread.is_alive() or outcome.elapsed_s is None or outcome.elapsed_s > cap_s:
                results.append(Outcome(None, "no answer"))
            else:
                results.append(Outcome(outcome.elapsed_s, outcome.error))
        return results


@contextlib.contextmanager
def diagnosis_scenarios(run: Run) -> Iterator[list[tuple[str, int, str, str, str]]]:
    """(name, port, security, password, the failure kind a correct diagnosis names)."""
    with (
        filtered_port() as blocked,
        scripted_server(silent) as quiet,
        smtp_server(password=PASSWORD, require_auth=False, auth_require_tls=False) as (plain, _),
        smtp_server(password=PASSWORD, implicit_context=run.server_tls) as (implicit, _),
        smtp_server(password=PASSWORD, starttls_context=run.server_tls) as (starttls, _),
    ):
        yield [
            ("filtered port (accept queue full)", blocked, "starttls", PASSWORD, "connect_timeout"),
            ("port that never sends a banner", quiet.port, "starttls", PASSWORD, "banner_timeout"),
            ("implicit TLS against a plaintext port", plain.port, "tls", PASSWORD, "tls_wrong_version"),
            ("STARTTLS against an implicit-TLS port", implicit.port, "starttls", PASSWORD, "banner_timeout"),
            ("wrong password", starttls.port, "starttls", "not-the-password", "auth_rejected"),
        ]


def bench_diagnosis(run: Run) -> None:
    heading(f"Time to a correct diagnosis (baselines capped at {run.cap_s:.0f} s, run side by side)")
    rows = []
    with diagnosis_scenarios(run) as scenarios:
        background = Background()
        started = time.perf_counter()
        for _name, port, security, password, _kind in scenarios:
            background.start(lambda p=port, s=security, pw=password: aiosmtplib_attempt(p, s, pw, run))
            background.start(lambda p=port, s=security, pw=password: smtplib_attempt(p, s, pw, run))
        ours = []
        for _name, port, security, password, kind in scenarios:
            settings = settings_for(port, security, run)
            started = time.perf_counter()
            report = asyncio.run(run_probe(settings, Secret(password), sender=SENDER))
            elapsed = time.perf_counter() - started
            found = report.failure.kind if report.failure else "passed"
            verdict = diagnose(report, settings)
            ours.append((elapsed, found == kind and verdict is not None, verdict))
        outcomes = background.collect(run.cap_s, started)
    baselines = list(zip(outcomes[0::2], outcomes[1::2], strict=True))
    titles = []
    for (name, *_), (elapsed, correct, verdict), (aio, std) in zip(scenarios, ours, baselines, strict=True):
        mark = run.target(f"diagnosis within 3.5 s: {name}", seconds(elapsed), elapsed <= 3.5 and correct)
        titles.append(f"  {verdict.code if verdict else '-'}: {verdict.title if verdict else '(no diagnosis)'}")
        rows.append(
            [
                name,
                seconds(elapsed),
                ("" if correct else "WRONG: ") + (verdict.code if verdict else "none"),
                f"{seconds(aio.elapsed_s, run.cap_s)} {aio.error}",
                ratio(aio.elapsed_s, elapsed, run.cap_s),
                f"{seconds(std.elapsed_s, run.cap_s)} {std.error}",
                ratio(std.elapsed_s, elapsed, run.cap_s),
                mark,
            ]
        )
    table(rows, ["scenario", "smtpwizard", "its diagnosis", "aiosmtplib", "ratio", "smtplib", "ratio", "<= 3.5 s"])
    print("  smtpwizard's diagnoses, each with its explanation and fix:")
    print("\n".join(dict.fromkeys(titles)))
    print("  Baselines: aiosmtplib.SMTP(...) with its default 60 s timeout; smtplib.SMTP(...) with none at all.")
    print("  They raise an error at best; smtpwizard names the cause and the fix.")


# ---------------------------------------------------------------------------------------
# Autodetect: racing the candidates against trying them one after another.


def bench_autodetect(run: Run) -> None:
    rtt_ms = run.rtt_s * 1000
    heading(f"Autodetect: racing the candidates vs. trying them one after another (median of {run.repeats})")
    with (
        smtp_server(password=PASSWORD, starttls_context=run.server_tls) as (starttls, _),
        smtp_server(password=PASSWORD, implicit_context=run.server_tls) as (implicit, _),
        delay_proxy(starttls.port, run.rtt_s) as starttls_port,
        delay_proxy(implicit.port, run.rtt_s) as implicit_port,
        filtered_port() as blocked,
        scripted_server(silent) as quiet,
    ):
        working = [Candidate(starttls_port, "starttls"), Candidate(implicit_port, "tls")]
        dead = [Candidate(blocked, "starttls"), Candidate(quiet.port, "starttls")]

        async def single(candidate: Candidate) -> ProbeReport:
            settings = SmtpSettings(
                host=HOST, port=candidate.port, security=candidate.security, ca_file=run.ca_file, auth="none"
            )
            return await run_probe(settings, None)

        async def sequential(candidates: list[Candidate]) -> float:
            started = time.perf_counter()
            for candidate in candidates:
                await single(candidate)
            return time.perf_counter() - started

        async def raced(candidates: list[Candidate]) -> tuple[float, Candidate | None]:
            started = time.perf_counter()
            found = await detect(HOST, candidates, ca_file=run.ca_file)
            return time.perf_counter() - started, found.best

        async def timed_single(candidate: Candidate) -> float:
            started = time.perf_counter()
            report = await single(candidate)
            assert report.ok, report.failure
            return time.perf_counter() - started

        rows = []
        for label, order in (
            ("preferred port works (587 first, as usual)", working + dead),
            ("preferred ports filtered and silent", dead + working),
        ):
            race = [asyncio.run(raced(order)) for _ in range(run.repeats)]
            assert all(best == working[0] or best == working[1] for _, best in race)
            race_s = statistics.median(t for t, _ in race)
            singles = {c: statistics.median(asyncio.run(timed_single(c)) for _ in range(run.repeats)) for c in working}
            slowest = max(singles.values())
            seq_s = asyncio.run(sequential(order))
            rows.append(
                [
                    label,
                    seconds(race_s),
                    seconds(slowest),
                    f"x{race_s / slowest:.2f}",
                    seconds(seq_s),
                    f"x{seq_s / race_s:.1f}",
                ]
            )
            if order[0] in working:
                rows[-1].append(
                    run.target(
                        "autodetect within 1.2x the slowest working candidate", rows[-1][3], race_s <= 1.2 * slowest
                    )
                    + " / "
                    + run.target("autodetect 2.5x faster than sequential", rows[-1][5], seq_s >= 2.5 * race_s)
                )
            else:
                rows[-1].append("(see below)")
    table(
        rows,
        ["candidate order", "detect", "slowest working alone", "ratio", "one after another", "speed-up", "targets"],
    )
    print(f"  Candidates: a STARTTLS and an implicit-TLS server, each behind a proxy adding {rtt_ms:.0f} ms per round")
    print("  trip (as a provider on the Internet is), a filtered port and a silent port. No credentials are sent.")
    print("  When the preferred ports are the filtered and silent ones, the answer is only certain once they")
    print("  have failed (the 3 s connect and greeting timeouts); the race still takes the longest, not the sum.")


# ---------------------------------------------------------------------------------------
# Round trips on the success path, through a delay-adding proxy.

# The fewest round trips each mode allows, one command per round trip (no PIPELINING offered):
#   starttls: greeting 0.5 + EHLO 1 + STARTTLS 1 + TLS 1.3 handshake 1 (the client's Finished
#             travels with the second EHLO) + EHLO 1 + AUTH PLAIN with initial response 1
#             + MAIL FROM 1 + QUIT 0 (not waited for)                                    = 6.5
#   tls:      TLS 1.3 handshake 1 + greeting after the server's handshake completes 1
#             + EHLO 1 + AUTH PLAIN 1 + MAIL FROM 1 + QUIT 0                              = 5.0
MINIMUM_RTTS = {"starttls": 6.5, "tls": 5.0}


@contextlib.contextmanager
def delay_proxy(target_port: int, rtt_s: float) -> Iterator[int]:
    """A TCP proxy on 127.0.0.1 that delivers every chunk half a round trip late, each way."""

    async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                await asyncio.sleep(max(0.0, due - loop.time()))
                if not data:
                    dst.close()
                    return
                dst.write(data)
                await dst.drain()

        courier = asyncio.create_task(deliver())
        with contextlib.suppress(ConnectionError):
            while data := await src.read(65536):
                queue.put_nowait((loop.time() + rtt_s / 2, data))
        queue.put_nowait((loop.time() + rtt_s / 2, b""))
        with contextlib.suppress(ConnectionError):
            await courier

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.CancelledError, OSError):  # cancelled when the proxy stops
            up_reader, up_writer = await asyncio.open_connection(HOST, target_port)
            await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer), return_exceptions=True)

    with ServerThread(stream_handler=handle) as proxy:
        yield proxy.port


def bench_roundtrips(run: Run) -> None:
    rtt_ms = run.rtt_s * 1000
    heading(f"Success-path round trips through a proxy adding {rtt_ms:.0f} ms per round trip (median of {run.repeats})")
    rows = []
    for security in ("starttls", "tls"):
        # aiosmtpd cannot tell an implicit-TLS connection is encrypted, so it must be told AUTH is fine
        contexts: dict[str, Any] = (
            {"starttls_context": run.server_tls}
            if security == "starttls"
            else {"implicit_context": run.server_tls, "auth_require_tls": False}
        )
        with smtp_server(password=PASSWORD, **contexts) as (server, _), delay_proxy(server.port, run.rtt_s) as port:
            settings = settings_for(port, security, run)

            def ours(s: SmtpSettings = settings) -> None:
                report = asyncio.run(run_probe(s, Secret(PASSWORD), sender=SENDER))
                assert report.ok, report.failure

            measured = {
                "smtpwizard": median_time(ours, run.repeats),
                "smtplib": median_time(lambda p=port, s=security: smtplib_attempt(p, s, PASSWORD, run), run.repeats),
                "aiosmtplib": median_time(
                    lambda p=port, s=security: asyncio.run(aiosmtplib_attempt(p, s, PASSWORD, run)), run.repeats
                ),
            }
        minimum = MINIMUM_RTTS[security]
        trips = {name: elapsed / run.rtt_s for name, elapsed in measured.items()}
        mark = run.target(
            f"success path ({security}) within one round trip of the minimum",
            f"{trips['smtpwizard']:.2f} RTT vs {minimum}",
            trips["smtpwizard"] <= minimum + 1,
        )
        rows.append(
            [
                security,
                f"{minimum}",
                f"{trips['smtpwizard']:.2f} ({seconds(measured['smtpwizard'])})",
                f"{trips['smtplib']:.2f} ({seconds(measured['smtplib'])})",
                f"{trips['aiosmtplib']:.2f} ({seconds(measured['aiosmtplib'])})",
                f"x{measured['smtplib'] / measured['smtpwizard']:.2f}",
                mark,
            ]
        )
    table(rows, ["mode", "minimum", "smtpwizard", "smtplib", "aiosmtplib", "smtplib/ours", "<= minimum + 1"])
    print("  Figures are elapsed time / injected round-trip time: connect, greeting, EHLO, (STARTTLS, TLS,")
    print("  EHLO,) AUTH PLAIN, MAIL FROM, QUIT. The minimum counts one round trip per command.")


def median_time(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# ---------------------------------------------------------------------------------------
# Start-up, first TUI screen and peak memory: the installed command in real processes.


def command() -> list[str]:
    beside = Path(sys.executable).parent / "smtpwizard"
    found = str(beside) if beside.exists() else shutil.which("smtpwizard")
    if not found:
        raise SystemExit("the smtpwizard command is not installed: pip install -e '.[test]'")
    return [found]


BARE_TEXTUAL = (
    "from textual.app import App\n"
    "from textual.widgets import Static\n"
    "class Bare(App):\n"
    "    def compose(self):\n"
    "        yield Static('hello from a bare Textual app')\n"
    "Bare().run()\n"
)
ANSI = re.compile(r"\x1b\[[0-9;?<>=$ ]*[@-~]|\x1b[\]P_^][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()=>][0-9A-Za-z]?")


@dataclass
class PtyRun:
    first_screen_s: float
    peak_rss_mb: float


# Peak memory is read by a small launcher that forks, execs the command and reports wait4's
# ru_maxrss. (Measured from this process, the figure would include this process's own size:
# Linux counts the memory a child had before exec.)
MEASURE = (
    "import os, signal, sys\n"
    "out, argv = sys.argv[1], sys.argv[2:]\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execvp(argv[0], argv)\n"
    "signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGKILL))\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "with open(out, 'w') as f:\n"
    "    f.write(str(usage.ru_maxrss))\n"
    "sys.exit(0 if os.waitstatus_to_exitcode(status) in (0, -9) else 1)\n"
)


def scratch_file(directory: Path | None = None) -> Path:
    fd, name = tempfile.mkstemp(dir=directory, prefix="rss-")
    os.close(fd)
    return Path(name)


def measured(argv: list[str], rss_file: Path) -> list[str]:
    return [sys.executable, "-I", "-S", "-c", MEASURE, str(rss_file), *argv]


def read_rss_mb(rss_file: Path) -> float:
    return int(rss_file.read_text()) / 1024


class Pty:
    """A child on a pseudo-terminal of 100x30, as a user's terminal would run it, under the
    memory-measuring launcher."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        import fcntl
        import termios

        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.rss_file = scratch_file()
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            measured(argv, self.rss_file),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.seen = ""

    def wait_for(self, text: str, timeout_s: float = 20) -> float:
        deadline = time.perf_counter() + timeout_s
        raw = b""
        while time.perf_counter() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.01)
            if ready:
                try:
                    raw += os.read(self.master, 1 << 16)
                except OSError:
                    break
                self.seen = ANSI.sub("", raw.decode("utf-8", "replace"))
                if text in self.seen:
                    return time.perf_counter() - self.started
        raise RuntimeError(f"{text!r} never appeared on the terminal; it showed: {self.seen[-400:]!r}")

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def finish(self) -> float:
        """Stop the child; its peak resident memory in MB."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGTERM)  # the launcher kills the command and reports
        self.process.wait(30)
        os.close(self.master)
        try:
            return read_rss_mb(self.rss_file)
        finally:
            self.rss_file.unlink()


def tui_env(run: Run) -> dict[str, str]:
    home = Path(tempfile.mkdtemp(dir=run.tmp))
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "TERM": "xterm-256color",
        "COLUMNS": "100",
        "LINES": "30",
    }


def tui_first_screen(run: Run) -> PtyRun:
    pty = Pty([*command(), "--config", str(run.tmp / "tui.yaml")], tui_env(run))
    try:
        first = pty.wait_for("Which app is the mail for?")
    except BaseException:
        pty.finish()
        raise
    return PtyRun(first, pty.finish())


def tui_three_steps(run: Run) -> float:
    """Peak memory of the TUI through its first three steps (app, provider list, connection)."""
    pty = Pty([*command(), "--config", str(run.tmp / "tui.yaml")], tui_env(run))
    try:
        pty.wait_for("Which app is the mail for?")
        pty.send("\r")
        pty.wait_for("Who sends your mail?")
        pty.send("custom")
        time.sleep(0.3)
        pty.send("\r")
        time.sleep(0.3)
        pty.send("\r")
        pty.wait_for("Where to connect")
    finally:
        peak = pty.finish()
    return peak


def bare_textual(run: Run) -> PtyRun:
    pty = Pty([sys.executable, "-c", BARE_TEXTUAL], tui_env(run))
    try:
        first = pty.wait_for("hello from a bare Textual app")
    except BaseException:
        pty.finish()
        raise
    return PtyRun(first, pty.finish())


def timed_process(argv: list[str], env: dict[str, str] | None = None, stdin: str | None = None) -> float:
    """Wall time of one process run to completion (it must succeed)."""
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, input=stdin or "", capture_output=True, text=True, timeout=120, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} exited with {done.returncode}: {done.stderr[-400:]}")
    return elapsed


def peak_memory(argv: list[str], tmp: Path, env: dict[str, str] | None = None, stdin: str | None = None) -> float:
    """Peak resident memory (MB) of one process run to completion."""
    rss_file = scratch_file(tmp)
    timed_process(measured(argv, rss_file), env=env, stdin=stdin)
    return read_rss_mb(rss_file)


def bench_startup(run: Run) -> None:
    repeats = max(run.repeats * 3, 5)
    heading(f"Start-up (median of {repeats}, interleaved)")
    variants = {
        "bare interpreter (python -c pass)": [sys.executable, "-c", "pass"],
        "smtpwizard --help": [*command(), "--help"],
        "smtpwizard providers": [*command(), "providers"],
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, argv in variants.items():
            times[name].append(timed_process(argv))
    bare = statistics.median(times["bare interpreter (python -c pass)"])
    rows = []
    for name, samples in times.items():
        median = statistics.median(samples)
        mark = ""
        if name == "smtpwizard --help":
            mark = run.target("--help within 3x a bare interpreter", f"x{median / bare:.2f}", median <= 3 * bare)
        rows.append([name, seconds(median), f"x{median / bare:.2f}", mark])
    table(rows, ["command", "wall time", "vs bare", "target"])

    screens = max(run.repeats, 3)
    ours = [tui_first_screen(run) for _ in range(screens)]
    baseline = [bare_textual(run) for _ in range(screens)]
    first = statistics.median(r.first_screen_s for r in ours)
    bare_first = statistics.median(r.first_screen_s for r in baseline)
    mark = run.target("first interactive TUI screen within 1 s", seconds(first), first <= 1.0)
    print()
    table(
        [
            ["smtpwizard (the app step, on a 100x30 pty)", seconds(first), f"x{first / bare_first:.2f}", mark],
            ["bare Textual app with one Static", seconds(bare_first), "x1.00", ""],
        ],
        [f"time to the first screen (median of {screens})", "wall time", "vs bare Textual", "<= 1 s"],
    )


HEADLESS_INPUT = """version: 1
profile: bench
target: mastodon
provider: custom
smtp:
  host: 127.0.0.1
  port: {port}
  security: starttls
  ca_file: {ca_file}
  username: {username}
  password: {{stdin: true}}
sender:
  address: notifications@example.com
  name: Mastodon
"""


def bench_memory(run: Run) -> None:
    heading("Peak memory (resident set, from wait4)")
    bare_mb = peak_memory([sys.executable, "-c", "pass"], run.tmp)
    rows = [["bare interpreter (python -c pass)", f"{bare_mb:.1f} MB", "x1.00", "", ""]]
    with contextlib.ExitStack() as stack:
        missing = missing_tools()
        if missing:
            env = {**os.environ, "XDG_CONFIG_HOME": str(run.tmp / "headless-config")}
            extra = ["--dry-run"]
            note = f"--dry-run: no {', '.join(missing)} here, so no keyring write"
        else:
            env = stack.enter_context(running_secret_service(Path(tempfile.mkdtemp(dir=run.tmp))))
            extra = []
            note = "stored in a real Secret Service (gnome-keyring)"
        server, _ = stack.enter_context(smtp_server(password=PASSWORD, starttls_context=run.server_tls))
        source = run.tmp / "headless.yaml"
        source.write_text(HEADLESS_INPUT.format(port=server.port, ca_file=run.ca_file, username=USERNAME))
        argv = [*command(), "--from-yaml", str(source), "--config", str(run.tmp / "out" / "config.yaml"), "--yes"]
        stdin = PASSWORD + "\n"
        wall = statistics.median(timed_process([*argv, *extra], env=env, stdin=stdin) for _ in range(run.repeats))
        headless_mb = max(peak_memory([*argv, *extra], run.tmp, env=env, stdin=stdin) for _ in range(run.repeats))
    mark = run.target("headless peak memory under 60 MB", f"{headless_mb:.1f} MB", headless_mb < 60)
    rows.append(
        [
            "smtpwizard --from-yaml (STARTTLS, AUTH, write)",
            f"{headless_mb:.1f} MB",
            f"x{headless_mb / bare_mb:.2f}",
            mark,
            f"{seconds(wall)} wall; {note}",
        ]
    )
    bare_tui = bare_textual(run).peak_rss_mb
    tui_mb = tui_three_steps(run)
    mark = run.target("TUI peak memory under 120 MB", f"{tui_mb:.1f} MB", tui_mb < 120)
    rows.append(["bare Textual app with one Static", f"{bare_tui:.1f} MB", f"x{bare_tui / bare_mb:.2f}", "", ""])
    rows.append(
        [
            "smtpwizard TUI (app, provider list, connection)",
            f"{tui_mb:.1f} MB",
            f"x{tui_mb / bare_mb:.2f}",
            mark,
            f"x{tui_mb / bare_tui:.2f} a bare Textual app",
        ]
    )
    full = subprocess.run(
        [sys.executable, __file__, "--child-full-tui", run.ca_file],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if full.returncode != 0:
        raise RuntimeError("the full TUI run failed:\n" + full.stdout + full.stderr)
    full_mb = float(full.stdout.split()[-1])
    mark = run.target("TUI peak memory under 120 MB (whole journey)", f"{full_mb:.1f} MB", full_mb < 120)
    rows.append(
        [
            "smtpwizard TUI, whole journey (Pilot, live test, write)",
            f"{full_mb:.1f} MB",
            f"x{full_mb / bare_mb:.2f}",
            mark,
            "Pilot; test server in the same process",
        ]
    )
    table(rows, ["run", "peak RSS", "vs bare", "target", "notes"])


def child_full_tui(ca_file: str) -> None:
    """In a process of its own: the whole wizard driven by Pilot against a loopback server,
    then print this process's peak resident memory in MB."""
    import resource

    import keyring

    from tests.conftest import MemoryKeyring
    from tests.ui.scenes import answers_for, wizard_at

    keyring.set_keyring(MemoryKeyring())
    ca = trustme.CA(organization_name="smtpwizard benchmark CA")
    Path(ca_file + ".child").write_bytes(ca.cert_pem.bytes())
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)

    async def journey(port: int, config: Path) -> None:
        app = wizard_at("live_test", answers_for(port, ca_file + ".child", PASSWORD), config, stable=False)
        async with app.run_test(size=(100, 30)) as pilot:
            while app.last_report is None:  # the live test starts by itself on this step
                await pilot.pause(0.05)
                await app.workers.wait_for_complete()
            if not app.last_report.ok:
                raise SystemExit(f"the live test did not pass: {app.last_report.failure}")
            await pilot.press("enter")  # to the review
            await pilot.press("enter")  # Write
            await app.workers.wait_for_complete()
            await pilot.pause(0.2)

    with smtp_server(password=PASSWORD, starttls_context=context) as (server, _), tempfile.TemporaryDirectory() as tmp:
        asyncio.run(journey(server.port, Path(tmp) / "config.yaml"))
        if not (Path(tmp) / "config.yaml").exists():
            raise SystemExit("the journey did not write the config")
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


# ---------------------------------------------------------------------------------------

SECTIONS: dict[str, Callable[[Run], None]] = {
    "diagnosis": bench_diagnosis,
    "autodetect": bench_autodetect,
    "roundtrips": bench_roundtrips,
    "startup": bench_startup,
    "memory": bench_memory,
    "domain": bench_domain,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="cap the baselines at 5 s and repeat less")
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), help="run only these sections")
    parser.add_argument("--rtt-ms", type=float, default=40.0, help="round-trip time the proxy adds (default 40)")
    parser.add_argument("--child-full-tui", metavar="CA_FILE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_full_tui:
        child_full_tui(args.child_full_tui)
        return 0

    logging.getLogger("mail.log").setLevel(logging.CRITICAL)  # aiosmtpd's own chatter
    warnings.filterwarnings("ignore", module="aiosmtpd")
    ca = trustme.CA(organization_name="smtpwizard benchmark CA")
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_tls)
    with tempfile.TemporaryDirectory(prefix="smtpwizard-bench-") as tmp:
        ca_file = Path(tmp) / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        run = Run(
            quick=args.quick,
            cap_s=5.0 if args.quick else 65.0,
            repeats=2 if args.quick else 5,
            rtt_s=args.rtt_ms / 1000,
            ca=ca,
            ca_file=str(ca_file),
            server_tls=server_tls,
            tmp=Path(tmp),
        )
        print(f"smtpwizard benchmarks: Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, loopback only")
        for name in args.only or SECTIONS:
            SECTIONS[name](run)
    heading("Targets")
    for target in run.targets:
        print(f"  {'ok    ' if target.met else 'MISSED'}  {target.what}: {target.measured}")
    missed = sum(not t.met for t in run.targets)
    print(f"\n  {len(run.targets) - missed} of {len(run.targets)} targets met.")
    return 0 if missed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
