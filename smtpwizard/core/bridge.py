"""The bridge for password-only apps: emailproxy (simonrob/email-oauth2-proxy, on PyPI) as a local
relay. The app sends a password to it on this machine; it signs in to the provider with OAuth2
and logs in upstream with XOAUTH2.

smtpwizard writes its configuration, hands it the sign-in (the refresh token moves from the
keyring into emailproxy's file, encrypted with the local password exactly as emailproxy encrypts
its own tokens), and writes a systemd unit and a docker compose service. The local password is
the app's SMTP password: it lives in the keyring, and in the app's own settings.
"""

from __future__ import annotations

import base64
import configparser
import io
import os
import secrets
from dataclasses import dataclass

from smtpwizard.core.oauth import endpoints, scopes
from smtpwizard.core.settings import Config, Secret, SmtpSettings

# emailproxy.py, class Cryptographer: Fernet keys from PBKDF2-HMAC-SHA256 of the account's password
# with a 16-byte salt (token_salt, base64) and ITERATIONS = 1_200_000 (token_iterations).
EMAILPROXY_ITERATIONS = 1_200_000
DEFAULT_LOCAL_PORT = 1587


@dataclass(frozen=True)
class Bridge:
    """What setting up the bridge produces; ``config_text`` holds encrypted tokens: write it 0600."""

    config_text: str
    systemd_unit: str
    compose_service: str
    app_settings: SmtpSettings  # what the app is given: the bridge on this machine
    local_password: Secret


def _fernet(password: Secret, salt: bytes, iterations: int) -> object:
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations)
    return Fernet(base64.urlsafe_b64encode(kdf.derive(password.reveal().encode("utf-8"))))


def _encrypt(fernet: object, secret: Secret) -> str:
    return str(fernet.encrypt(secret.reveal().encode("utf-8")).decode("ascii"))  # type: ignore[attr-defined]


def new_local_password() -> Secret:
    """The password the app sends to the bridge: random, ASCII (every app's client can send it)."""
    return Secret(secrets.token_urlsafe(24))


def bridge(
    config: Config,
    *,
    refresh_token: Secret | None,
    client_secret: Secret | None,
    local_password: Secret,
    local_port: int = DEFAULT_LOCAL_PORT,
    local_certificate: tuple[str, str] | None = None,
    iterations: int = EMAILPROXY_ITERATIONS,
    config_path: str = "/etc/emailproxy/emailproxy.config",
    executable: str = "/usr/local/bin/emailproxy",
) -> Bridge:
    """emailproxy's configuration for this XOAUTH2 config, seeded with its sign-in.

    ``local_certificate`` (certificate, key) turns on STARTTLS on the local port, for apps that
    send a password only over TLS (Go's net/smtp to anything but localhost)."""
    oauth = config.oauth
    assert oauth is not None
    smtp = config.smtp
    urls = endpoints(oauth)
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    section = f"SMTP-{local_port}"
    server = {
        "server_address": smtp.host,
        "server_port": str(smtp.port),
        "server_starttls": str(smtp.security == "starttls"),
        "local_address": "127.0.0.1",
    }
    if local_certificate is not None:
        server |= {
            "local_starttls": "True",
            "local_certificate_path": local_certificate[0],
            "local_key_path": local_certificate[1],
        }
    parser[section] = server
    salt = os.urandom(16)
    fernet = _fernet(local_password, salt, iterations)
    account: dict[str, str] = {
        "token_url": urls.token,
        "oauth2_scope": " ".join(scopes(oauth)),
        "client_id": oauth.client_id,
        "token_salt": base64.b64encode(salt).decode("ascii"),
        "token_iterations": str(iterations),
    }
    if oauth.flow == "client_credentials":
        account["oauth2_flow"] = "client_credentials"
        if client_secret is not None:
            account["client_secret_encrypted"] = _encrypt(fernet, client_secret)
    else:
        account |= {"permission_url": urls.authorize or "", "redirect_uri": "http://localhost", "use_pkce": "True"}
        if refresh_token is not None:
            account["refresh_token"] = _encrypt(fernet, refresh_token)
    assert smtp.username is not None
    parser[smtp.username] = account
    text = io.StringIO()
    text.write(
        "# Written by smtpwizard for emailproxy (simonrob/email-oauth2-proxy). The tokens below are encrypted\n"
        "# with the app's local password; keep this file 0600. emailproxy rewrites it as tokens rotate.\n"
    )
    parser.write(text)
    tls = local_certificate is not None
    app_settings = SmtpSettings(
        host="127.0.0.1",
        port=local_port,
        security="starttls" if tls else "none",
        auth="auto",
        username=smtp.username,
        allow_insecure_auth=not tls,  # on this machine only
        timeout_s=max(smtp.timeout_s, 30.0),  # the first login derives keys and fetches a token
    )
    return Bridge(
        config_text=text.getvalue(),
        systemd_unit=_systemd_unit(config_path, executable),
        compose_service=_compose_service(config_path, local_port),
        app_settings=app_settings,
        local_password=local_password,
    )


def _systemd_unit(config_path: str, executable: str) -> str:
    directory = os.path.dirname(config_path)
    # emailproxy rewrites its config as tokens rotate: its own user must own the directory
    return f"""\
# /etc/systemd/system/emailproxy.service - written by smtpwizard. Before enabling it:
#   useradd --system --no-create-home --shell /usr/sbin/nologin emailproxy
#   chown -R emailproxy: {directory}
[Unit]
Description=Email OAuth 2.0 Proxy (SMTP XOAUTH2 bridge for password-only apps)
After=network-online.target
Wants=network-online.target

[Service]
User=emailproxy
ExecStart={executable} --no-gui --external-auth --config-file {config_path}
Restart=on-failure
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ReadWritePaths={directory}

[Install]
WantedBy=multi-user.target
"""


def _compose_service(config_path: str, local_port: int) -> str:
    return f"""\
# docker compose service - written by smtpwizard; the app reaches it as emailproxy:{local_port}
services:
  emailproxy:
    image: python:3.12-slim
    command: sh -c "pip install --no-cache-dir emailproxy && emailproxy --no-gui --external-auth --config-file /config/emailproxy.config"
    volumes:
      - {os.path.dirname(config_path)}:/config
    restart: unless-stopped
    # no ports: published; only containers on the same network reach it. In a container, 127.0.0.1 is
    # the container itself: set local_address = 0.0.0.0 in the [SMTP-{local_port}] section for this use.
"""
