"""Every supported app through the bridge: smtpwizard's bridge settings (local STARTTLS, the
app's local password) exported in each app's own format, read back by the app's reader and sent
by the app's own mail code (Django's EmailBackend, the Ruby mail gem, Go's net/smtp with
Mattermost's and Sourcegraph's logic, nodemailer) to a real emailproxy process, which signs in
upstream with XOAUTH2; the message arrives at the XOAUTH2 server with the mailbox's token."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from smtpwizard.core.bridge import bridge
from smtpwizard.core.secrets import KeyringStore
from smtpwizard.core.settings import Config, Secret, Verification
from tests.apps.test_end_to_end import PASSWORD, RUNNERS, SENDER
from tests.conftest import MemoryKeyring
from tests.oauth.authserver import ACCOUNT, AuthServer, xoauth2_smtp_server
from tests.oauth.conftest import config_doc
from tests.oauth.test_bridge import free_port, running_emailproxy
from tests.oauth.test_xoauth2 import _config, signed_in


@pytest.mark.parametrize("app", sorted(RUNNERS))
def test_each_apps_own_client_sends_through_the_bridge_and_arrives_with_xoauth2(
    app: str,
    tmp_path: Path,
    auth_server: AuthServer,
    good_tls: ssl.SSLContext,
    ca: object,
    ca_file: str,
    go_clients: Path,
    memory_keyring: MemoryKeyring,
) -> None:
    leaf = ca.issue_cert("127.0.0.1")  # type: ignore[attr-defined]
    cert, key = tmp_path / "bridge-cert.pem", tmp_path / "bridge-key.pem"
    cert.write_bytes(leaf.cert_chain_pems[0].bytes())
    key.write_bytes(leaf.private_key_pem.bytes())
    port = free_port()
    with xoauth2_smtp_server(auth_server, good_tls) as (smtp, mailbox, handler):
        config = _config(config_doc(auth_server, smtp.port, ACCOUNT, ca_file))
        refresh = signed_in(auth_server, config, KeyringStore())
        # the app's local password: the one with quotes, a backslash, $, # and ': ' every format must carry
        made = bridge(
            config,
            refresh_token=refresh,
            client_secret=None,
            local_password=Secret(PASSWORD),
            local_port=port,
            local_certificate=(str(cert), str(key)),
        )
        config_file = tmp_path / "emailproxy.config"
        config_file.write_text(made.config_text)
        config_file.chmod(0o600)
        verified = Verification(status="passed", at="2026-11-30T12:00:00Z", auth_mechanism="PLAIN")
        app_config = Config(smtp=made.app_settings, sender=SENDER, provider="custom", verified=verified)
        with running_emailproxy(config_file, port, ca_file, tmp_path / "emailproxy.log"):
            sent = RUNNERS[app](app_config, ca_file, go_clients, tmp_path)

    log = (tmp_path / "emailproxy.log").read_text(errors="replace") if (tmp_path / "emailproxy.log").exists() else ""
    assert sent.ok, sent.detail + log[-2000:]
    assert made.app_settings.security == "starttls" and made.app_settings.host == "127.0.0.1"
    assert len(mailbox.messages) == 1
    assert handler.accepted and all(info["sub"] == ACCOUNT for info in handler.accepted)
    for secret in [refresh.reveal(), PASSWORD, *handler.tokens]:
        assert secret not in config_file.read_text() and secret not in log
