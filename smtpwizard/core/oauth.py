"""OAuth 2.0 for SMTP XOAUTH2: sign-in (auth code + PKCE on a loopback redirect, device code),
app-only tokens (client credentials with a secret or a certificate) and refresh with rotation.

A minimal client on the standard library (RFC 6749, 7636 PKCE, 8252 loopback redirects, 8628
device grant, 7523 client assertions), imported only on the OAuth path: the password path and
``--help`` never load it (tests/test_import_boundaries.py). Tokens are :class:`Secret` objects;
the refresh token and the client secret are read from and written to the keyring only, and a
rotated refresh token is stored back before the new access token is used.

For ``provider: microsoft`` the requests go through msal (Microsoft's library, the ``oauth``
extra; core/oauth_msal.py) when it is installed, and through this client when it is not, or when
SMTPWIZARD_OAUTH_BACKEND=stdlib. Both give the same TokenSets and OAuthError kinds. Google and
generic providers always use this client.

msal (checked on 1.39) can be pointed at a non-Microsoft authority for every flow used here, so
no flow falls back to this client: tests/oauth runs auth code + PKCE on a loopback redirect, the
pasted redirect URL, device code, client credentials (secret; certificate, which msal signs PS256
with x5t#S256) and refresh with rotation (msal returns the new refresh token) through both
clients against a real oidc-provider. What msal needs from that server: Entra's discovery path
``<tenant>/v2.0/.well-known/openid-configuration`` (msal's ``authority=``; ``oidc_authority=``
also works, if the issuer matches), and the ``profile`` scope, which msal adds to every user
request (a refresh otherwise fails with invalid_scope).
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import secrets
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smtpwizard.core.config import EnvSource, FileSource, InlineSource, KeyringSource, PasswordSource
from smtpwizard.core.errors import FieldError, InputMissing, SecretStoreError, WizardError
from smtpwizard.core.exit_codes import ExitCode
from smtpwizard.core.probe import BearerToken, TokenFailure, TokenFailureKind
from smtpwizard.core.secrets import SecretStore
from smtpwizard.core.settings import (
    KEYRING_SERVICE,
    Config,
    OAuthSettings,
    Secret,
    SecretRef,
    is_loopback,
    oauth_keyring_account,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.x509 import Certificate

    from smtpwizard.core import oauth_msal

MICROSOFT_AUTHORITY = "https://login.microsoftonline.com"
GOOGLE_AUTHORIZE = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN = "https://oauth2.googleapis.com/token"  # noqa: S105 - an endpoint, not a secret
# MS Learn "Authenticate an IMAP, POP or SMTP connection using OAuth" (see shared/reference/modern-auth.md).
MICROSOFT_DELEGATED = ("https://outlook.office.com/SMTP.Send", "offline_access", "openid", "email")
MICROSOFT_APP_ONLY = ("https://outlook.office365.com/.default",)
GOOGLE_SCOPES = ("https://mail.google.com/", "openid", "email")  # a restricted scope
OIDC_SCOPES = frozenset({"openid", "email", "profile", "offline_access"})
HTTP_TIMEOUT_S = 20.0
MAX_BODY = 256 * 1024
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
BACKEND_ENV = "SMTPWIZARD_OAUTH_BACKEND"  # "stdlib" forces this client for Microsoft, "msal" requires msal


class OAuthError(WizardError):
    """A token request failed; ``kind`` keys the diagnosis catalog."""

    exit_code = ExitCode.NO_PERMISSION

    def __init__(self, kind: TokenFailureKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Endpoints:
    authorize: str | None
    token: str
    device: str | None


@dataclass(frozen=True)
class TokenSet:
    access_token: Secret
    refresh_token: Secret | None
    expires_at: datetime | None
    scopes: tuple[str, ...]
    identity: str | None


# --- what the settings mean ----------------------------------------------------------------


def endpoints(oauth: OAuthSettings) -> Endpoints:
    if oauth.provider == "microsoft":
        base = f"{oauth.authority or MICROSOFT_AUTHORITY}/{oauth.tenant or 'organizations'}/oauth2/v2.0"
        return Endpoints(f"{base}/authorize", f"{base}/token", f"{base}/devicecode")
    if oauth.provider == "google":
        return Endpoints(oauth.authorize_url or GOOGLE_AUTHORIZE, oauth.token_url or GOOGLE_TOKEN, None)
    assert oauth.token_url is not None  # config.py requires it for a generic provider
    return Endpoints(oauth.authorize_url, oauth.token_url, oauth.device_url)


def scopes(oauth: OAuthSettings) -> tuple[str, ...]:
    if oauth.scopes:
        return oauth.scopes
    if oauth.provider == "microsoft":
        return MICROSOFT_APP_ONLY if oauth.flow == "client_credentials" else MICROSOFT_DELEGATED
    return GOOGLE_SCOPES


def smtp_scopes(oauth: OAuthSettings) -> tuple[str, ...]:
    """The scopes that grant SMTP (the others only identify the user or ask for a refresh token)."""
    return tuple(s for s in scopes(oauth) if s not in OIDC_SCOPES)


def refresh_token_ref(config: Config) -> SecretRef:
    assert config.oauth is not None
    if config.oauth.refresh_token is not None:
        return config.oauth.refresh_token
    account = oauth_keyring_account(config.profile, config.oauth, "refresh-token", config.smtp.username)
    return SecretRef(KEYRING_SERVICE, account)


def client_secret_ref(config: Config) -> SecretRef:
    assert config.oauth is not None
    if config.oauth.client_secret is not None:
        return config.oauth.client_secret
    account = oauth_keyring_account(config.profile, config.oauth, "client-secret", config.smtp.username)
    return SecretRef(KEYRING_SERVICE, account)


def with_keyring_refs(config: Config) -> Config:
    """The config as it is written after sign-in: its oauth block names its keyring entries."""
    oauth = config.oauth
    assert oauth is not None
    if oauth.flow == "client_credentials":
        if oauth.certificate is not None:
            return config
        return replace(config, oauth=replace(oauth, client_secret=client_secret_ref(config)))
    # Google's desktop OAuth clients have a client secret, sent with each token request
    secret = client_secret_ref(config) if oauth.provider == "google" else oauth.client_secret
    return replace(config, oauth=replace(oauth, refresh_token=refresh_token_ref(config), client_secret=secret))


def _microsoft_registration(oauth: OAuthSettings, redirect: str) -> tuple[str, ...]:
    """Entra's registration for the tenant the config signs in at: personal accounts ('consumers')
    register differently from a work tenant, and app-only sending needs Exchange's own grant
    (MS Learn, "Authenticate an IMAP, POP or SMTP connection using OAuth"; shared/reference/modern-auth.md)."""
    tenant = oauth.tenant or "organizations"
    audience = {
        "consumers": "Supported account types: 'Personal Microsoft accounts only'",
        "common": "Supported account types: 'Accounts in any organizational directory and personal Microsoft accounts'",
        "organizations": "Supported account types: 'Accounts in any organizational directory'",
    }.get(tenant, "Supported account types: 'Accounts in this organizational directory only' (single tenant)")
    register = f"Entra admin center > App registrations > New registration; {audience}."
    if oauth.flow == "client_credentials":
        return (
            register,
            "Certificates & secrets: upload a certificate (oauth.certificate) or add a client secret "
            "(it expires: 24 months at most).",
            "API permissions: Office 365 Exchange Online > Application > SMTP.SendAsApp, then 'Grant admin consent'.",
            "Exchange Online PowerShell: New-ServicePrincipal -AppId <client id> -ObjectId <the enterprise app's "
            "object id>, then Add-MailboxPermission -Identity <mailbox> -User <that service principal> "
            "-AccessRights FullAccess (changes can take about 90 minutes).",
        )
    steps = (
        register,
        f"Authentication: add the 'Mobile and desktop applications' platform with redirect URI {redirect}"
        + ("; turn on 'Allow public client flows' (the device code needs it)." if oauth.flow == "device_code" else "."),
        "API permissions: Office 365 Exchange Online > Delegated > SMTP.Send (and offline_access).",
    )
    if tenant == "consumers":  # Outlook.com mailboxes have no Authenticated SMTP switch
        return steps
    return (
        *steps,
        "An admin must enable Authenticated SMTP for the mailbox (Set-CASMailbox -SmtpClientAuthenticationDisabled $false).",
    )


def registration_steps(oauth: OAuthSettings) -> tuple[str, ...]:
    """What the user registers before signing in (shown by the TUI's sign-in step)."""
    redirect = "http://127.0.0.1 (the port is chosen at sign-in; loopback redirects match any port)"
    if oauth.provider == "microsoft":
        return _microsoft_registration(oauth, redirect)
    if oauth.provider == "google":
        return (
            "Google Cloud console > APIs & Services > Credentials > Create OAuth client ID > Desktop app.",
            "OAuth consent screen: add the scope https://mail.google.com/ (restricted); while the app is in "
            "'Testing', add yourself as a test user (its refresh tokens then last 7 days).",
            f"smtpwizard's redirect URI is {redirect}.",
        )
    return (f"Register a public client with PKCE and the redirect URI {redirect}.",)


# --- which client talks to Microsoft ------------------------------------------------------


def _via_msal(oauth: OAuthSettings) -> bool:
    """Whether msal (core/oauth_msal.py) makes the requests: a Microsoft provider, msal installed, not turned off."""
    if oauth.provider != "microsoft":
        return False
    choice = os.environ.get(BACKEND_ENV, "").strip().lower()
    if choice == "stdlib":
        return False
    from smtpwizard.core import oauth_msal

    if oauth_msal.installed():
        return True
    if choice == "msal":
        raise OAuthError(
            "oauth_error", f"{BACKEND_ENV}=msal but msal is not installed: pip install 'smtpwizard[oauth]'"
        )
    return False


# --- HTTP ----------------------------------------------------------------------------------


def _context(oauth: OAuthSettings) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if oauth.ca_file:
        context.load_verify_locations(cafile=str(Path(oauth.ca_file).expanduser()))
    return context


def _opener(oauth: OAuthSettings, url: str) -> urllib.request.OpenerDirector:
    """HTTPS only, verified with the system CAs (or oauth.ca_file), through the environment's proxy
    except for a server on this machine."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https":
        raise OAuthError("oauth_unreachable", f"{url} is not https; tokens are only sent over TLS")
    proxies = urllib.request.ProxyHandler({} if is_loopback(parts.hostname or "") else None)
    return urllib.request.build_opener(proxies, urllib.request.HTTPSHandler(context=_context(oauth)))


def _post(oauth: OAuthSettings, url: str, form: dict[str, str]) -> dict[str, Any]:
    """POST a form to the authorization server; its JSON answer, or OAuthError (never the form)."""
    parts = urllib.parse.urlsplit(url)
    opener = _opener(oauth, url)
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), method="POST")  # noqa: S310 - https checked by _opener
    request.add_header("Accept", "application/json")
    try:
        with opener.open(request, timeout=HTTP_TIMEOUT_S) as response:
            body = response.read(MAX_BODY)
    except urllib.error.HTTPError as exc:
        body = exc.read(MAX_BODY)
        if not body:
            raise OAuthError("oauth_error", f"{parts.hostname} answered HTTP {exc.code} to the token request") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise OAuthError("oauth_unreachable", f"cannot reach {parts.hostname}: {reason}") from None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise OAuthError("oauth_error", f"{parts.hostname} did not answer with JSON") from None
    if not isinstance(data, dict):
        raise OAuthError("oauth_error", f"{parts.hostname} did not answer with a JSON object")
    if isinstance(data.get("error_description"), str):  # shown to the user: never echo what was sent
        data["error_description"] = _redact(data["error_description"], form)
    return data


_SECRET_FIELDS = ("refresh_token", "client_secret", "code", "code_verifier", "device_code", "client_assertion")


def _redact(text: str, form: dict[str, str]) -> str:
    for key in _SECRET_FIELDS:
        value = form.get(key, "")
        if len(value) >= 6:
            text = text.replace(value, "********")
    return text


def _error_kind(error: str, description: str) -> TokenFailureKind:
    """OAuth error codes (RFC 6749 5.2, RFC 8628 3.5) and Entra's AADSTS codes, in the catalog's words."""
    text = description.lower()
    if error == "access_denied":
        return "oauth_denied"
    if "aadsts65001" in text or "consent" in text or error == "consent_required":
        return "oauth_consent_required"
    if any(code in text for code in ("aadsts90002", "aadsts900023", "aadsts50020")) or (
        "tenant" in text and "not found" in text
    ):
        return "oauth_wrong_tenant"
    if "aadsts53003" in text or "conditional access" in text:
        return "oauth_blocked_by_policy"
    if error == "invalid_grant":
        return "oauth_invalid_grant"
    if error in ("invalid_client", "unauthorized_client"):
        return "oauth_invalid_client"
    if error == "invalid_scope":
        return "oauth_scope_missing"
    if error == "expired_token":
        return "oauth_device_expired"
    return "oauth_error"


def _fail(data: dict[str, Any]) -> OAuthError:
    error = str(data.get("error", "unknown_error"))
    description = " ".join(str(data.get("error_description", "")).split())[:300]
    return OAuthError(_error_kind(error, description), f"{error}: {description}" if description else error)


def _claims(jwt: str) -> dict[str, Any]:
    """A JWT's payload, unverified: only for showing whose token it is (it came over TLS)."""
    try:
        payload = jwt.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _identity(data: dict[str, Any], oauth: OAuthSettings) -> str | None:
    for token in (data.get("id_token"), data.get("access_token")):
        claims = _claims(token) if isinstance(token, str) else {}
        for key in ("preferred_username", "upn", "email", "unique_name"):
            if isinstance(claims.get(key), str):
                return str(claims[key])
        if isinstance(claims.get("app_displayname"), str):
            return f"app {claims['app_displayname']}"
    return f"app {oauth.client_id}" if oauth.flow == "client_credentials" else None


def _token_set(data: dict[str, Any], oauth: OAuthSettings) -> TokenSet:
    if "error" in data:
        raise _fail(data)
    access = data.get("access_token")
    if not isinstance(access, str) or not access:
        raise OAuthError("oauth_error", "the token response holds no access token")
    expires_in = data.get("expires_in")
    expires_at = None
    if isinstance(expires_in, int | float | str) and str(expires_in).isdigit():
        expires_at = datetime.now(UTC) + timedelta(seconds=int(expires_in))
    granted = tuple(str(data.get("scope", "")).split())
    wanted = smtp_scopes(oauth)
    # Entra returns .default requests as the permissions behind them; only check named scopes.
    if granted and wanted and not any(w.endswith("/.default") for w in wanted):
        missing = [w for w in wanted if w not in granted and w.rsplit("/", 1)[-1] not in granted]
        if missing:
            raise OAuthError(
                "oauth_scope_missing",
                f"the token was issued without {', '.join(missing)} (granted: {' '.join(granted)})",
            )
    refresh = data.get("refresh_token")
    return TokenSet(
        access_token=Secret(access),
        refresh_token=Secret(refresh) if isinstance(refresh, str) and refresh else None,
        expires_at=expires_at,
        scopes=granted,
        identity=_identity(data, oauth),
    )


# --- grants ---------------------------------------------------------------------------------


def refresh(oauth: OAuthSettings, refresh_token: Secret, client_secret: Secret | None = None) -> TokenSet:
    if _via_msal(oauth):
        from smtpwizard.core import oauth_msal

        return _token_set(oauth_msal.refresh(oauth, refresh_token, client_secret), oauth)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token.reveal(),
        "client_id": oauth.client_id,
        "scope": " ".join(scopes(oauth)),
    }
    if client_secret is not None:
        form["client_secret"] = client_secret.reveal()
    return _token_set(_post(oauth, endpoints(oauth).token, form), oauth)


def client_credentials(oauth: OAuthSettings, client_secret: Secret | None) -> TokenSet:
    if _via_msal(oauth):
        from smtpwizard.core import oauth_msal

        return _token_set(oauth_msal.client_credentials(oauth, client_secret), oauth)
    token_url = endpoints(oauth).token
    form = {"grant_type": "client_credentials", "client_id": oauth.client_id, "scope": " ".join(scopes(oauth))}
    if oauth.certificate is not None:
        form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        form["client_assertion"] = client_assertion(oauth, token_url).reveal()
    elif client_secret is not None:
        form["client_secret"] = client_secret.reveal()
    return _token_set(_post(oauth, token_url, form), oauth)


def client_assertion(oauth: OAuthSettings, audience: str) -> Secret:
    """An RS256 client assertion (RFC 7523) signed with the certificate's key, as Entra expects
    (x5t = base64url SHA-1 of the certificate, aud = the token endpoint, lifetime of minutes)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    key, cert = _certificate(oauth)

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    der = cert.public_bytes(serialization.Encoding.DER)
    header = {"alg": "RS256", "typ": "JWT", "x5t": b64(hashlib.sha1(der).digest())}  # noqa: S324 - Entra's thumbprint
    header["x5t#S256"] = b64(hashlib.sha256(der).digest())
    now = int(time.time())
    claims = {
        "aud": audience,
        "iss": oauth.client_id,
        "sub": oauth.client_id,
        "jti": str(uuid.uuid4()),
        "nbf": now,
        "iat": now,
        "exp": now + 300,
    }
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return Secret(f"{signing_input}.{b64(signature)}")


def _certificate(oauth: OAuthSettings) -> tuple[RSAPrivateKey, Certificate]:
    """The RSA key and certificate of oauth.certificate (one PEM file, as uploaded to the Entra app)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    assert oauth.certificate is not None
    try:
        pem = Path(oauth.certificate).expanduser().read_bytes()
        key = serialization.load_pem_private_key(pem, password=None)
        cert = x509.load_pem_x509_certificate(pem)
    except (OSError, ValueError, TypeError):
        raise OAuthError(
            "oauth_invalid_client", f"{oauth.certificate} must hold an unencrypted RSA private key and its certificate"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise OAuthError("oauth_invalid_client", f"{oauth.certificate}: the key must be RSA (Entra signs with RS256)")
    return key, cert


def load_certificate(oauth: OAuthSettings) -> tuple[str, str]:
    """oauth.certificate's key (PKCS#8, unencrypted) and certificate as PEM text, for msal."""
    from cryptography.hazmat.primitives import serialization

    key, cert = _certificate(oauth)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem.decode("ascii"), cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


# --- auth code with PKCE on a loopback redirect (RFC 7636, RFC 8252) ---------------------


class _Redirect(http.server.BaseHTTPRequestHandler):
    """The loopback listener: takes one redirect and tells the browser it may close."""

    server: _LoopbackServer

    def do_GET(self) -> None:
        query = urllib.parse.urlsplit(self.path).query
        params = dict(urllib.parse.parse_qsl(query))
        if "code" not in params and "error" not in params:
            self.send_response(404)
            self.end_headers()
            return
        self.server.result = params
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers()
        self.wfile.write(b"smtpwizard: sign-in received. You can close this tab.\n")
        self.server.received.set()

    def log_message(self, format: str, *args: Any) -> None:
        return  # the redirect URL holds the code: it is never logged


class _LoopbackServer(http.server.HTTPServer):
    result: dict[str, str]
    received: threading.Event


@dataclass
class AuthCodeSession:
    """One sign-in: the URL to open, the loopback listener, and the exchange of the code."""

    oauth: OAuthSettings
    login_hint: str | None = None
    client_secret: Secret | None = None  # Google's desktop clients (and some generic servers) send one

    def __post_init__(self) -> None:
        self.verifier = secrets.token_urlsafe(64)
        self.state = secrets.token_urlsafe(24)
        self._server: _LoopbackServer | None = None
        self._port = 0
        self._msal_flow: oauth_msal.AuthCodeFlow | None = None  # msal's flow, for a Microsoft provider
        self._msal_failure: OAuthError | None = None  # msal could not start it (discovery): wait/complete raise it

    def start(self) -> str:
        """Listen on 127.0.0.1 (a port the OS picks) and return the authorization URL."""
        server = _LoopbackServer(("127.0.0.1", 0), _Redirect)
        server.result = {}
        server.received = threading.Event()
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self.authorize_url()

    @property
    def redirect_uri(self) -> str:
        port = self._server.server_address[1] if self._server is not None else self._port
        return f"http://127.0.0.1:{port}/"

    def authorize_url(self) -> str:
        if _via_msal(self.oauth):
            from smtpwizard.core import oauth_msal

            if self._msal_flow is None and self._msal_failure is None:
                try:  # one flow per sign-in: msal keeps its PKCE verifier and nonce in it
                    self._msal_flow = oauth_msal.initiate_auth_code(
                        self.oauth, self.redirect_uri, self.state, self.login_hint, self.client_secret
                    )
                    self.verifier = self._msal_flow.verifier
                except OAuthError as exc:  # start() stays failure-free as without msal; the wait reports it
                    self._msal_failure = exc
            if self._msal_flow is not None:
                return self._msal_flow.url
        authorize = endpoints(self.oauth).authorize
        if authorize is None:
            raise OAuthError("oauth_error", "this provider has no authorization endpoint; set oauth.authorize_url")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=").decode()
        params = {
            "client_id": self.oauth.client_id,
            "response_type": "code",
            "redirect_uri": self.redirect_uri,
            "scope": " ".join(scopes(self.oauth)),
            "state": self.state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        if self.oauth.provider != "microsoft":
            params["prompt"] = "consent"  # Google and OIDC servers issue a refresh token only with consent
        if self.oauth.provider == "google":
            params["access_type"] = "offline"
        if self.login_hint:
            params["login_hint"] = self.login_hint
        return f"{authorize}?{urllib.parse.urlencode(params)}"

    def wait(self, timeout_s: float) -> TokenSet:
        """Wait for the browser's redirect to the loopback listener, then exchange the code."""
        server = self._server
        assert server is not None
        try:
            if self._msal_failure is not None:
                raise self._msal_failure
            if not server.received.wait(timeout_s):
                raise OAuthError("oauth_timeout", f"no sign-in arrived within {timeout_s:g} seconds")
            if not server.result:
                raise OAuthError("oauth_timeout", "the wait for the browser was stopped")
            return self._exchange(server.result)
        finally:
            self.close()

    def complete(self, redirect_url: str) -> TokenSet:
        """The pasted redirect URL (the browser ran on another machine, e.g. over SSH)."""
        self.close()
        if self._msal_failure is not None:
            raise self._msal_failure
        query = urllib.parse.urlsplit(redirect_url.strip()).query
        params = dict(urllib.parse.parse_qsl(query))
        if "code" not in params and "error" not in params:
            raise OAuthError("oauth_error", "that is not the redirect URL: it has no code= or error= in it")
        return self._exchange(params)

    def close(self) -> None:
        """Stop listening; a wait() still running returns at once."""
        server, self._server = self._server, None
        if server is not None:
            self._port = server.server_address[1]  # the exchange still names the same redirect URI
            server.received.set()
            server.shutdown()
            server.server_close()

    def _exchange(self, params: dict[str, str]) -> TokenSet:
        if "error" in params:
            raise _fail({"error": params["error"], "error_description": params.get("error_description", "")})
        if not secrets.compare_digest(params.get("state", ""), self.state):
            raise OAuthError("oauth_error", "the redirect's state does not match this sign-in; start again")
        if self._msal_flow is not None:
            return _token_set(self._msal_flow.exchange(params), self.oauth)
        form = {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": self.redirect_uri,
            "client_id": self.oauth.client_id,
            "code_verifier": self.verifier,
        }
        if self.client_secret is not None:
            form["client_secret"] = self.client_secret.reveal()
        return _token_set(_post(self.oauth, endpoints(self.oauth).token, form), self.oauth)


# --- device code (RFC 8628) ----------------------------------------------------------------


@dataclass(frozen=True)
class DeviceCode:
    user_code: str
    verification_uri: str
    interval_s: float
    expires_in_s: float
    device_code: Secret


def start_device(oauth: OAuthSettings) -> DeviceCode:
    url = endpoints(oauth).device
    if url is None:
        raise OAuthError("oauth_error", f"{oauth.provider} has no device code flow for SMTP; use flow: auth_code")
    if _via_msal(oauth):
        from smtpwizard.core import oauth_msal

        data = oauth_msal.start_device(oauth)
    else:
        data = _post(oauth, url, {"client_id": oauth.client_id, "scope": " ".join(scopes(oauth))})
    if "error" in data:
        raise _fail(data)
    try:
        return DeviceCode(
            user_code=str(data["user_code"]),
            verification_uri=str(data.get("verification_uri") or data["verification_url"]),
            interval_s=float(data.get("interval", 5)),
            expires_in_s=float(data.get("expires_in", 900)),
            device_code=Secret(str(data["device_code"])),
        )
    except KeyError as exc:
        raise OAuthError("oauth_error", f"the device authorization answer lacks {exc.args[0]}") from None


def poll_device(oauth: OAuthSettings, device: DeviceCode, sleep: Callable[[float], None] = time.sleep) -> TokenSet:
    """Poll the token endpoint at the server's interval until the user signed in (or gave up)."""
    interval = device.interval_s
    deadline = time.monotonic() + device.expires_in_s
    form = {"grant_type": DEVICE_GRANT, "device_code": device.device_code.reveal(), "client_id": oauth.client_id}

    def poll() -> dict[str, Any]:
        return _post(oauth, endpoints(oauth).token, form)

    if _via_msal(oauth):
        from smtpwizard.core import oauth_msal

        poll = oauth_msal.device_poll(oauth, device.device_code, interval)
    while time.monotonic() < deadline:
        data = poll()
        error = data.get("error")
        if error == "authorization_pending":
            sleep(interval)
            continue
        if error == "slow_down":
            interval += 5  # RFC 8628 3.5
            sleep(interval)
            continue
        return _token_set(data, oauth)
    raise OAuthError("oauth_device_expired", "the code expired before the sign-in finished")


# --- the live test's token -----------------------------------------------------------------


def access_token(config: Config, store: SecretStore) -> TokenSet:
    """A fresh access token for the config: refresh (storing a rotated refresh token back first)
    or client credentials. One request, never retried."""
    oauth = config.oauth
    assert oauth is not None
    if oauth.flow == "client_credentials":
        secret = None
        if oauth.certificate is None:
            ref = client_secret_ref(config)
            secret = store.get(ref)
            if secret is None:
                raise OAuthError(
                    "oauth_not_signed_in", f"the keyring holds no client secret {ref.service}/{ref.account}"
                )
        return client_credentials(oauth, secret)
    ref = refresh_token_ref(config)
    current = store.get(ref)
    if current is None:
        raise OAuthError("oauth_not_signed_in", f"the keyring holds no refresh token {ref.service}/{ref.account}")
    secret = None if oauth.provider == "microsoft" else store.get(client_secret_ref(config))
    tokens = refresh(oauth, current, secret)
    if tokens.refresh_token is not None and tokens.refresh_token != current:
        store_refresh_token(store, ref, tokens.refresh_token)
    return tokens


def store_refresh_token(store: SecretStore, ref: SecretRef, token: Secret) -> None:
    """Store a (rotated) refresh token in one keyring write and read it back: the old one is void."""
    try:
        store.put(ref, token)
        stored = store.get(ref)
    except SecretStoreError as exc:
        raise OAuthError("oauth_keyring", f"the new refresh token could not be stored ({exc})") from None
    if stored != token:
        raise OAuthError("oauth_keyring", f"the keyring did not keep the new refresh token {ref.service}/{ref.account}")


def read_client_secret(
    source: PasswordSource, store: SecretStore, env: Mapping[str, str], read_stdin: Callable[[], str]
) -> Secret:
    """The client secret named by ``oauth.client_secret`` (env, file, stdin, keyring or inline)."""
    where = "oauth.client_secret"
    if isinstance(source, InlineSource):
        return source.secret
    if isinstance(source, KeyringSource):
        secret = store.get(source.ref)
        if secret is None:
            raise InputMissing(f"{where}: the keyring has no entry {source.ref.service}/{source.ref.account}")
        return secret
    if isinstance(source, EnvSource):
        if source.name not in env:
            raise InputMissing(f"{where}: environment variable {source.name} is not set; export it first")
        raw = env[source.name]
    elif isinstance(source, FileSource):
        try:
            raw = Path(source.path).expanduser().read_text(encoding="utf-8")[:4096]
        except (OSError, UnicodeDecodeError):
            raise InputMissing(f"{where}: cannot read {source.path} as UTF-8 text; check the path") from None
    else:
        raw = read_stdin()
    value = raw.strip()
    if not value or "\n" in value:
        raise FieldError(where, "is empty or has more than one line", "give only the secret, on one line")
    return Secret(value)


def token_provider(config: Config, store: SecretStore) -> Callable[[], BearerToken | TokenFailure]:
    """What the live test calls at AUTH: a bearer token, or why there is none."""

    def provide() -> BearerToken | TokenFailure:
        try:
            tokens = access_token(config, store)
        except OAuthError as exc:
            return TokenFailure(exc.kind, str(exc))
        return BearerToken(tokens.access_token, tokens.identity, tokens.expires_at)

    return provide
