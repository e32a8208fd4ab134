# ruff: noqa: S310 - a test user agent: it opens only the loopback URLs the tests hand it
"""A real OpenID Connect provider on loopback (oidc-provider on Node.js, see server/server.js),
a browser-less user agent that signs in through it, and an aiosmtpd server that accepts
XOAUTH2 only with a token that provider's introspection endpoint calls active.
"""

from __future__ import annotations

import base64
import contextlib
import html.parser
import http.cookiejar
import json
import os
import shutil
import ssl
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.smtp import SMTP, AuthResult

from tests.servers import Handler, Mailbox, ServerThread

SERVER_DIR = Path(__file__).parent / "server"
TENANT = "contoso-test"
PUBLIC_CLIENT = "smtpwizard-public"
APP_CLIENT = "smtpwizard-app"
SHORT_CLIENT = "short-lived"
RESOURCE_CLIENT = "smtp-resource"
DESKTOP_CLIENT = "smtpwizard-desktop"  # like Google's "Desktop app" clients: PKCE and a client secret
DESKTOP_SECRET = "desktop-secret-5e8a0c"
# Test-only client secrets, unique enough to search every output for.
APP_SECRET = "app-secret-3d1f7c0b9e2a4c58"
RESOURCE_SECRET = "resource-secret-77aa01"
ACCOUNT = "wizard@example.test"
SMTP_SCOPE = "smtp.send"


def node_missing() -> str | None:
    """Why the provider cannot run here, or None. .ci/run installs node and the npm package."""
    if shutil.which("node") is None:
        return "node (apt-get install nodejs npm)"
    if not (SERVER_DIR / "node_modules" / "oidc-provider").is_dir():
        return "oidc-provider (npm ci --prefix tests/oauth/server)"
    return None


def require_node() -> None:
    if missing := node_missing():
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide {missing} (.ci/run installs it)")
        pytest.skip(f"needs {missing}; run .ci/run")


@dataclass
class AuthServer:
    issuer: str
    ca_file: str
    context: ssl.SSLContext
    process: subprocess.Popen[str]

    @property
    def authority(self) -> str:
        """What smtpwizard's microsoft provider takes in place of https://login.microsoftonline.com."""
        return self.issuer.rsplit("/", 1)[0]

    def endpoint(self, name: str) -> str:
        return f"{self.issuer}/oauth2/v2.0/{name}"

    def post(self, name: str, form: dict[str, str], auth: tuple[str, str] | None = None) -> dict[str, Any]:
        request = urllib.request.Request(self.endpoint(name), data=urllib.parse.urlencode(form).encode())
        request.add_header("X-Test-Harness", "1")  # not counted in requests(): the tests' own calls
        if auth is not None:
            basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            request.add_header("Authorization", f"Basic {basic}")
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=10) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            body = exc.read()
        return json.loads(body) if body else {}

    def requests(self) -> list[dict[str, Any]]:
        """Each POST smtpwizard sent the provider: its path and x-client-sku (MSAL.Python from msal)."""
        with urllib.request.urlopen(f"{self.issuer}/_test/requests", context=self.context, timeout=10) as response:
            seen: list[dict[str, Any]] = json.loads(response.read())
        return seen

    def introspect(self, token: str) -> dict[str, Any]:
        return self.post("introspect", {"token": token}, auth=(RESOURCE_CLIENT, RESOURCE_SECRET))

    def revoke(self, token: str, client_id: str = PUBLIC_CLIENT) -> None:
        self.post("revoke", {"token": token, "client_id": client_id})


def _clients(app_jwks: dict[str, Any] | None) -> list[dict[str, Any]]:
    public = {
        "application_type": "native",
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
        "response_types": ["code"],
        "redirect_uris": ["http://127.0.0.1/"],
        "scope": f"openid email profile offline_access {SMTP_SCOPE}",
    }
    clients = [
        {"client_id": PUBLIC_CLIENT, **public},
        {"client_id": SHORT_CLIENT, **public},
        {
            **public,
            "client_id": DESKTOP_CLIENT,
            "client_secret": DESKTOP_SECRET,
            "token_endpoint_auth_method": "client_secret_post",
            "grant_types": ["authorization_code", "refresh_token"],
        },
        {
            "client_id": APP_CLIENT,
            "client_secret": APP_SECRET,
            "grant_types": ["client_credentials"],
            "response_types": [],
            "redirect_uris": [],
            "scope": SMTP_SCOPE,
        },
        {
            "client_id": RESOURCE_CLIENT,
            "client_secret": RESOURCE_SECRET,
            "grant_types": [],
            "response_types": [],
            "redirect_uris": [],
        },
    ]
    if app_jwks is not None:
        clients.append(
            {
                "client_id": "smtpwizard-cert",
                # RS256 from smtpwizard's own assertion, PS256 from msal's (x5t#S256): Entra takes both
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": app_jwks,
                "grant_types": ["client_credentials"],
                "response_types": [],
                "redirect_uris": [],
                "scope": SMTP_SCOPE,
            }
        )
    return clients


@contextlib.contextmanager
def running_auth_server(
    ca: trustme.CA, ca_file: str, workdir: Path, *, access_ttl: int = 3600, app_jwks: dict[str, Any] | None = None
) -> Iterator[AuthServer]:
    require_node()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path = workdir / "as-cert.pem", workdir / "as-key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    settings = {
        "cert": str(cert_path),
        "key": str(key_path),
        "tenant": TENANT,
        "account": ACCOUNT,
        "access_ttl": access_ttl,
        "clients": _clients(app_jwks),
    }
    settings_path = workdir / "as-settings.json"
    settings_path.write_text(json.dumps(settings))
    process = subprocess.Popen(
        ["node", str(SERVER_DIR / "server.js"), str(settings_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            assert process.stderr is not None
            raise RuntimeError(f"oidc-provider did not start: {process.stderr.read()}")
        issuer = json.loads(line)["issuer"]
        context = ssl.create_default_context(cafile=ca_file)
        yield AuthServer(issuer=issuer, ca_file=ca_file, context=context, process=process)
    finally:
        process.terminate()
        process.wait(10)


# --- a user agent without a browser ------------------------------------------------------


class _Form(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = values.get("action", "")
        if tag == "input" and values.get("name"):
            self.fields[values["name"]] = values.get("value", "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class UserAgent:
    """Follows redirects with cookies, as a browser would, until the loopback redirect URI."""

    server: AuthServer
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def _opener(self) -> urllib.request.OpenerDirector:
        return urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=self.server.context),
            urllib.request.HTTPCookieProcessor(self.jar),
            _NoRedirect,
        )

    def _open(self, url: str, data: dict[str, str] | None = None) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self._opener().open(urllib.request.Request(url, data=body), timeout=10) as response:
                return response.status, response.headers.get("Location", ""), response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Location", ""), exc.read().decode()

    def sign_in(self, authorize_url: str, stop_at: str = "http://127.0.0.1:") -> str:
        """Open the authorization URL; return the redirect URL the provider sends back to the app."""
        url = authorize_url
        for _ in range(10):
            status, location, body = self._open(url)
            if status not in (302, 303):
                raise AssertionError(f"sign-in stopped at {url}: {status} {body[:300]}")
            url = urllib.parse.urljoin(url, location)
            if url.startswith(stop_at):
                return url
        raise AssertionError("too many redirects")

    def follow_redirect(self, redirect_url: str) -> int:
        """Deliver the redirect to the app's loopback listener, as the browser would."""
        with urllib.request.urlopen(redirect_url, timeout=10) as response:
            return int(response.status)

    def enter_user_code(self, verification_uri: str, user_code: str) -> str:
        """Type the device code into the provider's page, confirm and sign in; returns the last page."""
        url, data = verification_uri, None
        fields: dict[str, str] | None = None
        for _ in range(12):
            status, location, body = self._open(url, data)
            if status in (302, 303):
                url, data = urllib.parse.urljoin(url, location), None
                continue
            form = _Form()
            form.feed(body)
            if not form.fields or fields == form.fields:
                return body
            fields = form.fields
            url, data = urllib.parse.urljoin(url, form.action or url), {**form.fields, "user_code": user_code}
        raise AssertionError("too many steps")


# --- an SMTP server that accepts XOAUTH2 tokens the provider calls active --------------


class XOAuth2Handler(Handler):
    """AUTH XOAUTH2 like Exchange Online: the token must be active, carry smtp.send and belong to
    the user named in the SASL string (or be an app token); failures answer 535 5.7.3."""

    def __init__(self, mailbox: Mailbox, server: AuthServer) -> None:
        super().__init__(mailbox)
        self.server = server
        self.accepted: list[dict[str, Any]] = []
        self.tokens: list[str] = []  # every token received, to search the outputs for

    async def auth_XOAUTH2(self, smtp: SMTP, args: list[str]) -> AuthResult:
        import asyncio

        if len(args) >= 2:
            raw: bytes = base64.b64decode(args[1])
        else:  # no initial response (emailproxy, some clients): ask for it, as Exchange does
            answer = await smtp.challenge_auth("", encode_to_b64=False)
            if not isinstance(answer, bytes):
                return AuthResult(success=False, handled=False)
            raw = answer
        try:
            decoded = raw.decode()
            fields = dict(part.split("=", 1) for part in decoded.split("\x01") if part)
            user, token = fields["user"], fields["auth"].removeprefix("Bearer ")
        except (ValueError, KeyError):
            await smtp.push("501 5.5.2 Cannot decode the XOAUTH2 response")
            return AuthResult(success=False, handled=True)
        self.tokens.append(token)
        info = await asyncio.to_thread(self.server.introspect, token)
        self.mailbox.auth_attempts.append(("XOAUTH2", user))
        scopes = str(info.get("scope", "")).split()
        owner = info.get("sub")
        if not info.get("active") or SMTP_SCOPE not in scopes or (owner is not None and owner != user):
            await smtp.push("535 5.7.3 Authentication unsuccessful")
            return AuthResult(success=False, handled=True)
        self.accepted.append(info)
        return AuthResult(success=True, auth_data=user)


@contextlib.contextmanager
def xoauth2_smtp_server(
    server: AuthServer, starttls_context: ssl.SSLContext
) -> Iterator[tuple[ServerThread, Mailbox, XOAuth2Handler]]:
    mailbox = Mailbox()
    handler = XOAuth2Handler(mailbox, server)

    def factory() -> SMTP:
        return SMTP(
            handler,
            hostname="outlook.test",
            tls_context=starttls_context,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=lambda *args: AuthResult(success=False, handled=False),
            auth_exclude_mechanism=("PLAIN", "LOGIN"),
            ident="aiosmtpd xoauth2 test server",
        )

    with ServerThread(factory=factory) as smtp:
        yield smtp, mailbox, handler
