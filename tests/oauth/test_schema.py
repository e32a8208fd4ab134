"""Schema v2: the oauth: block, and v1 files that load and are written back unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from smtpwizard.core.config import dump_config, parse_document, read_document_file
from smtpwizard.core.errors import FieldError
from smtpwizard.core.oauth import with_keyring_refs

V1_CONFIG = """\
# Written by smtpwizard. The password is in the OS keyring, not in this file.
# Re-test with: smtpwizard test --config {path}
version: 1
profile: default
target: mastodon
provider: custom
smtp:
  host: smtp.example.com
  port: 587
  security: starttls
  verify_certificate: true
  auth: auto
  username: me@example.com
  password:
    keyring:
      service: smtpwizard
      account: default/me@example.com@smtp.example.com:587
  helo_domain: null
  timeout_s: 15
sender:
  address: me@example.com
  name: null
  reply_to: null
"""


def oauth_input(**oauth: object) -> dict[str, object]:
    return {
        "version": 1,
        "provider": "microsoft365",
        "smtp": {"host": "smtp.office365.com", "port": 587, "auth": "xoauth2", "username": "me@contoso.com"},
        "oauth": {"provider": "microsoft", "tenant": "contoso.onmicrosoft.com", "client_id": "1234", **oauth},
        "sender": {"address": "me@contoso.com"},
    }


def test_a_v1_config_loads_and_is_written_back_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    text = V1_CONFIG.replace("{path}", str(path))
    path.write_text(text)
    config = read_document_file(path, "config").config
    assert config.version == 1 and config.oauth is None
    assert dump_config(config, path) == text


def test_a_v1_file_with_an_oauth_block_is_migrated_to_version_2() -> None:
    config = parse_document(oauth_input(), "input").config
    assert config.version == 2
    assert config.oauth is not None and config.oauth.flow == "auth_code"


def test_an_oauth_config_is_written_as_v2_naming_only_keyring_entries(tmp_path: Path) -> None:
    document = parse_document(
        oauth_input(flow="client_credentials", client_secret={"env": "SMTP_CLIENT_SECRET"}), "input"
    )
    written = dump_config(with_keyring_refs(document.config))
    doc = yaml.safe_load(written)
    assert doc["version"] == 2
    assert doc["oauth"]["client_secret"] == {
        "keyring": {"service": "smtpwizard", "account": "default/oauth/client-secret/1234/me@contoso.com"}
    }
    assert "password" not in written.split("oauth:")[1]
    path = tmp_path / "config.yaml"
    path.write_text(written)
    again = read_document_file(path, "config").config
    assert again.oauth == with_keyring_refs(document.config).oauth


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"oauth": {"provider": "google", "client_id": "x", "flow": "device_code"}},
            "oauth.flow: Google's device flow",
        ),
        ({"smtp": {"password": {"env": "SMTP_PASSWORD"}}}, "smtp.password: is set while auth is xoauth2"),
        ({"oauth": {"flow": "client_credentials"}}, "oauth.client_secret: client_credentials needs exactly one"),
        (
            {
                "oauth": {
                    "flow": "client_credentials",
                    "tenant": "common",
                    "client_secret": {"env": "SMTP_CLIENT_SECRET"},
                }
            },
            "oauth.tenant",
        ),
        ({"smtp": {"auth": "plain"}}, "smtp.auth: must be xoauth2 when an oauth: block is present"),
        ({"oauth": {"provider": "generic"}}, "oauth.token_url: is missing for a generic provider"),
        (
            {"oauth": {"authority": "http://login.example.com"}},
            "oauth.authority: 'http://login.example.com' is not an https URL",
        ),
    ],
)
def test_impossible_oauth_settings_name_the_field_and_the_fix(
    change: dict[str, dict[str, object]], message: str
) -> None:
    doc = oauth_input()
    for section, values in change.items():
        doc[section] = {**doc[section], **values}  # type: ignore[dict-item]
    with pytest.raises(FieldError) as failed:
        parse_document(doc, "input")
    assert str(failed.value).startswith(message)


def test_a_config_file_never_holds_a_client_secret_in_plain_text() -> None:
    doc = oauth_input(flow="client_credentials", client_secret="s3cret-value")
    with pytest.raises(FieldError) as failed:
        parse_document(doc, "config")
    assert "plain-text password" in str(failed.value) and "s3cret-value" not in str(failed.value)


def test_a_microsoft_365_password_config_warns_before_it_breaks() -> None:
    doc = oauth_input()
    del doc["oauth"]
    doc["smtp"] = {"host": "smtp.office365.com", "port": 587, "username": "me@contoso.com", "password": "pw"}
    warnings = parse_document(doc, "input").warnings
    assert any("disabled by default for existing tenants" in w and "end of December 2026" in w for w in warnings)


@pytest.mark.parametrize(
    ("oauth", "expected"),
    [
        ({"provider": "google", "client_id": "g"}, {"oauth_google_testing"}),
        ({}, {"oauth_microsoft_inactivity"}),
        ({"flow": "device_code"}, {"oauth_microsoft_inactivity", "oauth_device_code_blocked"}),
        (
            {"flow": "client_credentials", "client_secret": {"env": "SMTP_CLIENT_SECRET"}},
            {"oauth_client_secret_expiry"},
        ),
    ],
)
def test_token_lifetimes_and_sign_in_policies_are_consequences(oauth: dict[str, object], expected: set[str]) -> None:
    from smtpwizard.core.consequences import consequences_for

    config = parse_document(oauth_input(**oauth), "input").config
    found = {c.id for c in consequences_for(config.target, config.provider, config.oauth)}
    assert expected <= found
    assert not ({"oauth_google_testing", "oauth_device_code_blocked", "oauth_client_secret_expiry"} - expected) & found


def test_login_for_a_password_config_names_the_missing_block(tmp_path: Path) -> None:
    import io

    from smtpwizard.cli import main

    path = tmp_path / "input.yaml"
    path.write_text(V1_CONFIG)
    err = io.StringIO()
    assert main(["login", "--config", str(path)], out=io.StringIO(), err=err) == 65
    assert err.getvalue() == (
        f"smtpwizard: error: oauth: {path} has no oauth: block; login is for smtp.auth: xoauth2 configs "
        "(README, 'Modern auth')\n"
    )


def test_smtpwizard_test_warns_about_a_microsoft_365_password_config(tmp_path: Path, memory_keyring: object) -> None:
    import io

    from smtpwizard.cli import main

    path = tmp_path / "config.yaml"
    path.write_text(V1_CONFIG.replace("smtp.example.com", "smtp.office365.com").replace("mastodon", "gitlab"))
    err = io.StringIO()
    main(["test", "--config", str(path)], out=io.StringIO(), err=err)  # no network here: the test itself fails
    assert "warning: smtp.auth: this config logs in to Microsoft 365 with a password." in err.getvalue()
    assert "end of December 2026" in err.getvalue()
