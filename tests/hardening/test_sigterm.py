"""SIGTERM is handled like Ctrl+C (issue 11, item 12): the work stops with the same rollback
(a keyring entry written for a config that was not written is restored to its previous
value), exit 143; in the TUI the terminal is given back (alternate screen left, mouse
reporting off)."""

from __future__ import annotations

import os
import signal
import ssl
from pathlib import Path

import pytest

from smtpwizard.core.exit_codes import ExitCode
from smtpwizard.core.settings import keyring_account
from tests.cli.test_headless_subprocess import keyring_lookup
from tests.conftest import TEST_SECRET
from tests.hardening.hostile import misbehaving
from tests.hardening.stub_keyring import entries, seed
from tests.hardening.test_interruption import EXISTING, WAITING_STAGES, headless
from tests.hardening.test_stuck_keyring import finish, start_apply, stub_env, wait_blocked, wizard_in_tmux
from tests.servers import USERNAME

YESTERDAY = "the password of yesterday"


def assert_terminated(code: int, out: str, err: str, config: Path) -> None:
    assert code == ExitCode.TERMINATED, out + err
    assert "terminated" in err and "nothing was written" in err
    assert "Traceback" not in out + err and TEST_SECRET not in out + err
    assert config.read_text() == EXISTING
    assert not list(config.parent.glob("*.bak")) and not list(config.parent.glob(".*.tmp"))


@pytest.mark.parametrize("stage", WAITING_STAGES)
def test_sigterm_headless_at_each_stage_of_the_test(
    stage: str, tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, secret_service: dict[str, str]
) -> None:
    with misbehaving(stage, "stall", good_tls, TEST_SECRET) as (server, wire):
        run, config = headless(tmp_path, server.port, ca_file, secret_service)
        assert wire.stalled.wait(20), "the run never reached the stage"
        run.send_signal(signal.SIGTERM)
        assert_terminated(*finish(run), config)
        assert wire.closed.wait(5), "the connection was left open"
    account = keyring_account("ctrlc", USERNAME, "127.0.0.1", server.port, str(config))
    assert keyring_lookup(secret_service, account) is None


@pytest.mark.parametrize(
    ("blocked", "moment"),
    [
        ("get#1", "reading the entry it will replace"),
        ("set#1", "storing the new password"),
        ("get#2", "after the new password was stored, before the config was written"),
    ],
)
def test_sigterm_while_saving_rolls_the_keyring_back(blocked: str, moment: str, tmp_path: Path) -> None:
    """The keyring call named by ``blocked`` never returns; SIGTERM arrives meanwhile. At
    'get#2' the new password is already in the keyring: it must be put back as it was."""
    config = tmp_path / "conf" / "config.yaml"
    account = keyring_account("stuck", "app", "127.0.0.1", 2525, str(config))
    seed(tmp_path / "keyring.json", "smtpwizard", account, YESTERDAY)
    run, config = start_apply(tmp_path, stub_env(tmp_path, blocked, 600))
    wait_blocked(tmp_path, run)
    run.send_signal(signal.SIGTERM)
    assert_terminated(*finish(run), config)
    assert entries(tmp_path / "keyring.json") == {("smtpwizard", account): YESTERDAY}, moment


def test_sigterm_in_the_tui_gives_the_terminal_back(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "config.yaml"
    pidfile = tmp_path / "pid"
    tmux = wizard_in_tmux(tmp_path, stub_env(tmp_path, "", 20), config, pidfile)
    try:
        tmux.wait_for("Continue")  # the first step is drawn
        assert tmux.flag("alternate_on") == "1" and tmux.flag("mouse_any_flag") == "1"
        os.kill(int(pidfile.read_text()), signal.SIGTERM)
        screen = tmux.wait_for("EXIT=")
        assert "EXIT=143" in screen, screen
        assert tmux.flag("alternate_on") == "0", "still in the alternate screen"
        assert tmux.flag("mouse_any_flag") == "0" and tmux.flag("mouse_sgr_flag") == "0", "mouse reporting left on"
    finally:
        tmux.stop()
    assert not config.exists()
