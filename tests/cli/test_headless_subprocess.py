"""The installed `smtpwizard` command, run as a subprocess end to end, with the password in
a real Secret Service. Every output and every written file is searched for the secret."""

from __future__ import annotations

import json
import shutil
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import yaml

from smtpwizard.core.settings import keyring_account
from tests.conftest import TEST_SECRET
from tests.servers import USERNAME, smtp_server


def smtpwizard(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    beside_python = Path(sys.executable).parent / "smtpwizard"
    exe = str(beside_python) if beside_python.exists() else shutil.which("smtpwizard", path=env.get("PATH"))
    assert exe, "the smtpwizard command is not installed (pip install -e '.[test]')"
    return subprocess.run([exe, *args], input=stdin, env=env, capture_output=True, text=True, timeout=60)


def keyring_lookup(env: dict[str, str], account: str) -> str | None:
    code = "import keyring,sys; v=keyring.get_password('smtpwizard', sys.argv[1]); print('NONE' if v is None else v, end='')"
    done = subprocess.run([sys.executable, "-c", code, account], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return None if done.stdout == "NONE" else done.stdout


def test_headless_apply_end_to_end_with_real_keyring(
    tmp_path: Path, secret_service: dict[str, str], good_tls: ssl.SSLContext, ca_file: str
) -> None:
    env = {**secret_service}
    config = tmp_path / "out" / "config.yaml"
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, mailbox):
        source = tmp_path / "input.yaml"
        source.write_text(
            f"version: 1\nprofile: prod\ntarget: mastodon\nprovider: custom\nsmtp:\n  host: 127.0.0.1\n  port: {server.port}\n"
            f"  security: starttls\n  ca_file: {ca_file}\n  username: {USERNAME}\n  password: {{stdin: true}}\n"
            "sender:\n  address: notifications@example.com\n  name: Mastodon\n"
        )
        args = ["--from-yaml", str(source), "--config", str(config), "--yes", "--send-test-to", "admin@example.com"]
        first = smtpwizard(*args, env=env, stdin=TEST_SECRET + "\n")
        second = smtpwizard(*args, "--json", env=env, stdin=TEST_SECRET + "\n")
        retest = smtpwizard("test", "--config", str(config), "-v", env=env)

    assert first.returncode == 0, first.stdout + first.stderr
    assert second.returncode == 0, second.stdout + second.stderr
    assert retest.returncode == 0, retest.stdout + retest.stderr
    assert "Restart both services after editing .env.production." in first.stdout
    account = keyring_account("prod", USERNAME, "127.0.0.1", server.port, str(config))
    assert keyring_lookup(env, account) == TEST_SECRET

    doc = yaml.safe_load(config.read_text())
    assert doc["smtp"]["password"] == {"keyring": {"service": "smtpwizard", "account": account}}
    assert doc["verified"]["status"] == "passed"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert config.with_name("config.yaml.bak").exists()
    assert len(mailbox.messages) == 2  # the two applies sent one each; the retest sent none
    report = json.loads(second.stdout)
    assert report["ok"] and report["report"]["tls"]["verified"] is True

    outputs = [p.stdout + p.stderr for p in (first, second, retest)]
    files = [p.read_bytes() for p in config.parent.iterdir()]
    assert all(TEST_SECRET not in text for text in outputs)
    assert all(TEST_SECRET.encode() not in data for data in files)

    forget = smtpwizard("forget", "--config", str(config), env=env)
    assert forget.returncode == 0 and keyring_lookup(env, account) is None
