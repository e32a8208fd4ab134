"""A keyring call that blocks (a Secret Service waiting for an unlock prompt) neither hangs
smtpwizard nor swallows Ctrl+C (issue 11, item 6): headless it is a one-line error and exit
78 after the timeout, and Ctrl+C exits 130 at once with nothing written; the TUI exits at
once on Ctrl+C without waiting for the keyring thread. The blocking backend is a stub set
with PYTHON_KEYRING_BACKEND (tests/hardening/stub_keyring.py)."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smtpwizard.core.exit_codes import ExitCode
from tests.conftest import TEST_SECRET
from tests.e2e.test_tmux import Tmux
from tests.hardening.stub_keyring import entries, seed

ROOT = Path(__file__).resolve().parents[2]
EXISTING = "# the config that works today\nversion: 1\n"
INPUT = (
    "version: 1\nprofile: stuck\nsmtp:\n  host: 127.0.0.1\n  port: 2525\n  security: starttls\n"
    "  username: app\n  password: {password}\nsender:\n  address: app@example.com\n"
)
ACCOUNT = "stuck/app@127.0.0.1:2525"


def stub_env(tmp_path: Path, block: str, timeout_s: float) -> dict[str, str]:
    """The environment of a run whose keyring blocks on the call ``block`` (e.g. 'get')."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHON_KEYRING_BACKEND": "tests.hardening.stub_keyring.BlockingKeyring",
        "STUB_KEYRING_FILE": str(tmp_path / "keyring.json"),
        "STUB_KEYRING_BLOCK": block,
        "SMTPWIZARD_KEYRING_TIMEOUT": str(timeout_s),
    }


def start_apply(
    tmp_path: Path, env: dict[str, str], password: str = "{stdin: true}"
) -> tuple[subprocess.Popen[str], Path]:
    source = tmp_path / "input.yaml"
    source.write_text(INPUT.format(password=password))
    config = tmp_path / "conf" / "config.yaml"
    config.parent.mkdir(mode=0o700)
    config.write_text(EXISTING)
    exe = Path(sys.executable).parent / "smtpwizard"
    run = subprocess.Popen(
        [str(exe), "apply", str(source), "--config", str(config), "--yes", "--skip-test"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert run.stdin is not None
    run.stdin.write(TEST_SECRET + "\n")
    run.stdin.close()
    return run, config


def wait_blocked(tmp_path: Path, run: subprocess.Popen[str] | None = None) -> None:
    marker = tmp_path / "keyring.json.blocked"
    for _ in range(400):
        if marker.exists() or (run is not None and run.poll() is not None):
            break
        time.sleep(0.05)
    assert marker.exists(), "the keyring call never started"


def finish(run: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        code = run.wait(timeout=20)
    except subprocess.TimeoutExpired:
        run.kill()
        run.wait()
        pytest.fail("smtpwizard kept waiting for the keyring")
    assert run.stdout is not None and run.stderr is not None
    return code, run.stdout.read(), run.stderr.read()


def assert_nothing_written(config: Path, tmp_path: Path) -> None:
    assert config.read_text() == EXISTING
    assert sorted(p.name for p in config.parent.iterdir()) == [".config.yaml.lock", "config.yaml"] or sorted(
        p.name for p in config.parent.iterdir()
    ) == ["config.yaml"]
    assert ("smtpwizard", ACCOUNT) not in entries(tmp_path / "keyring.json")


def test_a_keyring_that_never_answers_is_a_one_line_error_after_the_timeout(tmp_path: Path) -> None:
    run, config = start_apply(tmp_path, stub_env(tmp_path, "get", 2))
    code, out, err = finish(run)
    assert code == ExitCode.CONFIG, out + err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("smtpwizard: error: keyring: no answer within 2 s"), lines
    assert "unlock" in lines[0] and "SMTPWIZARD_KEYRING_TIMEOUT" in lines[0]
    assert TEST_SECRET not in out + err
    assert_nothing_written(config, tmp_path)


@pytest.mark.parametrize("where", ["storing", "reading_the_input"])
def test_ctrl_c_while_the_keyring_blocks_exits_at_once_with_nothing_written(where: str, tmp_path: Path) -> None:
    """Storing: the blocked call is in the save, off the event loop. Reading the input: a
    {keyring: ...} source is read before any network work, on the main thread."""
    env = stub_env(tmp_path, "get", 600)
    password = "{stdin: true}"
    if where == "reading_the_input":
        seed(tmp_path / "keyring.json", "smtpwizard", ACCOUNT, TEST_SECRET)
        password = f"{{keyring: {{account: '{ACCOUNT}'}}}}"
    run, config = start_apply(tmp_path, env, password)
    wait_blocked(tmp_path, run)
    run.send_signal(signal.SIGINT)
    code, out, err = finish(run)
    assert code == ExitCode.INTERRUPTED, out + err
    assert "interrupted" in err and "Traceback" not in out + err and TEST_SECRET not in out + err
    assert config.read_text() == EXISTING
    stored = entries(tmp_path / "keyring.json")
    if where == "storing":
        assert ("smtpwizard", ACCOUNT) not in stored and not any(a.startswith("stuck/") for _s, a in stored)
    else:
        assert stored == {("smtpwizard", ACCOUNT): TEST_SECRET}


def test_ctrl_c_in_the_tui_does_not_wait_for_a_blocked_keyring_thread(tmp_path: Path) -> None:
    """Under tmux: the wizard opens an existing config and tests it; the password read blocks;
    Ctrl+C ends the process at once (exit 130), although the keyring thread never returns."""
    config = tmp_path / "conf" / "config.yaml"
    config.parent.mkdir(mode=0o700)
    config.write_text(
        "version: 1\nprofile: stuck\nsmtp:\n  host: 127.0.0.1\n  port: 2525\n  security: starttls\n"
        f"  username: app\n  password: {{keyring: {{account: '{ACCOUNT}'}}}}\n"
        "sender:\n  address: app@example.com\n"
    )
    seed(tmp_path / "keyring.json", "smtpwizard", ACCOUNT, TEST_SECRET)
    tmux = wizard_in_tmux(tmp_path, stub_env(tmp_path, "get", 600), config, tmp_path / "pid")
    try:
        tmux.wait_for("Test")  # the live test step is drawn
        tmux.keys("r")  # test (again): reads the password, unless that read is already blocked
        wait_blocked(tmp_path)
        tmux.keys("C-c")
        screen = tmux.wait_for("EXIT=")
        assert "EXIT=130" in screen, screen
    finally:
        tmux.stop()


class TmuxPane(Tmux):
    """The e2e tests' tmux driver, plus starting a session and reading the pane's modes."""

    def start(self, command: str) -> None:
        self.run("new-session", "-d", "-s", "wiz", "-x", "100", "-y", "30", command)

    def flag(self, name: str) -> str:
        return self.run("display-message", "-p", "-t", "wiz", f"#{{{name}}}").strip()

    def stop(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True, timeout=30)


def wizard_in_tmux(tmp_path: Path, env: dict[str, str], config: Path, pidfile: Path) -> TmuxPane:
    """The installed wizard in a tmux pane with the stub keyring of ``env``; the pane prints
    EXIT=<code> when it ends, and ``pidfile`` gets its process id."""
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide tmux (.ci/run installs it)")
        pytest.skip("needs tmux")
    names = (
        "PYTHONPATH",
        "PYTHON_KEYRING_BACKEND",
        "STUB_KEYRING_FILE",
        "STUB_KEYRING_BLOCK",
        "SMTPWIZARD_KEYRING_TIMEOUT",
    )
    exports = "".join(f"export {k}={shlex.quote(env[k])}\n" for k in names)
    exe = Path(sys.executable).parent / "smtpwizard"
    launcher = tmp_path / "launch.sh"
    launcher.write_text(
        f"{exports}export TERM=xterm-256color\n"
        f"sh -c 'echo $$ > {pidfile}; exec {exe} --config {config}'\necho EXIT=$?\nsleep 600\n"
    )
    tmux = TmuxPane(tmp_path / "tmux.sock")
    tmux.start(f"sh {launcher}")
    return tmux
