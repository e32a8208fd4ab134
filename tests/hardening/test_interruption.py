"""Ctrl+C at each stage of the live test, headless and in the TUI: the connection is closed,
nothing is written or stored, and the exit code is 130."""

from __future__ import annotations

import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smtpwizard.core.exit_codes import ExitCode
from smtpwizard.core.settings import keyring_account
from tests.cli.test_headless_subprocess import keyring_lookup
from tests.conftest import TEST_SECRET, MemoryKeyring
from tests.hardening.hostile import STAGES, misbehaving
from tests.servers import USERNAME, filtered_port
from tests.ui.scenes import answers_for, wizard_at

# Every stage the test can be waiting in when the user presses Ctrl+C ("quit" is not waited on).
WAITING_STAGES = [stage for stage in STAGES if stage != "quit"]
EXISTING = "# the config that works today\nversion: 1\n"


def headless(tmp_path: Path, port: int, ca_file: str, env: dict[str, str]) -> tuple[subprocess.Popen[str], Path]:
    source = tmp_path / "input.yaml"
    source.write_text(
        f"version: 1\nprofile: ctrlc\nsmtp:\n  host: 127.0.0.1\n  port: {port}\n  security: starttls\n"
        f"  ca_file: {ca_file}\n  username: {USERNAME}\n  password: {{stdin: true}}\n  timeout_s: 60\n"
        "sender:\n  address: app@example.com\n"
    )
    config = tmp_path / "conf" / "config.yaml"
    config.parent.mkdir()
    config.write_text(EXISTING)
    exe = Path(sys.executable).parent / "smtpwizard"
    args = [str(exe), "apply", str(source), "--config", str(config), "--yes", "--send-test-to", "admin@example.com"]
    run = subprocess.Popen(
        args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert run.stdin is not None
    run.stdin.write(TEST_SECRET + "\n")
    run.stdin.close()
    return run, config


def assert_interrupted(run: subprocess.Popen[str], config: Path) -> None:
    out = run.stdout.read() if run.stdout else ""
    err = run.stderr.read() if run.stderr else ""
    assert run.wait(20) == ExitCode.INTERRUPTED, out + err
    assert "interrupted" in err and "nothing was written" in err
    assert "Traceback" not in out + err and TEST_SECRET not in out + err
    assert config.read_text() == EXISTING
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.yaml"]  # no temp, no backup, no lock left open


@pytest.mark.parametrize("stage", WAITING_STAGES)
def test_ctrl_c_headless_at_each_stage(
    stage: str, tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, secret_service: dict[str, str]
) -> None:
    with misbehaving(stage, "stall", good_tls, TEST_SECRET) as (server, wire):
        run, config = headless(tmp_path, server.port, ca_file, secret_service)
        assert wire.stalled.wait(20), "the run never reached the stage"
        run.send_signal(signal.SIGINT)
        assert_interrupted(run, config)
        assert wire.closed.wait(5), "the connection was left open"
    assert (
        keyring_lookup(secret_service, keyring_account("ctrlc", USERNAME, "127.0.0.1", server.port, str(config)))
        is None
    )


def test_ctrl_c_headless_while_connecting(tmp_path: Path, ca_file: str, secret_service: dict[str, str]) -> None:
    with filtered_port() as port:
        run, config = headless(tmp_path, port, ca_file, secret_service)
        time.sleep(1.0)  # inside the 3 s connect timeout
        run.send_signal(signal.SIGINT)
        assert_interrupted(run, config)


@pytest.mark.parametrize("stage", WAITING_STAGES)
async def test_ctrl_c_in_the_tui_live_test_at_each_stage(
    stage: str, tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    config = tmp_path / "config.yaml"
    with misbehaving(stage, "stall", good_tls, TEST_SECRET) as (server, wire):
        app = wizard_at("live_test", answers_for(server.port, ca_file, TEST_SECRET), config)
        async with app.run_test(size=(100, 30)) as pilot:
            for _ in range(200):
                if wire.stalled.is_set():
                    break
                await pilot.pause(0.05)
            assert wire.stalled.is_set(), "the test never reached the stage"
            await pilot.press("ctrl+c")
            await pilot.pause()
        assert app.return_code == ExitCode.INTERRUPTED
        assert wire.closed.wait(5), "the connection was left open"
    assert not config.exists() and list(tmp_path.iterdir()) == []
    assert memory_keyring.entries == {}
