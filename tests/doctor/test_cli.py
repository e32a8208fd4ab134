"""`smtpwizard doctor` from the command line: exit codes as for `test`, one line per unreadable value,
--json with the password masked, --dry-run writes nothing, --fix writes after the fixed test passed,
--adopt keeps the password in the keyring; the password is never in any output, backup name,
transcript or process listing."""

from __future__ import annotations

import io
import json
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from smtpwizard.cli import main
from tests.conftest import MemoryKeyring
from tests.doctor.cases import CASES, PASSWORD, write_app_file
from tests.servers import scripted_server, silent, smtp_server

ROOT = Path(__file__).parents[2]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_unreadable_values_exit_65_with_one_line_each(tmp_path: Path) -> None:
    path = write_app_file(tmp_path, CASES["posthog"], 587, (("EMAIL_USE_TLS=true", "EMAIL_USE_TLS=maybe"),))
    path.write_text(path.read_text().replace("EMAIL_PORT=587", "EMAIL_PORT=0"))
    code, out, err = run("doctor", "--target", "posthog", str(path))
    assert code == 65 and out == ""
    lines = sorted(err.splitlines())
    assert len(lines) == 2 and all(line.startswith(f"smtpwizard: error: {path}:") for line in lines)
    assert ":12: EMAIL_PORT: '0' is not a whole number from 1 to 65535" in lines[0]
    assert ":15: EMAIL_USE_TLS: 'maybe' is not a value the app reads as on or off; write true or false" in lines[1]


def test_contradictory_flags_exit_65_before_any_connection(tmp_path: Path) -> None:
    case = CASES["django"]
    with smtp_server(password=PASSWORD) as (server, mailbox):
        path = write_app_file(tmp_path, case, server.port, case.contradiction)
        code, out, _err = run("doctor", "--target", "django", str(path))
    assert code == 65
    assert "EMAIL_USE_TLS and EMAIL_USE_SSL are both true" in out
    assert "Testing as" not in out and mailbox.auth_attempts == [] and mailbox.messages == []


def test_fix_json_names_the_apps_keys_masks_the_password_and_writes_after_the_fixed_test(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, monkeypatch: pytest.MonkeyPatch, config_home: Path
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    with smtp_server(password=PASSWORD, implicit_context=good_tls, auth_require_tls=False) as (server, _mailbox):
        path = write_app_file(tmp_path, CASES["mattermost"], server.port)
        dry_code, dry_out, _ = run("doctor", "--target", "mattermost", str(path), "--dry-run", "--json")
        assert "STARTTLS" in path.read_text()  # --dry-run wrote nothing
        code, out, err = run("doctor", "--target", "mattermost", str(path), "--fix", "--json")
    assert (dry_code, json.loads(dry_out)["outcome"]) == (0, "fix_tested")
    report = json.loads(out)
    assert code == 0 and report["outcome"] == "fixed" and report["written"] is True
    assert report["imported"]["password"] == "********"
    assert report["diagnosis"]["code"] == "banner_timeout"
    assert report["fix"].startswith('In mattermost.config.json: set ConnectionSecurity to "TLS", or set SMTPPort to ')
    assert '-        "ConnectionSecurity": "STARTTLS",' in report["change"]["diff"]
    assert '+        "ConnectionSecurity": "TLS",' in report["change"]["diff"]
    assert json.loads(path.read_text())["EmailSettings"]["ConnectionSecurity"] == "TLS"
    backup = Path(report["backup_path"])
    assert backup.is_file() and PASSWORD not in backup.name
    for text in (out, err, dry_out, backup.name):
        assert PASSWORD not in text


def test_adopt_saves_the_working_settings_and_moves_the_password_to_the_keyring(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, monkeypatch: pytest.MonkeyPatch,
    memory_keyring: MemoryKeyring, config_home: Path,
) -> None:  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    config = tmp_path / "smtpwizard.yaml"
    with smtp_server(password=PASSWORD, starttls_context=good_tls) as (server, mailbox):
        path = write_app_file(tmp_path, CASES["mastodon"], server.port)
        code, out, err = run(
            "doctor", "--target", "mastodon", str(path), "--adopt", "--config", str(config),
            "--send-test-to", "admin@example.com", "-v",
        )  # fmt: skip
    assert "Transcript (secrets redacted):" in out and "AUTH PLAIN" in out  # -v: the login, redacted
    assert code == 0, out + err
    (message,) = mailbox.messages  # the test message went out as Mastodon's client sends
    assert message.rcpt_tos == ["admin@example.com"] and message.mail_from == "notifications@example.com"
    assert "The settings work as the app will use them." in out
    document = yaml.safe_load(config.read_text())
    assert document["target"] == "mastodon" and document["smtp"]["port"] == server.port
    account = document["smtp"]["password"]["keyring"]["account"]
    assert memory_keyring.entries[("smtpwizard", account)] == PASSWORD
    assert PASSWORD not in config.read_text() + out + err


def test_the_password_is_in_no_process_listing_transcript_or_output(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SSL_CERT_FILE": ca_file, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    with scripted_server(silent) as server:  # no greeting: the run waits, so its command line can be read
        path = write_app_file(tmp_path, CASES["mastodon"], server.port)
        process = subprocess.Popen(
            [sys.executable, "-m", "smtpwizard", "doctor", "--target", "mastodon", str(path), "-v"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(0.5)
        listing = subprocess.run(["ps", "-eww", "-o", "args"], capture_output=True, text=True, check=True).stdout
        environ = Path(f"/proc/{process.pid}/environ").read_bytes().decode(errors="replace")
        out, err = process.communicate(timeout=60)
    assert "doctor --target mastodon" in listing
    assert PASSWORD not in listing and PASSWORD not in environ
    assert process.returncode == 76, out + err  # as `test`: the greeting never came (protocol)
    assert "set SMTP_TLS to true" in out
    assert PASSWORD not in out + err


def test_adopt_with_the_real_secret_service_keeps_the_password_only_in_the_keyring(
    tmp_path: Path, secret_service: dict[str, str], good_tls: ssl.SSLContext, ca_file: str
) -> None:
    from tests.cli.test_headless_subprocess import keyring_lookup

    env = {**secret_service, "PYTHONPATH": str(ROOT), "SSL_CERT_FILE": ca_file, "XDG_CONFIG_HOME": str(tmp_path / "x")}
    config = tmp_path / "smtpwizard.yaml"
    with smtp_server(password=PASSWORD, starttls_context=good_tls) as (server, _mailbox):
        path = write_app_file(tmp_path, CASES["gitlab"], server.port)
        done = subprocess.run(
            [sys.executable, "-m", "smtpwizard", "doctor", "--target", "gitlab", str(path), "--adopt",
             "--config", str(config), "--json"],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["adopted_config"] == str(config)
    account = yaml.safe_load(config.read_text())["smtp"]["password"]["keyring"]["account"]
    assert keyring_lookup(env, account) == PASSWORD
    assert PASSWORD not in config.read_text() + done.stdout + done.stderr


def test_an_unknown_app_or_a_missing_file_is_one_line_with_its_exit_code(tmp_path: Path) -> None:
    code, _out, err = run("doctor", "--target", "wordpress", str(tmp_path / ".env"))
    assert code == 65 and err.startswith("smtpwizard: error: --target: 'wordpress' is not a known app; choose one of:")
    code, _out, err = run("doctor", "--target", "mastodon", str(tmp_path / "missing.env"))
    assert (
        code == 66
        and err
        == f"smtpwizard: error: {tmp_path / 'missing.env'}: no such file; give the path of the app's settings file\n"
    )


@pytest.mark.parametrize(
    ("target", "text", "first_way"),
    [
        (
            "mastodon",
            "SMTP_SERVER=smtp.office365.com\nSMTP_PORT=587\nSMTP_LOGIN=me@contoso.com\n"
            "SMTP_PASSWORD={password}\nSMTP_FROM_ADDRESS=me@contoso.com\n",
            "1. A local bridge: emailproxy",  # Mastodon's mail gem cannot send XOAUTH2
        ),
        (
            "posthog",
            "EMAIL_HOST=smtp.office365.com\nEMAIL_PORT=587\nEMAIL_HOST_USER=me@contoso.com\n"
            "EMAIL_HOST_PASSWORD={password}\nEMAIL_USE_TLS=true\nEMAIL_DEFAULT_FROM=me@contoso.com\n",
            "1. A local bridge: emailproxy",
        ),
    ],
)
def test_doctor_flags_a_microsoft_365_password_login_before_it_breaks(
    tmp_path: Path, target: str, text: str, first_way: str
) -> None:
    path = tmp_path / ("settings.env" if target == "posthog" else ".env.production")
    path.write_text(text.format(password=PASSWORD))
    code, out, err = run("doctor", "--target", target, str(path))  # no network here: the test fails at DNS
    assert code != 0
    shown = out + err
    assert "logs in to Microsoft 365 with a password" in shown and "end of December 2026" in shown
    assert first_way in shown and "Azure Communication Services" in shown
    assert "Not offered: XOAUTH2 in" in shown
    assert PASSWORD not in shown
    code, out, _err = run("doctor", "--target", target, "--json", str(path))
    notes = json.loads(out)["notes"]
    assert any("logs in to Microsoft 365 with a password" in note for note in notes)
    assert PASSWORD not in out
