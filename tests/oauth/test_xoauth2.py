"""XOAUTH2 end to end on loopback: a real OpenID Connect provider (oidc-provider) issues the
tokens through each flow, and an aiosmtpd server accepts only tokens its introspection calls
active, with smtp.send, for the user named in the SASL string. The Microsoft flows run twice
(the ``oauth_backend`` fixture): through msal and through oauth.py's own client."""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from smtpwizard.core import oauth
from smtpwizard.core.apply import retest
from smtpwizard.core.config import parse_document
from smtpwizard.core.secrets import KeyringStore
from smtpwizard.core.settings import Config, Secret
from tests.conftest import MemoryKeyring
from tests.oauth.authserver import (
    ACCOUNT,
    APP_CLIENT,
    APP_SECRET,
    PUBLIC_CLIENT,
    SHORT_CLIENT,
    AuthServer,
    UserAgent,
    xoauth2_smtp_server,
)
from tests.oauth.conftest import Backend, config_doc


def _config(doc: dict[str, Any]) -> Config:
    return parse_document(doc, "input").config


def sign_in(server: AuthServer, config: Config, login_hint: str | None = None) -> oauth.TokenSet:
    """auth code + PKCE: smtpwizard listens on loopback, a browser-less user agent signs in."""
    assert config.oauth is not None
    session = oauth.AuthCodeSession(config.oauth, login_hint=login_hint or config.smtp.username)
    redirect = UserAgent(server).sign_in(session.start())
    assert redirect.startswith(session.redirect_uri)
    threading.Thread(target=UserAgent(server).follow_redirect, args=(redirect,), daemon=True).start()
    return session.wait(10)


def signed_in(server: AuthServer, config: Config, store: KeyringStore, login_hint: str | None = None) -> Secret:
    tokens = sign_in(server, config, login_hint)
    assert tokens.refresh_token is not None
    oauth.store_refresh_token(store, oauth.refresh_token_ref(config), tokens.refresh_token)
    return tokens.refresh_token


def everything_shown(report: Any, diagnosis: Any) -> str:
    return json.dumps(report.to_dict()) + (json.dumps(diagnosis.to_dict()) if diagnosis else "")


def test_auth_code_sign_in_then_the_live_test_sends_with_xoauth2_and_rotates_the_refresh_token(
    auth_server: AuthServer,
    good_tls: ssl.SSLContext,
    ca_file: str,
    memory_keyring: MemoryKeyring,
    oauth_backend: Backend,
) -> None:
    store = KeyringStore()
    with xoauth2_smtp_server(auth_server, good_tls) as (smtp, mailbox, handler):
        config = _config(config_doc(auth_server, smtp.port, ACCOUNT, ca_file))
        first_refresh = signed_in(auth_server, config, store)
        report, diagnosis = asyncio.run(retest(config, store, send_test_to="admin@example.com"))

    assert diagnosis is None, diagnosis
    assert report.auth_used == "XOAUTH2"
    assert len(mailbox.messages) == 1
    assert handler.accepted[0]["sub"] == ACCOUNT and handler.accepted[0]["client_id"] == PUBLIC_CLIENT
    auth = report.stage(report.stages[0].stage.__class__("auth"))
    assert auth is not None and f"token for {ACCOUNT}" in auth.detail and "valid until" in auth.detail
    assert report.to_dict()["oauth"]["identity"] == ACCOUNT
    # rotation: the keyring holds a new refresh token and the provider no longer takes the old one
    rotated = store.get(oauth.refresh_token_ref(config))
    assert rotated is not None and rotated != first_refresh
    reused = auth_server.post(
        "token", {"grant_type": "refresh_token", "refresh_token": first_refresh.reveal(), "client_id": PUBLIC_CLIENT}
    )
    assert reused["error"] == "invalid_grant"
    shown = everything_shown(report, diagnosis)
    assert handler.tokens and all(token not in shown for token in handler.tokens)
    assert rotated.reveal() not in shown and first_refresh.reveal() not in shown
    oauth_backend.assert_used()


def test_device_code_sign_in_polls_until_the_user_has_entered_the_code(
    auth_server: AuthServer, ca_file: str, memory_keyring: MemoryKeyring, oauth_backend: Backend
) -> None:
    config = _config(config_doc(auth_server, 587, ACCOUNT, ca_file, flow="device_code"))
    assert config.oauth is not None
    device = oauth.start_device(config.oauth)
    waits: list[float] = []

    def user_enters_code_while_smtpwizard_waits(seconds: float) -> None:
        waits.append(seconds)  # the first poll said authorization_pending
        UserAgent(auth_server).enter_user_code(device.verification_uri, device.user_code)

    tokens = oauth.poll_device(config.oauth, device, sleep=user_enters_code_while_smtpwizard_waits)
    assert len(waits) == 1 and waits[0] == device.interval_s
    assert tokens.identity == ACCOUNT and tokens.refresh_token is not None
    assert auth_server.introspect(tokens.access_token.reveal())["active"] is True
    oauth_backend.assert_used()


def test_client_credentials_with_a_secret_sends_as_the_app(
    auth_server: AuthServer,
    good_tls: ssl.SSLContext,
    ca_file: str,
    memory_keyring: MemoryKeyring,
    oauth_backend: Backend,
) -> None:
    store = KeyringStore()
    with xoauth2_smtp_server(auth_server, good_tls) as (smtp, _mailbox, handler):
        doc = config_doc(
            auth_server, smtp.port, "noreply@example.test", ca_file, client_id=APP_CLIENT, flow="client_credentials"
        )
        doc["oauth"]["client_secret"] = {"keyring": {"account": "default/oauth/client-secret/app"}}
        config = _config(doc)
        store.put(oauth.client_secret_ref(config), Secret(APP_SECRET))
        report, diagnosis = asyncio.run(retest(config, store, send_test_to="admin@example.com"))
    assert diagnosis is None, diagnosis
    assert handler.accepted[0]["client_id"] == APP_CLIENT and "sub" not in handler.accepted[0]
    assert report.token_identity == f"app {APP_CLIENT}"
    assert APP_SECRET not in everything_shown(report, diagnosis)
    oauth_backend.assert_used()


def test_client_credentials_with_a_certificate_signs_a_client_assertion(
    auth_server: AuthServer, ca_file: str, app_certificate: tuple[str, Any], oauth_backend: Backend
) -> None:
    doc = config_doc(
        auth_server, 587, "noreply@example.test", ca_file, client_id="smtpwizard-cert", flow="client_credentials"
    )
    doc["oauth"]["certificate"] = app_certificate[0]
    config = _config(doc)
    assert config.oauth is not None
    tokens = oauth.client_credentials(config.oauth, None)
    info = auth_server.introspect(tokens.access_token.reveal())
    assert info["active"] is True and info["client_id"] == "smtpwizard-cert"
    oauth_backend.assert_used()


def test_a_revoked_refresh_token_is_diagnosed_and_no_login_is_sent(
    auth_server: AuthServer,
    good_tls: ssl.SSLContext,
    ca_file: str,
    memory_keyring: MemoryKeyring,
    oauth_backend: Backend,
) -> None:
    store = KeyringStore()
    with xoauth2_smtp_server(auth_server, good_tls) as (smtp, mailbox, _handler):
        config = _config(config_doc(auth_server, smtp.port, ACCOUNT, ca_file))
        refresh = signed_in(auth_server, config, store)
        auth_server.revoke(refresh.reveal())
        _report, diagnosis = asyncio.run(retest(config, store))
    assert diagnosis is not None and diagnosis.code == "oauth_expired"
    assert "revoked" in diagnosis.explanation and "smtpwizard login" in diagnosis.fix
    assert mailbox.auth_attempts == []  # no AUTH with a token that could not be had
    assert store.get(oauth.refresh_token_ref(config)) == refresh  # nothing overwritten
    oauth_backend.assert_used()


def test_an_expired_refresh_token_is_diagnosed(
    auth_server: AuthServer, ca_file: str, memory_keyring: MemoryKeyring, oauth_backend: Backend
) -> None:
    store = KeyringStore()
    config = _config(config_doc(auth_server, 587, ACCOUNT, ca_file, client_id=SHORT_CLIENT))
    signed_in(auth_server, config, store)
    time.sleep(3)  # the provider gives this client's refresh tokens 2 seconds
    with pytest.raises(oauth.OAuthError) as failed:
        oauth.access_token(config, store)
    assert failed.value.kind == "oauth_invalid_grant"
    oauth_backend.assert_used()


def test_declined_consent_is_diagnosed(auth_server: AuthServer, ca_file: str, oauth_backend: Backend) -> None:
    config = _config(config_doc(auth_server, 587, ACCOUNT, ca_file))
    with pytest.raises(oauth.OAuthError) as failed:
        sign_in(auth_server, config, login_hint="denied@example.test")
    assert failed.value.kind == "oauth_denied"
    assert "did not consent" in str(failed.value)


def test_an_account_of_another_tenant_is_diagnosed_as_the_wrong_tenant(
    auth_server: AuthServer, ca_file: str, oauth_backend: Backend
) -> None:
    config = _config(config_doc(auth_server, 587, ACCOUNT, ca_file))
    with pytest.raises(oauth.OAuthError) as failed:
        sign_in(auth_server, config, login_hint="outsider@example.test")
    assert failed.value.kind == "oauth_wrong_tenant"
    assert "AADSTS50020" in str(failed.value)


def test_consent_an_admin_must_give_first_is_diagnosed(
    auth_server: AuthServer, ca_file: str, oauth_backend: Backend
) -> None:
    from smtpwizard.core.diagnose import oauth_diagnosis

    config = _config(config_doc(auth_server, 587, "noconsent@example.test", ca_file))
    with pytest.raises(oauth.OAuthError) as failed:
        sign_in(auth_server, config)
    assert failed.value.kind == "oauth_consent_required"
    diagnosis = oauth_diagnosis(failed.value.kind, str(failed.value))
    assert diagnosis.title == "Consent is missing" and "Grant admin consent" in diagnosis.fix


def test_a_token_without_the_smtp_scope_is_refused_before_any_smtp(
    auth_server: AuthServer, ca_file: str, oauth_backend: Backend
) -> None:
    config = _config(config_doc(auth_server, 587, "noscope@example.test", ca_file))
    with pytest.raises(oauth.OAuthError) as failed:
        sign_in(auth_server, config)
    assert failed.value.kind == "oauth_scope_missing"
    assert "smtp.send" in str(failed.value)
    oauth_backend.assert_used()  # the code was exchanged: the token came back without the scope


def test_a_token_for_another_user_is_diagnosed_with_the_username_fix(
    auth_server: AuthServer,
    good_tls: ssl.SSLContext,
    ca_file: str,
    memory_keyring: MemoryKeyring,
    oauth_backend: Backend,
) -> None:
    store = KeyringStore()
    with xoauth2_smtp_server(auth_server, good_tls) as (smtp, mailbox, _handler):
        config = _config(config_doc(auth_server, smtp.port, ACCOUNT, ca_file))
        signed_in(auth_server, config, store, login_hint="other@example.test")
        report, diagnosis = asyncio.run(retest(config, store))
    assert diagnosis is not None and diagnosis.code == "xoauth2_wrong_user"
    assert report.failure is not None and report.failure.code == 535
    assert diagnosis.settings_change == {"username": "other@example.test"}
    assert mailbox.auth_attempts == [("XOAUTH2", ACCOUNT)]  # one attempt, never retried
    oauth_backend.assert_used()


def test_not_signed_in_is_diagnosed_without_any_login(
    auth_server: AuthServer, good_tls: ssl.SSLContext, ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    with xoauth2_smtp_server(auth_server, good_tls) as (smtp, mailbox, _handler):
        config = _config(config_doc(auth_server, smtp.port, ACCOUNT, ca_file))
        _report, diagnosis = asyncio.run(retest(config, KeyringStore()))
    assert diagnosis is not None and diagnosis.code == "oauth_not_signed_in"
    assert "smtpwizard login" in diagnosis.fix and mailbox.auth_attempts == []


def test_a_wrong_tenant_is_diagnosed_with_where_to_find_the_right_one(
    auth_server: AuthServer,
    good_tls: ssl.SSLContext,
    ca_file: str,
    memory_keyring: MemoryKeyring,
    oauth_backend: Backend,
) -> None:
    # msal learns it at discovery (GET <tenant>/v2.0/.well-known/openid-configuration), the
    # standard library client at the token request: the same AADSTS90002 answer either way
    store = KeyringStore()
    with xoauth2_smtp_server(auth_server, good_tls) as (smtp, mailbox, _handler):
        doc = config_doc(
            auth_server, smtp.port, "noreply@example.test", ca_file, client_id=APP_CLIENT, flow="client_credentials"
        )
        doc["oauth"] |= {"tenant": "fabrikam-typo", "client_secret": {"keyring": {"account": "default/oauth/cs"}}}
        config = _config(doc)
        store.put(oauth.client_secret_ref(config), Secret(APP_SECRET))
        _report, diagnosis = asyncio.run(retest(config, store))
    assert diagnosis is not None and diagnosis.code == "oauth_tenant"
    assert "fabrikam-typo" in diagnosis.explanation and "Overview page" in diagnosis.fix
    assert mailbox.auth_attempts == []


def test_an_app_without_xoauth2_gets_the_bridge_first_and_nothing_is_sent(
    auth_server: AuthServer, good_tls: ssl.SSLContext, ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    store = KeyringStore()
    with xoauth2_smtp_server(auth_server, good_tls) as (smtp, mailbox, _handler):
        doc = config_doc(auth_server, smtp.port, ACCOUNT, ca_file)
        doc["target"], doc["provider"] = "mastodon", "microsoft365"
        config = _config(doc)
        signed_in(auth_server, config, store)
        _report, diagnosis = asyncio.run(retest(config, store))
    assert diagnosis is not None and diagnosis.code == "app_no_xoauth2"
    assert diagnosis.title == "Mastodon cannot send with OAuth2"
    assert diagnosis.details[0].startswith("1. A local bridge: emailproxy")
    assert any("Azure Communication Services" in d for d in diagnosis.details)
    assert mailbox.auth_attempts == []


def test_the_token_endpoint_must_be_https() -> None:
    from smtpwizard.core.errors import FieldError

    doc = {
        "smtp": {"host": "smtp.example.com", "port": 587, "auth": "xoauth2", "username": "a@example.com"},
        "oauth": {"provider": "generic", "client_id": "x", "token_url": "http://id.example.com/token", "scopes": ["s"]},
        "sender": {"address": "a@example.com"},
    }
    with pytest.raises(FieldError, match=r"oauth.token_url: 'http://id.example.com/token' is not an https URL"):
        _config(doc)


def test_an_error_description_that_echoes_the_refresh_token_is_redacted(
    auth_server: AuthServer, ca_file: str, memory_keyring: MemoryKeyring, oauth_backend: Backend
) -> None:
    import trustme

    from tests.oauth.authserver import TENANT
    from tests.servers import ServerThread

    base: list[str] = []

    # An authorization server that quotes the refresh token back in its error (as some do); it
    # also answers msal's discovery request with Entra's document layout.
    async def quoting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if head.startswith(b"GET "):
            issuer = f"{base[0]}/{TENANT}"
            document = {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/oauth2/v2.0/authorize",
                "token_endpoint": f"{issuer}/oauth2/v2.0/token",
            }
            status, body = b"200 OK", json.dumps(document).encode()
        else:
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            form = urllib.parse.parse_qs((await reader.readexactly(length)).decode())
            token = form["refresh_token"][0]
            status = b"400 Bad Request"
            body = json.dumps({"error": "invalid_grant", "error_description": f"token {token} is unknown"}).encode()
        writer.write(
            b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            % (status, len(body))
            + body
        )
        await writer.drain()
        writer.close()

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca = trustme.CA()
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_path = Path(ca_file).with_name("quoting-ca.pem")
    ca.cert_pem.write_to_path(str(ca_path))
    with ServerThread(stream_handler=quoting, ssl_context=context) as server:
        base.append(f"https://127.0.0.1:{server.port}")
        doc = config_doc(auth_server, 587, ACCOUNT, ca_file)
        doc["oauth"] |= {"authority": base[0], "ca_file": str(ca_path)}
        config = _config(doc)
        store = KeyringStore()
        store.put(oauth.refresh_token_ref(config), Secret("rt-9f2c4e77aa"))
        with pytest.raises(oauth.OAuthError) as failed:
            oauth.access_token(config, store)
    assert failed.value.kind == "oauth_invalid_grant", str(failed.value)
    assert "rt-9f2c4e77aa" not in str(failed.value) and "token ******** is unknown" in str(failed.value)


def test_a_generic_provider_signs_in_with_its_own_endpoints(auth_server: AuthServer, ca_file: str) -> None:
    doc = config_doc(auth_server, 587, ACCOUNT, ca_file)
    doc["oauth"] = {
        "provider": "generic",
        "client_id": PUBLIC_CLIENT,
        "authorize_url": auth_server.endpoint("authorize"),
        "token_url": auth_server.endpoint("token"),
        "device_url": auth_server.endpoint("devicecode"),
        "scopes": ["openid", "email", "offline_access", "smtp.send"],
        "ca_file": auth_server.ca_file,
    }
    config = _config(doc)
    assert config.oauth is not None
    session = oauth.AuthCodeSession(config.oauth, login_hint=ACCOUNT)
    url = session.start()
    assert "prompt=consent" in url  # OIDC servers issue a refresh token only with consent
    redirect = UserAgent(auth_server).sign_in(url)
    threading.Thread(target=UserAgent(auth_server).follow_redirect, args=(redirect,), daemon=True).start()
    tokens = session.wait(10)
    assert tokens.identity == ACCOUNT and tokens.refresh_token is not None


def test_a_google_style_desktop_client_sends_its_secret_from_the_keyring(
    auth_server: AuthServer, good_tls: ssl.SSLContext, ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    from tests.oauth.authserver import DESKTOP_CLIENT, DESKTOP_SECRET

    store = KeyringStore()
    with xoauth2_smtp_server(auth_server, good_tls) as (smtp, mailbox, handler):
        doc = config_doc(auth_server, smtp.port, ACCOUNT, ca_file, client_id=DESKTOP_CLIENT)
        doc["oauth"] |= {
            "provider": "google",
            "authorize_url": auth_server.endpoint("authorize"),
            "token_url": auth_server.endpoint("token"),
        }
        config = _config(doc)
        assert config.oauth is not None
        session = oauth.AuthCodeSession(config.oauth, login_hint=ACCOUNT, client_secret=Secret(DESKTOP_SECRET))
        url = session.start()
        assert "access_type=offline" in url and "prompt=consent" in url
        redirect = UserAgent(auth_server).sign_in(url)
        threading.Thread(target=UserAgent(auth_server).follow_redirect, args=(redirect,), daemon=True).start()
        tokens = session.wait(10)
        assert tokens.refresh_token is not None
        written = oauth.with_keyring_refs(config)
        assert written.oauth is not None and written.oauth.client_secret == oauth.client_secret_ref(config)
        store.put(oauth.client_secret_ref(config), Secret(DESKTOP_SECRET))
        oauth.store_refresh_token(store, oauth.refresh_token_ref(config), tokens.refresh_token)
        report, diagnosis = asyncio.run(retest(written, store, send_test_to="admin@example.com"))
    assert diagnosis is None, diagnosis
    assert len(mailbox.messages) == 1 and handler.accepted[0]["client_id"] == DESKTOP_CLIENT
    assert DESKTOP_SECRET not in json.dumps(report.to_dict())
