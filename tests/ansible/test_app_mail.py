"""The collection's module code (module_utils/app_mail.py) called directly, for every app: the
wanted settings tested against a loopback server and written into the app's real-looking file
once; a second run changes nothing; no password in any result, diff or message."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from ansible_collections.smtpwizard.mail.plugins.module_utils.app_mail import TaskFailed, Wanted, check, converge
from smtpwizard.core.doctor import load
from tests.doctor.cases import CASES, DELIVER, write_app_file
from tests.servers import Mailbox, ServerThread, filtered_port, smtp_server

NEW_PASSWORD = "ansible-Pw 9#x'q\"z"
OLD_PASSWORD = "old-Pw-1f9e"


@pytest.fixture
def relay_mailbox(
    good_tls: ssl.SSLContext, ca_file: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[ServerThread, Mailbox]]:
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)  # the host trusts the relay's CA in its system store
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    with smtp_server(password=NEW_PASSWORD, starttls_context=good_tls) as served:
        yield served


@pytest.fixture
def relay(relay_mailbox: tuple[ServerThread, Mailbox]) -> ServerThread:
    return relay_mailbox[0]


def _forms(secret: str) -> set[str]:
    return {secret, json.dumps(secret)[1:-1], secret.replace("'", "\\'"), secret.replace('"', '\\"')}


@pytest.mark.parametrize("app", sorted(CASES))
def test_wanted_settings_are_written_once_never_shown_and_the_app_delivers(
    app: str, relay_mailbox: tuple[ServerThread, Mailbox], ca_file: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    relay, mailbox = relay_mailbox
    path = write_app_file(tmp_path, CASES[app], 2, password=OLD_PASSWORD)
    wanted = Wanted(app=app, path=str(path), host="127.0.0.1", port=relay.port, security="starttls",
                    username="wizard@example.com", password=NEW_PASSWORD, sender="ops@example.com")  # fmt: skip
    first = converge(wanted, check_mode=False)
    assert first["changed"] is True and "(password)" in first["keys_changed"]
    written = path.read_text()
    imported = load(app, path, {})
    assert imported.password is not None and imported.password.reveal() == NEW_PASSWORD
    assert (imported.smtp.port, imported.config.sender.address) == (relay.port, "ops@example.com")
    second = converge(wanted, check_mode=False)
    assert second["changed"] is False, second["msg"]
    assert path.read_text() == written
    assert (path.stat().st_mode & 0o777) == 0o640
    shown = json.dumps([first, second])
    for secret in (NEW_PASSWORD, OLD_PASSWORD):
        assert not any(form in shown for form in _forms(secret)), f"{app}: a password in the result"
    assert "******** (new password)" in first["diff"]["after"]
    if app in DELIVER:  # the app's own mail code (tests/apps; none for Gitea) reads the file and delivers
        go = request.getfixturevalue("go_clients") if app in ("mattermost", "sourcegraph") else tmp_path
        sent = DELIVER[app](path, ca_file, go, tmp_path)
        assert sent.ok, sent.detail
        assert len(mailbox.messages) == 1


def test_check_mode_tests_and_reports_but_writes_nothing(relay: ServerThread, tmp_path: Path) -> None:
    path = write_app_file(tmp_path, CASES["mastodon"], 2, password=OLD_PASSWORD)
    before = path.read_bytes()
    wanted = Wanted(app="mastodon", path=str(path), port=relay.port, password=NEW_PASSWORD)
    result = converge(wanted, check_mode=True)
    assert result["changed"] is True and result["test"]["ok"] is True
    assert "would be written" in result["msg"] and "SMTP_PORT" in result["keys_changed"]
    assert path.read_bytes() == before


def test_rejected_password_fails_in_one_line_and_keeps_the_file(relay: ServerThread, tmp_path: Path) -> None:
    path = write_app_file(tmp_path, CASES["gitlab"], relay.port, password=OLD_PASSWORD)
    before = path.read_bytes()
    with pytest.raises(TaskFailed) as failure:
        converge(Wanted(app="gitlab", path=str(path), password="wrong-Pw 9#x"), check_mode=False)
    assert "\n" not in failure.value.msg and "gitlab.rb was not changed" in failure.value.msg
    assert failure.value.result["diagnosis"]["code"].startswith("auth")
    assert "wrong-Pw" not in json.dumps(failure.value.result) + failure.value.msg
    assert path.read_bytes() == before


def test_blocked_port_fails_check_with_the_diagnosis(tmp_path: Path) -> None:
    with filtered_port() as port:
        path = write_app_file(tmp_path, CASES["mattermost"], port, password=OLD_PASSWORD)
        with pytest.raises(TaskFailed) as failure:
            check("mattermost", str(path), None, None, None)
    result = failure.value.result
    assert result["diagnosis"]["code"] == "connect_timeout" and result["settings"]["password"] == "********"
    assert failure.value.msg.startswith(f"Mattermost ({path}) would not send mail: The port did not answer")
    assert OLD_PASSWORD not in json.dumps(result)


def test_provider_preset_gives_host_port_and_security(tmp_path: Path) -> None:
    from ansible_collections.smtpwizard.mail.plugins.module_utils.app_mail import wanted_config

    path = write_app_file(tmp_path, CASES["mattermost"], 2, password=OLD_PASSWORD)
    config, _password = wanted_config(load("mattermost", path, {}), Wanted(app="mattermost", provider="sendgrid"))
    assert (config.smtp.host, config.smtp.port, config.smtp.security) == ("smtp.sendgrid.net", 587, "starttls")
    assert config.smtp.username == "apikey"


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [("host", "smtp example.com", "host:"), ("sender", "not-an-address", "sender:"), ("password", "a\nb", "password:")],
)
def test_bad_option_fails_in_one_line_naming_it_and_keeps_the_file(
    option: str, value: str, named: str, tmp_path: Path
) -> None:
    path = write_app_file(tmp_path, CASES["mattermost"], 2, password=OLD_PASSWORD)
    before = path.read_bytes()
    with pytest.raises(TaskFailed) as failure:
        converge(Wanted(app="mattermost", path=str(path), **{option: value}), check_mode=False)
    assert failure.value.msg.startswith(named) and "\n" not in failure.value.msg
    assert "a\nb" not in failure.value.msg
    assert path.read_bytes() == before


def test_a_key_the_environment_overrides_is_named_not_written(relay: ServerThread, tmp_path: Path) -> None:
    path = write_app_file(tmp_path, CASES["mattermost"], 2, password=OLD_PASSWORD)
    env_file = tmp_path / ".env"
    env_file.write_text("MM_EMAILSETTINGS_SMTPPORT=2\n")
    before = path.read_bytes()
    wanted = Wanted(app="mattermost", path=str(path), env_file=str(env_file), port=relay.port)
    with pytest.raises(TaskFailed) as failure:
        converge(wanted, check_mode=False)
    assert failure.value.msg.startswith(f"SMTPPort is set in {env_file}:1, which overrides mattermost.config.json")
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("app", "blank"),
    [("posthog", "SITE_URL=https://posthog.example.com\n"), ("mastodon", "LOCAL_DOMAIN=example.com\n"),
     ("discourse", "templates:\n  - templates/web.template.yml\nenv:\n  LANG: en_US.UTF-8\n")],
)  # fmt: skip
def test_a_file_without_mail_settings_gets_them_all_once(
    app: str, blank: str, relay_mailbox: tuple[ServerThread, Mailbox], ca_file: str, tmp_path: Path
) -> None:
    relay, _mailbox = relay_mailbox
    path = tmp_path / CASES[app].file
    path.write_text(blank)
    wanted = Wanted(app=app, path=str(path), host="127.0.0.1", port=relay.port, security="starttls",
                    username="wizard@example.com", password=NEW_PASSWORD, sender="ops@example.com")  # fmt: skip
    assert converge(wanted, check_mode=False)["changed"] is True
    assert path.read_text().startswith(blank)  # the file's own lines stay, the mail keys are added
    imported = load(app, path, {})
    assert imported.password is not None and imported.password.reveal() == NEW_PASSWORD
    assert (imported.smtp.host, imported.smtp.port) == ("127.0.0.1", relay.port)
    assert converge(wanted, check_mode=False)["changed"] is False
    assert DELIVER[app](path, ca_file, tmp_path, tmp_path).ok


def test_a_file_without_mail_settings_needs_host_and_sender(tmp_path: Path) -> None:
    path = tmp_path / "posthog.env"
    path.write_text("SITE_URL=https://posthog.example.com\n")
    with pytest.raises(TaskFailed) as failure:
        converge(Wanted(app="posthog", path=str(path), password=NEW_PASSWORD), check_mode=False)
    assert (
        failure.value.msg
        == f"{path}: has no mail settings yet; give host and sender (and port, security, username, password) to write them"
    )


def test_a_gitlab_rb_with_only_smtp_enable_gets_the_rest_and_gitlab_delivers(
    relay_mailbox: tuple[ServerThread, Mailbox], ca_file: str, tmp_path: Path
) -> None:
    relay, _mailbox = relay_mailbox
    path = tmp_path / "gitlab.rb"
    path.write_text("external_url 'https://gitlab.example.com'\ngitlab_rails['smtp_enable'] = true\n")
    wanted = Wanted(app="gitlab", path=str(path), host="127.0.0.1", port=relay.port, security="starttls",
                    username="wizard@example.com", password=NEW_PASSWORD, sender="ops@example.com")  # fmt: skip
    assert converge(wanted, check_mode=False)["changed"] is True
    assert converge(wanted, check_mode=False)["changed"] is False
    assert DELIVER["gitlab"](path, ca_file, tmp_path, tmp_path).ok


def test_the_modules_accept_exactly_the_apps_smtpwizard_knows() -> None:
    from ansible_collections.smtpwizard.mail.plugins.module_utils.app_mail import APPS
    from smtpwizard.core.apps import APP_IDS

    assert sorted(APPS) == sorted(APP_IDS)
