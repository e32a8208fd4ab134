"""A resolver that stalls does not hold the exit (issue 11, item 8).

getaddrinfo is replaced, in a subprocess, by one that stalls for 25 s. The diagnosis comes at
the DNS timeout (5 s) and the process ends then; Ctrl+C ends it at once; `detect` too. The
bounds below are generous upper limits on a subprocess wait, far under the 25 s stall, not
timings of the work itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smtpwizard.core.exit_codes import ExitCode

STALL_S = 25
BOUND_S = 15  # the resolve timeout is 5 s; the old behaviour took the whole stall

STALLING = """
import socket, sys, time
from pathlib import Path

real = socket.getaddrinfo
marker = Path(sys.argv[1])

def stalling(host, *args, **kwargs):
    if str(host).endswith("stall.example"):
        marker.touch()  # tells the test the resolver is now stuck
        time.sleep(STALL_S)
    return real(host, *args, **kwargs)

socket.getaddrinfo = stalling
sys.argv = ["smtpwizard", *sys.argv[2:]]
from smtpwizard.cli import main_entry
main_entry()
""".replace("STALL_S", str(STALL_S))


def start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    script = tmp_path / "stalling.py"
    script.write_text(STALLING)
    marker = tmp_path / "resolving"
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    process = subprocess.Popen(
        [sys.executable, str(script), str(marker), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    return process, marker


def input_file(tmp_path: Path) -> Path:
    source = tmp_path / "input.yaml"
    source.write_text(
        "version: 1\nsmtp:\n  host: smtp.stall.example\n  port: 587\n  security: starttls\n"
        "sender:\n  address: app@example.com\n"
    )
    return source


def finish(process: subprocess.Popen[bytes]) -> tuple[int, str, float]:
    started = time.monotonic()
    try:
        out, err = process.communicate(timeout=STALL_S + 20)
    finally:
        process.kill()
    return process.returncode, (out + err).decode(), time.monotonic() - started


@pytest.mark.parametrize("command", ["apply", "detect"])
def test_the_process_ends_at_the_dns_timeout_not_when_the_resolver_returns(command: str, tmp_path: Path) -> None:
    args = (
        ["apply", str(input_file(tmp_path)), "--yes", "--config", str(tmp_path / "c.yaml")]
        if command == "apply"
        else ["detect", "smtp.stall.example", "--candidate", "587/starttls", "--candidate", "465/tls"]
    )
    process, marker = start(tmp_path, *args)
    code, output, waited = finish(process)
    assert marker.exists()  # the stall really happened
    assert code == ExitCode.UNAVAILABLE, output
    assert "Traceback" not in output
    if command == "apply":
        assert "The server's name could not be found" in output
    assert waited < BOUND_S, f"the exit waited {waited:.1f} s for the stalled resolver"


def test_ctrl_c_during_a_stalled_lookup_ends_the_process_at_once(tmp_path: Path) -> None:
    process, marker = start(tmp_path, "apply", str(input_file(tmp_path)), "--yes", "--config", str(tmp_path / "c.yaml"))
    deadline = time.monotonic() + 30
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the lookup never started"
    process.send_signal(signal.SIGINT)
    code, output, waited = finish(process)
    assert code == ExitCode.INTERRUPTED, output
    assert "Traceback" not in output
    assert waited < BOUND_S - 5, f"Ctrl+C waited {waited:.1f} s for the stalled resolver"
    assert not (tmp_path / "c.yaml").exists()
