"""Each app's export, read by the parser that app's users run, handed to the app's own mail code
(reproduced from its source) against loopback servers: the login and the message must arrive
exactly as configured. Run alone with: python3 -m pytest tests/apps -q"""

from __future__ import annotations

import email
import email.policy
import ssl
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from smtpwizard.core.errors import ExportError
from smtpwizard.core.exporters import export
from smtpwizard.core.settings import Config, Secret, SecretRef, Sender, SmtpSettings, Verification
from tests.apps import harness
from tests.apps.conftest import MODES, mode_server
from tests.servers import USERNAME, smtp_server

# A quote, a backslash, $, #, spaces and a YAML-looking "key: value": what breaks config files.
PASSWORD = "pa'ss\"w\\od $HOME #x: y"
SENDER = Sender("app@example.com", "Example App")


def config_for(mode: str, port: int, ca_file: str | None = None) -> Config:
    smtp = SmtpSettings(
        host="127.0.0.1",
        port=port,
        security=mode,  # type: ignore[arg-type]
        username=USERNAME,
        password=SecretRef("smtpwizard", f"default/{USERNAME}@127.0.0.1:{port}"),
        allow_insecure_auth=mode == "none",
        ca_file=ca_file,
    )
    verified = Verification(status="passed", at="2026-11-30T12:00:00Z", auth_mechanism="PLAIN")
    return Config(smtp=smtp, sender=SENDER, provider="custom", verified=verified)


def with_ca(config: Config, ca_file: str) -> Config:
    """The config with its CA file set, for apps that have a CA-file setting."""
    return replace(config, smtp=config.smtp.with_changes(ca_file=ca_file))


def exported(target: str, fmt: str, config: Config) -> str:
    return export(target, config, Secret(PASSWORD), fmt=fmt, reveal=True).text


Runner = Callable[[Config, str, Path, Path], harness.Sent]


def run_posthog(config: Config, ca_file: str, go: Path, tmp_path: Path) -> harness.Sent:
    env = harness.compose_dotenv(exported("posthog", "env", config))
    s = harness.posthog_settings(env)
    return harness.django_send(
        host=s["EMAIL_HOST"], port=s["EMAIL_PORT"], username=s["EMAIL_HOST_USER"], password=s["EMAIL_HOST_PASSWORD"],
        use_tls=s["EMAIL_USE_TLS"], use_ssl=s["EMAIL_USE_SSL"], timeout=s["EMAIL_TIMEOUT"],
        from_email=s["EMAIL_DEFAULT_FROM"], ca_file=ca_file,
    )  # fmt: skip


def run_authentik(config: Config, ca_file: str, go: Path, tmp_path: Path) -> harness.Sent:
    """authentik/lib/config.py: AUTHENTIK_EMAIL__<KEY> sets CONFIG email.<key> (strings parsed as
    YAML scalars); authentik/stages/email/models.py builds Django's EmailBackend from them."""
    import yaml

    env = harness.compose_dotenv(exported("authentik", "env", config))  # its compose file: env_file: .env
    value = {k.removeprefix("AUTHENTIK_EMAIL__").lower(): v for k, v in env.items()}

    def scalar(key: str) -> Any:
        parsed = yaml.safe_load(value[key]) if value[key] else value[key]
        return parsed if isinstance(parsed, bool | int) else value[key]

    return harness.django_send(
        host=value["host"], port=scalar("port"), username=value["username"], password=value["password"],
        use_tls=scalar("use_tls"), use_ssl=scalar("use_ssl"), timeout=scalar("timeout"), from_email=value["from"],
        ca_file=ca_file,
    )  # fmt: skip


def run_django(config: Config, ca_file: str, go: Path, tmp_path: Path) -> harness.Sent:
    """settings.py as Django imports it: the module's code run, then its EMAIL_* settings used."""
    namespace: dict[str, Any] = {}
    exec(compile(exported("django", "python", config), "settings.py", "exec"), namespace)  # noqa: S102
    return harness.django_send(
        host=namespace["EMAIL_HOST"], port=namespace["EMAIL_PORT"], username=namespace["EMAIL_HOST_USER"],
        password=namespace["EMAIL_HOST_PASSWORD"], use_tls=namespace["EMAIL_USE_TLS"],
        use_ssl=namespace["EMAIL_USE_SSL"], timeout=namespace["EMAIL_TIMEOUT"],
        from_email=namespace["DEFAULT_FROM_EMAIL"], ca_file=ca_file,
    )  # fmt: skip


def run_mastodon(config: Config, ca_file: str, go: Path, tmp_path: Path) -> harness.Sent:
    text = exported("mastodon", "env", with_ca(config, ca_file))
    env = harness.ruby_dotenv(text, 3)  # Mastodon's Gemfile: dotenv 3.x
    assert harness.compose_dotenv(text) == env  # docker compose's env_file: .env.production agrees
    return harness.ruby_app_send("mastodon", {"env": env}, ca_file)


def run_discourse(config: Config, ca_file: str, go: Path, tmp_path: Path) -> harness.Sent:
    env = harness.discourse_launcher(exported("discourse", "yaml", config), tmp_path)
    return harness.ruby_app_send("discourse", {"env": env}, ca_file)


def run_gitlab(config: Config, ca_file: str, go: Path, tmp_path: Path) -> harness.Sent:
    source = exported("gitlab", "ruby", with_ca(config, ca_file))
    return harness.ruby_app_send("gitlab", {"gitlab_rb": source}, ca_file)


def run_forem(config: Config, ca_file: str, go: Path, tmp_path: Path) -> harness.Sent:
    text = exported("forem", "env", config)
    env = harness.compose_dotenv(text)
    assert harness.ruby_dotenv(text, 2) == env  # Forem's dotenv-rails reads the same file
    return harness.ruby_app_send("forem", {"env": env}, ca_file)


def run_mattermost(config: Config, ca_file: str, go: Path, tmp_path: Path) -> harness.Sent:
    return harness.go_app_send("mattermost", go, ca_file, config=exported("mattermost", "json", config))


def run_mattermost_env(config: Config, ca_file: str, go: Path, tmp_path: Path) -> harness.Sent:
    env = harness.compose_dotenv(exported("mattermost", "env", config))
    return harness.go_app_send("mattermost", go, ca_file, env=env)


def run_sourcegraph(config: Config, ca_file: str, go: Path, tmp_path: Path) -> harness.Sent:
    return harness.go_app_send("sourcegraph", go, ca_file, config=exported("sourcegraph", "json", config))


def run_ghost(config: Config, ca_file: str, go: Path, tmp_path: Path) -> harness.Sent:
    return harness.node_app_send("ghost", exported("ghost", "json", config), ca_file)


RUNNERS: dict[str, Runner] = {
    "posthog": run_posthog,
    "authentik": run_authentik,
    "django": run_django,
    "mastodon": run_mastodon,
    "discourse": run_discourse,
    "gitlab": run_gitlab,
    "forem": run_forem,
    "mattermost": run_mattermost,
    "mattermost-env": run_mattermost_env,
    "sourcegraph": run_sourcegraph,
    "ghost": run_ghost,
}
# What each app cannot do, so its export must refuse (and the app's code shows why).
REFUSED = {
    ("forem", "tls"): "no implicit-TLS setting",
    ("sourcegraph", "tls"): "no implicit TLS",
    ("mattermost", "none"): "without TLS",
    ("mattermost-env", "none"): "without TLS",
}
CASES = [(app, mode) for app in RUNNERS for mode in MODES]


@pytest.mark.parametrize(("app", "mode"), CASES, ids=[f"{a}-{m}" for a, m in CASES])
def test_the_app_logs_in_and_sends_with_the_exported_settings(
    app: str, mode: str, good_tls: ssl.SSLContext, ca_file: str, go_clients: Path, tmp_path: Path
) -> None:
    with mode_server(mode, PASSWORD, good_tls) as (server, mailbox):
        config = config_for(mode, server.port)
        if (app, mode) in REFUSED:
            with pytest.raises(ExportError, match=REFUSED[(app, mode)]):
                RUNNERS[app](config, ca_file, go_clients, tmp_path)
            return
        sent = RUNNERS[app](config, ca_file, go_clients, tmp_path)
    assert sent.ok, sent.detail
    assert [login for _mechanism, login in mailbox.auth_attempts] == [USERNAME]  # logged in once, accepted
    (message,) = mailbox.messages
    assert message.mail_from == SENDER.address and message.rcpt_tos == [harness.TO]
    parsed = email.message_from_bytes(message.original_content or b"", policy=email.policy.default)
    (sender,) = parsed["From"].addresses
    assert sender.addr_spec == SENDER.address


def test_mattermost_sends_through_a_relay_without_login_in_plain_text(
    good_tls: ssl.SSLContext, ca_file: str, go_clients: Path, tmp_path: Path
) -> None:
    with smtp_server(password=PASSWORD, require_auth=False, auth_require_tls=False) as (server, mailbox):
        config = config_for("none", server.port)
        relay = replace(config, smtp=config.smtp.with_changes(auth="none", username=None, password=None))
        sent = run_mattermost(relay, ca_file, go_clients, tmp_path)
    assert sent.ok, sent.detail
    assert mailbox.auth_attempts == [] and len(mailbox.messages) == 1


def test_sourcegraph_refuses_a_login_verified_with_auth_login_which_it_cannot_send(
    good_tls: ssl.SSLContext, ca_file: str, go_clients: Path
) -> None:
    """Against a server offering only LOGIN, Sourcegraph's PLAIN is refused: the export must not
    turn a LOGIN-verified config into "authentication": "PLAIN"."""
    from aiosmtpd.smtp import SMTP

    from tests.servers import Handler, Mailbox, ServerThread, make_authenticator

    mailbox = Mailbox()

    def login_only() -> SMTP:
        return SMTP(
            Handler(mailbox), tls_context=good_tls, authenticator=make_authenticator(PASSWORD, mailbox),
            auth_required=True, auth_exclude_mechanism=["PLAIN"],
        )  # fmt: skip

    with ServerThread(factory=login_only) as server:
        config = config_for("starttls", server.port)
        login = replace(config, verified=replace(config.verified, auth_mechanism="LOGIN"))
        with pytest.raises(ExportError, match=r"^Sourcegraph export: the live test logged in with AUTH LOGIN"):
            exported("sourcegraph", "json", login)
        # What the old export (PLAIN) would have met: the server refuses it.
        sent = harness.go_app_send("sourcegraph", go_clients, ca_file, config=exported("sourcegraph", "json", config))
    assert not sent.ok and "504" in sent.detail
    assert mailbox.messages == []


def test_a_non_ascii_password_is_refused_for_apps_on_python_s_smtplib(
    good_tls: ssl.SSLContext, ca_file: str, go_clients: Path, tmp_path: Path
) -> None:
    """smtplib encodes the AUTH line as ASCII: Django (and PostHog, authentik) can never send it."""
    password = "pässword"
    with mode_server("starttls", password, good_tls) as (server, mailbox):
        config = config_for("starttls", server.port)
        for target in ("django", "posthog", "authentik"):
            with pytest.raises(ExportError, match=r"the password holds non-ASCII characters, which Python smtplib"):
                export(target, config, Secret(password), reveal=True)
        sent = harness.django_send(
            host="127.0.0.1", port=server.port, username=USERNAME, password=password, use_tls=True, use_ssl=False,
            timeout=10, from_email=SENDER.address, ca_file=ca_file,
        )  # fmt: skip
    assert not sent.ok and "UnicodeEncodeError" in sent.detail and mailbox.messages == []
