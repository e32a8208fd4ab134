"""The headless apply, test and forget commands against real servers on 127.0.0.1."""

from __future__ import annotations

import io
import json
import ssl
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from smtpwizard.cli import main
from smtpwizard.core.exit_codes import ExitCode
from smtpwizard.core.settings import keyring_account
from tests.conftest import TEST_SECRET, MemoryKeyring, using_keyring
from tests.servers import USERNAME, Mailbox, ServerThread, smtp_server


def account_of(port: int, config: Path) -> str:
    """The keyring account apply uses for the default profile's config at ``config``."""
    return keyring_account("default", "wizard@example.com", "127.0.0.1", port, str(config))


@pytest.fixture
def server(good_tls: ssl.SSLContext) -> Iterator[tuple[ServerThread, Mailbox]]:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as running:
        yield running


def write_input(tmp_path: Path, port: int, ca_file: str, *, target: str | None = None, extra: str = "") -> Path:
    path = tmp_path / "input.yaml"
    path.write_text(
        "version: 1\n"
        + (f"target: {target}\n" if target else "")
        + "provider: custom\n"
        + "smtp:\n  host: 127.0.0.1\n"
        + f"  port: {port}\n  security: starttls\n  ca_file: {ca_file}\n"
        + f"  username: {USERNAME}\n  password: {{env: SMTP_PASSWORD}}\n{extra}"
        + "sender:\n  address: app@example.com\n  name: Example App\n"
    )
    return path


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring, config_home: Path) -> MemoryKeyring:
    monkeypatch.setenv("SMTP_PASSWORD", TEST_SECRET)
    return memory_keyring


def test_apply_writes_a_verified_config_and_keeps_the_password_only_in_the_keyring(
    tmp_path: Path, server: tuple[ServerThread, Mailbox], ca_file: str, env: MemoryKeyring, config_home: Path
) -> None:
    srv, mailbox = server
    source = write_input(tmp_path, srv.port, ca_file)
    code, out, err = run("--from-yaml", str(source), "--yes", "--send-test-to", "ops@example.com")
    assert code == 0, out + err
    config = config_home / "smtpwizard" / "config.yaml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
    doc = yaml.safe_load(config.read_text())
    account = account_of(srv.port, config)
    assert doc["smtp"]["password"] == {"keyring": {"service": "smtpwizard", "account": account}}
    assert doc["verified"]["status"] == "passed" and doc["verified"]["auth_mechanism"] == "PLAIN"
    assert doc["verified"]["test_message_to"] == "ops@example.com"
    assert doc["verified"]["tls_version"].startswith("TLSv1.")
    assert env.entries[("smtpwizard", account)] == TEST_SECRET
    assert len(mailbox.messages) == 1
    assert "ok   Log in (AUTH)" in out and f"Wrote {config}" in out
    for text in (out, err, config.read_text()):
        assert TEST_SECRET not in text


def test_second_apply_keeps_a_backup_of_the_first(
    tmp_path: Path, server: tuple[ServerThread, Mailbox], ca_file: str, env: MemoryKeyring, config_home: Path
) -> None:
    source = write_input(tmp_path, server[0].port, ca_file)
    assert run("apply", str(source), "--yes")[0] == 0
    config = config_home / "smtpwizard" / "config.yaml"
    first = config.read_text()
    source.write_text(source.read_text().replace("Example App", "Renamed App"))
    code, out, _ = run("apply", str(source), "--yes")
    assert code == 0
    backup = config.with_name("config.yaml.bak")
    assert backup.read_text() == first and stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert "Renamed App" in config.read_text() and "previous version kept" in out


def test_failed_test_writes_nothing_and_leaves_keyring_alone(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, env: MemoryKeyring, config_home: Path
) -> None:
    config = config_home / "smtpwizard" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("old: config\n")
    with smtp_server(password="a-different-password", starttls_context=good_tls) as (srv, mailbox):
        source = write_input(tmp_path, srv.port, ca_file)
        account = account_of(srv.port, config)
        env.entries[("smtpwizard", account)] = "previous-secret"
        code, out, err = run("apply", str(source), "--yes")
    assert code == ExitCode.NO_PERMISSION
    assert "Diagnosis: The server refused the username or password" in out
    assert "Nothing was written" in out
    assert config.read_text() == "old: config\n"
    assert env.entries == {("smtpwizard", account): "previous-secret"}
    assert len(mailbox.auth_attempts) == 1
    assert TEST_SECRET not in out + err


def test_consequences_must_be_acknowledged(
    tmp_path: Path,
    server: tuple[ServerThread, Mailbox],
    ca_file: str,
    env: MemoryKeyring,
    config_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)  # Forem has no CA-file setting: it trusts the system store
    source = write_input(tmp_path, server[0].port, ca_file, target="forem")
    code, out, err = run("apply", str(source))
    assert code == ExitCode.CONFIG
    assert "consequences not acknowledged" in err and "--yes" in err
    assert not (config_home / "smtpwizard").exists()
    assert server[1].auth_attempts == []  # nothing was sent before acknowledging
    code, out, _ = run("apply", str(source), "--yes", "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] and any(c["id"] == "forem_logout" for c in data["consequences"])


def test_dry_run_tests_but_stores_and_writes_nothing(
    tmp_path: Path,
    server: tuple[ServerThread, Mailbox],
    ca_file: str,
    env: MemoryKeyring,
    config_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)  # Forem has no CA-file setting: it trusts the system store
    source = write_input(tmp_path, server[0].port, ca_file, target="forem")
    code, out, _ = run("apply", str(source), "--dry-run")
    assert code == 0 and "Dry run" in out
    assert server[1].auth_attempts == [("PLAIN", USERNAME)]
    assert env.entries == {} and not (config_home / "smtpwizard").exists()


def test_skip_test_is_warned_and_recorded_as_unverified(
    tmp_path: Path, env: MemoryKeyring, config_home: Path, ca_file: str
) -> None:
    source = write_input(tmp_path, 9, ca_file)  # nothing listens there: it must not be contacted
    code, _out, err = run("apply", str(source), "--yes", "--skip-test")
    assert code == 0
    assert "warning: --skip-test: the settings were NOT tested" in err
    doc = yaml.safe_load((config_home / "smtpwizard" / "config.yaml").read_text())
    assert doc["verified"]["status"] == "skipped"


def test_test_command_retests_and_forget_removes_the_secret(
    tmp_path: Path, server: tuple[ServerThread, Mailbox], ca_file: str, env: MemoryKeyring, config_home: Path
) -> None:
    source = write_input(tmp_path, server[0].port, ca_file)
    assert run("apply", str(source), "--yes")[0] == 0
    code, out, _ = run("test", "-v")
    assert code == 0 and "The test passed." in out and "C: AUTH PLAIN ********" in out
    code, out, _ = run("forget")
    assert code == 0 and "Deleted the password" in out and env.entries == {}
    code, out, err = run("test")
    assert code == ExitCode.CONFIG and "no password stored" in err


def test_json_report_is_one_document_without_secret(
    tmp_path: Path, server: tuple[ServerThread, Mailbox], ca_file: str, env: MemoryKeyring
) -> None:
    source = write_input(tmp_path, server[0].port, ca_file)
    code, out, err = run("apply", str(source), "--yes", "--json", "--send-test-to", "ops@example.com")
    data = json.loads(out)
    assert code == 0 and data["outcome"] == "written" and data["report"]["auth_used"] == "PLAIN"
    assert [s["stage"] for s in data["report"]["stages"]][-1] == "quit"
    assert TEST_SECRET not in out and TEST_SECRET not in err


def test_providers_lists_groups_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run("providers")
    assert code == 0 and "Transactional services:" in out and "sendgrid" in out
    code, out, _ = run("providers", "--json")
    ids = [p["id"] for p in json.loads(out)["providers"]]
    assert len(ids) >= 20 and "amazon_ses" in ids


def test_inline_password_is_accepted_with_a_warning_and_only_stored_in_the_keyring(
    tmp_path: Path, server: tuple[ServerThread, Mailbox], ca_file: str, env: MemoryKeyring, config_home: Path
) -> None:
    source = write_input(tmp_path, server[0].port, ca_file)
    source.write_text(source.read_text().replace("{env: SMTP_PASSWORD}", json.dumps(TEST_SECRET)))
    code, out, err = run("apply", str(source), "--yes")
    assert code == 0
    assert "holds the password in plain text" in err
    assert TEST_SECRET not in (config_home / "smtpwizard" / "config.yaml").read_text()
    assert TEST_SECRET in env.entries.values()
    assert TEST_SECRET not in out + err


def test_unusable_keyring_stops_before_the_network(
    tmp_path: Path, server: tuple[ServerThread, Mailbox], ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keyring.backends import fail

    monkeypatch.setenv("SMTP_PASSWORD", TEST_SECRET)
    with using_keyring(fail.Keyring()):
        code, _out, err = run("apply", str(write_input(tmp_path, server[0].port, ca_file)), "--yes")
    assert code == ExitCode.CONFIG
    assert "keyring.backends.fail.Keyring" in err and "PYTHON_KEYRING_BACKEND" in err
    assert server[1].auth_attempts == []


def test_export_command_prints_with_placeholder_and_reveals_only_on_request(
    tmp_path: Path, server: tuple[ServerThread, Mailbox], ca_file: str, env: MemoryKeyring
) -> None:
    assert run("apply", str(write_input(tmp_path, server[0].port, ca_file)), "--yes")[0] == 0
    code, out, err = run("export", "--target", "mastodon")
    assert code == 0 and "SMTP_PASSWORD=REPLACE_WITH_SMTP_PASSWORD" in out and TEST_SECRET not in out + err
    assert "note: Restart mastodon-web" in err
    code, out, _ = run("export", "--target", "gitlab", "--reveal-secret")
    assert code == 0 and "gitlab_rails['smtp_password'] = " in out and "REPLACE_WITH" not in out
    code, out, _ = run("export", "--list")
    assert code == 0 and "mattermost" in out and "[write-into]" in out
    code, _, err = run("export", "--target", "forem", "--format", "toml")
    assert code == ExitCode.DATA_ERROR and "Forem has no 'toml' format" in err


def test_export_write_into_updates_a_dotenv_file(
    tmp_path: Path, server: tuple[ServerThread, Mailbox], ca_file: str, env: MemoryKeyring
) -> None:
    assert run("apply", str(write_input(tmp_path, server[0].port, ca_file)), "--yes")[0] == 0
    target = tmp_path / ".env"
    original = "# Mastodon\nSECRET_KEY_BASE=keep-me\nSMTP_SERVER=old\n"
    target.write_text(original)
    # The config has a CA file, which PostHog cannot carry: refused, the file untouched.
    code, out, err = run("export", "--target", "posthog", "--write-into", str(target), "--reveal-secret")
    assert code == ExitCode.DATA_ERROR and "no CA-file setting" in err
    assert target.read_text() == original and TEST_SECRET not in out + err
    code, out, err = run("export", "--target", "mastodon", "--write-into", str(target))
    assert code == 0, err
    text = target.read_text()
    assert text.startswith("# Mastodon\nSECRET_KEY_BASE=keep-me\nSMTP_SERVER=127.0.0.1\n")
    assert "SMTP_ENABLE_STARTTLS=always" in text and TEST_SECRET not in out + err
    code, _, err = run("export", "--target", "gitlab", "--write-into", str(target))
    assert code == ExitCode.DATA_ERROR and "cannot be updated in place" in err
