"""Fixtures of the OAuth tests: one real authorization server per session, and the settings
that point smtpwizard's microsoft provider at it."""

from __future__ import annotations

import base64
import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.apps.conftest import go_clients  # noqa: F401 - Mattermost's code on Go's net/smtp, for the bridge
from tests.oauth.authserver import PUBLIC_CLIENT, SMTP_SCOPE, TENANT, AuthServer, running_auth_server


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture(scope="session")
def app_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    """A PEM file with an RSA key and its self-signed certificate (as uploaded to an Entra app),
    and the public key as a JWKS for the authorization server."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smtpwizard test app")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    path = tmp_path_factory.mktemp("app-cert") / "app.pem"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    numbers = key.public_key().public_numbers()
    jwks = {"keys": [{"kty": "RSA", "use": "sig", "n": _b64(numbers.n), "e": _b64(numbers.e)}]}
    return str(path), jwks


@pytest.fixture(scope="session")
def auth_server(
    ca: trustme.CA, ca_file: str, tmp_path_factory: pytest.TempPathFactory, app_certificate: tuple[str, dict[str, Any]]
) -> Iterator[AuthServer]:
    with running_auth_server(ca, ca_file, tmp_path_factory.mktemp("oidc"), app_jwks=app_certificate[1]) as server:
        yield server


BACKENDS = ("msal", "stdlib")  # who talks to a Microsoft authority: msal (the oauth extra) or oauth.py's own client


@dataclass
class Backend:
    name: str
    server: AuthServer
    seen_before: int  # the provider's request count when the test began

    @property
    def env(self) -> dict[str, str]:
        """For a subprocess: the environment variable that picks this backend."""
        from smtpwizard.core.oauth import BACKEND_ENV

        return {BACKEND_ENV: self.name}

    def assert_used(self) -> None:
        """Every token and device request of this test reached the provider from this backend:
        msal sends x-client-sku: MSAL.Python with each, oauth.py's client sends none."""
        sent = [r for r in self.server.requests()[self.seen_before :] if r["path"].endswith(("/token", "/devicecode"))]
        assert sent, "no token request reached the provider"
        expected = "MSAL.Python" if self.name == "msal" else None
        assert all(r["sku"] == expected for r in sent), f"not all through {self.name}: {sent}"


def require_msal() -> None:
    from smtpwizard.core import oauth_msal

    if not oauth_msal.installed():
        if os.environ.get("CI"):
            pytest.fail("CI must provide msal (the test extra: pip install -e '.[test]')")
        pytest.skip("needs msal: pip install -e '.[test]'")


@pytest.fixture(params=BACKENDS)
def oauth_backend(request: pytest.FixtureRequest, auth_server: AuthServer, monkeypatch: pytest.MonkeyPatch) -> Backend:
    """Run the test once through msal and once through oauth.py's client, against the same provider."""
    from smtpwizard.core.oauth import BACKEND_ENV

    if request.param == "msal":
        require_msal()
    monkeypatch.setenv(BACKEND_ENV, request.param)
    return Backend(request.param, auth_server, len(auth_server.requests()))


def oauth_doc(
    server: AuthServer, client_id: str = PUBLIC_CLIENT, flow: str = "auth_code", **extra: Any
) -> dict[str, Any]:
    """An oauth: block for the microsoft provider, its authority moved to the loopback server."""
    return {
        "provider": "microsoft",
        "authority": server.authority,
        "tenant": TENANT,
        "client_id": client_id,
        "flow": flow,
        "scopes": ["openid", "email", "offline_access", SMTP_SCOPE] if flow != "client_credentials" else [SMTP_SCOPE],
        "ca_file": server.ca_file,
        **extra,
    }


def config_doc(server: AuthServer, smtp_port: int, username: str, ca_file: str, **oauth: Any) -> dict[str, Any]:
    return {
        "version": 2,
        "profile": "default",
        "provider": "custom",
        "smtp": {
            "host": "127.0.0.1",
            "port": smtp_port,
            "security": "starttls",
            "ca_file": ca_file,
            "auth": "xoauth2",
            "username": username,
        },
        "oauth": oauth_doc(server, **oauth),
        "sender": {"address": username},
    }


def write_doc(path: Path, doc: dict[str, Any]) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path
