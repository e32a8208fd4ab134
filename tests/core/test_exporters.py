"""Exports into each app's own format: golden files, parsed back with the format's own
parser, exact mode mapping, refusals where the app cannot express a setting."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from smtpwizard.core.errors import ExportError
from smtpwizard.core.exporters import Export, export, exporters
from smtpwizard.core.settings import Config, Secret, SecretRef, Sender, SmtpSettings, Verification
from tests.conftest import TEST_SECRET

GOLDEN = Path(__file__).parents[1] / "golden"
MODES = {"starttls": 587, "tls": 465, "none": 25}


def make_config(security: str = "starttls", **smtp_changes: Any) -> Config:
    port = MODES[security]
    smtp = SmtpSettings(
        host="smtp.example.com",
        port=port,
        security=security,  # type: ignore[arg-type]
        username="mailer@example.com",
        password=SecretRef("smtpwizard", f"default/mailer@example.com@smtp.example.com:{port}"),
        allow_insecure_auth=security == "none",
    )
    return Config(
        smtp=smtp.with_changes(**smtp_changes),
        sender=Sender("app@example.com", "Example App", "help@example.com"),
        provider="custom",
        verified=Verification(
            status="passed", at="2026-11-22T10:00:00Z", tls_version="TLSv1.3", auth_mechanism="PLAIN"
        ),
    )


def cases() -> list[tuple[str, str, str]]:
    found = []
    for target, exporter in exporters().items():
        for fmt in exporter.formats:
            for security in MODES:
                try:
                    export(target, make_config(security), None, fmt=fmt)
                except ExportError:
                    continue
                found.append((target, fmt, security))
    return found


CASES = cases()


def need(tool: str) -> None:
    if shutil.which(tool) is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide {tool} (.ci/run installs it)")
        pytest.skip(f"needs {tool}: apt-get install ruby ruby-dotenv")


def ruby(script: str, text: str, tmp_path: Path) -> Any:
    need("ruby")
    path = tmp_path / "input"
    path.write_text(text)
    done = subprocess.run(["ruby", "-e", script, str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def dotted(prefix: str, data: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        item
        for key, value in data.items()
        for item in (dotted(f"{prefix}.{key}", value) if isinstance(value, dict) else [(f"{prefix}.{key}", value)])
    ]


def parse_back(fmt: str, text: str, tmp_path: Path, target: str = "") -> dict[str, Any]:
    """The export read by a real parser of its format, as key -> value."""
    from tests.apps import harness

    if fmt == "env" and target == "django":
        return harness.python_dotenv(text)
    if fmt == "env":
        return harness.compose_dotenv(text)
    if fmt == "compose":
        (service, *_rest) = yaml.safe_load(text)["services"]
        return harness.compose_environment(text, service)
    if fmt == "mailers":
        namespace: dict[str, Any] = {"os": SimpleNamespace(environ={"EMAIL_HOST_PASSWORD": "<env>"})}
        exec(text.replace("import os\n", ""), namespace)  # noqa: S102 - our own export, as Django runs it
        options = namespace["MAILERS"]["default"]["OPTIONS"]
        names = {"host": "EMAIL_HOST", "port": "EMAIL_PORT", "username": "EMAIL_HOST_USER", "password":
                 "EMAIL_HOST_PASSWORD", "use_tls": "EMAIL_USE_TLS", "use_ssl": "EMAIL_USE_SSL", "timeout": "EMAIL_TIMEOUT"}  # fmt: skip
        values = {names[k]: v for k, v in options.items()}
        values["EMAIL_BACKEND"] = namespace["MAILERS"]["default"]["BACKEND"]
        return {
            **values,
            "DEFAULT_FROM_EMAIL": namespace["DEFAULT_FROM_EMAIL"],
            "SERVER_EMAIL": namespace["SERVER_EMAIL"],
        }
    if fmt in ("helm", "yaml"):
        (section,) = yaml.safe_load(text).values()
        return section  # type: ignore[no-any-return]
    if fmt == "json":
        data = json.loads(text)
        if "EmailSettings" in data:
            return data["EmailSettings"]  # type: ignore[no-any-return]
        if "mail" in data:  # Ghost: nested options, compared as dotted paths
            return dict(dotted("mail", data["mail"]))
        return {**{k: v for k, v in data.items() if k != "email.smtp"}, **data["email.smtp"]}
    if fmt == "ruby":
        return ruby(
            'require "json"; gitlab_rails = {}; eval(File.read(ARGV[0]), binding); puts JSON.generate(gitlab_rails)',
            text,
            tmp_path,
        )
    assert fmt == "python"
    values: dict[str, Any] = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign):
            name = node.targets[0].id  # type: ignore[attr-defined]
            values[name] = ast.literal_eval(node.value) if not isinstance(node.value, ast.Subscript) else "<env>"
    return values


def expected(fmt: str, result: Export) -> dict[str, Any]:
    values = dict(result.values)
    if fmt in ("env", "compose"):  # the environment is text
        return {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in values.items()}
    if fmt == "json" and "email.smtp" in values:
        return {**{k: v for k, v in values.items() if k != "email.smtp"}, **values["email.smtp"]}
    return values


@pytest.mark.parametrize(("target", "fmt", "security"), CASES, ids=[f"{t}-{f}-{s}" for t, f, s in CASES])
def test_export_matches_golden_file_and_parses_back(target: str, fmt: str, security: str, tmp_path: Path) -> None:
    result = export(target, make_config(security), None, fmt=fmt)
    golden = GOLDEN / f"{target}-{fmt}-{security}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(result.text)
    assert result.text == golden.read_text()
    parsed = parse_back(fmt, result.text, tmp_path, target)
    want = expected(fmt, result)
    if fmt in ("python", "mailers"):
        want["EMAIL_HOST_PASSWORD"] = "<env>"
    assert parsed == want
    assert TEST_SECRET not in result.text


def test_dotenv_refuses_a_password_ruby_dotenv_2_cannot_keep_exact(tmp_path: Path) -> None:
    nasty = "it's\\nasty"  # a quote, then a backslash followed by n: Ruby dotenv 2.x makes it a line break
    with pytest.raises(ExportError, match=r"^Forem export: a value holds a backslash followed by n or r"):
        export("forem", make_config(), Secret(nasty), reveal=True)
    posthog = export("posthog", make_config(), Secret(nasty), reveal=True)  # docker compose alone reads it
    assert parse_back("env", posthog.text, tmp_path, "posthog")["EMAIL_HOST_PASSWORD"] == nasty
    gitlab = export("gitlab", make_config(), Secret(nasty), reveal=True)  # Ruby literals can hold it
    assert parse_back("ruby", gitlab.text, tmp_path)["smtp_password"] == nasty


@pytest.mark.parametrize(("target", "fmt"), sorted({(t, f) for t, f, _ in CASES}))
def test_secret_never_appears_without_reveal(target: str, fmt: str) -> None:
    result = export(target, make_config("starttls"), Secret(TEST_SECRET), fmt=fmt)
    assert TEST_SECRET not in result.text and TEST_SECRET not in " ".join(result.notes)


@pytest.mark.parametrize(
    ("target", "fmt", "tls_key", "ssl_key"),
    [("posthog", "env", "EMAIL_USE_TLS", "EMAIL_USE_SSL"), ("posthog", "helm", "use_tls", "use_ssl"),
     ("django", "python", "EMAIL_USE_TLS", "EMAIL_USE_SSL"), ("gitlab", "ruby", "smtp_enable_starttls_auto", "smtp_tls")],
)  # fmt: skip
def test_starttls_and_implicit_tls_flags_are_never_both_set(target: str, fmt: str, tls_key: str, ssl_key: str) -> None:
    for security, flags in {"starttls": (True, False), "tls": (False, True), "none": (False, False)}.items():
        values = dict(export(target, make_config(security), None, fmt=fmt).values)
        assert (values[tls_key], values[ssl_key]) == flags, security


def test_mattermost_connection_security_values() -> None:
    relay = {"auth": "none", "username": None, "password": None}
    got = {
        s: dict(export("mattermost", make_config(s, **(relay if s == "none" else {})), None).values)[
            "ConnectionSecurity"
        ]
        for s in MODES
    }
    assert got == {"starttls": "STARTTLS", "tls": "TLS", "none": ""}
    assert dict(export("mattermost", make_config(), None).values)["SMTPPort"] == "587"


def test_mastodon_modes_and_relay_without_login() -> None:
    assert ("SMTP_ENABLE_STARTTLS", "always") in export("mastodon", make_config("starttls"), None).values
    assert ("SMTP_TLS", True) in export("mastodon", make_config("tls"), None).values
    relay = export("mastodon", make_config("none", auth="none", username=None, password=None), None)
    keys = dict(relay.values)
    assert keys["SMTP_AUTH_METHOD"] == "none" and "SMTP_LOGIN" not in keys and "SMTP_PASSWORD" not in keys
    assert {"SMTP_LOGIN", "SMTP_PASSWORD"} <= set(relay.unset)


@pytest.mark.parametrize(
    ("target", "config", "message"),
    [
        ("forem", make_config("tls"), "no implicit-TLS setting"),
        ("forem", make_config("none", auth="none", username=None, password=None), "only enables SMTP when a username"),
        ("sourcegraph", make_config("tls"), "no implicit TLS"),
        ("sourcegraph", make_config(auth="login"), "does not support AUTH LOGIN"),
        ("posthog", make_config(verify_certificate=False), "no setting to skip certificate verification"),
        ("django", make_config(auth="cram-md5"), "cannot be told to use AUTH CRAM-MD5"),
        ("mattermost", make_config(auth="cram-md5"), "cannot be told to use AUTH CRAM-MD5"),
        ("selfmx", make_config("tls", port=2465), "only uses implicit TLS on port 465"),
    ],
)
def test_settings_an_app_cannot_express_stop_the_export(target: str, config: Config, message: str) -> None:
    with pytest.raises(ExportError, match=message):
        export(target, config, None)


def test_unknown_target_and_format_are_clear_errors() -> None:
    with pytest.raises(ExportError, match="--target: 'wordpress' is not an export target"):
        export("wordpress", make_config(), None)
    with pytest.raises(ExportError, match="--format: PostHog has no 'toml' format"):
        export("posthog", make_config(), None, fmt="toml")


def test_every_target_has_an_exporter() -> None:
    from smtpwizard.core.targets import TARGET_IDS

    assert tuple(exporters()) == TARGET_IDS


def test_disabled_verification_is_carried_where_the_app_can_express_it() -> None:
    off = make_config(verify_certificate=False)
    assert dict(export("mattermost", off, None).values)["SkipServerCertificateVerification"] is True
    assert ("SMTP_OPENSSL_VERIFY_MODE", "none") in export("mastodon", off, None).values
    assert dict(export("gitlab", off, None).values)["smtp_openssl_verify_mode"] == "none"
    assert dict(export("sourcegraph", off, None).values)["email.smtp"]["noVerifyTLS"] is True
    assert replace(off.smtp, verify_certificate=True) != off.smtp
