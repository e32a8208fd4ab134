"""Microsoft sign-in through msal, Microsoft's own library, when it is installed (the ``oauth``
extra). oauth.py dispatches here for ``provider: microsoft``; this module returns the token
endpoint's JSON answers and oauth.py turns them into TokenSets and OAuthErrors, as it does for
its own requests, so both paths give the same results and failure kinds.

What we keep from msal and what we do not:
- msal talks HTTP through :class:`_Http` (urllib, oauth.py's TLS context and proxy rule):
  msal's default ``requests`` session lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override
  its ``verify=`` (requests' Session.merge_environment_settings), so ``oauth.ca_file`` would
  be ignored wherever those are set.
- msal's token cache is an in-memory ``TokenCache`` that dies with the application object: the
  refresh token lives in the keyring only (oauth.access_token stores a rotated one back).
- The authority is Entra's ``<authority>/<tenant>`` with instance discovery off: msal reads
  ``<authority>/<tenant>/v2.0/.well-known/openid-configuration``, as on login.microsoftonline.com
  (a well-known host that msal never instance-discovers anyway), a national cloud or a test server.

msal is imported inside the functions: importing this module never loads it.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from smtpwizard.core import oauth as core
from smtpwizard.core.oauth import OAuthError
from smtpwizard.core.settings import OAuthSettings, Secret

# msal adds these to every user sign-in itself and refuses them as input (ClientApplication._decorate_scope)
RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access"})


def installed() -> bool:
    try:
        import msal  # noqa: F401 - on the OAuth path only, where it is used next
    except ImportError:
        return False
    return True


# --- HTTP: msal's HttpClient interface (msal/oauth2cli/http.py) on urllib -----------------


@dataclass
class _Response:
    status_code: int
    text: str
    headers: dict[str, str]

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise OAuthError("oauth_error", f"the authorization server answered HTTP {self.status_code}")


def _json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class _Http:
    """The requests msal sends, over oauth.py's TLS context; error descriptions redacted as oauth._post does."""

    def __init__(self, oauth: OAuthSettings) -> None:
        self.oauth = oauth

    def get(self, url: str, params: Mapping[str, str] | None = None, headers: Any = None, **_: Any) -> _Response:
        response = self._send(url, params, None, headers)
        data = _json(response.text) if 400 <= response.status_code < 500 else {}
        if "error" in data:  # Entra answers an unknown tenant (AADSTS90002) at discovery, before any token request
            raise core._fail(data)
        return response

    def post(
        self, url: str, params: Mapping[str, str] | None = None, data: Any = None, headers: Any = None, **_: Any
    ) -> _Response:
        form = {str(k): str(v) for k, v in data.items()} if isinstance(data, Mapping) else {}
        response = self._send(url, params, data, headers)
        answer = _json(response.text)
        if isinstance(answer.get("error_description"), str):  # shown to the user: never echo what was sent
            answer["error_description"] = core._redact(answer["error_description"], form)
            response.text = json.dumps(answer)
        return response

    def close(self) -> None:
        return

    def _send(self, url: str, params: Mapping[str, str] | None, data: Any, headers: Any) -> _Response:
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urllib.parse.urlencode(params)}"
        body = None
        if data is not None:
            body = (urllib.parse.urlencode(data) if isinstance(data, Mapping) else str(data)).encode()
        request = urllib.request.Request(url, data=body, method="GET" if body is None else "POST")  # noqa: S310 - _opener checks https
        for name, value in dict(headers or {}).items():
            if value is not None:  # msal leaves some optional headers (a correlation id) unset
                request.add_header(str(name), str(value))
        host = urllib.parse.urlsplit(url).hostname
        try:
            with core._opener(self.oauth, url).open(request, timeout=core.HTTP_TIMEOUT_S) as response:
                return _Response(response.status, _text(response.read(core.MAX_BODY)), dict(response.headers.items()))
        except urllib.error.HTTPError as exc:
            return _Response(exc.code, _text(exc.read(core.MAX_BODY)), dict(exc.headers.items()))
        except (urllib.error.URLError, OSError) as exc:
            raise OAuthError("oauth_unreachable", f"cannot reach {host}: {getattr(exc, 'reason', exc)}") from None


def _text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


# --- the application -----------------------------------------------------------------------


@contextlib.contextmanager
def _refusals() -> Iterator[None]:
    """msal raises ValueError/RuntimeError where it refuses an answer (an ID token's nonce or issuer, a flow)."""
    try:
        yield
    except OAuthError:
        raise
    except (ValueError, RuntimeError) as exc:
        first = " ".join(str(exc).split())[:300]
        raise OAuthError("oauth_error", f"msal refused the sign-in: {first}") from None


def _application(oauth: OAuthSettings, credential: str | dict[str, str] | None = None) -> Any:
    import msal

    authority = f"{oauth.authority or core.MICROSOFT_AUTHORITY}/{oauth.tenant or 'organizations'}"
    options: dict[str, Any] = {
        "authority": authority,
        "http_client": _Http(oauth),
        "instance_discovery": False,
        "token_cache": msal.TokenCache(),  # in memory, gone with this object: nothing is written to disk
    }
    try:
        if credential is None:
            return msal.PublicClientApplication(oauth.client_id, **options)
        return msal.ConfidentialClientApplication(oauth.client_id, client_credential=credential, **options)
    except ValueError:
        raise OAuthError(
            "oauth_error",
            f"{authority}/v2.0/.well-known/openid-configuration cannot be read; check oauth.authority and oauth.tenant",
        ) from None


def _scopes(oauth: OAuthSettings) -> list[str]:
    return [s for s in core.scopes(oauth) if s not in RESERVED_SCOPES]


def refresh(oauth: OAuthSettings, refresh_token: Secret, client_secret: Secret | None) -> dict[str, Any]:
    """msal hands back the whole answer: a rotated refresh token included."""
    app = _application(oauth, client_secret.reveal() if client_secret is not None else None)
    with _refusals():
        answer: dict[str, Any] = app.acquire_token_by_refresh_token(refresh_token.reveal(), _scopes(oauth))
    return answer


def client_credentials(oauth: OAuthSettings, client_secret: Secret | None) -> dict[str, Any]:
    credential: str | dict[str, str]
    if oauth.certificate is not None:
        key, cert = core.load_certificate(oauth)
        # msal signs PS256 with x5t#S256 and sends x5c when given the certificate (Entra accepts both)
        credential = {"private_key": key, "public_certificate": cert}
    elif client_secret is not None:
        credential = client_secret.reveal()
    else:
        raise OAuthError("oauth_invalid_client", "client_credentials needs a client secret or oauth.certificate")
    app = _application(oauth, credential)
    with _refusals():
        answer: dict[str, Any] = app.acquire_token_for_client(list(core.scopes(oauth)))
    return answer


def start_device(oauth: OAuthSettings) -> dict[str, Any]:
    with _refusals():
        flow: dict[str, Any] = _application(oauth).initiate_device_flow(_scopes(oauth))
    return flow


def device_poll(oauth: OAuthSettings, device_code: Secret, interval_s: float) -> Callable[[], dict[str, Any]]:
    """One token request per call; oauth.poll_device keeps the clock (interval, slow_down, expiry)."""
    app = _application(oauth)

    def poll() -> dict[str, Any]:
        # a fresh flow each time: msal's own loop would sleep, and warns when polled "too soon"
        flow = {"device_code": device_code.reveal(), "interval": int(interval_s)}
        with _refusals():
            answer: dict[str, Any] = app.acquire_token_by_device_flow(flow, exit_condition=lambda _flow: True)
        return answer

    return poll


@dataclass
class AuthCodeFlow:
    """msal's auth code flow (PKCE S256, state, nonce) for one sign-in."""

    app: Any
    flow: dict[str, Any]

    @property
    def url(self) -> str:
        return str(self.flow["auth_uri"])

    @property
    def verifier(self) -> str:
        return str(self.flow["code_verifier"])

    def exchange(self, params: Mapping[str, str]) -> dict[str, Any]:
        with _refusals():
            answer: dict[str, Any] = self.app.acquire_token_by_auth_code_flow(self.flow, dict(params))
        return answer


def initiate_auth_code(
    oauth: OAuthSettings, redirect_uri: str, state: str, login_hint: str | None, client_secret: Secret | None
) -> AuthCodeFlow:
    app = _application(oauth, client_secret.reveal() if client_secret is not None else None)
    with _refusals(), warnings.catch_warnings():
        # msal recommends response_mode=form_post; the loopback listener and the pasted URL read the query
        warnings.filterwarnings("ignore", message="response_mode='form_post'", category=UserWarning)
        flow = app.initiate_auth_code_flow(
            _scopes(oauth), redirect_uri=redirect_uri, state=state, login_hint=login_hint
        )
    return AuthCodeFlow(app, flow)
