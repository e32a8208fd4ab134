"""YAML schema v1 and v2: safe loading, validation with field paths, and dumping.

The same document shape serves as the written config and as headless input; in input mode
``smtp.password`` may name a secret source (env, file, stdin, keyring, or inline text).
Version 2 adds the ``oauth:`` block (``smtp.auth: xoauth2``); a v1 file is a v2 file without it,
so v1 files load unchanged and are written back as version 1; only a config with ``oauth:`` is
written as version 2.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from smtpwizard.core.errors import FieldError, InputMissing, one_line
from smtpwizard.core.settings import (
    AUTH_CHOICES,
    KEYRING_SERVICE,
    OAUTH_FLOWS,
    OAUTH_PROVIDERS,
    OAUTH_SCHEMA_VERSION,
    SCHEMA_VERSION,
    SECURITY_MODES,
    Config,
    OAuthSettings,
    Secret,
    SecretRef,
    Sender,
    SmtpSettings,
    Verification,
    has_control,
    is_loopback,
    keyring_ref_problem,
    secret_problem,
    security_port_warnings,
    validate_email,
    validate_hostname,
    validate_port,
    validate_profile,
    validate_timeout,
)

MAX_DOCUMENT_BYTES = 64 * 1024
MAX_DEPTH = 8
MAX_TEXT_CHARS = 1024  # any one value; keeps every config well under MAX_DOCUMENT_BYTES
MAX_INFO_CHARS = 200  # a verified.* note such as the server's greeting

TOP_KEYS = ("version", "profile", "target", "provider", "smtp", "oauth", "sender", "verified")
OAUTH_KEYS = (
    "provider",
    "tenant",
    "client_id",
    "flow",
    "scopes",
    "authority",
    "authorize_url",
    "token_url",
    "device_url",
    "client_secret",
    "certificate",
    "ca_file",
    "refresh_token",
)
SMTP_KEYS = (
    "host",
    "port",
    "security",
    "verify_certificate",
    "ca_file",
    "auth",
    "username",
    "password",
    "helo_domain",
    "timeout_s",
    "allow_insecure_auth",
)
SENDER_KEYS = ("address", "name", "reply_to")
VERIFIED_KEYS = ("status", "at", "tls_version", "auth_mechanism", "server_banner", "test_message_to")
PASSWORD_SOURCE_KEYS = ("keyring", "env", "file", "stdin")

Mode = Literal["config", "input"]


# --- where a headless input's password comes from ----------------------------------------


@dataclass(frozen=True)
class EnvSource:
    name: str


@dataclass(frozen=True)
class FileSource:
    path: str


@dataclass(frozen=True)
class StdinSource:
    pass


@dataclass(frozen=True)
class KeyringSource:
    ref: SecretRef


@dataclass(frozen=True)
class InlineSource:
    secret: Secret


PasswordSource = EnvSource | FileSource | StdinSource | KeyringSource | InlineSource


@dataclass(frozen=True)
class Document:
    """A parsed document: the config, where its password comes from, and warnings."""

    config: Config
    password_source: PasswordSource | None
    warnings: tuple[str, ...]
    client_secret_source: PasswordSource | None = None  # oauth.client_secret (client_credentials)


# --- safe YAML ----------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (anchors are refused before it runs)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, list | dict):
                raise FieldError(_line(key_node), "a mapping key is a list or mapping", "use plain text keys")
            if key in seen:
                raise FieldError(_line(key_node), f"duplicate key '{key}'", "keep only one of the two entries")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _event_line(event: yaml.Event) -> int:
    return event.start_mark.line + 1 if event.start_mark is not None else 0


def _line(node: yaml.Node) -> str:
    return f"line {node.start_mark.line + 1}"


def load_yaml(data: bytes, source: str = "input") -> object:
    """Parse a YAML document safely: size-limited, UTF-8 only, no anchors/aliases,
    no duplicate keys, bounded nesting. Raises FieldError naming ``source``."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise FieldError(
            source,
            f"is {len(data)} bytes, larger than the {MAX_DOCUMENT_BYTES} byte limit",
            "an smtpwizard file is a few hundred bytes; check you gave the right file",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FieldError(source, f"is not UTF-8 text (byte {exc.start})", "save the file as UTF-8") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        depth = 0
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise FieldError(
                    source,
                    f"uses a YAML anchor or alias (line {_event_line(event)})",
                    "write each value out in full; smtpwizard files do not allow & and *",
                )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise FieldError(
                        source,
                        f"is nested more than {MAX_DEPTH} levels deep (line {_event_line(event)})",
                        "follow the documented layout (see README, 'Config file')",
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        docs = list(yaml.load_all(text, Loader=_StrictLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = (exc.problem or "invalid YAML").strip()
        raise FieldError(source, f"is not valid YAML{where} ({problem})", "fix the syntax there") from None
    except yaml.YAMLError as exc:
        raise FieldError(source, f"is not valid YAML ({exc})", "fix the syntax") from None
    except RecursionError:
        raise FieldError(source, "is nested too deeply", "follow the documented layout") from None
    if not docs or docs == [None]:
        raise FieldError(source, "is empty", "start from a file in examples/, or run smtpwizard to create one")
    if len(docs) != 1:
        raise FieldError(
            source,
            f"holds {len(docs)} YAML documents",
            "put exactly one document in the file (no '---' separators)",
        )
    return docs[0]


def read_document_file(path: Path, mode: Mode) -> Document:
    """Read and parse a config or headless-input file."""
    try:
        if path.is_dir():
            raise FieldError(str(path), "is a directory", "give the path of a YAML file")
        with path.open("rb") as handle:
            data = handle.read(MAX_DOCUMENT_BYTES + 1)
            if len(data) > MAX_DOCUMENT_BYTES:  # the error names the file's real size, not what was read
                raise FieldError(
                    str(path),
                    f"is {max(os.fstat(handle.fileno()).st_size, len(data))} bytes, "
                    f"larger than the {MAX_DOCUMENT_BYTES} byte limit",
                    "an smtpwizard file is a few hundred bytes; check you gave the right file",
                )
    except FileNotFoundError:
        raise InputMissing(f"{path}: no such file; check the path, or run smtpwizard to create it") from None
    except PermissionError:
        raise InputMissing(f"{path}: permission denied; check the file's owner and mode") from None
    except OSError as exc:
        raise InputMissing(f"{path}: cannot read it ({exc.strerror}); check the path") from None
    return parse_document(load_yaml(data, str(path)), mode)


# --- schema -------------------------------------------------------------------------------


def _mapping(value: object, path: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise FieldError(path, f"is {_kind(value)}, expected a mapping", f"give keys such as {', '.join(allowed[:3])}")
    for key in value:
        if not isinstance(key, str):
            raise FieldError(path, f"has a non-text key {key!r}", "use the documented key names")
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else f"allowed keys: {', '.join(allowed)}"
            raise FieldError(f"{path}.{key}" if path else key, "unknown key", hint)
    return value


def _kind(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "a true/false value"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


def _text(value: object, path: str, *, required: bool = False, example: str = "") -> str | None:
    if value is None or value == "":
        if required:
            raise FieldError(path, "is missing", f"add it{', e.g. ' + example if example else ''}")
        return None
    if not isinstance(value, str):
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        raise FieldError(
            path, f"is {_kind(value)}, expected text", f"give text{', e.g. ' + example if example else ''}"
        )
    if has_control(value):
        raise FieldError(path, "contains a control character or line break", "remove it")
    if len(value) > MAX_TEXT_CHARS:
        raise FieldError(path, f"is longer than {MAX_TEXT_CHARS} characters", "check the value; it is far too long")
    return value


def _info_text(value: object, path: str) -> str | None:
    """A ``verified`` field: information smtpwizard wrote itself, made safe rather than refused
    (a config written before control characters were cleaned still loads, so forget works)."""
    if isinstance(value, str):
        value = one_line(value, MAX_INFO_CHARS)
    return _text(value, path)


# Environment variables a file may name as the password: mail settings only, so a hostile
# input cannot send another secret of the environment (AWS keys, tokens) to its host.
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


def env_name_problem(name: str, provider_id: str = "custom") -> str | None:
    """Why ``{env: name}`` is not allowed, or None (README, 'Passwords'): the name contains
    SMTP or MAIL, ends in _PASSWORD, or starts with the provider preset's id (POSTMARK_...)."""
    if not _ENV_NAME.fullmatch(name):
        return "is not an upper-case variable name"
    prefix = provider_id.upper() + "_"
    if "SMTP" in name or "MAIL" in name or name.endswith("_PASSWORD"):
        return None
    if provider_id != "custom" and name.startswith(prefix):
        return None
    return (
        "is not a mail password variable (the name must contain SMTP or MAIL, end in _PASSWORD, "
        "or start with the provider's id)"
    )


def _flag(value: object, path: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise FieldError(path, f"is {_kind(value)}, expected true or false", "write true or false without quotes")
    return value


def _choice(value: object, path: str, choices: tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise FieldError(path, f"is {_kind(value)}", f"use one of: {', '.join(choices)}")
    lowered = value.strip().lower()
    aliases = {"ssl": "tls", "implicit_tls": "tls", "implicit": "tls", "plaintext": "none", "cram_md5": "cram-md5"}
    lowered = aliases.get(lowered, lowered)
    if lowered not in choices:
        close = difflib.get_close_matches(lowered, choices, n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise FieldError(path, f"'{value}' is not allowed", f"{hint}use one of: {', '.join(choices)}")
    return lowered


def _password_source(value: object, mode: Mode, path: str, provider_id: str = "custom") -> PasswordSource | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        if mode == "config":
            raise FieldError(
                path,
                "holds a plain-text password, which a config file must never contain",
                "run 'smtpwizard apply' with this file to move it into the keyring",
            )
        return InlineSource(inline_secret(value, path))
    if isinstance(value, int | float) and not isinstance(value, bool) and mode == "input":
        return InlineSource(inline_secret(str(value), path))
    allowed = ("keyring",) if mode == "config" else PASSWORD_SOURCE_KEYS
    spec = _mapping(value, path, allowed)
    if len(spec) != 1:
        raise FieldError(path, "names more than one source", f"use exactly one of: {', '.join(allowed)}")
    kind, arg = next(iter(spec.items()))
    if kind == "keyring":
        ref = _mapping(arg, f"{path}.keyring", ("service", "account"))
        service = _text(ref.get("service"), f"{path}.keyring.service") or KEYRING_SERVICE
        if service != KEYRING_SERVICE:
            raise FieldError(
                f"{path}.keyring.service",
                f"'{service}' is another program's keyring service; smtpwizard only uses its own ('{KEYRING_SERVICE}')",
                "give the password with env:, file: or stdin: instead",
            )
        account = _text(ref.get("account"), f"{path}.keyring.account", required=True, example="default/me@host:587")
        assert account is not None
        return KeyringSource(SecretRef(service, account))
    if kind == "env":
        name = _text(arg, f"{path}.env", required=True, example="SMTP_PASSWORD")
        assert name is not None
        if problem := env_name_problem(name, provider_id):
            raise FieldError(
                f"{path}.env", f"'{name}' {problem}", "export the password as SMTP_PASSWORD and name that variable"
            )
        return EnvSource(name)
    if kind == "file":
        file_path = _text(arg, f"{path}.file", required=True, example="/run/secrets/smtp")
        assert file_path is not None
        return FileSource(file_path)
    if arg is not True:
        raise FieldError(f"{path}.stdin", "must be true", "write stdin: true, and pipe the password in")
    return StdinSource()


def inline_secret(value: str, path: str = "smtp.password") -> Secret:
    """A password typed into a file or the wizard, with the checks every source gets."""
    if problem := secret_problem(value):
        raise FieldError(path, f"the password {problem}", "give only the password itself, on one line")
    return Secret(value)


def parse_document(doc: object, mode: Mode) -> Document:
    """Validate a loaded YAML document against schema v1.

    Raises FieldError for the first problem found; returns warnings for doubtful choices.
    """
    root = _mapping(doc, "", TOP_KEYS) if doc is not None else None
    if root is None:
        raise FieldError("document", "is empty", "start from an example in examples/ or run smtpwizard")
    warnings: list[str] = []
    if mode == "input" and root.get("provider") == "auto":  # the provider found from the sender's domain (DNS)
        from smtpwizard.core.domain.detect import resolve_auto_provider

        root, note = resolve_auto_provider(root)
        warnings.append(note)

    version = root.get("version", SCHEMA_VERSION)
    if version not in (SCHEMA_VERSION, OAUTH_SCHEMA_VERSION) or isinstance(version, bool):
        raise FieldError("version", f"{version!r} is not supported", "use version: 1 (or 2 with an oauth: block)")
    profile = validate_profile(_text(root.get("profile"), "profile") or "default", "profile")
    target = _text(root.get("target"), "target")
    if target is not None:
        from smtpwizard.core.targets import TARGET_IDS

        target = _choice(target, "target", TARGET_IDS, "")
    provider_id = _text(root.get("provider"), "provider") or "custom"
    from smtpwizard.core.providers import provider_ids

    ids = provider_ids()
    if provider_id not in ids:
        close = difflib.get_close_matches(provider_id, ids, n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'?" if close else "run 'smtpwizard providers' to list them, or use custom"
        raise FieldError("provider", f"'{provider_id}' is not a known provider", hint)

    if "smtp" not in root:
        raise FieldError("smtp", "is missing", "add an smtp: section with at least host and port")
    smtp_doc = _mapping(root["smtp"], "smtp", SMTP_KEYS)
    host_text = _text(smtp_doc.get("host"), "smtp.host", required=True, example="smtp.example.com")
    assert host_text is not None
    host = validate_hostname(host_text, "smtp.host")
    if "port" not in smtp_doc:
        raise FieldError("smtp.port", "is missing", "add the port, usually 587 (STARTTLS) or 465 (implicit TLS)")
    port = validate_port(smtp_doc["port"], "smtp.port")
    security = _choice(smtp_doc.get("security"), "smtp.security", SECURITY_MODES, "starttls")
    verify = _flag(smtp_doc.get("verify_certificate"), "smtp.verify_certificate", True)
    ca_file = _text(smtp_doc.get("ca_file"), "smtp.ca_file")
    auth = _choice(smtp_doc.get("auth"), "smtp.auth", AUTH_CHOICES, "auto")
    username = _text(smtp_doc.get("username"), "smtp.username")
    source = _password_source(smtp_doc.get("password"), mode, "smtp.password", provider_id)
    helo = _text(smtp_doc.get("helo_domain"), "smtp.helo_domain")
    if helo is not None:
        helo = validate_hostname(helo, "smtp.helo_domain")
    timeout = validate_timeout(smtp_doc.get("timeout_s", 15), "smtp.timeout_s")
    allow_insecure = _flag(smtp_doc.get("allow_insecure_auth"), "smtp.allow_insecure_auth", False)

    oauth, secret_source = _oauth_block(root.get("oauth"), mode, auth, username, source)
    if oauth is not None:
        version = OAUTH_SCHEMA_VERSION  # v1 -> v2 migration: the oauth block is all that changed
    if auth != "none" and username and source is None and oauth is None:
        raise FieldError(
            "smtp.password",
            "is missing while a username is set",
            "add password: {env: SMTP_PASSWORD} (or file:, stdin: true, keyring:), or set auth: none",
        )
    if auth not in ("none", "auto") and not username:
        raise FieldError("smtp.username", f"is missing while auth is {auth}", "add the username, or set auth: none")
    if security == "none" and auth != "none" and username and not allow_insecure:
        raise FieldError(
            "smtp.security",
            "'none' would send the password unencrypted",
            "use starttls or tls; for a local relay you trust, set smtp.allow_insecure_auth: true",
        )
    if security == "none" and allow_insecure and username and not is_loopback(host):
        warnings.append(
            f"smtp.allow_insecure_auth: the password will cross the network to {host} unencrypted; "
            "only do this on a network you control"
        )
    if security == "none" and not verify:
        verify = True  # nothing to verify without TLS; keep the safe value in the file
    if not verify:
        warnings.append(
            "smtp.verify_certificate: certificate checks are OFF; anyone on the path can read the password. "
            "Prefer ca_file with your server's CA"
        )
    if ca_file is not None and not Path(ca_file).expanduser().is_file():
        raise FieldError("smtp.ca_file", f"'{ca_file}' does not exist", "give the path of a PEM file with your CA")
    warnings.extend(security_port_warnings(security, port))  # type: ignore[arg-type]
    if host in ("smtp.office365.com", "outlook.office365.com", "smtp-mail.outlook.com"):
        from smtpwizard.core.diagnose import basic_auth_warning  # the text's home; only for Microsoft hosts

        if (retiring := basic_auth_warning(host, auth, username)) is not None:
            warnings.append(retiring)

    sender_doc = _mapping(root.get("sender"), "sender", SENDER_KEYS)
    address_text = _text(sender_doc.get("address"), "sender.address", required=True, example="no-reply@example.com")
    assert address_text is not None
    address = validate_email(address_text, "sender.address")
    name = _text(sender_doc.get("name"), "sender.name")
    reply_to = _text(sender_doc.get("reply_to"), "sender.reply_to")
    if reply_to is not None:
        reply_to = validate_email(reply_to, "sender.reply_to")

    verified = _verification(root.get("verified"))
    password_ref = source.ref if isinstance(source, KeyringSource) else None
    if password_ref is not None and (problem := keyring_ref_problem(password_ref, username, host, port)):
        raise FieldError(
            "smtp.password",
            problem,
            "a keyring entry only serves the user, host and port it was stored for; enter the password "
            "again to store it for these settings (in a file: env:, file: or stdin:)",
        )
    smtp = SmtpSettings(
        host=host,
        port=port,
        security=security,  # type: ignore[arg-type]
        verify_certificate=verify,
        ca_file=ca_file,
        auth=auth,  # type: ignore[arg-type]
        username=username,
        password=password_ref,
        helo_domain=helo,
        timeout_s=timeout,
        allow_insecure_auth=allow_insecure,
    )
    config = Config(
        smtp=smtp,
        sender=Sender(address=address, name=name, reply_to=reply_to),
        profile=profile,
        target=target,
        provider=provider_id,
        verified=verified,
        warnings=tuple(warnings),
        version=version,
        oauth=oauth,
    )
    return Document(config=config, password_source=source, warnings=tuple(warnings), client_secret_source=secret_source)


def _https_url(value: object, path: str, example: str) -> str | None:
    url = _text(value, path)
    if url is None:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise FieldError(path, f"'{url}' is not an https URL", f"give the full https URL, e.g. {example}")
    return url.rstrip("/")


def _keyring_only(value: object, path: str) -> SecretRef | None:
    """A keyring reference (the only form a secret takes in a written config)."""
    if value is None:
        return None
    source = _password_source(value, "config", path)
    assert isinstance(source, KeyringSource)
    return source.ref


def _scopes(value: object, path: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    items = value.split() if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) and item.strip() for item in items):
        raise FieldError(path, f"is {_kind(value)}", "give a list of scopes, e.g. [https://mail.google.com/]")
    return tuple(item.strip() for item in items)


def _oauth_block(
    value: object, mode: Mode, auth: str, username: str | None, password: PasswordSource | None
) -> tuple[OAuthSettings | None, PasswordSource | None]:
    """The ``oauth:`` block (schema v2) and where its client secret comes from."""
    if value is None:
        if auth == "xoauth2":
            raise FieldError(
                "oauth", "is missing while smtp.auth is xoauth2", "add an oauth: block (see README, 'Modern auth')"
            )
        return None, None
    if auth != "xoauth2":
        raise FieldError("smtp.auth", "must be xoauth2 when an oauth: block is present", "set smtp.auth: xoauth2")
    if not username:
        raise FieldError("smtp.username", "is missing while auth is xoauth2", "add the mailbox address to send as")
    if password is not None:
        raise FieldError(
            "smtp.password",
            "is set while auth is xoauth2",
            "remove it: XOAUTH2 sends an access token, never a password",
        )
    doc = _mapping(value, "oauth", OAUTH_KEYS)
    provider = _choice(doc.get("provider"), "oauth.provider", OAUTH_PROVIDERS, "")
    if not provider:
        raise FieldError("oauth.provider", "is missing", f"use one of: {', '.join(OAUTH_PROVIDERS)}")
    client_id = _text(doc.get("client_id"), "oauth.client_id", required=True, example="the app's client id")
    assert client_id is not None
    flow = _choice(doc.get("flow"), "oauth.flow", OAUTH_FLOWS, "auth_code")
    tenant = _text(doc.get("tenant"), "oauth.tenant")
    if tenant is not None and not all(ch.isalnum() or ch in "-._" for ch in tenant):
        raise FieldError(
            "oauth.tenant", f"'{tenant}' is not a tenant id or domain", "give the directory (tenant) id or its domain"
        )
    secret_source = _password_source(doc.get("client_secret"), mode, "oauth.client_secret")
    certificate = _text(doc.get("certificate"), "oauth.certificate")
    ca_file = _text(doc.get("ca_file"), "oauth.ca_file")
    if ca_file is not None and not Path(ca_file).expanduser().is_file():
        raise FieldError("oauth.ca_file", f"'{ca_file}' does not exist", "give the path of a PEM file with the CA")
    oauth = OAuthSettings(
        provider=provider,  # type: ignore[arg-type]
        client_id=client_id,
        flow=flow,  # type: ignore[arg-type]
        tenant=tenant,
        scopes=_scopes(doc.get("scopes"), "oauth.scopes"),
        authority=_https_url(doc.get("authority"), "oauth.authority", "https://login.microsoftonline.us"),
        authorize_url=_https_url(doc.get("authorize_url"), "oauth.authorize_url", "https://id.example.com/authorize"),
        token_url=_https_url(doc.get("token_url"), "oauth.token_url", "https://id.example.com/token"),
        device_url=_https_url(doc.get("device_url"), "oauth.device_url", "https://id.example.com/device"),
        client_secret=secret_source.ref if isinstance(secret_source, KeyringSource) else None,
        certificate=certificate,
        ca_file=ca_file,
        refresh_token=_keyring_only(doc.get("refresh_token"), "oauth.refresh_token"),
    )
    _check_oauth(oauth, secret_source is not None)
    return oauth, secret_source


def _check_oauth(oauth: OAuthSettings, has_secret: bool) -> None:
    """Combinations a provider refuses, named before any network work."""
    if oauth.provider == "generic":
        if oauth.token_url is None:
            raise FieldError(
                "oauth.token_url", "is missing for a generic provider", "give the token endpoint's https URL"
            )
        needed = {"auth_code": "authorize_url", "device_code": "device_url"}.get(oauth.flow)
        if needed and getattr(oauth, needed) is None:
            raise FieldError(f"oauth.{needed}", f"is missing for flow {oauth.flow}", "give the endpoint's https URL")
        if not oauth.scopes:
            raise FieldError(
                "oauth.scopes", "is missing for a generic provider", "list the scopes the SMTP server needs"
            )
    if oauth.provider == "google" and oauth.flow == "device_code":
        raise FieldError(
            "oauth.flow",
            "Google's device flow does not allow the Gmail scope (invalid_scope)",
            "use flow: auth_code (a loopback redirect; 'smtpwizard login' also takes a pasted URL over SSH)",
        )
    if oauth.provider == "google" and oauth.flow == "client_credentials":
        raise FieldError(
            "oauth.flow",
            "Gmail has no client credentials flow (it uses service accounts with domain-wide delegation)",
            "use flow: auth_code",
        )
    if oauth.flow == "client_credentials":
        if has_secret == (oauth.certificate is not None):
            raise FieldError(
                "oauth.client_secret",
                "client_credentials needs exactly one of client_secret and certificate",
                "give the app's client secret (env:, file:, stdin:) or a PEM file in oauth.certificate",
            )
        if oauth.certificate is not None and not Path(oauth.certificate).expanduser().is_file():
            raise FieldError(
                "oauth.certificate",
                f"'{oauth.certificate}' does not exist",
                "give the PEM file with the key and certificate",
            )
        if oauth.provider == "microsoft" and (oauth.tenant or "organizations") in (
            "common",
            "organizations",
            "consumers",
        ):
            raise FieldError(
                "oauth.tenant",
                "must name your directory for client_credentials (app-only tokens have no 'common' tenant)",
                "give the directory (tenant) id or its domain, e.g. contoso.onmicrosoft.com",
            )
    elif has_secret and oauth.provider == "microsoft":  # Google's desktop clients do send theirs
        raise FieldError(
            "oauth.client_secret",
            f"is not used with flow {oauth.flow}",
            "remove it: Microsoft's public client signs in with PKCE",
        )


def _verification(value: object) -> Verification | None:
    if value is None:
        return None
    doc = _mapping(value, "verified", VERIFIED_KEYS)
    status = _choice(doc.get("status"), "verified.status", ("passed", "skipped"), "passed")
    at = _info_text(doc.get("at"), "verified.at") or ""
    return Verification(
        status=status,  # type: ignore[arg-type]
        at=at,
        tls_version=_info_text(doc.get("tls_version"), "verified.tls_version"),
        auth_mechanism=_info_text(doc.get("auth_mechanism"), "verified.auth_mechanism"),
        server_banner=_info_text(doc.get("server_banner"), "verified.server_banner"),
        test_message_to=_info_text(doc.get("test_message_to"), "verified.test_message_to"),
    )


# --- dumping ------------------------------------------------------------------------------


def config_to_dict(config: Config) -> dict[str, Any]:
    """The config as plain data in schema order; never contains a secret."""
    smtp = config.smtp
    password: dict[str, Any] | None = None
    if smtp.password is not None:
        password = {"keyring": {"service": smtp.password.service, "account": smtp.password.account}}
    smtp_doc: dict[str, Any] = {
        "host": smtp.host,
        "port": smtp.port,
        "security": smtp.security,
        "verify_certificate": smtp.verify_certificate,
    }
    if smtp.ca_file:
        smtp_doc["ca_file"] = smtp.ca_file
    smtp_doc.update(
        {
            "auth": smtp.auth,
            "username": smtp.username,
            "password": password,
            "helo_domain": smtp.helo_domain,
            "timeout_s": int(smtp.timeout_s) if smtp.timeout_s.is_integer() else smtp.timeout_s,
        }
    )
    if smtp.allow_insecure_auth:
        smtp_doc["allow_insecure_auth"] = True
    doc: dict[str, Any] = {
        "version": config.version,
        "profile": config.profile,
        "target": config.target,
        "provider": config.provider,
        "smtp": smtp_doc,
    }
    if config.oauth is not None:
        doc["oauth"] = _oauth_to_dict(config.oauth)
    doc |= {
        "sender": {
            "address": config.sender.address,
            "name": config.sender.name,
            "reply_to": config.sender.reply_to,
        },
    }
    if config.verified is not None:
        v = config.verified
        doc["verified"] = {
            "status": v.status,
            "at": v.at,
            "tls_version": v.tls_version,
            "auth_mechanism": v.auth_mechanism,
            "server_banner": v.server_banner,
            "test_message_to": v.test_message_to,
        }
    return doc


def _keyring_ref(ref: SecretRef | None) -> dict[str, Any] | None:
    return None if ref is None else {"keyring": {"service": ref.service, "account": ref.account}}


def _oauth_to_dict(oauth: OAuthSettings) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "provider": oauth.provider,
        "tenant": oauth.tenant,
        "client_id": oauth.client_id,
        "flow": oauth.flow,
    }
    if oauth.scopes:
        doc["scopes"] = list(oauth.scopes)
    for key in ("authority", "authorize_url", "token_url", "device_url", "certificate", "ca_file"):
        if getattr(oauth, key) is not None:
            doc[key] = getattr(oauth, key)
    if oauth.client_secret is not None:
        doc["client_secret"] = _keyring_ref(oauth.client_secret)
    if oauth.refresh_token is not None:
        doc["refresh_token"] = _keyring_ref(oauth.refresh_token)
    return doc


def dump_config(config: Config, path: Path | None = None) -> str:
    """The config as YAML text, with a header comment naming the re-test command for ``path``."""
    body = yaml.safe_dump(config_to_dict(config), sort_keys=False, allow_unicode=True, width=100)
    where = str(path.absolute()) if path is not None else ""
    command = "smtpwizard test" + (f" --config {shlex.quote(where)}" if where.isprintable() and where else "")
    return (
        "# Written by smtpwizard. The password is in the OS keyring, not in this file.\n"
        f"# Re-test with: {command}\n" + body
    )
