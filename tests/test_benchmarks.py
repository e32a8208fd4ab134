"""The benchmark script's own parts work (figures are not asserted: speed is measured by
running benchmarks/run.py, never by timed assertions in tests)."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

from smtpwizard.core.probe import run_probe
from smtpwizard.core.settings import Secret, SmtpSettings
from tests.conftest import TEST_SECRET
from tests.servers import USERNAME, scripted_server, smtp_server

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"
spec = importlib.util.spec_from_file_location("benchmarks_run", SCRIPT)
assert spec is not None and spec.loader is not None
bench = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = bench  # dataclasses look their module up
spec.loader.exec_module(bench)


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(4096):
        writer.write(data)
        await writer.drain()


async def test_delay_proxy_forwards_every_byte_in_order_both_ways() -> None:
    payload = os.urandom(200_000)
    with scripted_server(echo) as server, bench.delay_proxy(server.port, 0.01) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(payload)
        await writer.drain()
        received = await reader.readexactly(len(payload))
        writer.close()
    assert received == payload


async def test_a_live_test_passes_through_the_delay_proxy(good_tls: ssl.SSLContext, ca_file: str) -> None:
    with (
        smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, mailbox),
        bench.delay_proxy(server.port, 0.005) as port,
    ):
        settings = SmtpSettings(host="127.0.0.1", port=port, security="starttls", ca_file=ca_file, username=USERNAME)
        report = await run_probe(settings, Secret(TEST_SECRET))
    assert report.ok, report.failure
    assert mailbox.auth_attempts == [("PLAIN", USERNAME)]


def test_background_baselines_report_errors_and_attempts_that_outlive_the_cap() -> None:
    def fails() -> None:
        raise ConnectionResetError("boom")

    background = bench.Background()
    started = time.perf_counter()
    background.start(fails)
    background.start(lambda: time.sleep(5))
    failed, stuck = background.collect(0.3, started)
    assert failed.error == "ConnectionResetError" and failed.elapsed_s is not None
    assert stuck.error == "no answer" and stuck.elapsed_s is None


def test_the_script_runs_a_section_and_reports_its_targets() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--only", "roundtrips", "--rtt-ms", "5"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr  # 1 only means a target was missed on this machine
    assert "smtplib/ours" in done.stdout and "targets met." in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


async def test_the_dual_stack_baseline_is_the_old_one_address_after_another_connect() -> None:
    with smtp_server(password=TEST_SECRET, require_auth=False) as (server, _):
        dead = "::1" if bench.ipv6_loopback() else "127.0.0.2"
        settings = SmtpSettings(host=bench.DUAL_NAME, port=server.port, security="none", auth="none")
        with bench.resolving(bench.DUAL_NAME, [(dead, server.port), ("127.0.0.1", server.port)]):
            now = await run_probe(settings, None)
            with bench.patched(bench.probe_module._Probe, "connect", bench.sequential_connect):
                before = await run_probe(settings, None)
    connected = [r.stage(bench.Stage.CONNECT) for r in (now, before)]
    assert [r.detail if r else None for r in connected] == [
        f"127.0.0.1 port {server.port} (first to connect of 2 tried; {dead} port {server.port} refused the connection)",
        f"127.0.0.1 port {server.port}",
    ]
