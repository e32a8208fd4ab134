"""Schema v1: validation with field paths, safe YAML, and round trips."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from smtpwizard.core.config import (
    EnvSource,
    FileSource,
    InlineSource,
    KeyringSource,
    StdinSource,
    dump_config,
    load_yaml,
    parse_document,
)
from smtpwizard.core.errors import FieldError
from smtpwizard.core.settings import validate_email, validate_hostname

BASE = {
    "version": 1,
    "provider": "sendgrid",
    "smtp": {"host": "smtp.sendgrid.net", "port": 587, "security": "starttls", "username": "apikey",
             "password": {"env": "SMTP_PASSWORD"}},
    "sender": {"address": "no-reply@example.com", "name": "Example"},
}  # fmt: skip


def with_smtp(**changes: object) -> dict[str, object]:
    doc = {**BASE, "smtp": {**BASE["smtp"], **changes}}  # type: ignore[dict-item]
    return {k: v for k, v in doc.items() if v is not None}


def test_valid_input_parses_with_env_source() -> None:
    doc = parse_document(BASE, "input")
    assert doc.config.smtp.host == "smtp.sendgrid.net"
    assert doc.password_source == EnvSource("SMTP_PASSWORD")
    assert doc.warnings == ()


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ({"file": "/run/secrets/smtp"}, FileSource("/run/secrets/smtp")),
        ({"stdin": True}, StdinSource()),
        ({"keyring": {"account": "default/apikey@smtp.sendgrid.net:587"}}, KeyringSource),
        ("inline-secret", InlineSource),
    ],
)
def test_every_password_source_is_understood(password: object, expected: object) -> None:
    source = parse_document(with_smtp(password=password), "input").password_source
    if isinstance(expected, type):
        assert isinstance(source, expected)
    else:
        assert source == expected


def test_inline_secret_is_not_shown_in_repr() -> None:
    source = parse_document(with_smtp(password="hunter2-secret"), "input").password_source
    assert "hunter2-secret" not in repr(source)


def test_config_mode_refuses_a_plaintext_password() -> None:
    with pytest.raises(FieldError, match=r"smtp.password: holds a plain-text password"):
        parse_document(with_smtp(password="oops"), "config")


def test_unknown_key_gets_did_you_mean() -> None:
    with pytest.raises(FieldError) as err:
        parse_document(with_smtp(hots="x"), "input")
    assert str(err.value) == "smtp.hots: unknown key; did you mean 'host'?"


@pytest.mark.parametrize(
    ("security", "port", "fragment"),
    [("starttls", 465, "STARTTLS on port 465"), ("tls", 587, "implicit TLS on port 587"), ("tls", 25, "port 25")],
)
def test_suspicious_security_port_combinations_warn(security: str, port: int, fragment: str) -> None:
    doc = parse_document(with_smtp(security=security, port=port), "input")
    assert any(fragment in w for w in doc.warnings)


def test_verification_off_is_warned() -> None:
    doc = parse_document(with_smtp(verify_certificate=False), "input")
    assert any("certificate checks are OFF" in w for w in doc.warnings)


def test_security_aliases_are_normalised() -> None:
    assert parse_document(with_smtp(security="SSL", port=465), "input").config.smtp.security == "tls"


@pytest.mark.parametrize("host", ["smtp.example.com", "münchen.example", "127.0.0.1", "::1", "[::1]", "localhost"])
def test_valid_hosts(host: str) -> None:
    assert validate_hostname(host, "smtp.host")


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("smtp://mail.example.com", "is a URL"),
        ("mail.example.com:587", "contains a port"),
        ("bad_host!.com", "not a valid host name"),
        ("-lead.example.com", "not a valid host name"),
        ("a" * 64 + ".com", "not a valid host name"),
    ],
)
def test_invalid_hosts(host: str, problem: str) -> None:
    with pytest.raises(FieldError, match=problem):
        validate_hostname(host, "smtp.host")


@pytest.mark.parametrize("address", ["a@example.com", "first.last+tag@sub.example.org", "ü@münchen.example"])
def test_valid_addresses(address: str) -> None:
    assert validate_email(address, "sender.address") == address


@pytest.mark.parametrize(
    "address",
    ["plain", "@example.com", "a@", "a b@example.com", "a..b@example.com", "Name <a@example.com>", "a@example"],
)
def test_invalid_addresses(address: str) -> None:
    with pytest.raises(FieldError):
        validate_email(address, "sender.address")


def test_alias_bomb_is_refused_before_expansion() -> None:
    bomb = b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b]\n"
    with pytest.raises(FieldError, match="anchor or alias"):
        load_yaml(bomb)


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(FieldError, match="duplicate key 'port'"):
        load_yaml(b"smtp:\n  port: 587\n  port: 465\n")


def test_python_tags_are_refused() -> None:
    with pytest.raises(FieldError, match="not valid YAML"):
        load_yaml(b"smtp: !!python/object/apply:os.system ['true']\n")


def test_deep_nesting_and_huge_files_are_refused() -> None:
    with pytest.raises(FieldError, match="nested more than"):
        load_yaml(b"a: " + b"[" * 50 + b"]" * 50)
    with pytest.raises(FieldError, match="byte limit"):
        load_yaml(b"# " + b"x" * 70_000)


def test_non_utf8_is_refused() -> None:
    with pytest.raises(FieldError, match="not UTF-8"):
        load_yaml(b"smtp:\n  host: \xff\xfe\n")


def test_dump_then_parse_round_trips_without_secret() -> None:
    from dataclasses import replace

    from smtpwizard.core.settings import SecretRef

    config = parse_document(BASE, "input").config
    config = replace(
        config, smtp=replace(config.smtp, password=SecretRef("smtpwizard", "default/apikey@smtp.sendgrid.net:587"))
    )
    text = dump_config(config)
    again = parse_document(yaml.safe_load(text), "config").config
    assert again == config


hosts = st.from_regex(r"[a-z][a-z0-9]{0,10}(\.[a-z][a-z0-9]{0,10}){1,3}", fullmatch=True)
texts = st.one_of(st.none(), st.text(max_size=30), st.integers(), st.booleans(), st.lists(st.integers(), max_size=3))


@settings(max_examples=200, deadline=None)
@given(
    host=st.one_of(hosts, texts),
    port=st.one_of(st.integers(-5, 70_000), texts),
    security=st.one_of(st.sampled_from(["starttls", "tls", "none", "ssl", "bogus"]), texts),
    timeout=st.one_of(st.floats(allow_nan=True), texts),
    extra=st.dictionaries(st.text(max_size=8), texts, max_size=2),
)
def test_any_document_is_either_valid_or_one_clean_error(
    host: object, port: object, security: object, timeout: object, extra: dict[str, object]
) -> None:
    doc = {
        **BASE,
        "smtp": {
            **BASE["smtp"],
            "password": {"keyring": {"account": "default/apikey@host:587"}},  # a config keeps only this form
            "host": host,
            "port": port,
            "security": security,
            "timeout_s": timeout,
            **extra,
        },
    }  # type: ignore[dict-item]
    try:
        parsed = parse_document(doc, "input")
    except FieldError as exc:
        message = str(exc)
        assert "\n" not in message and message.count(": ") >= 1 and "; " in message
    else:
        text = dump_config(parsed.config)
        assert parse_document(yaml.safe_load(text), "config").config.smtp.host == parsed.config.smtp.host


@pytest.mark.parametrize(
    ("account", "allowed"),
    [
        ("default/apikey@smtp.sendgrid.net:587", True),
        ("prod/apikey@smtp.sendgrid.net:587#0a1b2c3d", True),
        ("default/apikey@smtp.sendgrid.net:465", False),  # another port
        ("default/apikey@smtp.evil.test:587", False),  # another host
        ("default/root@smtp.sendgrid.net:587", False),  # another user
        ("default/apikey@smtp.sendgrid.net:587#../x", False),
        ("__token__", False),
    ],
)
def test_a_keyring_reference_is_bound_to_the_user_host_and_port(account: str, allowed: bool) -> None:
    doc = with_smtp(password={"keyring": {"account": account}})
    if allowed:
        assert parse_document(doc, "config").password_source is not None
    else:
        with pytest.raises(FieldError, match=r"^smtp\.password: the keyring entry .* was not stored for"):
            parse_document(doc, "config")


def test_each_config_file_gets_its_own_keyring_account() -> None:
    from smtpwizard.core.settings import keyring_account

    one = keyring_account("default", "u", "h.example", 587, "/srv/a/config.yaml")
    two = keyring_account("default", "u", "h.example", 587, "/srv/b/config.yaml")
    assert one != two and one.startswith("default/u@h.example:587#") and len(one.split("#")[1]) == 8
