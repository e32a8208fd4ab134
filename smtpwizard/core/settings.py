"""The settings model (schema v2: v1 plus the optional ``oauth`` block) and the validation of
single values.

Every validator raises :class:`FieldError` naming the field path, the problem and the fix.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import os
import re
from dataclasses import dataclass, field, replace
from typing import Literal

from smtpwizard.core.errors import FieldError

Security = Literal["starttls", "tls", "none"]
AuthChoice = Literal["auto", "plain", "login", "cram-md5", "none", "xoauth2"]
OAuthProvider = Literal["microsoft", "google", "generic"]
OAuthFlow = Literal["auth_code", "device_code", "client_credentials"]

SECURITY_MODES: tuple[Security, ...] = ("starttls", "tls", "none")
AUTH_CHOICES: tuple[AuthChoice, ...] = ("auto", "plain", "login", "cram-md5", "none", "xoauth2")
OAUTH_PROVIDERS: tuple[OAuthProvider, ...] = ("microsoft", "google", "generic")
OAUTH_FLOWS: tuple[OAuthFlow, ...] = ("auth_code", "device_code", "client_credentials")
# Schema 1 files have no oauth block; a config with one is written as version 2 (v1 loads as is).
SCHEMA_VERSION = 1
OAUTH_SCHEMA_VERSION = 2
SECURITY_LABELS: dict[Security, str] = {
    "starttls": "STARTTLS",
    "tls": "implicit TLS (SSL)",
    "none": "no encryption",
}

# Ports whose security mode is fixed by convention (RFC 8314 and common practice).
IMPLICIT_TLS_PORTS = frozenset({465, 2465, 8465, 443})
STARTTLS_PORTS = frozenset({587, 2587, 25, 2525, 8025, 1025})

MIN_TIMEOUT_S = 1.0
MAX_TIMEOUT_S = 300.0
DEFAULT_TIMEOUT_S = 15.0
KEYRING_SERVICE = "smtpwizard"


class Secret:
    """A password or API key. Never shows its value in ``str``, ``repr`` or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself; only for the keyring and the SMTP AUTH command."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class SecretRef:
    """Where in the OS keyring a password lives."""

    service: str
    account: str


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: Security = "starttls"
    verify_certificate: bool = True
    ca_file: str | None = None
    auth: AuthChoice = "auto"
    username: str | None = None
    password: SecretRef | None = None
    helo_domain: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    allow_insecure_auth: bool = False

    @property
    def wants_auth(self) -> bool:
        return self.auth != "none" and bool(self.username)

    def with_changes(self, **changes: object) -> SmtpSettings:
        """A copy with some fields changed (used to apply a diagnosis' fix)."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class OAuthSettings:
    """How the XOAUTH2 access token is obtained; the refresh token and client secret live in the keyring."""

    provider: OAuthProvider
    client_id: str
    flow: OAuthFlow = "auth_code"
    tenant: str | None = None  # microsoft: the directory (tenant) id or domain; default "organizations"
    scopes: tuple[str, ...] = ()  # empty: the provider's SMTP scopes for the flow
    authority: str | None = None  # microsoft: another cloud's login host (default login.microsoftonline.com)
    authorize_url: str | None = None  # generic: the provider's endpoints
    token_url: str | None = None
    device_url: str | None = None
    client_secret: SecretRef | None = None  # client_credentials with a secret
    certificate: str | None = None  # client_credentials with a certificate: PEM file holding key and certificate
    ca_file: str | None = None  # extra CA for the authorization server (a private one)
    refresh_token: SecretRef | None = None  # set by 'smtpwizard login' (delegated flows)


@dataclass(frozen=True)
class Sender:
    address: str
    name: str | None = None
    reply_to: str | None = None

    def formatted(self) -> str:
        """``Name <address>`` for an app's From setting. formataddr refuses non-ASCII addresses:
        an international domain goes as IDNA A-labels, a UTF-8 local part is kept as it is."""
        from email.headerregistry import Address
        from email.utils import formataddr

        local, _, domain = wire_address(self.address).rpartition("@")
        if local.isascii():
            return formataddr((self.name or "", f"{local}@{domain}"))
        return str(Address(display_name=self.name or "", username=local, domain=domain))


@dataclass(frozen=True)
class Verification:
    """What the last live test proved; ``status`` is ``passed`` or ``skipped``."""

    status: Literal["passed", "skipped"]
    at: str
    tls_version: str | None = None
    auth_mechanism: str | None = None
    server_banner: str | None = None
    test_message_to: str | None = None


@dataclass(frozen=True)
class Config:
    smtp: SmtpSettings
    sender: Sender
    version: int = 1
    profile: str = "default"
    target: str | None = None
    provider: str = "custom"
    verified: Verification | None = None
    warnings: tuple[str, ...] = field(default=(), compare=False)
    oauth: OAuthSettings | None = None


def oauth_keyring_account(profile: str, oauth: OAuthSettings, what: str, username: str | None) -> str:
    """The keyring account of a profile's OAuth secret: ``profile/oauth/<what>/<client id>/<user>``."""
    return f"{profile}/oauth/{what}/{oauth.client_id}/{username or ''}"


def wire_address(address: str) -> str:
    """An address as it goes on the wire: an international domain as IDNA A-labels
    (``exämple.com`` -> ``xn--exmple-cua.com``); the local part as it is."""
    local, _, domain = address.rpartition("@")
    if not domain.isascii():
        domain = domain.encode("idna").decode("ascii")  # validate_email checked it encodes
    return f"{local}@{domain}"


def keyring_account(profile: str, username: str | None, host: str, port: int, config_path: str | None = None) -> str:
    """The keyring account name for a profile's password: ``profile/user@host:port#hash``.

    The suffix is a short hash of the config file's absolute path, so two config files for
    the same profile, user, host and port never share (and overwrite) one entry.
    """
    account = f"{profile}/{username or ''}@{host}:{port}"
    if config_path is None:
        return account
    digest = hashlib.sha256(os.path.abspath(config_path).encode("utf-8", "surrogateescape")).hexdigest()
    return f"{account}#{digest[:8]}"


_HASH = re.compile(r"[0-9a-f]{8}")  # the config-file suffix of an account


def keyring_ref_problem(ref: SecretRef, username: str | None, host: str, port: int) -> str | None:
    """Why ``ref`` may not be used for ``username`` at ``host:port``, or None when it may.

    A reference is confined to smtpwizard's own keyring service and bound to the user, host
    and port it was stored for (``profile/user@host:port``, optionally ``#hash``), so a config
    or input file cannot make smtpwizard read, send, print or delete another program's secret.
    """
    if ref.service != KEYRING_SERVICE:
        return f"names the keyring service '{ref.service}', which is not smtpwizard's ('{KEYRING_SERVICE}')"
    profile, slash, rest = ref.account.partition("/")
    expected = f"{username or ''}@{host}:{port}"
    bound = rest == expected or (rest.startswith(expected + "#") and _HASH.fullmatch(rest[len(expected) + 1 :]))
    if not slash or not _PROFILE.fullmatch(profile) or not bound:
        return f"the keyring entry '{ref.account}' was not stored for {expected}"
    return None


# Characters refused in passwords and one-line text: C0/C1 controls, DEL, and the Unicode
# line and paragraph separators (YAML reads NEL, LS and PS back as line breaks).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MAX_SECRET_BYTES = 4096


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control character or a (Unicode) line break."""
    return _CONTROL.search(text) is not None


def secret_problem(value: str) -> str | None:
    """Why ``value`` cannot be a password, or None. Same rule for every source."""
    if not value:
        return "is empty"
    if len(value.encode("utf-8", "surrogatepass")) > MAX_SECRET_BYTES:
        return f"is larger than {MAX_SECRET_BYTES} bytes"
    if "\n" in value or "\r" in value:
        return "has more than one line"
    if has_control(value):
        return "contains a control character (e.g. NUL or TAB)"
    return None


# --- validators of single values -------------------------------------------------------

# fullmatch everywhere: `$` also matches before a trailing newline, which let "a\n" through.
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_PROFILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# UTF-8 local parts (RFC 6532) without the C1 controls (NEL) and U+2028/2029: no line break gets through
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u00a0-\u2027\u202a-\U0010ffff-]+"


@functools.cache
def _local_part() -> re.Pattern[str]:
    """Compiled on first use: the non-ASCII range takes ~10 ms to compile, at every start-up."""
    return re.compile(rf"{_ATEXT}(\.{_ATEXT})*")


def validate_hostname(value: str, field_path: str) -> str:
    """A DNS name (IDN allowed) or an IP address; returns it stripped and lower-cased."""
    host = value.strip()
    if not host:
        raise FieldError(field_path, "is empty", "give the SMTP server's host name, e.g. smtp.example.com")
    if "://" in host:
        raise FieldError(
            field_path,
            f"'{host}' is a URL, not a host name",
            "give only the host name, e.g. smtp.example.com, and set port and security separately",
        )
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    if host.count(":") == 1 and host.rsplit(":", 1)[1].isdigit():
        raise FieldError(
            field_path,
            f"'{host}' contains a port",
            "put only the host name here and the port in smtp.port",
        )
    name = host.rstrip(".").lower()
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise FieldError(
            field_path, f"'{host}' is not a valid host name", "use letters, digits, hyphens and dots only"
        ) from None
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise FieldError(
            field_path,
            f"'{host}' is not a valid host name",
            "use letters, digits, hyphens and dots only, e.g. smtp.example.com",
        )
    return name


def validate_port(value: object, field_path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(field_path, f"{value!r} is not a whole number", "use a port such as 587 or 465")
    if not 1 <= value <= 65535:
        raise FieldError(field_path, f"{value} is out of range", "use a port from 1 to 65535, usually 587 or 465")
    return value


def validate_email(value: str, field_path: str) -> str:
    """An addr-spec (``local@domain``); IDN domains and UTF-8 local parts are allowed."""
    address = value.strip()
    if "<" in address or ">" in address:
        raise FieldError(
            field_path,
            f"'{address}' includes a display name or brackets",
            "give only the address here; put the display name in sender.name",
        )
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise FieldError(field_path, f"'{address}' is not an email address", "use the form name@example.com")
    if len(local) > 64 or not _local_part().fullmatch(local):
        raise FieldError(
            field_path,
            f"'{address}' has an invalid part before the @",
            "remove spaces and special characters such as , ; ( ) or double dots",
        )
    try:
        validate_hostname(domain, field_path)
    except FieldError:
        raise FieldError(
            field_path, f"'{address}' has an invalid domain", "use a domain such as example.com after the @"
        ) from None
    if "." not in domain and domain != "localhost":
        raise FieldError(field_path, f"'{address}' has no top-level domain", "use a full domain such as example.com")
    return address


def validate_timeout(value: object, field_path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(field_path, f"{value!r} is not a number", "give seconds, e.g. 15")
    if not MIN_TIMEOUT_S <= float(value) <= MAX_TIMEOUT_S:
        raise FieldError(
            field_path,
            f"{value} is out of range",
            f"use from {MIN_TIMEOUT_S:g} to {MAX_TIMEOUT_S:g} seconds; 15 suits most servers",
        )
    return float(value)


def validate_profile(value: str, field_path: str) -> str:
    if not _PROFILE.fullmatch(value):
        raise FieldError(
            field_path,
            f"'{value}' is not a valid profile name",
            "use letters, digits, '.', '_' or '-' (up to 64), e.g. default or staging",
        )
    return value


def security_port_warnings(security: Security, port: int) -> list[str]:
    """Combinations that are almost surely wrong, as warnings (the user may know better)."""
    if security == "starttls" and port in IMPLICIT_TLS_PORTS:
        return [
            f"smtp.security: STARTTLS on port {port} rarely works: port {port} normally expects "
            "implicit TLS; use security: tls, or port 587 for STARTTLS"
        ]
    if security == "tls" and port in STARTTLS_PORTS:
        return [
            f"smtp.security: implicit TLS on port {port} rarely works: port {port} normally starts "
            "in plain text; use security: starttls, or port 465 for implicit TLS"
        ]
    return []


def suggested_security(port: int) -> Security | None:
    """The security mode a port conventionally uses, or None when it is not known."""
    if port in IMPLICIT_TLS_PORTS:
        return "tls"
    if port in STARTTLS_PORTS:
        return "starttls"
    return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
