"""The test password never appears anywhere it should not: outputs of every command, logs,
transcripts, exceptions, --json, exports without --reveal-secret, screenshots, argv, the
process listing, or any written file. No flag takes a password."""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import logging
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from smtpwizard.cli import build_parser, main
from smtpwizard.core.exit_codes import ExitCode
from tests.conftest import TEST_SECRET, MemoryKeyring
from tests.hardening.hostile import misbehaving, raw_server
from tests.servers import USERNAME, smtp_server

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_PASSWORD = "screenshot-password"


def forms(secret: str) -> list[str]:
    """The secret and the encodings it would take on the wire or in a file."""
    raw = [secret, f"\0{USERNAME}\0{secret}", f"{USERNAME}\0{secret}"]
    return [secret] + [base64.b64encode(r.encode()).decode() for r in raw]


def assert_no_secret(text: str, where: str) -> None:
    for form in forms(TEST_SECRET):
        assert form not in text, f"the secret leaked into {where}"


def walk(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    actions = list(parser._actions)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                actions += walk(sub)
    return actions


def test_no_command_line_flag_takes_a_password() -> None:
    risky = ("pass", "secret", "token", "key", "credential", "auth")
    for action in walk(build_parser()):
        names = " ".join(action.option_strings).lower()
        if any(word in names for word in risky):
            assert action.nargs == 0, f"{action.option_strings} takes a value"  # e.g. --reveal-secret: a switch


def test_every_command_output_log_and_file_is_free_of_the_secret(
    tmp_path: Path,
    good_tls: ssl.SSLContext,
    ca_file: str,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, at its most talkative
    monkeypatch.setenv("SMTP_PASSWORD", TEST_SECRET)
    config = tmp_path / "conf" / "config.yaml"
    env_file = tmp_path / "app.env"
    env_file.write_text("# the app's own settings\nSECRET_KEY_BASE=unrelated\n")
    outputs: dict[str, str] = {}
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, _):
        source = tmp_path / "input.yaml"
        source.write_text(
            f"version: 1\ntarget: mastodon\nsmtp:\n  host: 127.0.0.1\n  port: {server.port}\n  security: starttls\n"
            f"  ca_file: {ca_file}\n  username: {USERNAME}\n  password: {{env: SMTP_PASSWORD}}\n"
            "sender:\n  address: app@example.com\n"
        )
        commands = {
            "apply -v": [
                "apply",
                str(source),
                "--config",
                str(config),
                "--yes",
                "-v",
                "--send-test-to",
                "a@example.com",
            ],
            "apply --json": ["apply", str(source), "--config", str(config), "--yes", "--json"],
            "test -v": ["test", "--config", str(config), "-v"],
            "test --json": ["test", "--config", str(config), "--json"],
            "export": ["export", "--config", str(config), "--target", "mastodon"],
            "export json": ["export", "--config", str(config), "--target", "mattermost", "--format", "json"],
            "export --write-into": [
                "export",
                "--config",
                str(config),
                "--target",
                "mastodon",
                "--write-into",
                str(env_file),
            ],
            "providers": ["providers", "--json"],
            "detect": ["detect", "127.0.0.1", "--candidate", f"{server.port}/starttls", "--ca-file", ca_file, "--json"],
        }
        for name, args in commands.items():
            out, err = io.StringIO(), io.StringIO()
            code = main(args, out=out, err=err)
            assert code == ExitCode.OK, (name, out.getvalue() + err.getvalue())
            outputs[name] = out.getvalue() + err.getvalue()
        revealed = io.StringIO()
        reveal = ["export", "--config", str(config), "--target", "mattermost", "--format", "json", "--reveal-secret"]
        assert main(reveal, out=revealed, err=io.StringIO()) == ExitCode.OK
        out, err = io.StringIO(), io.StringIO()
        assert main(["forget", "--config", str(config)], out=out, err=err) == ExitCode.OK
        outputs["forget"] = out.getvalue() + err.getvalue()
    assert json.loads(revealed.getvalue())["EmailSettings"]["SMTPPassword"] == TEST_SECRET  # asked for explicitly
    for name, text in outputs.items():
        assert_no_secret(text, name)
    assert_no_secret("\n".join(r.getMessage() for r in caplog.records), "the logs")
    for path in [*config.parent.iterdir(), env_file]:
        assert_no_secret(path.read_bytes().decode("utf-8", "replace"), str(path))


async def test_a_server_that_echoes_the_login_back_does_not_get_it_into_any_output(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str
) -> None:
    """A hostile server quotes the AUTH line (and the password) in its error reply."""
    from smtpwizard.core.diagnose import diagnose
    from smtpwizard.core.probe import run_probe
    from smtpwizard.core.settings import Secret, SmtpSettings

    async def echo_auth(reader: object, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mx.echo\r\n")
        while line := await reader.readline():  # type: ignore[attr-defined]
            text = line.decode().strip()
            if text.upper().startswith("EHLO"):
                writer.write(b"250-mx.echo\r\n250 AUTH PLAIN LOGIN\r\n")
            elif text.upper().startswith("AUTH"):
                plain = base64.b64decode(text.split()[-1]).decode(errors="replace")
                writer.write(f"535-you sent {text}\r\n535 which is {plain!r} and {TEST_SECRET}\r\n".encode())
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()

    with raw_server(echo_auth) as (server, _):  # type: ignore[arg-type]
        s = SmtpSettings(
            host="127.0.0.1", port=server.port, security="none", username=USERNAME, allow_insecure_auth=True
        )
        report = await run_probe(s, Secret(TEST_SECRET))
    assert report.failure is not None and report.failure.kind == "auth_rejected"
    diagnosis = diagnose(report, s)
    everything = repr(report) + str(report.to_dict()) + repr(diagnosis) + "\n".join(report.transcript)
    assert_no_secret(everything, "the report of an echoing server")


def test_the_password_is_not_in_argv_or_the_environment_of_a_running_apply(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, secret_service: dict[str, str]
) -> None:
    """While a real apply waits on the server, read its process entry as `ps` would."""
    with misbehaving("auth", "stall", good_tls, TEST_SECRET) as (server, wire):
        source = tmp_path / "input.yaml"
        source.write_text(
            f"version: 1\nsmtp:\n  host: 127.0.0.1\n  port: {server.port}\n  security: starttls\n"
            f"  ca_file: {ca_file}\n  username: {USERNAME}\n  password: {{stdin: true}}\n"
            "sender:\n  address: app@example.com\n"
        )
        exe = Path(sys.executable).parent / "smtpwizard"
        run = subprocess.Popen(
            [str(exe), "apply", str(source), "--config", str(tmp_path / "c.yaml"), "--yes"],
            env=secret_service,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert run.stdin is not None
        run.stdin.write(TEST_SECRET.encode() + b"\n")
        run.stdin.close()
        try:
            assert wire.stalled.wait(20), "the apply never reached AUTH"
            proc = Path("/proc") / str(run.pid)
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            environ = (proc / "environ").read_bytes().decode(errors="replace")
            listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        finally:
            run.kill()
            out, err = (run.stdout.read() if run.stdout else b""), (run.stderr.read() if run.stderr else b"")
            run.wait(20)
    assert_no_secret(cmdline, "argv")
    assert_no_secret(environ, "the environment")
    assert_no_secret(listing, "the process listing")
    assert_no_secret((out + err).decode(errors="replace"), "the output")


def test_screenshots_and_snapshots_show_no_password() -> None:
    pictures = [*ROOT.joinpath("screenshots").glob("*.svg"), *ROOT.joinpath("tests/ui/__snapshots__").rglob("*.svg")]
    assert len(pictures) >= 20
    for picture in pictures:
        text = picture.read_text(encoding="utf-8")
        for fragment in ("not-a-comment", "7f3a91", SCREENSHOT_PASSWORD, *forms(SCREENSHOT_PASSWORD)[1:]):
            assert fragment not in text, f"{picture.name} shows a password"


def test_written_files_are_private_whatever_the_umask(
    tmp_path: Path,
    good_tls: ssl.SSLContext,
    ca_file: str,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", TEST_SECRET)
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, _):
        for umask in (0o000, 0o002, 0o022, 0o077):
            folder = tmp_path / f"umask-{umask:03o}" / "smtpwizard"
            source = tmp_path / "input.yaml"
            source.write_text(
                f"version: 1\nsmtp:\n  host: 127.0.0.1\n  port: {server.port}\n  ca_file: {ca_file}\n"
                f"  username: {USERNAME}\n  password: {{env: SMTP_PASSWORD}}\nsender:\n  address: app@example.com\n"
            )
            old = os.umask(umask)
            try:
                for _ in range(2):  # the second run also writes the backup
                    code = main(["apply", str(source), "--config", str(folder / "config.yaml"), "--yes", "-q"])
                    assert code == ExitCode.OK
            finally:
                os.umask(old)
            assert oct(folder.stat().st_mode & 0o777) == oct(0o700)
            for path in folder.iterdir():
                assert oct(path.stat().st_mode & 0o777) == oct(0o600), path.name
