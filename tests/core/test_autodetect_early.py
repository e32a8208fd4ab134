"""detect's early verdict: a port still silent (no TCP handshake) well past the round trip another
port of the same host showed is judged "probably blocked", the answer is given then, and the
normal timeouts go on to confirm or correct it. Real loopback sockets; a filtered port is a
listening socket whose accept queue is full."""

from __future__ import annotations

import contextlib
import io
import json
import re
import socket
import threading
from collections.abc import Iterator

from smtpwizard.cli import main
from smtpwizard.core.autodetect import EARLY_MIN_S, Candidate, Detection, detect
from smtpwizard.core.probe import ProbeOptions
from tests.conftest import TEST_SECRET
from tests.servers import filtered_port, smtp_server

# the connect timeout must outlast the early bound (at least EARLY_MIN_S) for the verdict to be early
OPTIONS = ProbeOptions(connect_timeout_s=EARLY_MIN_S + 1.0, banner_timeout_s=1.0)


class Gate:
    """A filtered port (accept queue full) that can be opened later: the blocked port changes its mind."""

    def __init__(self) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.fillers: list[socket.socket] = []
        for _ in range(4):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", self.port))
            self.fillers.append(filler)

    def open(self, greet: bool) -> None:
        """Make room in the queue; with ``greet``, speak just enough SMTP to pass a test without login."""
        for filler in self.fillers:
            filler.close()
        self.listener.listen(16)
        if greet:
            threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.listener.settimeout(10)
        while True:
            with contextlib.suppress(OSError):
                conn, _ = self.listener.accept()
                with conn, conn.makefile("rwb", buffering=0) as wire:
                    wire.write(b"220 late.test ESMTP\r\n")
                    if wire.readline().upper().startswith(b"EHLO"):
                        wire.write(b"250 late.test\r\n")
                        wire.readline()  # QUIT
                        return
                continue
            return

    def close(self) -> None:
        for filler in self.fillers:
            filler.close()
        self.listener.close()


@contextlib.contextmanager
def gate() -> Iterator[Gate]:
    g = Gate()
    try:
        yield g
    finally:
        g.close()


async def test_a_filtered_preferred_port_is_judged_probably_blocked_early_then_confirmed() -> None:
    early: list[Detection] = []
    with smtp_server(password=TEST_SECRET, require_auth=False) as (server, _), filtered_port() as blocked:
        candidates = [Candidate(blocked, "starttls"), Candidate(server.port, "none")]
        found = await detect("127.0.0.1", candidates, options=OPTIONS, on_early=early.append)
    [first] = early
    assert first.best == Candidate(server.port, "none")
    assert first.early is not None and first.early.confirmed is None
    assert first.early.blocked == (Candidate(blocked, "starttls"),)
    bound = f"{first.early.bound_s:.1f} s"  # max(1 s, 20 x the handshake): 1 s unless the machine stalls
    statuses = {r.candidate: (r.status, r.summary()) for r in first.results}
    assert statuses[Candidate(blocked, "starttls")] == (
        "probably blocked",
        f"probably blocked: no TCP handshake within {bound}; still confirming",
    )
    assert re.fullmatch(
        rf"early verdict after \d+\.\d s: port {blocked} gave no TCP handshake within {bound} "
        rf"while port {server.port} of the same host completed one in \d+\.\d ms "
        rf"\(bound: max\(1 s, 20 x that round trip\)\)",
        first.early.reason(),
    )
    # the confirmation: the same answer, the blocked port failed on its own timeout
    assert found.best == first.best
    assert found.early is not None and found.early.confirmed is True
    assert found.early.outcome() == f"Early verdict confirmed: port {blocked} gave no answer until its timeout"
    final = {r.candidate: r for r in found.results}[Candidate(blocked, "starttls")]
    assert final.status == "fails" and final.report and final.report.failure
    assert final.report.failure.kind == "connect_timeout"


async def test_no_early_verdict_when_the_preferred_port_answers() -> None:
    early: list[Detection] = []
    with smtp_server(password=TEST_SECRET, require_auth=False) as (server, _), filtered_port() as blocked:
        candidates = [Candidate(server.port, "none"), Candidate(blocked, "starttls")]
        found = await detect("127.0.0.1", candidates, options=OPTIONS, on_early=early.append)
    assert early == [] and found.early is None
    assert found.best == Candidate(server.port, "none")


async def test_no_early_verdict_before_any_port_of_the_host_completed_a_handshake() -> None:
    early: list[Detection] = []
    with filtered_port() as one, filtered_port() as two:
        found = await detect(
            "127.0.0.1", [Candidate(one, "starttls"), Candidate(two, "tls")], options=OPTIONS, on_early=early.append
        )
    assert early == [] and found.early is None and found.best is None


async def test_a_blocked_port_that_answers_after_all_replaces_the_early_answer_and_says_so() -> None:
    early: list[Detection] = []
    with smtp_server(password=TEST_SECRET, require_auth=False) as (server, _), gate() as late:

        def opened(detection: Detection) -> None:
            early.append(detection)
            late.open(greet=True)

        candidates = [Candidate(late.port, "none"), Candidate(server.port, "none")]
        # the blocked port's SYN is retried by the kernel about 1 s and 3 s in: the timeout waits for it
        found = await detect(
            "127.0.0.1", candidates, options=ProbeOptions(connect_timeout_s=5.0), on_early=opened, timeout_s=8
        )
    assert [d.best for d in early] == [Candidate(server.port, "none")]
    assert found.best == Candidate(late.port, "none")
    assert found.early is not None and found.early.confirmed is False
    assert found.early.outcome() == (
        f"The early verdict was wrong: port {late.port} answered after all; it is the better choice"
    )


async def test_a_blocked_port_that_connects_later_but_fails_is_named_as_not_blocked() -> None:
    with smtp_server(password=TEST_SECRET, require_auth=False) as (server, _), gate() as late:
        candidates = [Candidate(late.port, "none"), Candidate(server.port, "none")]
        found = await detect(
            "127.0.0.1",
            candidates,
            options=ProbeOptions(connect_timeout_s=5.0, banner_timeout_s=0.3),
            on_early=lambda _d: late.open(greet=False),  # accepted by the kernel, never greeted
            timeout_s=8,
        )
    assert found.best == Candidate(server.port, "none")
    assert found.early is not None and found.early.confirmed is False
    assert found.early.outcome() == (
        f"The early verdict was wrong: port {late.port} was not blocked (it connected later), but it failed: "
        "connected, but the server sent no greeting within 0.3 s"
    )


def test_detect_command_shows_the_early_answer_then_the_confirmation() -> None:
    with smtp_server(password=TEST_SECRET, require_auth=False) as (server, _), filtered_port() as blocked:
        out = io.StringIO()
        code = main(["detect", "127.0.0.1", "--candidate", f"{blocked}/starttls", "--candidate", f"{server.port}/none"],
                    out=out, err=io.StringIO())  # fmt: skip
        data = io.StringIO()
        json_code = main(
            ["detect", "127.0.0.1", "--candidate", f"{blocked}/starttls", "--candidate", f"{server.port}/none",
             "--json"],
            out=data, err=io.StringIO(),
        )  # fmt: skip
    text = out.getvalue()
    assert code == 0 and json_code == 0
    early_part, _, final_part = text.partition("Confirming until the normal timeouts run out")
    assert re.search(r"^Early answer after \d+\.\d s:$", early_part, re.M)
    assert re.search(rf"\? +{blocked} STARTTLS +probably blocked: no TCP handshake within \d+\.\d s; still", early_part)
    assert f"Best: port {server.port}, security: none (early verdict)" in early_part
    assert re.search(rf"Why early: early verdict after \d+\.\d s: port {blocked} gave no TCP handshake", early_part)
    assert f"Best: port {server.port}, security: none (" in final_part
    assert f"Early verdict confirmed: port {blocked} gave no answer until its timeout." in final_part
    report = json.loads(data.getvalue())
    assert report["best"] == {"port": server.port, "security": "none"}
    assert report["early"]["confirmed"] is True
    assert report["early"]["probably_blocked"] == [{"port": blocked, "security": "starttls"}]
    assert report["early"]["reason"].startswith("early verdict after ")
