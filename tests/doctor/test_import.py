"""Reading an app's own file: what cannot be read is named with file, line and key (never guessed),
the app's own override rules apply, and the password read is kept out of every representation."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from smtpwizard.core.apps.readers import Unreadable
from smtpwizard.core.doctor import contradiction_diagnosis, load
from smtpwizard.core.errors import InputMissing
from tests.doctor.cases import CASES, PASSWORD, write_app_file
from tests.servers import smtp_server


def test_unreadable_values_are_named_with_file_line_and_key_never_guessed(tmp_path: Path) -> None:
    path = write_app_file(
        tmp_path,
        CASES["mastodon"],
        587,
        (
            ("SMTP_ENABLE_STARTTLS=always", "SMTP_ENABLE_STARTTLS=sometimes"),
            ("SMTP_LOGIN=", "SMTP_TLS=yes\nSMTP_LOGIN="),
        ),
    )
    path.write_text(path.read_text().replace("SMTP_PORT=587", "SMTP_PORT=five-eight-seven"))
    with pytest.raises(Unreadable) as caught:
        load("mastodon", path, {})
    lines = caught.value.problems
    assert len(lines) == 3 and caught.value.exit_code == 65
    assert any(line.startswith(f"{path}:36: SMTP_PORT: 'five-eight-seven' is not a whole number") for line in lines)
    assert any(line.startswith(f"{path}:41: SMTP_ENABLE_STARTTLS: 'sometimes'") for line in lines)
    assert any(line.startswith(f"{path}:37: SMTP_TLS: 'yes'") for line in lines)
    assert all(PASSWORD not in line for line in lines)


def test_ruby_code_in_gitlab_rb_is_reported_not_evaluated(tmp_path: Path) -> None:
    path = write_app_file(
        tmp_path, CASES["gitlab"], 587, (("= '__PASSWORD__'", "= ENV['SMTP_PASSWORD']"),)
    )  # fmt: skip
    with pytest.raises(Unreadable, match=rf"{path}:27: smtp_password: is Ruby code smtpwizard does not evaluate"):
        load("gitlab", path, {})


def test_a_config_json_that_is_not_json_names_the_line(tmp_path: Path) -> None:
    path = write_app_file(
        tmp_path, CASES["mattermost"], 587, (('"SMTPServerTimeout": 10,', '"SMTPServerTimeout": 10'),)
    )
    with pytest.raises(Unreadable, match=rf"{path}:34: not valid JSON"):
        load("mattermost", path, {})


def test_mattermost_environment_overrides_config_json_as_the_server_does(tmp_path: Path) -> None:
    path = write_app_file(tmp_path, CASES["mattermost"], 587)
    imported = load(
        "mattermost", path, {"MM_EMAILSETTINGS_CONNECTIONSECURITY": "TLS", "MM_EMAILSETTINGS_SMTPPORT": "465"}
    )
    assert (imported.smtp.security, imported.smtp.port) == ("tls", 465)
    assert imported.found["ConnectionSecurity"].origin == "environment variable MM_EMAILSETTINGS_CONNECTIONSECURITY"
    assert "Overridden by the environment" in imported.notes[0]


def test_sourcegraph_site_config_may_hold_comments_and_trailing_commas(tmp_path: Path) -> None:
    imported = load("sourcegraph", write_app_file(tmp_path, CASES["sourcegraph"], 2525), {})
    assert (imported.smtp.host, imported.smtp.port, imported.smtp.auth) == ("127.0.0.1", 2525, "plain")
    assert imported.password is not None and imported.password.reveal() == PASSWORD


def test_the_default_path_is_where_the_app_keeps_its_settings() -> None:
    with pytest.raises(InputMissing, match=r"/etc/gitlab/gitlab\.rb"):
        load("gitlab", None, {})
    with pytest.raises(InputMissing, match="PostHog has no usual place"):
        load("posthog", None, {})


def test_selfmx_says_it_reads_no_smtp_settings(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("SMTP_HOST=smtp.example.com\n")
    with pytest.raises(Unreadable, match="SelfMX reads no SMTP settings"):
        load("selfmx", path, {})


def test_only_mail_keys_are_kept_and_the_password_is_never_in_a_repr(tmp_path: Path) -> None:
    imported = load("mastodon", write_app_file(tmp_path, CASES["mastodon"], 587), {})
    assert "DB_PASS" not in imported.found and "SECRET_KEY_BASE" not in imported.found
    assert PASSWORD not in repr(imported) and PASSWORD not in str(imported.found)
    assert imported.smtp.password is None  # the settings model never holds it


def test_a_password_mastodons_dotenv_expands_is_a_contradiction_named_before_connecting(tmp_path: Path) -> None:
    case = CASES["mastodon"]
    imported = load("mastodon", write_app_file(tmp_path, case, 587, case.mangled, case.mangled_password), {})
    assert imported.password is not None and imported.password.reveal() == "dr"  # what Mastodon sends
    diagnosis = contradiction_diagnosis(imported)
    assert diagnosis is not None and diagnosis.exit_code == 65
    assert "SMTP_PASSWORD" in diagnosis.explanation and "replaces $NAME" in diagnosis.explanation
    assert "single quotes" in diagnosis.fix and case.mangled_password not in diagnosis.explanation + diagnosis.fix


def test_mattermost_overrides_from_a_compose_file_name_the_compose_line(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text(
        "services:\n  mattermost:\n    image: mattermost/mattermost-team-edition\n    environment:\n"
        "      - MM_SQLSETTINGS_DRIVERNAME=postgres\n      - MM_EMAILSETTINGS_SMTPPORT=not-a-port\n"
    )
    from smtpwizard.core.apps.readers import EnvironmentFile, environment_file

    path = write_app_file(tmp_path, CASES["mattermost"], 587)
    with pytest.raises(Unreadable, match=rf"^{compose}:6: SMTPPort: 'not-a-port' is not a whole number"):
        load("mattermost", path, EnvironmentFile(environment_file(compose)))


def test_a_file_without_any_of_the_apps_mail_keys_is_refused_not_read_as_defaults(tmp_path: Path) -> None:
    path = write_app_file(tmp_path, CASES["mattermost"], 587)  # a config.json is not PostHog's .env
    with pytest.raises(Unreadable, match=r"holds none of the app's mail settings \(EMAIL_HOST, EMAIL_PORT"):
        load("posthog", path, {})


async def test_a_compose_files_environment_is_read_as_compose_passes_it(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smtpwizard.core.doctor import examine, try_fix
    from smtpwizard.core.probe import ProbeOptions

    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    compose = tmp_path / "docker-compose.yml"
    with smtp_server(password=PASSWORD, implicit_context=good_tls, auth_require_tls=False) as (server, _mailbox):
        compose.write_text(
            "services:\n  web:\n    image: posthog/posthog\n    environment:\n      SITE_URL: https://posthog.example.com\n"
            f"      EMAIL_HOST: 127.0.0.1\n      EMAIL_PORT: {server.port}\n      EMAIL_HOST_USER: wizard@example.com\n"
            f"      EMAIL_HOST_PASSWORD: '{PASSWORD}'\n      EMAIL_USE_TLS: 'true'\n"
        )
        imported = load("posthog", compose, {})
        result = await examine(imported, options=ProbeOptions(banner_timeout_s=1.0))
        fixed = await try_fix(result, write=True, options=ProbeOptions(banner_timeout_s=1.0))
    assert (imported.smtp.security, imported.write_kind) == ("starttls", None)
    assert result.fix is not None and "set EMAIL_USE_TLS to false, set EMAIL_USE_SSL to true" in result.fix
    assert fixed.outcome == "fix_shown" and "EMAIL_USE_TLS: 'true'" in compose.read_text()
    compose.write_text(compose.read_text().replace(PASSWORD, "dr$HOME_9x"))
    mangled = contradiction_diagnosis(load("posthog", compose, {}))
    assert mangled is not None and "write each $ in EMAIL_HOST_PASSWORD as $$" in mangled.fix
    assert f"{compose}:9:" in mangled.explanation


def test_posthogs_env_comes_with_the_note_that_its_compose_file_does_not_pass_it(tmp_path: Path) -> None:
    imported = load("posthog", write_app_file(tmp_path, CASES["posthog"], 587), {})
    assert imported.notes[0].startswith("The hobby docker-compose.yml passes no EMAIL_* variable from .env")


def test_a_gitlab_login_whose_password_is_in_the_encrypted_secret_is_named_not_tested_without(tmp_path: Path) -> None:
    path = write_app_file(tmp_path, CASES["gitlab"], 587)
    path.write_text(path.read_text().replace(f"gitlab_rails['smtp_password'] = '{PASSWORD}'\n", ""))
    with pytest.raises(Unreadable, match=r"smtp_user_name: is set but smtp_password is not in gitlab\.rb"):
        load("gitlab", path, {})


def test_a_login_without_a_password_is_a_contradiction_except_where_it_means_no_login(tmp_path: Path) -> None:
    mastodon = write_app_file(tmp_path, CASES["mastodon"], 587)
    mastodon.write_text(mastodon.read_text().replace(f"SMTP_PASSWORD='{PASSWORD}'", "SMTP_PASSWORD="))
    diagnosis = contradiction_diagnosis(load("mastodon", mastodon, {}))
    assert diagnosis is not None and diagnosis.code == "login_without_password"
    assert "SMTP_LOGIN is set but SMTP_PASSWORD is empty or missing" in diagnosis.explanation
    django = write_app_file(tmp_path, CASES["django"], 587)
    django.write_text(django.read_text().replace(f"EMAIL_HOST_PASSWORD='{PASSWORD}'", "EMAIL_HOST_PASSWORD="))
    imported = load("django", django, {})  # Django logs in only with both: no login, as Django does
    assert imported.contradictions == () and imported.smtp.auth == "none"


def test_a_ghost_well_known_service_is_named_not_guessed(tmp_path: Path) -> None:
    path = write_app_file(tmp_path, CASES["ghost"], 587, (('"host": "__HOST__",', '"service": "Mailgun",'),))
    with pytest.raises(Unreadable, match=r"mail\.options\.service: names one of nodemailer's well-known services"):
        load("ghost", path, {})


async def test_a_mistake_from_a_compose_override_is_fixed_where_it_comes_from_not_in_config_json(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smtpwizard.core.apps.readers import EnvironmentFile, environment_file
    from smtpwizard.core.doctor import examine, try_fix
    from smtpwizard.core.probe import ProbeOptions

    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services:\n  mattermost:\n    environment:\n      MM_EMAILSETTINGS_CONNECTIONSECURITY: TLS\n")
    with smtp_server(password=PASSWORD, starttls_context=good_tls) as (server, _mailbox):
        path = write_app_file(tmp_path, CASES["mattermost"], server.port)  # config.json says STARTTLS
        before = path.read_text()
        imported = load("mattermost", path, EnvironmentFile(environment_file(compose)))
        result = await examine(imported, options=ProbeOptions(banner_timeout_s=1.0))
        fixed = await try_fix(result, write=True, options=ProbeOptions(banner_timeout_s=1.0))
    assert result.diagnosis is not None and result.diagnosis.code == "tls_wrong_version"
    assert f'set ConnectionSecurity to "STARTTLS" in {compose}:4, which overrides the file' in (result.fix or "")
    assert fixed.outcome == "fix_shown" and path.read_text() == before and fixed.exit_code != 0
