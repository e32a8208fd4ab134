"""apply never writes a config smtpwizard then refuses (issue 11, item 4): server text is made
safe before it is stored, values that YAML would not give back are refused at input, the size
limit holds on write and its error names the real size, and a file that does not read back
is replaced by the previous one."""

from __future__ import annotations

import asyncio
import io
import json
import os
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from smtpwizard.cli import main
from smtpwizard.core import files
from smtpwizard.core.config import MAX_DOCUMENT_BYTES
from smtpwizard.core.errors import FieldError
from smtpwizard.core.exit_codes import ExitCode
from smtpwizard.core.settings import Config, Sender, SmtpSettings, keyring_account
from tests.conftest import TEST_SECRET, MemoryKeyring
from tests.servers import USERNAME, scripted_server, smtp_server

OLD_CONFIG = "# the config that works today\nversion: 1\n"
OLD_BACKUP = "# the backup of the day before\nversion: 1\n"


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def greeting_server(banner: bytes) -> object:
    """A plain relay (no TLS, no login) whose greeting is ``banner``; otherwise well behaved."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 " + banner + b"\r\n")
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                writer.write(b"250-mx.test\r\n250 8BITMIME\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()

    return scripted_server(script)


@pytest.mark.parametrize(
    "banner",
    ["mx.test\tESMTP ready", "mx.test ESMTP\u0085ready", "mx.test\u2028ESMTP", "mx.test \x1b]0;title\x07 ESMTP"],
)
def test_a_greeting_with_control_characters_is_stored_safely_and_the_config_stays_usable(
    banner: str, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    with greeting_server(banner.encode()) as server:  # type: ignore[attr-defined]
        source = tmp_path / "input.yaml"
        source.write_text(
            f"version: 1\nsmtp:\n  host: 127.0.0.1\n  port: {server.port}\n  security: none\n"
            "sender:\n  address: app@example.com\n"
        )
        config = tmp_path / "conf" / "config.yaml"
        code, out, err = run("apply", str(source), "--config", str(config), "--yes")
        assert code == ExitCode.OK, out + err
        retest = run("test", "--config", str(config))
        forget = run("forget", "--config", str(config))
    assert retest[0] == ExitCode.OK, retest
    assert forget[0] == ExitCode.OK, forget
    stored = yaml.safe_load(config.read_text())["verified"]["server_banner"]
    assert stored.startswith("mx.test") and stored.isprintable()


@pytest.fixture
def server(good_tls: ssl.SSLContext) -> Iterator[int]:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (srv, _):
        yield srv.port


def input_with(tmp_path: Path, port: int, ca_file: str, username: str = USERNAME, name: str = "App") -> Path:
    source = tmp_path / "input.yaml"
    doc = {
        "version": 1,
        "profile": "prod",
        "smtp": {
            "host": "127.0.0.1",
            "port": port,
            "ca_file": ca_file,
            "username": username,
            "password": {"env": "SMTP_PASSWORD"},
        },
        "sender": {"address": "app@example.com", "name": name},
    }
    source.write_text(json.dumps(doc))  # JSON is YAML; its \u escapes keep NEL and LS exact
    return source


@pytest.fixture
def existing(tmp_path: Path) -> Path:
    folder = tmp_path / "conf"
    folder.mkdir(mode=0o700)
    (folder / "config.yaml").write_text(OLD_CONFIG)
    (folder / "config.yaml.bak").write_text(OLD_BACKUP)
    return folder / "config.yaml"


@pytest.mark.parametrize(
    ("field", "username", "name"),
    [
        ("smtp.username", f"{USERNAME}\u0085x", "App"),
        ("smtp.username", f"{USERNAME}\u2028x", "App"),
        ("sender.name", USERNAME, "Mattermost\u0085Team"),
        ("sender.name", USERNAME, "Mattermost\u2029Team"),
        ("smtp.username", "u" * 40_000, "App"),  # with the account, a config over 64 KiB
    ],
)
def test_values_yaml_would_not_give_back_are_refused_at_input(
    field: str,
    username: str,
    name: str,
    tmp_path: Path,
    server: int,
    ca_file: str,
    existing: Path,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", TEST_SECRET)
    source = input_with(tmp_path, server, ca_file, username, name)
    code, out, err = run("apply", str(source), "--config", str(existing), "--yes")
    assert code == ExitCode.DATA_ERROR, out + err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"smtpwizard: error: {field}: "), lines
    assert existing.read_text() == OLD_CONFIG and memory_keyring.entries == {}


def test_the_size_limit_is_checked_on_write_with_the_real_size(tmp_path: Path) -> None:
    from smtpwizard.core.apply import checked_config_text

    config = Config(
        smtp=SmtpSettings(host="smtp.example.com", port=587),
        sender=Sender(address="a@example.com", name="n" * (MAX_DOCUMENT_BYTES + 10)),
    )
    with pytest.raises(FieldError) as caught:
        checked_config_text(config, tmp_path / "config.yaml")
    size = len(yaml.safe_dump({"name": "n" * (MAX_DOCUMENT_BYTES + 10)}))
    message = str(caught.value)
    stated = int(message.split("would be ")[1].split(" bytes")[0])
    assert stated > MAX_DOCUMENT_BYTES + 10 and stated >= size - 20
    assert not (tmp_path / "config.yaml").exists()


def test_a_file_over_the_limit_is_reported_with_its_real_size(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("# padding\n" * 10_000)  # 100,000 bytes
    code, _out, err = run("test", "--config", str(config))
    assert code == ExitCode.DATA_ERROR
    assert "is 100000 bytes, larger than the 65536 byte limit" in err


def test_a_config_that_does_not_read_back_is_replaced_by_the_previous_one(
    tmp_path: Path,
    server: int,
    ca_file: str,
    existing: Path,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The disk keeps only half of what was written (a silent truncation): the read-back
    catches it, the previous config, backup and keyring entry are put back."""
    monkeypatch.setenv("SMTP_PASSWORD", TEST_SECRET)
    account = keyring_account("prod", USERNAME, "127.0.0.1", server, str(existing))
    memory_keyring.entries[("smtpwizard", account)] = "the password of yesterday"
    real = files.write_temp

    def truncating(directory: Path, name: str, data: bytes, *args: object, **kwargs: object) -> Path:
        if name == "config.yaml" and data != OLD_CONFIG.encode():
            data = data[: len(data) // 2]
        return real(directory, name, data, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(files, "write_temp", truncating)
    code, out, err = run("apply", str(input_with(tmp_path, server, ca_file)), "--config", str(existing), "--yes")
    assert code == ExitCode.CANT_CREATE, out + err
    lines = err.splitlines()
    assert len(lines) == 1 and "did not read back" in lines[0], lines
    assert existing.read_text() == OLD_CONFIG
    assert existing.with_name("config.yaml.bak").read_text() == OLD_BACKUP
    assert memory_keyring.entries[("smtpwizard", account)] == "the password of yesterday"
    assert not [p for p in os.listdir(existing.parent) if p.endswith(".tmp")]
