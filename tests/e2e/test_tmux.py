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
from tests.servers import USERNAME, smtp_server


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
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")


def test_newcomer_walks_the_wizard_to_a_verified_config(
    tmp_path: Path, secret_service: dict[str, str], good_tls: ssl.SSLContext, ca_file: str
) -> None:
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide tmux (.ci/run installs it)")
        pytest.skip("needs tmux")
    exe = Path(sys.executable).parent / "smtpwizard"
    assert exe.exists(), "install the package first: pip install -e '.[test]'"
    config = tmp_path / "wizard" / "config.yaml"
    launcher = tmp_path / "launch.sh"
    env_lines = "".join(
        f"export {k}={shlex.quote(v)}\n"
        for k, v in secret_service.items()
        if k.startswith(("DBUS_", "XDG_", "HOME", "PATH", "LANG", "LC_"))
    )
    launcher.write_text(f"{env_lines}export TERM=xterm-256color\nexec {exe} --config {config}\n")
    tmux = Tmux(tmp_path / "tmux.sock")

    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, mailbox):
        tmux.run("new-session", "-d", "-s", "wiz", "-x", "100", "-y", "30", f"bash {launcher}")
        try:
            started = time.monotonic()
            tmux.wait_for("Which app is the mail for?")
            first_screen_s = time.monotonic() - started
            tmux.keys("Enter")  # "Just SMTP" is highlighted
            tmux.wait_for("Who sends your mail?")
            tmux.type("custom")
            tmux.keys("Enter", "Enter")
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
            tmux.wait_for("I understand")
            tmux.keys("Space", "Enter")
            screen = tmux.wait_for("The test passed")
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
    lookup = subprocess.run(
        [sys.executable, "-c", "import keyring,sys; print(keyring.get_password('smtpwizard', sys.argv[1]), end='')",
         doc["smtp"]["password"]["keyring"]["account"]],
        env=secret_service, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert lookup.stdout == TEST_SECRET
