"""One output contract: -q prints nothing on success and one line (what failed and the fix)
on stderr whatever fails; --json prints its report; text prints everything."""

from __future__ import annotations

import io
import json
import ssl
from pathlib import Path

import pytest

from smtpwizard.cli import main
from smtpwizard.core.exit_codes import ExitCode
from tests.cli.test_headless import write_input
from tests.conftest import TEST_SECRET, MemoryKeyring, using_keyring
from tests.servers import filtered_port, smtp_server


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("smtpwizard: error: "), err
    return lines[0]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring, config_home: Path) -> MemoryKeyring:
    monkeypatch.setenv("SMTP_PASSWORD", TEST_SECRET)
    return memory_keyring


def test_quiet_prints_nothing_when_apply_and_test_pass_even_with_warnings(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, env: MemoryKeyring
) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (srv, _):
        source = write_input(tmp_path, srv.port, ca_file, extra="  timeout_s: 20\n")
        source.write_text(
            source.read_text().replace("{env: SMTP_PASSWORD}", json.dumps(TEST_SECRET))
        )  # warned in text mode
        assert "warning: " in run("apply", str(source), "--yes", "--dry-run")[2]
        assert run("-q", "apply", str(source), "--yes") == (0, "", "")
        assert run("-q", "test") == (0, "", "")
        assert run("test", "--quiet") == (0, "", "")


def test_quiet_failed_test_prints_the_diagnosis_title_and_fix_on_one_line(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, env: MemoryKeyring, config_home: Path
) -> None:
    with smtp_server(password="a-different-password", starttls_context=good_tls) as (srv, _):
        source = write_input(tmp_path, srv.port, ca_file)
        code, out, err = run("apply", str(source), "--yes", "-q")
        _, json_out, json_err = run("apply", str(source), "--yes", "--json")
    assert code == ExitCode.NO_PERMISSION and out == ""
    line = one_error_line(err)
    diagnosis = json.loads(json_out)["diagnosis"]
    assert line == f"smtpwizard: error: {diagnosis['title']}. Fix: {diagnosis['fix']}"
    assert "The server refused the username or password. Fix: Check the username" in line
    assert json_err == "" and json.loads(json_out)["exit_code"] == code  # --json as before: the report only
    assert TEST_SECRET not in out + err + json_out


def test_quiet_retest_of_a_blocked_port_prints_one_line(
    tmp_path: Path, ca_file: str, env: MemoryKeyring, config_home: Path
) -> None:
    with filtered_port() as blocked:
        source = write_input(tmp_path, blocked, ca_file, extra="  timeout_s: 2\n")
        assert run("apply", str(source), "--yes", "--skip-test")[0] == 0
        code, out, err = run("-q", "test")
    assert code in (ExitCode.UNAVAILABLE, ExitCode.TEMP_FAIL) and out == ""
    assert ". Fix: " in one_error_line(err)


def test_quiet_config_and_input_errors_print_one_line(tmp_path: Path, env: MemoryKeyring, config_home: Path) -> None:
    missing = tmp_path / "nope.yaml"
    code, out, err = run("-q", "test", "--config", str(missing))
    assert code == ExitCode.NO_INPUT and out == "" and str(missing) in one_error_line(err)
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nsmtp:\n  host: mail.example.com\n  port: 99999\n")
    code, out, err = run("apply", str(bad), "--yes", "-q")
    assert code == ExitCode.DATA_ERROR and out == "" and "smtp.port" in one_error_line(err)
    code, out, err = run("--config", str(bad), "test", "--quiet")
    assert code == ExitCode.DATA_ERROR and out == "" and "smtp.port" in one_error_line(err)


def test_quiet_keyring_errors_print_one_line(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, env: MemoryKeyring
) -> None:
    from keyring.backends import fail

    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (srv, _):
        source = write_input(tmp_path, srv.port, ca_file)
        with using_keyring(fail.Keyring()):
            code, out, err = run("-q", "apply", str(source), "--yes")
        assert code == ExitCode.CONFIG and out == "" and "keyring" in one_error_line(err)
        assert run("-q", "apply", str(source), "--yes")[0] == 0
        env.entries.clear()  # the password disappeared from the keyring
        code, out, err = run("-q", "test")
    assert code == ExitCode.CONFIG and out == "" and "no password stored" in one_error_line(err)


def test_quiet_unacknowledged_consequences_and_write_failures_print_one_line(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, env: MemoryKeyring
) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (srv, mailbox):
        source = write_input(tmp_path, srv.port, ca_file, target="forem")
        code, out, err = run("-q", "apply", str(source))
        assert code == ExitCode.CONFIG and out == "" and "consequences not acknowledged" in one_error_line(err)
        assert mailbox.auth_attempts == []
        blocker = tmp_path / "a-file"
        blocker.write_text("")
        plain = write_input(tmp_path, srv.port, ca_file)  # no target: only the write can fail
        code, out, err = run("-q", "apply", str(plain), "--yes", "--config", str(blocker / "config.yaml"))
    assert code == ExitCode.CANT_CREATE and out == "" and str(blocker) in one_error_line(err)


def test_every_mode_has_one_rule_for_each_kind_of_output() -> None:
    from smtpwizard.cli import PRINTS

    assert PRINTS["quiet"] == {"summary", "error"}
    assert PRINTS["json"] == {"report", "error"}
    assert "summary" not in PRINTS["text"] and "progress" in PRINTS["text"]  # text shows the full diagnosis
    assert PRINTS["verbose"] == PRINTS["text"] | {"transcript"}


def test_an_internal_error_exits_70_with_one_line_and_no_message_text(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import smtpwizard.cli as cli

    def broken(*args: object) -> int:
        raise ValueError(TEST_SECRET)

    monkeypatch.setattr(cli, "cmd_providers", broken)
    for flags in ([], ["-q"], ["--json"]):
        code, out, err = run(*flags, "providers")
        assert code == ExitCode.SOFTWARE
        if flags == ["--json"]:
            assert json.loads(out) == {"ok": False, "exit_code": 70, "error": one_error_line(err)[19:]}
        else:
            assert out == ""
        assert one_error_line(err).startswith("smtpwizard: error: internal error (ValueError at test_quiet.py:")
        assert TEST_SECRET not in err


def test_quiet_usage_errors_are_one_line_too(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["-q", "test", "--bogus"], ["detect", "--port", "x", "--quiet"]):
        with pytest.raises(SystemExit) as done:
            main(argv, out=io.StringIO(), err=io.StringIO())
        captured = capsys.readouterr()
        assert done.value.code == ExitCode.USAGE and captured.out == ""
        one_error_line(captured.err)
    with pytest.raises(SystemExit):
        main(["test", "--bogus"], out=io.StringIO(), err=io.StringIO())
    assert capsys.readouterr().err.startswith("usage: smtpwizard")  # without -q, the usage as before
