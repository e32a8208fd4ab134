"""Happy Eyeballs (RFC 8305) in the connect stage, on real loopback sockets.

Only the name's resolution is stubbed (at the getaddrinfo boundary): this machine's
``localhost`` resolves to IPv4 only, so a name that yields ``::1`` then ``127.0.0.1`` is made
up here. A filtered address is a listening socket whose accept queue is full (SYNs dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smtpwizard.core.probe import ProbeOptions, Stage, StageResult, interleave_families, run_probe
from smtpwizard.core.settings import SmtpSettings
from tests.conftest import TEST_SECRET
from tests.servers import smtp_server

NAME = "dual-stack.test"


def ipv6_loopback_works() -> bool:
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET6) as probe:
        probe.bind(("::1", 0))
        return True
    return False


# Without an IPv6 loopback the dead first address is a second IPv4 one (only the family test needs ::1).
DEAD = "::1" if ipv6_loopback_works() else "127.0.0.2"


def info(address: str, port: int) -> tuple[Any, ...]:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
    return (family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)


@pytest.fixture
def resolves(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
    """NAME resolves to what the test puts in the dict; every other name as usual."""
    answers: dict[str, list[tuple[Any, ...]]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        if host in answers:
            return list(answers[host])
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield answers


@contextlib.contextmanager
def filtered(address: str, port: int = 0) -> Iterator[int]:
    """A listening socket on ``address`` whose accept queue is full: further SYNs are dropped."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.bind((address, port))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket(family, socket.SOCK_STREAM)
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect((address, port))
            fillers.append(filler)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def half_open(port: int) -> int:
    """This machine's TCP sockets still waiting for an answer (SYN_SENT) to ``port``."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[2].endswith(f":{port:04X}") and fields[3] == "02":
                count += 1
    return count


def settings(port: int, security: str = "none") -> SmtpSettings:
    return SmtpSettings(host=NAME, port=port, security=security, auth="none")  # type: ignore[arg-type]


def connect_stage(report: Any) -> StageResult:
    result = report.stage(Stage.CONNECT)
    assert result is not None
    return result


def test_the_families_alternate_starting_with_the_first_address_family() -> None:
    given = [info("::1", 1), info("::2", 1), info("::3", 1), info("127.0.0.1", 1), info("127.0.0.2", 1)]
    ordered = [i[4][0] for i in interleave_families(given)]
    assert ordered == ["::1", "127.0.0.1", "::2", "127.0.0.2", "::3"]
    assert [i[4][0] for i in interleave_families([info("127.0.0.1", 1), info("::1", 1)])] == ["127.0.0.1", "::1"]


async def test_a_filtered_ipv6_address_loses_to_a_working_ipv4_one_and_is_closed(
    resolves: dict[str, list[tuple[Any, ...]]],
) -> None:
    with filtered(DEAD) as port, smtp_server(password=TEST_SECRET, require_auth=False, port=port) as (_server, _):
        resolves[NAME] = [info(DEAD, port), info("127.0.0.1", port)]
        before = half_open(port)
        report = await run_probe(settings(port), None)
        after = half_open(port)
    assert report.ok, report.failure
    assert report.address == "127.0.0.1"
    detail = connect_stage(report).detail
    assert detail.startswith(f"127.0.0.1 port {port} (first to connect of 2 tried; {DEAD}: no answer within ")
    assert detail.endswith("ms, abandoned)")
    assert after == before  # the abandoned attempt to the dead address was closed, not left knocking


async def test_a_refused_first_address_hands_over_and_is_named(resolves: dict[str, list[tuple[Any, ...]]]) -> None:
    with smtp_server(password=TEST_SECRET, require_auth=False) as (server, _):
        resolves[NAME] = [info(DEAD, server.port), info("127.0.0.1", server.port)]  # nothing listens on DEAD
        report = await run_probe(settings(server.port), None)
    assert report.ok, report.failure
    assert report.address == "127.0.0.1"
    assert connect_stage(report).detail == (
        f"127.0.0.1 port {server.port} (first to connect of 2 tried; {DEAD} port {server.port} refused the connection)"
    )


@pytest.mark.skipif(not ipv6_loopback_works(), reason="no IPv6 loopback (::1) on this machine")
async def test_the_families_are_interleaved_so_the_other_family_is_tried_second(
    resolves: dict[str, list[tuple[Any, ...]]],
) -> None:
    with (
        filtered("127.0.0.2") as port,
        filtered("127.0.0.3", port),
        socket.create_server(("::1", port), family=socket.AF_INET6, backlog=8),  # accepts, never greets
    ):
        # listed IPv4, IPv4, IPv6: tried 127.0.0.2, then ::1, which answers before 127.0.0.3's turn
        resolves[NAME] = [info("127.0.0.2", port), info("127.0.0.3", port), info("::1", port)]
        report = await run_probe(settings(port), None, options=ProbeOptions(banner_timeout_s=0.2))
    result = connect_stage(report)
    assert result.status == "ok" and report.address == "::1"
    assert result.detail.startswith(f"::1 port {port} (first to connect of 2 tried; 127.0.0.2: no answer within ")
    assert "127.0.0.3" not in result.detail


async def test_every_address_failing_names_each_one(resolves: dict[str, list[tuple[Any, ...]]]) -> None:
    with filtered(DEAD) as port:
        pass  # a port just freed: nothing listens on it on either family
    resolves[NAME] = [info(DEAD, port), info("127.0.0.1", port)]
    report = await run_probe(settings(port), None)
    assert report.failure is not None and report.failure.kind == "refused"
    assert report.failure.message == (
        f"{DEAD} port {port} refused the connection; 127.0.0.1 port {port} refused the connection"
    )


async def test_cancelling_during_the_race_closes_every_attempt(resolves: dict[str, list[tuple[Any, ...]]]) -> None:
    with filtered(DEAD) as port, filtered("127.0.0.1", port):
        resolves[NAME] = [info(DEAD, port), info("127.0.0.1", port)]
        before = half_open(port)
        both_started = asyncio.Event()

        def on_stage(result: StageResult) -> None:
            if result.stage == Stage.CONNECT:
                asyncio.get_running_loop().call_later(0.4, both_started.set)  # past the 250 ms step

        task = asyncio.create_task(run_probe(settings(port), None, on_stage=on_stage))
        await both_started.wait()
        racing = half_open(port)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)
        after = half_open(port)
    assert racing == before + 2  # both families were being tried at once
    assert after == before
