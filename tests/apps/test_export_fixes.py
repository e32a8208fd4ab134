"""One test per export bug of issue 9, each read by the parser or the code the app really runs."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from smtpwizard.core.errors import ExportError
from smtpwizard.core.exporters import export
from smtpwizard.core.settings import Config, Secret, Sender
from tests.apps import harness
from tests.apps.test_end_to_end import config_for, with_ca


def config(mode: str = "starttls", name: str | None = "Example App") -> Config:
    base = config_for(mode, 465 if mode == "tls" else 587)
    return replace(base, sender=Sender("app@example.com", name))


def text(target: str, password: str = "pw", fmt: str | None = None, cfg: Config | None = None) -> str:
    return export(target, cfg or config(), Secret(password), fmt=fmt, reveal=True).text


def test_a_password_ending_in_a_backslash_is_read_by_docker_compose() -> None:
    for target in ("posthog", "mattermost", "selfmx", "forem"):  # Mastodon's own reading: below
        cfg = config("tls") if target == "selfmx" else config()
        env = harness.compose_dotenv(text(target, "p\\", "env", cfg))
        assert "p\\" in env.values(), target


def _discourse_reads(app_yml: str, tmp_path: Path) -> dict[str, Any]:
    env = harness.discourse_launcher(app_yml, tmp_path)
    (reading,) = harness.ruby_read_many("app:discourse", [{"env": env}])
    assert not isinstance(reading, harness.ParseError), reading
    return reading  # type: ignore[no-any-return]


def test_discourse_launcher_keeps_backslashes(tmp_path: Path) -> None:
    assert _discourse_reads(text("discourse", "a\\b\\\\c\\"), tmp_path)["password"] == "a\\b\\\\c\\"


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("secret ", "ends in a space or tab"),
        ("x{{config}}y", "holds {{config}}"),
        ("123456", "a number or a boolean"),
        ("true", "a number or a boolean"),
    ],
)
def test_discourse_refuses_what_its_launcher_or_global_setting_would_change(password: str, problem: str) -> None:
    with pytest.raises(ExportError, match=rf"^Discourse export: DISCOURSE_SMTP_PASSWORD .*{problem}.*; "):
        text("discourse", password)


def test_django_env_is_read_exactly_by_python_dotenv_and_django_environ() -> None:
    password = 'a\\$b\\\\c\'d "e" #f'
    env_text = text("django", password, "env")
    assert harness.python_dotenv(env_text)["EMAIL_HOST_PASSWORD"] == password
    assert harness.django_environ(env_text, "EMAIL_HOST_PASSWORD") == password
    with pytest.raises(ExportError, match=r"^Django export: a value holds \$\{\.\.\.\}, which python-dotenv"):
        text("django", "pa${HOME}ss", "env")


def test_helm_reads_yaml_words_and_numbers_in_the_password_as_strings(go_clients: Path) -> None:
    for password in ("y", "N", "on", "1e3", "0o17", "~"):
        values = harness.helm_yaml(text("posthog", password, "helm"), go_clients)
        assert values["email"]["password"] == {"type": "string", "value": password}


@pytest.mark.parametrize("name", ["Ops: Alerts", "@team", "Ops #1", "Example, Inc."])
def test_gitlab_display_name_reaches_gitlab_yml_intact(name: str) -> None:
    (reading,) = harness.ruby_read_many("app:gitlab", [{"gitlab_rb": text("gitlab", cfg=config(name=name))}])
    assert not isinstance(reading, harness.ParseError), reading
    parsed = email.policy.default.header_factory("From", reading["from"])
    (address,) = parsed.addresses  # type: ignore[attr-defined]
    assert (address.display_name, address.addr_spec) == (name, "app@example.com")


def test_django_from_name_with_a_comma_stays_one_address_in_python_s_modern_email() -> None:
    """Django 6.1 builds messages with email.message.EmailMessage and the default policy
    (django/core/mail/message.py): the From value is parsed, folded and sent as such."""
    name = "Ünï, Ltd."
    namespace: dict[str, Any] = {}
    exec(text("django", cfg=config(name=name), fmt="python"), namespace)  # noqa: S102 - our own export
    message = email.message.EmailMessage(policy=email.policy.default)
    message["From"] = namespace["DEFAULT_FROM_EMAIL"]
    sent = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    (address,) = sent["From"].addresses
    assert (address.display_name, address.addr_spec) == (name, "app@example.com")


def test_yaml_exports_keep_a_nel_character(tmp_path: Path, go_clients: Path) -> None:
    password = "a\x85b\u2028c"
    assert _discourse_reads(text("discourse", password), tmp_path)["password"] == password  # Ruby Psych
    helm = text("posthog", "pw", "helm", config(name=password))  # PostHog's smtplib takes ASCII passwords only
    assert harness.helm_yaml(helm, go_clients)["email"]["from_email"]["value"] == f'"{password}" <app@example.com>'
    assert "\x85" not in text("discourse", password) and "\x85" not in helm


@pytest.mark.parametrize(("target", "fmt"), [("posthog", "env"), ("posthog", "helm"), ("posthog", "compose"),
                                             ("forem", "env"), ("selfmx", "env")])  # fmt: skip
def test_a_ca_file_is_refused_where_the_app_cannot_carry_it(target: str, fmt: str) -> None:
    cfg = config("tls") if target == "selfmx" else config()
    with pytest.raises(ExportError, match=r"export: it has no CA-file setting .*; add the CA to"):
        text(target, fmt=fmt, cfg=with_ca(cfg, "/etc/ssl/private-ca.pem"))


@pytest.mark.parametrize(
    ("target", "service"), [("posthog", "web"), ("posthog", "worker"), ("mattermost", "mattermost")]
)
def test_the_compose_format_reaches_the_container_and_the_env_header_says_env_alone_is_not_read(
    target: str, service: str
) -> None:
    password = "pa$s 'w\"rd\\"
    environment = harness.compose_environment(text(target, password, "compose"), service)
    assert password in environment.values()
    assert "is not read" in text(target, fmt="env") or "does not pass" in text(target, fmt="env")


def test_posthog_from_carries_the_display_name() -> None:
    env = harness.compose_dotenv(text("posthog", cfg=config(name="Example, Inc.")))
    assert env["EMAIL_DEFAULT_FROM"] == '"Example, Inc." <app@example.com>'


def test_discourse_and_gitlab_exports_carry_the_timeout(tmp_path: Path) -> None:
    cfg = replace(config(), smtp=config().smtp.with_changes(timeout_s=12))
    env = harness.discourse_launcher(text("discourse", cfg=cfg), tmp_path)
    assert env["DISCOURSE_SMTP_OPEN_TIMEOUT"] == "12"
    assert ("smtp_open_timeout", 12) in export("gitlab", cfg, None).values


def test_django_mailers_options_are_the_smtp_backend_s_own_arguments() -> None:
    """Django 6.1 passes MAILERS[alias]["OPTIONS"] to the backend as keyword arguments; 6.1 needs
    Python 3.12, so this checks the shape against the EmailBackend of the installed Django."""
    harness.django_ready()
    from django.core.mail.backends.smtp import EmailBackend

    namespace: dict[str, Any] = {}
    exec(text("django", "pw", "mailers"), namespace)  # noqa: S102 - our own export
    mailer = namespace["MAILERS"]["default"]
    assert mailer["BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    backend = EmailBackend(**mailer["OPTIONS"])
    assert (backend.host, backend.port, backend.password, backend.use_tls, backend.use_ssl) == (
        "127.0.0.1", 587, "pw", True, False,
    )  # fmt: skip


def test_mastodon_values_survive_config_email_yml() -> None:
    passwords = ["a #b: c", "123456", "yes", "'quoted'", "- dash", "p\\"]
    envs = harness.ruby_read_many("dotenv3", [text("mastodon", password) for password in passwords])
    readings = harness.ruby_read_many("app:mastodon", [{"env": env} for env in envs])
    assert [reading["password"] for reading in readings] == passwords


def test_top_level_config_is_honoured_by_export_and_test(tmp_path: Path, config_home: Path) -> None:
    import io

    from smtpwizard.cli import main
    from smtpwizard.core.config import dump_config
    from tests.servers import filtered_port

    path = tmp_path / "elsewhere.yaml"
    path.write_text(dump_config(config()))
    out, err = io.StringIO(), io.StringIO()
    assert main(["--config", str(path), "export", "--target", "django"], out=out, err=err) == 0, err.getvalue()
    assert "EMAIL_HOST = '127.0.0.1'" in out.getvalue()
    with filtered_port() as port:  # nothing answers: the test fails to connect, but reads the right file
        cfg = config_for("starttls", port)
        path.write_text(dump_config(replace(cfg, smtp=cfg.smtp.with_changes(timeout_s=1.0))))
        out, err = io.StringIO(), io.StringIO()
        main(["--config", str(path), "test"], out=out, err=err)
    assert f"from {path}" in out.getvalue() + err.getvalue()
    assert "does not exist" not in err.getvalue()
