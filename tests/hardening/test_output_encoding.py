"""Odd bytes from the server and a stdout that refuses them (issue 11, item 5).

A greeting with one byte that is not UTF-8 (``220 mx.t\\xe9st``), shown on a strict UTF-8
stdout, under C.UTF-8 and under a strict ASCII stdout: the test passes, the byte is shown
escaped, --json is valid UTF-8 JSON, and an output that cannot be written is reported as a
local failure (exit 74), never as the server's fault and never after a silent write."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from smtpwizard.cli import main
from smtpwizard.core.exit_codes import ExitCode
from smtpwizard.core.probe import StageResult, run_probe
from smtpwizard.core.settings import Sender, SmtpSettings
from tests.hardening.hostile import raw_server

GREETING = b"220 mx.t\xe9st ESMTP ready\r\n"


async def latin1_greeting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A working plaintext relay whose greeting holds one ISO-8859-1 byte."""
    writer.write(GREETING)
    while line := await reader.readline():
        verb = line.split(b" ", 1)[0].strip().upper()
        writer.write(
            {b"EHLO": b"250-mx.t\xe9st\r\n250 SIZE 1000\r\n", b"QUIT": b"221 bye\r\n"}.get(verb, b"250 OK\r\n")
        )
        await writer.drain()
        if verb == b"QUIT":
            return


def write_input(path: Path, port: int) -> Path:
    source = path / "input.yaml"
    source.write_text(
        f"version: 1\nsmtp:\n  host: 127.0.0.1\n  port: {port}\n  security: none\n"
        "sender:\n  address: app@example.com\n  name: Ünïcode Sender\n"
    )
    return source


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[bytes]:
    environment = {
        **os.environ,
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",  # nothing here may touch a keyring
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "smtpwizard", *args], env=environment, capture_output=True, timeout=60, check=False
    )


ENCODINGS = {
    "strict-utf8": {"PYTHONIOENCODING": "utf-8:strict", "LC_ALL": "C.UTF-8"},
    "c-utf8": {"LC_ALL": "C.UTF-8"},
    "strict-ascii": {"PYTHONIOENCODING": "ascii:strict", "LC_ALL": "C.UTF-8"},
}


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_a_non_utf8_greeting_passes_and_is_shown_escaped(encoding: str, tmp_path: Path) -> None:
    with raw_server(latin1_greeting) as (server, _):
        source = write_input(tmp_path, server.port)
        text = run(
            ["apply", str(source), "--yes", "--config", str(tmp_path / "a.yaml")], tmp_path, **ENCODINGS[encoding]
        )
        as_json = run(
            ["apply", str(source), "--yes", "--json", "--config", str(tmp_path / "b.yaml")],
            tmp_path,
            **ENCODINGS[encoding],
        )
        retest = run(["test", "--config", str(tmp_path / "b.yaml")], tmp_path, **ENCODINGS[encoding])
    assert text.returncode == 0, text.stdout + text.stderr
    shown = text.stdout.decode("utf-8")  # strict: raises on any byte that is not UTF-8
    assert "mx.t\\xe9st" in shown and "Traceback" not in shown + text.stderr.decode()
    assert as_json.returncode == 0, as_json.stdout + as_json.stderr
    report = json.loads(as_json.stdout.decode("utf-8"))
    assert report["ok"] and report["report"]["banner"] == "mx.t\\xe9st ESMTP ready"
    written = yaml.safe_load((tmp_path / "b.yaml").read_text(encoding="utf-8"))
    assert written["verified"]["server_banner"] == "mx.t\\xe9st ESMTP ready"
    assert retest.returncode == 0, retest.stdout + retest.stderr  # what was written reads back


async def test_a_stage_callback_that_raises_is_never_turned_into_a_server_diagnosis() -> None:
    def refuse(result: StageResult) -> None:
        if result.status == "ok" and result.stage.value == "banner":
            "mx.t\udce9st".encode()  # what a strict stdout does with the raw byte

    with raw_server(latin1_greeting) as (server, _):
        s = SmtpSettings("127.0.0.1", server.port, security="none")
        with pytest.raises(UnicodeEncodeError):
            await run_probe(s, None, sender=Sender("app@example.com"), on_stage=refuse)


class FailingOutput(io.StringIO):
    """A stdout that breaks once the live test has begun (a closed pipe, a full disk)."""

    def write(self, text: str) -> int:
        if "Server greeting" in text:
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(text)


def test_an_output_failure_during_the_test_is_local_and_nothing_is_written(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    with raw_server(latin1_greeting) as (server, _):
        source = write_input(tmp_path, server.port)
        err = io.StringIO()
        code = main(["apply", str(source), "--yes", "--config", str(config)], out=FailingOutput(), err=err)
    assert code == ExitCode.IO_ERROR, err.getvalue()
    assert "output: cannot write" in err.getvalue()
    assert "SMTP protocol" not in err.getvalue()
    assert not config.exists()
