"""A real authoritative DNS server (Knot DNS, Debian's ``knot``) on 127.0.0.1 serving test zones.

Zones are written from Python (so DKIM keys are real, fresh keys); one zone is left unloadable
so the server answers SERVFAIL for it. With ``timeout_zone``, one more zone is forwarded by Knot's
dnsproxy module to a socket that never answers, so queries for it time out; that server is a
separate one, because each Knot UDP worker has its own socket (SO_REUSEPORT) and a worker waiting
on the proxy drops the other queries the kernel hands it. Also a UDP proxy that adds a delay per
query, for the benchmark.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode
import pytest

Record = tuple[str, str, str]  # (relative name or @, type, value as in a zone file)
SERVFAIL_ZONE = "servfail.test"
TIMEOUT_ZONE = "slow.test"


def require_knot() -> str:
    """The knotd binary; fails under CI=true (.ci/run installs it), skips elsewhere."""
    path = shutil.which("knotd") or ("/usr/sbin/knotd" if Path("/usr/sbin/knotd").exists() else None)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide knotd (.ci/run installs the Debian package knot)")
        pytest.skip("needs knotd (apt-get install knot)")
    return path


def txt(value: str) -> str:
    """A TXT value as zone-file text: quoted, split into 255-byte strings."""
    chunks = [value[i : i + 250] for i in range(0, len(value), 250)] or [""]
    return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)


def zone_text(origin: str, records: list[Record]) -> str:
    lines = [
        f"$ORIGIN {origin}.",
        "$TTL 300",
        "@ SOA ns hostmaster 1 3600 600 86400 300",
        "@ NS ns",
        "ns A 127.0.0.1",
    ]
    for name, rtype, value in records:
        if rtype == "TXT-RAW":  # zone-file text as given, e.g. with \027 escapes
            lines.append(f"{name} TXT {value}")
        else:
            lines.append(f"{name} {rtype} {txt(value) if rtype == 'TXT' else value}")
    return "\n".join(lines) + "\n"


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 right now."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


@dataclass
class KnotServer:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@contextlib.contextmanager
def knot_server(workdir: Path, zones: dict[str, list[Record]], timeout_zone: bool = False) -> Iterator[KnotServer]:
    """Start knotd serving ``zones`` plus the SERVFAIL zone (and the timeout zone); stop it afterwards."""
    knotd = require_knot()
    zone_dir = workdir / "zones"
    zone_dir.mkdir(parents=True, exist_ok=True)
    for origin, records in zones.items():
        (zone_dir / f"{origin}.zone").write_text(zone_text(origin, records))
    (zone_dir / f"{SERVFAIL_ZONE}.zone").write_text(f"$ORIGIN {SERVFAIL_ZONE}.\n@ SOA broken\nnot a record !!\n")
    (zone_dir / f"{TIMEOUT_ZONE}.zone").write_text(zone_text(TIMEOUT_ZONE, []))
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # receives Knot's forwarded queries, never answers
    silent.bind(("127.0.0.1", 0))
    zone_list = "".join(f"  - domain: {origin}\n" for origin in [*zones, SERVFAIL_ZONE])
    if timeout_zone:
        zone_list += f"  - domain: {TIMEOUT_ZONE}\n    module: mod-dnsproxy/silent\n"
    server = None
    try:
        for attempt in range(3):  # the free port may be taken between our check and knotd's bind
            try:
                server = _start(knotd, workdir, zone_list, silent.getsockname()[1], next(iter(zones)))
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        assert server is not None
        yield server
    finally:
        if server is not None:
            _stop(server.process)
        silent.close()


def _start(knotd: str, workdir: Path, zone_list: str, silent_port: int, first_zone: str) -> KnotServer:
    port = free_port()
    (workdir / "knot.conf").write_text(
        f"""server:
    rundir: {workdir}
    listen: 127.0.0.1@{port}
log:
  - target: stderr
    any: warning
database:
    storage: {workdir}/db
remote:
  - id: silent
    address: 127.0.0.1@{silent_port}
mod-dnsproxy:
  - id: silent
    remote: silent
    timeout: 3000  # longer than any test's per-query timeout
    fallback: off
template:
  - id: default
    storage: {workdir / "zones"}
    file: "%s.zone"
    zonefile-sync: -1
    journal-content: none
    semantic-checks: off
zone:
{zone_list}"""
    )
    log = workdir / "knot.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen([knotd, "-c", str(workdir / "knot.conf")], stdout=log_file, stderr=log_file)
    server = KnotServer(port, process, log)
    try:
        _wait_ready(server, first_zone)
    except RuntimeError:
        _stop(process)
        raise
    return server


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_ready(server: KnotServer, zone: str) -> None:
    """Until knotd answers the first zone's SOA (it loads zones in the background)."""
    deadline = time.monotonic() + 20
    query = dns.message.make_query(zone, "SOA")
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"knotd exited: {server.log.read_text()}")
        with contextlib.suppress(OSError, dns.exception.Timeout):
            reply = dns.query.udp(query, "127.0.0.1", port=server.port, timeout=0.2)
            if reply.rcode() == dns.rcode.NOERROR and reply.answer:
                return
        time.sleep(0.05)
    raise RuntimeError(f"knotd did not answer for {zone}: {server.log.read_text()}")


@contextlib.contextmanager
def delay_proxy(target_port: int, delay_s: float) -> Iterator[int]:
    """A UDP proxy on 127.0.0.1 that holds each query ``delay_s`` before passing it on (a resolver
    far away); queries are delayed independently, as a real network would. Yields its port."""

    async def wait(_loop: asyncio.AbstractEventLoop, _data: bytes) -> bool:
        await asyncio.sleep(delay_s)
        return False

    with _udp_proxy(target_port, wait, lambda: None) as port:
        yield port


@contextlib.contextmanager
def _udp_proxy(
    target_port: int,
    wait: Callable[[asyncio.AbstractEventLoop, bytes], Awaitable[bool]],
    noted: Callable[[], None],
) -> Iterator[int]:
    """A UDP proxy on 127.0.0.1 in its own thread: each query first awaits ``wait``, then goes to
    ``target_port``; ``noted`` runs after the reply to a query whose ``wait`` returned True."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port: list[int] = []
    pending: set[asyncio.Task[None]] = set()

    class Proxy(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport: asyncio.DatagramTransport = transport  # type: ignore[assignment]

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            pending.add(task := loop.create_task(self.forward(data, addr)))
            task.add_done_callback(pending.discard)

        async def forward(self, data: bytes, addr: tuple[str, int]) -> None:
            note = await wait(loop, data)
            reply = await loop.run_in_executor(None, _relay, data, target_port)
            if reply is not None:
                self.transport.sendto(reply, addr)
                if note:
                    noted()

    async def start() -> None:
        transport, _ = await loop.create_datagram_endpoint(Proxy, local_addr=("127.0.0.1", 0))
        port.append(transport.get_extra_info("sockname")[1])
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    ready.wait()
    try:
        yield port[0]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)


def _relay(data: bytes, port: int) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(data, ("127.0.0.1", port))
        try:
            return sock.recv(65535)
        except OSError:
            return None


@dataclass
class HoldingProxy:
    """A UDP proxy in front of a DNS server that passes queries on at once, except those for
    names under ``held``, which wait until :meth:`release` (an answer that comes late, on cue)."""

    port: int
    held: str
    _release: threading.Event
    _relayed: threading.Event
    waiting: list[str]  # the held questions received so far

    def release(self) -> None:
        self._release.set()

    def wait_relayed(self, timeout_s: float = 10.0) -> bool:
        """Until a held question has been answered after the release."""
        return self._relayed.wait(timeout_s)


@contextlib.contextmanager
def holding_proxy(target_port: int, held: str) -> Iterator[HoldingProxy]:
    release, relayed = threading.Event(), threading.Event()
    waiting: list[str] = []

    async def wait(loop: asyncio.AbstractEventLoop, data: bytes) -> bool:
        with contextlib.suppress(dns.exception.DNSException):
            name = dns.message.from_wire(data).question[0].name.to_text().rstrip(".").lower()
            if name == held or name.endswith("." + held):
                waiting.append(name)
                await loop.run_in_executor(None, release.wait)
                return True
        return False

    with _udp_proxy(target_port, wait, relayed.set) as port:
        try:
            yield HoldingProxy(port, held, release, relayed, waiting)
        finally:
            release.set()  # before the proxy stops: no executor thread stays blocked
