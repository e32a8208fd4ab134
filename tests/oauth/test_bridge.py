"""The bridge end to end: smtpwizard writes emailproxy's configuration seeded with its sign-in, a
real emailproxy process listens on loopback, Django's EmailBackend (real app client code) sends
a password to it, and the message arrives at the XOAUTH2 server with the provider's token."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from smtpwizard.core import oauth
from smtpwizard.core.apps import find_app
from smtpwizard.core.bridge import bridge, new_local_password
from smtpwizard.core.probe import run_probe
from smtpwizard.core.secrets import KeyringStore
from tests.conftest import MemoryKeyring
from tests.oauth.authserver import ACCOUNT, AuthServer, xoauth2_smtp_server
from tests.oauth.conftest import config_doc
from tests.oauth.test_xoauth2 import _config, signed_in

DJANGO_SEND = """\
import os
import django
from django.conf import settings
settings.configure(
    EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
    EMAIL_HOST="127.0.0.1",
    EMAIL_PORT=int(os.environ["BRIDGE_PORT"]),
    EMAIL_HOST_USER=os.environ["BRIDGE_USER"],
    EMAIL_HOST_PASSWORD=os.environ["BRIDGE_PASSWORD"],
    EMAIL_USE_TLS=False,
    EMAIL_TIMEOUT=60,
)
django.setup()
from django.core.mail import send_mail
send_mail("Bridge test", "Sent by Django through emailproxy.", os.environ["BRIDGE_USER"], ["admin@example.com"])
"""


def verify_unit(unit: Path) -> None:
    """systemd's own check of the unit file (syntax, directives, an executable ExecStart)."""
    if shutil.which("systemd-analyze") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide systemd-analyze (.ci/run installs systemd)")
        pytest.skip("needs systemd-analyze (apt-get install systemd)")
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_emailproxy(config_file: Path, port: int, ca_file: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    exe = shutil.which("emailproxy")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide emailproxy (the test extra installs it)")
        pytest.skip("needs emailproxy (pip install emailproxy)")
    env = {**os.environ, "SSL_CERT_FILE": ca_file}  # it trusts the test CA for the provider and the server
    process = subprocess.Popen(
        [exe, "--no-gui", "--external-auth", "--debug", "--config-file", str(config_file), "--log-file", str(log)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):  # until it listens (it starts in about a second)
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None:
                raise AssertionError("emailproxy exited: " + log.read_text(errors="replace"))
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        process.wait(10)


def test_django_sends_a_password_to_the_bridge_and_the_message_arrives_with_xoauth2(
    tmp_path: Path, auth_server: AuthServer, good_tls: ssl.SSLContext, ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    store = KeyringStore()
    port = free_port()
    with xoauth2_smtp_server(auth_server, good_tls) as (smtp, mailbox, handler):
        config = _config(config_doc(auth_server, smtp.port, ACCOUNT, ca_file))
        refresh = signed_in(auth_server, config, store)
        made = bridge(
            config, refresh_token=refresh, client_secret=None, local_password=new_local_password(), local_port=port
        )
        config_file = tmp_path / "emailproxy.config"
        config_file.write_text(made.config_text)
        config_file.chmod(0o600)
        with running_emailproxy(config_file, port, ca_file, tmp_path / "emailproxy.log"):
            env = {
                **os.environ,
                "BRIDGE_PORT": str(port),
                "BRIDGE_USER": ACCOUNT,
                "BRIDGE_PASSWORD": made.local_password.reveal(),
            }
            sent = subprocess.run(
                [sys.executable, "-c", DJANGO_SEND], env=env, capture_output=True, text=True, timeout=120
            )
            # smtpwizard's live test of the whole path, speaking as Django does
            django = find_app("django")
            assert django is not None
            report = asyncio.run(run_probe(made.app_settings, made.local_password, profile=django.profile))
        rotated_file = config_file.read_text()

    assert sent.returncode == 0, sent.stderr[-500:] + (tmp_path / "emailproxy.log").read_text(errors="replace")[-3000:]
    assert len(mailbox.messages) == 1 and b"Sent by Django through emailproxy." in mailbox.messages[0].content
    assert handler.accepted and all(info["sub"] == ACCOUNT for info in handler.accepted)
    assert report.ok, report.failure
    assert report.auth_used == "PLAIN"  # what Django sends; the bridge turned it into XOAUTH2 upstream
    # tokens are only ever stored encrypted in emailproxy's file
    assert refresh.reveal() not in made.config_text and refresh.reveal() not in rotated_file
    assert all(token not in rotated_file for token in handler.tokens)
    assert made.local_password.reveal() not in rotated_file
    log = (tmp_path / "emailproxy.log").read_text(errors="replace") if (tmp_path / "emailproxy.log").exists() else ""
    assert all(secret not in log for secret in [refresh.reveal(), made.local_password.reveal(), *handler.tokens])
    assert "refresh_token" in rotated_file and oauth.scopes(config.oauth) is not None  # type: ignore[arg-type]


def test_the_bridge_command_hands_over_the_sign_in_and_the_app_config_passes_the_live_test(
    tmp_path: Path, auth_server: AuthServer, secret_service: dict[str, str], good_tls: ssl.SSLContext, ca_file: str
) -> None:
    import yaml

    from tests.cli.test_headless_subprocess import keyring_lookup, smtpwizard
    from tests.oauth.conftest import write_doc
    from tests.oauth.test_login_cli import REFRESH_ACCOUNT, browser_login

    env = {**secret_service}
    port = free_port()
    out = tmp_path / "bridge"
    with xoauth2_smtp_server(auth_server, good_tls) as (smtp, mailbox, handler):
        doc = config_doc(auth_server, smtp.port, ACCOUNT, ca_file)
        doc["target"] = "django"
        source = write_doc(tmp_path / "input.yaml", doc)
        browser_login(auth_server, source, env)
        refresh = keyring_lookup(env, REFRESH_ACCOUNT)
        made = smtpwizard("bridge", "--config", str(source), "--out", str(out), "--port", str(port), "--yes", env=env)
        assert made.returncode == 0, made.stdout + made.stderr
        with running_emailproxy(out / "emailproxy.config", port, ca_file, tmp_path / "emailproxy.log"):
            retest = smtpwizard(
                "test", "--config", str(out / "app.yaml"), "--send-test-to", "admin@example.com", env=env
            )
            export = smtpwizard("export", "--config", str(out / "app.yaml"), "--target", "django", env=env)

    assert retest.returncode == 0, retest.stdout + retest.stderr
    assert "one more service to keep running" in made.stdout and "127.0.0.1" in made.stdout
    assert len(mailbox.messages) == 1 and handler.accepted[0]["sub"] == ACCOUNT
    app = yaml.safe_load((out / "app.yaml").read_text())
    assert app["smtp"]["host"] == "127.0.0.1" and app["smtp"]["port"] == port and app["target"] == "django"
    assert "EMAIL_PORT" in export.stdout and str(port) in export.stdout
    assert keyring_lookup(env, REFRESH_ACCOUNT) is None  # handed over to emailproxy
    assert oct((out / "emailproxy.config").stat().st_mode & 0o777) == "0o600"
    unit = out / "emailproxy.service"
    assert f"ExecStart={shutil.which('emailproxy')} --no-gui" in unit.read_text()
    verify_unit(unit)
    compose = yaml.safe_load((out / "compose.yaml").read_text())["services"]["emailproxy"]
    assert "ports" not in compose and compose["volumes"] == [f"{out.resolve()}:/config"]
    local = keyring_lookup(env, app["smtp"]["password"]["keyring"]["account"])
    assert refresh and local
    written = [p.read_text() for p in out.iterdir()]
    outputs = [p.stdout + p.stderr for p in (made, retest, export)]
    for secret in [refresh, local, *handler.tokens]:
        assert all(secret not in text for text in written + outputs)


def test_mattermost_sends_through_the_bridge_over_local_starttls_with_its_exported_settings(
    tmp_path: Path,
    auth_server: AuthServer,
    secret_service: dict[str, str],
    good_tls: ssl.SSLContext,
    ca: object,
    ca_file: str,
    go_clients: Path,
) -> None:
    """Go's net/smtp (Mattermost's code) sends a password only over TLS: the bridge offers STARTTLS
    locally, and Mattermost's exported config.json (from app.yaml) reaches the XOAUTH2 server."""
    import yaml

    from tests.apps import harness
    from tests.cli.test_headless_subprocess import smtpwizard
    from tests.oauth.conftest import write_doc
    from tests.oauth.test_login_cli import browser_login

    env = {**secret_service}
    port = free_port()
    out = tmp_path / "bridge"
    leaf = ca.issue_cert("127.0.0.1")  # type: ignore[attr-defined]
    cert = tmp_path / "bridge.pem"  # certificate and key in one file
    cert.write_bytes(leaf.private_key_pem.bytes() + leaf.cert_chain_pems[0].bytes())
    with xoauth2_smtp_server(auth_server, good_tls) as (smtp, mailbox, handler):
        doc = config_doc(auth_server, smtp.port, ACCOUNT, ca_file)
        doc["target"] = "mattermost"
        source = write_doc(tmp_path / "input.yaml", doc)
        browser_login(auth_server, source, env)
        # Mattermost has no CA-file setting: the bridge's CA goes in the system store (here: SSL_CERT_FILE)
        args = ["--port", str(port), "--tls-cert", str(cert), "--yes"]
        made = smtpwizard("bridge", "--config", str(source), "--out", str(out), *args, env=env)
        assert made.returncode == 0, made.stdout + made.stderr
        app = out / "app.yaml"
        with running_emailproxy(out / "emailproxy.config", port, ca_file, tmp_path / "emailproxy.log"):
            retest = smtpwizard("test", "--config", str(app), env={**env, "SSL_CERT_FILE": ca_file})
            exported = smtpwizard("export", "--config", str(app), "--target", "mattermost", "--reveal-secret", env=env)
            sent = harness.go_app_send("mattermost", go_clients, ca_file, config=exported.stdout)

    assert yaml.safe_load(app.read_text())["smtp"]["security"] == "starttls"
    assert retest.returncode == 0, retest.stdout + retest.stderr
    assert exported.returncode == 0, exported.stderr
    assert sent.ok, sent.detail
    assert len(mailbox.messages) == 1 and all(info["sub"] == ACCOUNT for info in handler.accepted)
    assert all(token not in (out / "emailproxy.config").read_text() for token in handler.tokens)
