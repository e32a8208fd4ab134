"""Bad headless input: one line naming the field, the problem and the fix; a documented
non-zero exit; the existing config and keyring entry untouched."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from smtpwizard.cli import main
from smtpwizard.core.exit_codes import ExitCode
from tests.conftest import TEST_SECRET, MemoryKeyring

GOOD_SMTP = "  host: smtp.example.com\n  port: 587\n  username: me@example.com\n  password: {env: SMTP_PASSWORD}\n"
SENDER = "sender:\n  address: app@example.com\n"


def doc(smtp: str = GOOD_SMTP, sender: str = SENDER, top: str = "") -> str:
    return f"version: 1\n{top}smtp:\n{smtp}{sender}"


D, M, C = ExitCode.DATA_ERROR, ExitCode.NO_INPUT, ExitCode.CONFIG

CASES: list[tuple[str, str | bytes, ExitCode, str]] = [
    ("not_yaml", "smtp: [unclosed\n", D, "is not valid YAML at line"),
    ("empty_file", "", D, "input.yaml: is empty; start from a file in examples/"),
    ("top_is_list", "- a\n- b\n", D, "expected a mapping"),
    ("unknown_top_key", "version: 1\nsmpt: {}\n", D, "smpt: unknown key; did you mean 'smtp'?"),
    ("unknown_smtp_key", doc(GOOD_SMTP + "  hots: x\n"), D, "smtp.hots: unknown key; did you mean 'host'?"),
    ("missing_smtp", "version: 1\n" + SENDER, D, "smtp: is missing"),
    ("missing_host", doc("  port: 587\n"), D, "smtp.host: is missing"),
    ("host_is_url", doc(GOOD_SMTP.replace("smtp.example.com", "smtps://smtp.example.com")), D, "smtp.host: 'smtps://smtp.example.com' is a URL"),
    ("host_with_port", doc(GOOD_SMTP.replace("smtp.example.com", "smtp.example.com:587")), D, "smtp.host: 'smtp.example.com:587' contains a port"),
    ("host_bad_chars", doc(GOOD_SMTP.replace("smtp.example.com", "smtp_ex!.com")), D, "smtp.host: 'smtp_ex!.com' is not a valid host name"),
    ("missing_port", doc("  host: smtp.example.com\n"), D, "smtp.port: is missing"),
    ("port_text", doc(GOOD_SMTP.replace("587", "abc")), D, "smtp.port: 'abc' is not a whole number"),
    ("port_zero", doc(GOOD_SMTP.replace("587", "0")), D, "smtp.port: 0 is out of range"),
    ("port_too_big", doc(GOOD_SMTP.replace("587", "70000")), D, "smtp.port: 70000 is out of range"),
    ("port_bool", doc(GOOD_SMTP.replace("587", "true")), D, "smtp.port: True is not a whole number"),
    ("security_unknown", doc(GOOD_SMTP + "  security: ssl/tls\n"), D, "smtp.security: 'ssl/tls' is not allowed"),
    ("auth_unknown", doc(GOOD_SMTP + "  auth: oauth\n"), D, "smtp.auth: 'oauth' is not allowed"),
    ("verify_is_text", doc(GOOD_SMTP + "  verify_certificate: 'no'\n"), D, "smtp.verify_certificate: is text, expected true or false"),
    ("timeout_too_small", doc(GOOD_SMTP + "  timeout_s: 0.1\n"), D, "smtp.timeout_s: 0.1 is out of range"),
    ("timeout_text", doc(GOOD_SMTP + "  timeout_s: fast\n"), D, "smtp.timeout_s: 'fast' is not a number"),
    ("sender_missing", doc(sender=""), D, "sender.address: is missing"),
    ("sender_bad", doc(sender="sender:\n  address: app.example.com\n"), D, "sender.address: 'app.example.com' is not an email address"),
    ("sender_display_name", doc(sender="sender:\n  address: App <app@example.com>\n"), D, "includes a display name"),
    ("reply_to_bad", doc(sender=SENDER + "  reply_to: 'a b@example.com'\n"), D, "sender.reply_to: 'a b@example.com' has an invalid part"),
    ("provider_typo", doc(top="provider: sendgird\n"), D, "provider: 'sendgird' is not a known provider; did you mean 'sendgrid'?"),
    ("target_unknown", doc(top="target: wordpress\n"), D, "target: 'wordpress' is not allowed"),
    ("version_3", doc().replace("version: 1", "version: 3"), D, "version: 3 is not supported"),
    ("profile_path", doc(top="profile: ../etc\n"), D, "profile: '../etc' is not a valid profile name"),
    ("two_password_sources", doc(GOOD_SMTP.replace("{env: SMTP_PASSWORD}", "{env: A, file: /b}")), D, "smtp.password: names more than one source"),
    ("stdin_false", doc(GOOD_SMTP.replace("{env: SMTP_PASSWORD}", "{stdin: false}")), D, "smtp.password.stdin: must be true"),
    ("password_missing", doc(GOOD_SMTP.replace("  password: {env: SMTP_PASSWORD}\n", "")), D, "smtp.password: is missing while a username is set"),
    ("plaintext_with_password", doc(GOOD_SMTP + "  security: none\n"), D, "smtp.security: 'none' would send the password unencrypted"),
    ("ca_file_missing", doc(GOOD_SMTP + "  ca_file: /nonexistent/ca.pem\n"), D, "smtp.ca_file: '/nonexistent/ca.pem' does not exist"),
    ("helo_bad", doc(GOOD_SMTP + "  helo_domain: 'not valid!'\n"), D, "smtp.helo_domain: 'not valid!' is not a valid host name"),
    ("duplicate_key", doc(GOOD_SMTP + "  port: 465\n"), D, "duplicate key 'port'"),
    ("alias", "version: 1\nx: &a 1\ny: *a\n", D, "uses a YAML anchor or alias"),
    ("non_utf8", b"version: 1\nsmtp:\n  host: \xff\n", D, "is not UTF-8 text"),
    ("env_var_unset", doc(GOOD_SMTP.replace("SMTP_PASSWORD", "SMTP_NO_SUCH_VARIABLE_42")), M, "smtp.password: environment variable SMTP_NO_SUCH_VARIABLE_42 is not set"),
    ("password_file_missing", doc(GOOD_SMTP.replace("{env: SMTP_PASSWORD}", "{file: /nonexistent/secret}")), M, "smtp.password: file /nonexistent/secret does not exist"),
    ("keyring_entry_missing", doc(GOOD_SMTP.replace("{env: SMTP_PASSWORD}", "{keyring: {account: nobody/me@example.com@smtp.example.com:587}}")), C, "the keyring has no entry smtpwizard/nobody/me@example.com@smtp.example.com:587"),
]  # fmt: skip

EXISTING = "# an existing, working config\nversion: 1\n"


@pytest.mark.parametrize(("name", "content", "code", "message"), CASES, ids=[c[0] for c in CASES])
def test_malformed_input_gives_one_line_and_loses_nothing(
    tmp_path: Path,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    content: str | bytes,
    code: ExitCode,
    message: str,
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", TEST_SECRET)
    config = tmp_path / "config.yaml"
    config.write_text(EXISTING)
    memory_keyring.entries[("smtpwizard", "existing")] = "kept"
    source = tmp_path / "input.yaml"
    source.write_bytes(content if isinstance(content, bytes) else content.encode())
    out, err = io.StringIO(), io.StringIO()

    code_seen = main(["apply", str(source), "--config", str(config), "--yes"], out=out, err=err)

    assert code_seen == code
    lines = err.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("smtpwizard: error: ") and message in lines[0]
    assert "; " in lines[0]  # problem; fix
    assert out.getvalue() == ""
    assert config.read_text() == EXISTING
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "input.yaml"]
    assert memory_keyring.entries == {("smtpwizard", "existing"): "kept"}
    assert TEST_SECRET not in err.getvalue()


def test_missing_input_file_exits_66(tmp_path: Path) -> None:
    err = io.StringIO()
    assert main(["--from-yaml", str(tmp_path / "nope.yaml")], out=io.StringIO(), err=err) == ExitCode.NO_INPUT
    assert "no such file" in err.getvalue()


def test_input_path_that_is_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    err = io.StringIO()
    assert main(["--from-yaml", str(tmp_path)], out=io.StringIO(), err=err) == ExitCode.DATA_ERROR
    assert "is a directory" in err.getvalue()


def test_usage_error_exits_64(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--no-such-flag"])
    assert exc.value.code == ExitCode.USAGE


def test_json_mode_reports_errors_as_json(tmp_path: Path) -> None:
    import json

    source = tmp_path / "input.yaml"
    source.write_text(doc(GOOD_SMTP.replace("587", "0")))
    out = io.StringIO()
    assert main(["apply", str(source), "--json"], out=out, err=io.StringIO()) == ExitCode.DATA_ERROR
    data = json.loads(out.getvalue())
    assert data == {"ok": False, "exit_code": 65, "error": data["error"]} and "smtp.port" in data["error"]
