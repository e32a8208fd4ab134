"""`smtpwizard login`, then `--from-yaml` apply and `test`, as the installed command in subprocesses,
with a real Secret Service and a real authorization server. Every output and every written file
is searched for the refresh token, the access tokens and the client secret. The Microsoft sign-ins
run through msal and through the standard-library client (the ``oauth_backend`` fixture)."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.cli.test_headless_subprocess import keyring_lookup, smtpwizard
from tests.oauth.authserver import ACCOUNT, APP_CLIENT, APP_SECRET, AuthServer, UserAgent, xoauth2_smtp_server
from tests.oauth.conftest import Backend, config_doc, write_doc

REFRESH_ACCOUNT = f"default/oauth/refresh-token/smtpwizard-public/{ACCOUNT}"


def start_login(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    beside_python = Path(sys.executable).parent / "smtpwizard"
    exe = str(beside_python) if beside_python.exists() else shutil.which("smtpwizard", path=env.get("PATH"))
    assert exe
    return subprocess.Popen(
        [exe, "login", *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until(process: subprocess.Popen[str], marker: str) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    while line := process.stdout.readline():
        lines.append(line)
        if marker in line:
            return lines
    raise AssertionError("login ended early: " + "".join(lines) + (process.stderr.read() if process.stderr else ""))


def finish(process: subprocess.Popen[str], seen: list[str], stdin: str = "") -> tuple[int, str]:
    # not communicate(): it reads the raw pipe and would lose what readline() already buffered
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    process.stdin.write(stdin)
    process.stdin.close()
    out = process.stdout.read()
    err = process.stderr.read()
    return process.wait(60), "".join(seen) + out + err


def browser_login(server: AuthServer, config: Path, env: dict[str, str]) -> str:
    """`smtpwizard login`: the browser-less user agent opens the printed URL and comes back to the listener."""
    process = start_login("--config", str(config), env=env)
    seen = read_until(process, "https://")
    url = seen[-1].strip()
    redirect = UserAgent(server).sign_in(url)
    assert UserAgent(server).follow_redirect(redirect) == 200
    code, output = finish(process, seen)
    assert code == 0, output
    return output


def search(texts: list[str], files: list[Path], secrets: list[str]) -> None:
    blobs = texts + [path.read_text(errors="replace") for path in files if path.is_file()]
    for secret in secrets:
        assert all(secret not in blob for blob in blobs), "a secret leaked"


def test_login_then_apply_then_test_with_xoauth2_through_the_command(
    tmp_path: Path,
    auth_server: AuthServer,
    secret_service: dict[str, str],
    good_tls: ssl.SSLContext,
    ca_file: str,
    oauth_backend: Backend,
) -> None:
    env = {**secret_service, **oauth_backend.env}
    out_config = tmp_path / "out" / "config.yaml"
    with xoauth2_smtp_server(auth_server, good_tls) as (smtp, mailbox, handler):
        source = write_doc(tmp_path / "input.yaml", config_doc(auth_server, smtp.port, ACCOUNT, ca_file))
        login = browser_login(auth_server, source, env)
        first_refresh = keyring_lookup(env, REFRESH_ACCOUNT)
        apply = smtpwizard("--from-yaml", str(source), "--config", str(out_config), "--yes", "-v", env=env)
        apply_json = smtpwizard("--from-yaml", str(source), "--config", str(out_config), "--yes", "--json", env=env)
        retest = smtpwizard("test", "--config", str(out_config), "-v", "--send-test-to", "admin@example.com", env=env)
        last_refresh = keyring_lookup(env, REFRESH_ACCOUNT)

    assert "Refresh token stored in the OS keyring (smtpwizard/" in login and f"access token is for {ACCOUNT}" in login
    assert apply.returncode == 0, apply.stdout + apply.stderr
    assert retest.returncode == 0, retest.stdout + retest.stderr
    assert f"XOAUTH2 accepted (token for {ACCOUNT}, valid until" in retest.stdout
    assert "90 days without use" in apply.stdout  # the consequence of a delegated Microsoft sign-in
    doc = yaml.safe_load(out_config.read_text())
    assert doc["version"] == 2 and doc["smtp"]["auth"] == "xoauth2"
    assert doc["oauth"]["refresh_token"] == {"keyring": {"service": "smtpwizard", "account": REFRESH_ACCOUNT}}
    assert doc["verified"]["auth_mechanism"] == "XOAUTH2"
    assert json.loads(apply_json.stdout)["report"]["oauth"]["identity"] == ACCOUNT
    assert len(mailbox.messages) == 1 and len(handler.accepted) == 3  # the applies send no message
    assert first_refresh and last_refresh and first_refresh != last_refresh  # rotated three times, stored each time

    outputs = [login] + [p.stdout + p.stderr for p in (apply, apply_json, retest)]
    search(outputs, [source, *out_config.parent.iterdir()], [first_refresh, last_refresh, *handler.tokens])
    oauth_backend.assert_used()


def test_login_over_ssh_takes_the_pasted_redirect_url(
    tmp_path: Path, auth_server: AuthServer, secret_service: dict[str, str], ca_file: str, oauth_backend: Backend
) -> None:
    env = {**secret_service, **oauth_backend.env}
    source = write_doc(tmp_path / "input.yaml", config_doc(auth_server, 587, ACCOUNT, ca_file))
    process = start_login("--config", str(source), "--paste", env=env)
    seen = read_until(process, "https://")
    redirect = UserAgent(auth_server).sign_in(seen[-1].strip())  # the browser elsewhere cannot reach 127.0.0.1
    code, output = finish(process, seen, stdin=redirect + "\n")
    assert code == 0, output
    assert "paste here the address the browser ends on" in output.lower(), output
    refresh = keyring_lookup(env, REFRESH_ACCOUNT)
    assert refresh is not None and refresh not in output
    assert redirect.split("code=")[1].split("&")[0] not in output  # the one-time code is not echoed
    oauth_backend.assert_used()


def test_device_code_login_prints_the_code_and_waits_for_the_user(
    tmp_path: Path, auth_server: AuthServer, secret_service: dict[str, str], ca_file: str, oauth_backend: Backend
) -> None:
    env = {**secret_service, **oauth_backend.env}
    source = write_doc(tmp_path / "input.yaml", config_doc(auth_server, 587, ACCOUNT, ca_file, flow="device_code"))
    process = start_login("--config", str(source), env=env)
    seen = read_until(process, "enter the code")
    words = seen[-1].split()
    UserAgent(auth_server).enter_user_code(words[words.index("open") + 1], words[-1])
    code, output = finish(process, seen)
    assert code == 0, output
    assert f"access token is for {ACCOUNT}" in output and keyring_lookup(env, REFRESH_ACCOUNT) is not None
    oauth_backend.assert_used()


def test_client_credentials_login_stores_the_secret_from_the_environment_for_unattended_sending(
    tmp_path: Path,
    auth_server: AuthServer,
    secret_service: dict[str, str],
    good_tls: ssl.SSLContext,
    ca_file: str,
    oauth_backend: Backend,
) -> None:
    env = {**secret_service, **oauth_backend.env, "SMTP_CLIENT_SECRET": APP_SECRET}
    out_config = tmp_path / "out" / "config.yaml"
    with xoauth2_smtp_server(auth_server, good_tls) as (smtp, _mailbox, handler):
        doc: dict[str, Any] = config_doc(
            auth_server, smtp.port, "noreply@example.test", ca_file, client_id=APP_CLIENT, flow="client_credentials"
        )
        doc["oauth"]["client_secret"] = {"env": "SMTP_CLIENT_SECRET"}
        source = write_doc(tmp_path / "input.yaml", doc)
        login = smtpwizard("login", "--config", str(source), env=env)
        unattended = {k: v for k, v in env.items() if k != "SMTP_CLIENT_SECRET"}  # from now on: the keyring only
        apply = smtpwizard("--from-yaml", str(source), "--config", str(out_config), "--yes", env=unattended)
        retest = smtpwizard("test", "--config", str(out_config), "-v", env=unattended)

    account = "default/oauth/client-secret/smtpwizard-app/noreply@example.test"
    assert login.returncode == 0, login.stdout + login.stderr
    assert f"Client secret stored in the OS keyring (smtpwizard/{account})" in login.stdout
    assert keyring_lookup(env, account) == APP_SECRET
    assert apply.returncode == 0, apply.stdout + apply.stderr
    assert retest.returncode == 0, retest.stdout + retest.stderr
    assert f"XOAUTH2 accepted (token for app {APP_CLIENT}" in retest.stdout
    assert "client secret expires" in apply.stdout  # the consequence of app-only sending with a secret
    written = yaml.safe_load(out_config.read_text())
    assert written["oauth"]["client_secret"] == {"keyring": {"service": "smtpwizard", "account": account}}
    assert all(info["client_id"] == APP_CLIENT for info in handler.accepted) and len(handler.accepted) == 2
    outputs = [p.stdout + p.stderr for p in (login, apply, retest)]
    search(outputs, [source, *out_config.parent.iterdir()], [APP_SECRET, *handler.tokens])
    oauth_backend.assert_used()


def test_a_declined_sign_in_exits_77_with_the_diagnosis(
    tmp_path: Path, auth_server: AuthServer, secret_service: dict[str, str], ca_file: str, oauth_backend: Backend
) -> None:
    env = {**secret_service, **oauth_backend.env}
    source = write_doc(tmp_path / "input.yaml", config_doc(auth_server, 587, "denied@example.test", ca_file))
    process = start_login("--config", str(source), env=env)
    seen = read_until(process, "https://")
    redirect = UserAgent(auth_server).sign_in(seen[-1].strip())
    UserAgent(auth_server).follow_redirect(redirect)
    code, output = finish(process, seen)
    assert code == 77
    assert "Diagnosis: The sign-in was declined" in output
    assert keyring_lookup(env, "default/oauth/refresh-token/smtpwizard-public/denied@example.test") is None
