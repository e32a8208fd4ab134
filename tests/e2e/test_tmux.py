"""A newcomer's run of the installed `smtpwizard` command in tmux: typed with send-keys, read
with capture-pane, against a real STARTTLS server and a real Secret Service. The password is
pasted from a tmux buffer fed on stdin, so it is never in any process's argv."""

from __future__ import annotations

import os
import shlex
import shutil
import ssl
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import TEST_SECRET
from tests.servers import USERNAME, scripted_server, silent, smtp_server


class Tmux:
    def __init__(self, socket: Path) -> None:
        self.base = ["tmux", "-S", str(socket), "-f", "/dev/null"]

    def run(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run([*self.base, *args], input=stdin, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.run("send-keys", "-t", "wiz", key)
            time.sleep(0.15)

    def type(self, text: str) -> None:
        self.run("send-keys", "-t", "wiz", "-l", text)
        time.sleep(0.2)

    def paste_secret(self, secret: str) -> None:
        self.run("load-buffer", "-b", "secret", "-", stdin=secret)
        self.run("paste-buffer", "-b", "secret", "-d", "-p", "-t", "wiz")
        time.sleep(0.3)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "wiz")

    def wait_for(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                time.sleep(0.3)  # drawn is not yet focused: let the screen's on_mount run before keys
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")


def require_tmux() -> Path:
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide tmux (.ci/run installs it)")
        pytest.skip("needs tmux")
    exe = Path(sys.executable).parent / "smtpwizard"
    assert exe.exists(), "install the package first: pip install -e '.[test]'"
    return exe


def session_env(secret_service: dict[str, str]) -> dict[str, str]:
    """The real Secret Service's environment, plus this worktree's package first on the path."""
    env = {k: v for k, v in secret_service.items() if k.startswith(("DBUS_", "XDG_", "HOME", "PATH", "LANG", "LC_"))}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def launcher(tmp_path: Path, env: dict[str, str], command: str) -> Path:
    """A script that runs ``command`` in tmux with ``env`` and records its exit code."""
    script = tmp_path / "launch.sh"
    lines = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
    script.write_text(f"{lines}export TERM=xterm-256color\n{command}\necho $? > {tmp_path / 'rc'}\n")
    return script


def smtpwizard(env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "smtpwizard"
    return subprocess.run(
        [str(exe), *args], env={**os.environ, **env}, input=stdin, capture_output=True, text=True, timeout=60
    )


def keyring_lookup(env: dict[str, str], account: str) -> str:
    code = "import keyring,sys; print(keyring.get_password('smtpwizard', sys.argv[1]), end='')"
    done = subprocess.run(
        [sys.executable, "-c", code, account], env={**os.environ, **env}, capture_output=True, text=True, timeout=30
    )
    return done.stdout


def exit_code(tmp_path: Path) -> int:
    deadline = time.monotonic() + 10
    rc = tmp_path / "rc"
    while not rc.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return int(rc.read_text())


def test_newcomer_walks_the_wizard_to_a_verified_config(
    tmp_path: Path, secret_service: dict[str, str], good_tls: ssl.SSLContext, ca_file: str
) -> None:
    exe = require_tmux()
    config = tmp_path / "wizard" / "config.yaml"
    script = launcher(tmp_path, session_env(secret_service), f"exec {exe} --config {config}")
    tmux = Tmux(tmp_path / "tmux.sock")

    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, mailbox):
        tmux.run("new-session", "-d", "-s", "wiz", "-x", "100", "-y", "30", f"bash {script}")
        try:
            started = time.monotonic()
            tmux.wait_for("Which app is the mail for?")
            first_screen_s = time.monotonic() - started
            tmux.keys("Enter")  # "Just SMTP" is highlighted
            tmux.wait_for("Who sends your mail?")
            tmux.type("custom")
            tmux.keys("Enter")
            tmux.wait_for("Where to connect")
            tmux.type("127.0.0.1")
            tmux.keys("Tab", "C-u")
            tmux.type(str(server.port))
            tmux.keys("Tab", "Tab", "Tab", "Tab")  # security, Detect, verify, CA file
            tmux.type(ca_file)
            tmux.keys("Enter")
            tmux.wait_for("keyring.backends.SecretService.Keyring")
            tmux.type(USERNAME)
            tmux.keys("Tab")
            tmux.paste_secret(TEST_SECRET)
            assert TEST_SECRET not in tmux.screen()  # masked
            tmux.keys("Enter")
            tmux.wait_for("Who the app's mail comes from")
            tmux.type("app@example.com")
            tmux.keys("Tab", "Tab", "Tab")
            tmux.type("admin@example.com")
            tmux.keys("Enter")
            tmux.wait_for("Read what these settings")
            tmux.keys("Space", "Enter")
            screen = tmux.wait_for("The test passed", timeout=60)  # a live test on a loaded machine
            assert "Log in (AUTH)" in screen and "PLAIN accepted" in screen
            tmux.keys("Enter")
            tmux.wait_for("Will write")
            tmux.keys("Enter")
            screen = tmux.wait_for("Wrote")
            assert "Password stored in the OS keyring" in screen
            tmux.keys("q")
            time.sleep(0.5)
        finally:
            subprocess.run([*tmux.base, "kill-server"], capture_output=True, timeout=30)  # gone if the app quit

    assert first_screen_s < 10
    doc = yaml.safe_load(config.read_text())
    assert doc["smtp"]["port"] == server.port and doc["verified"]["status"] == "passed"
    assert doc["verified"]["test_message_to"] == "admin@example.com"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert TEST_SECRET not in config.read_text()
    assert len(mailbox.messages) == 1 and mailbox.messages[0].rcpt_tos == ["admin@example.com"]
    assert keyring_lookup(secret_service, doc["smtp"]["password"]["keyring"]["account"]) == TEST_SECRET


def test_edit_mode_round_trip_keeps_the_config_and_the_keyring_entry(
    tmp_path: Path, secret_service: dict[str, str], good_tls: ssl.SSLContext, ca_file: str
) -> None:
    exe = require_tmux()
    env = session_env(secret_service)
    config = tmp_path / "config.yaml"
    source = tmp_path / "input.yaml"
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, mailbox):
        source.write_text(
            "version: 1\ntarget: gitlab\nprovider: custom\n"
            f"smtp:\n  host: 127.0.0.1\n  port: {server.port}\n  security: starttls\n  ca_file: {ca_file}\n"
            f"  auth: login\n  username: {USERNAME}\n  password: {{stdin: true}}\n  timeout_s: 120\n"
            "sender:\n  address: app@example.com\n  name: Mattermost\n  reply_to: help@example.com\n"
        )
        applied = smtpwizard(env, "--from-yaml", str(source), "--yes", "--config", str(config), stdin=TEST_SECRET)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        before = yaml.safe_load(config.read_text())
        account = before["smtp"]["password"]["keyring"]["account"]
        mailbox.auth_attempts.clear()

        tmux = Tmux(tmp_path / "tmux.sock")
        script = launcher(tmp_path, env, f"{exe} --config {config}")
        tmux.run("new-session", "-d", "-s", "wiz", "-x", "100", "-y", "30", f"bash {script}")
        try:
            screen = tmux.wait_for("Password:  kept from the keyring")  # the summary, waiting for "Test now"
            assert "Test now" in screen and "Could not read" not in screen
            time.sleep(0.5)
            assert mailbox.auth_attempts == []  # opening tests nothing
            tmux.keys("Escape", "Escape")
            tmux.wait_for("Who the app's mail comes from")
            tmux.keys("Tab", "C-u")  # Display name
            tmux.type("Chat server")
            tmux.keys("Enter")
            tmux.wait_for("Read what these settings")
            tmux.keys("Enter")
            screen = tmux.wait_for("The test passed", timeout=60)  # a live test on a loaded machine
            assert "No message was sent" in screen
            tmux.keys("Enter")
            screen = tmux.wait_for("Will write")
            tmux.keys("Enter")
            tmux.wait_for("Wrote")
            tmux.keys("q")
            assert exit_code(tmp_path) == 0
        finally:
            subprocess.run([*tmux.base, "kill-server"], capture_output=True, timeout=30)

        after = yaml.safe_load(config.read_text())
        assert after["smtp"] == before["smtp"]  # keyring reference, auth: login, timeout_s: 120
        assert after["sender"] == {"address": "app@example.com", "name": "Chat server", "reply_to": "help@example.com"}
        assert [mechanism for mechanism, _ in mailbox.auth_attempts] == ["LOGIN"]
        assert keyring_lookup(env, account) == TEST_SECRET
        retest = smtpwizard(env, "test", "--config", str(config))
        assert retest.returncode == 0, retest.stdout + retest.stderr
        assert mailbox.messages == []

        (tmp_path / "rc").unlink()
        tmux.run("new-session", "-d", "-s", "wiz", "-x", "100", "-y", "30", f"bash {script}")
        try:
            screen = tmux.wait_for("Sender:    Chat server")
            assert "Could not read" not in screen
            tmux.keys("C-q")  # nothing changed: quits at once
            assert exit_code(tmp_path) == 0
        finally:
            subprocess.run([*tmux.base, "kill-server"], capture_output=True, timeout=30)


def test_provider_switch_port_typing_and_cancel(tmp_path: Path, secret_service: dict[str, str]) -> None:
    exe = require_tmux()
    env = session_env(secret_service)
    config = tmp_path / "config.yaml"
    tmux = Tmux(tmp_path / "tmux.sock")
    script = launcher(tmp_path, env, f"{exe} --config {config}")
    with scripted_server(silent) as server:
        tmux.run("new-session", "-d", "-s", "wiz", "-x", "100", "-y", "30", f"bash {script}")
        try:
            tmux.wait_for("Which app is the mail for?")
            tmux.keys("Enter")
            tmux.wait_for("Who sends your mail?")
            tmux.type("sendgrid")
            tmux.keys("Enter")
            tmux.wait_for("smtp.sendgrid.net")
            tmux.keys("Enter")
            tmux.wait_for("keyring.backends.SecretService.Keyring")
            assert "apikey" in tmux.screen()
            tmux.keys("Tab")
            tmux.paste_secret("SG.not-for-the-relay")
            tmux.keys("Escape", "Escape")
            tmux.wait_for("Who sends your mail?")
            tmux.type("local relay")
            tmux.keys("Enter")
            tmux.wait_for("Where to connect")
            tmux.keys("Tab", "C-u")  # the port field
            tmux.type("2526")
            screen = " ".join(tmux.screen().split())
            assert "Port 2526 has no usual security mode" in screen  # the hint says why while typing
            tmux.keys("Tab")
            screen = tmux.wait_for("no encryption")
            tmux.keys("BTab", "C-u")
            tmux.type(str(server.port))
            tmux.keys("Enter")
            screen = tmux.wait_for("keyring.backends.SecretService.Keyring")
            assert "cleared the username and password you gave for SendGrid" in " ".join(screen.split())
            assert "apikey" not in screen and "SG.not" not in screen
            tmux.keys("Enter")
            tmux.wait_for("Who the app's mail comes from")
            tmux.type("app@example.com")
            tmux.keys("Enter")
            tmux.wait_for("Read what these settings")
            tmux.keys("Space", "Enter")
            tmux.wait_for("Server greeting")
            tmux.keys("c")
            tmux.wait_for("cancelled; the connection was closed")
            time.sleep(0.5)  # the footer follows a frame later
            first = tmux.screen()
            assert "Test cancelled" in first
            time.sleep(0.6)  # six spinner frames
            assert tmux.screen() == first
            tmux.keys("C-q")
            tmux.wait_for("Quit smtpwizard?")
            tmux.keys("y")
            assert exit_code(tmp_path) == 130
        finally:
            subprocess.run([*tmux.base, "kill-server"], capture_output=True, timeout=30)
    assert not config.exists()
