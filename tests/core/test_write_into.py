"""Updating an app's existing file in place: only mail keys change, everything else stays
byte for byte; any error leaves the file untouched."""

from __future__ import annotations

import json
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from smtpwizard.core.errors import ExportError
from smtpwizard.core.exporters import PASSWORD_PLACEHOLDER, export
from smtpwizard.core.exporters.write_into import update_dotenv, update_mattermost_json, write_into
from smtpwizard.core.settings import Secret
from tests.core.test_exporters import make_config

ENV = """# Mastodon production settings
LOCAL_DOMAIN=social.example.com
SMTP_SERVER=old.example.com
export SMTP_PORT=25
# a comment in between
REDIS_URL="redis://localhost:6379/0"  # keep me
SMTP_LOGIN=old-user
SMTP_LOGIN=duplicate
"""

MATTERMOST = """{
    "ServiceSettings": {
        "SiteURL": "https://chat.example.com",
        "ListenAddress": ":8065"
    },
    "EmailSettings": {
        "EnableSignUpWithEmail": true,
        "SMTPServer": "old.example.com",
        "SMTPPort": "10025",
        "ConnectionSecurity": "",
        "PushNotificationContents": "full"
    },
    "LogSettings": {"EnableConsole": true}
}
"""


def test_dotenv_update_keeps_every_other_line_byte_for_byte() -> None:
    result = export("mastodon", make_config(), None)
    updated = update_dotenv(ENV, result.values)
    lines = updated.splitlines()
    assert lines[:2] == ENV.splitlines()[:2]
    assert lines[2] == "SMTP_SERVER=smtp.example.com"
    assert lines[3] == "export SMTP_PORT=587"
    assert lines[4:6] == ENV.splitlines()[4:6]
    assert lines[6] == "SMTP_LOGIN=mailer@example.com"
    assert lines[7].startswith("# SMTP_LOGIN=duplicate")
    assert "# Mail settings added by smtpwizard" in updated
    assert updated.count("SMTP_FROM_ADDRESS=") == 1


def test_dotenv_relay_without_login_comments_out_the_login() -> None:
    relay = export("mastodon", make_config("none", auth="none", username=None, password=None), None)
    updated = update_dotenv(ENV, relay.values, relay.unset)
    assert "\nSMTP_LOGIN=" not in updated and "# SMTP_LOGIN=old-user  (unset by smtpwizard)" in updated


def test_dotenv_refuses_to_cut_a_multiline_value() -> None:
    with pytest.raises(ExportError, match="line 1: SMTP_SERVER has a value spread over several lines"):
        update_dotenv('SMTP_SERVER="a\nb"\n', export("mastodon", make_config(), None).values)


def test_mattermost_json_update_changes_only_email_settings() -> None:
    settings = dict(export("mattermost", make_config(), None).values)
    updated = update_mattermost_json(MATTERMOST, settings)
    data = json.loads(updated)
    assert data["EmailSettings"]["SMTPServer"] == "smtp.example.com" and data["EmailSettings"]["SMTPPort"] == "587"
    assert data["EmailSettings"]["EnableSignUpWithEmail"] is True  # unrelated key kept
    assert list(data) == ["ServiceSettings", "EmailSettings", "LogSettings"]
    assert list(data["EmailSettings"])[:5] == [
        "EnableSignUpWithEmail",
        "SMTPServer",
        "SMTPPort",
        "ConnectionSecurity",
        "PushNotificationContents",
    ]
    before, after = MATTERMOST.split('"EmailSettings"'), updated.split('"EmailSettings"')
    assert after[0] == before[0]  # byte for byte before the section
    assert after[1].split("},\n", 1)[1] == before[1].split("},\n", 1)[1]  # and after it
    assert '\n        "FeedbackEmail": "app@example.com"' in updated  # new keys indented like the others


def test_invalid_json_is_refused_and_the_file_is_untouched(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"EmailSettings": {,}')
    with pytest.raises(ExportError, match="not valid JSON"):
        write_into(path, export("mattermost", make_config(), None), "json", secret_revealed=False)
    assert path.read_text() == '{"EmailSettings": {,}'
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]


def test_write_into_keeps_mode_backs_up_and_hides_a_revealed_secret(tmp_path: Path, config_home: Path) -> None:
    path = tmp_path / ".env.production"
    path.write_text(ENV)
    path.chmod(0o644)
    backup = write_into(path, export("mastodon", make_config(), None), "env", secret_revealed=False).backup
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert backup is not None and backup.read_text() == ENV and config_home in backup.parents
    write_into(path, export("mastodon", make_config(), Secret("s3cret-pass"), reveal=True), "env", secret_revealed=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert "SMTP_PASSWORD='s3cret-pass'" in path.read_text() or "SMTP_PASSWORD=s3cret-pass" in path.read_text()


def _mastodon_reads(text: str) -> dict[str, Any]:
    """What Mastodon builds from this .env.production (dotenv 3.x, config/email.yml, its helper)."""
    from tests.apps import harness

    (env,) = [harness.ruby_dotenv(text, 3)]
    (reading,) = harness.ruby_read_many("app:mastodon", [{"env": env}])
    assert not isinstance(reading, harness.ParseError), reading
    return reading  # type: ignore[no-any-return]


def test_switching_to_implicit_tls_removes_the_starttls_key_and_stale_optional_keys(
    tmp_path: Path, config_home: Path
) -> None:
    path = tmp_path / ".env.production"
    before = "SMTP_ENABLE_STARTTLS=always\nSMTP_REPLY_TO=old@example.com\nSMTP_CA_FILE=/etc/old-ca.pem\n"
    path.write_text(before)
    tls = make_config("tls")
    tls = replace(tls, sender=replace(tls.sender, reply_to=None))
    write_into(path, export("mastodon", tls, Secret("pw-1")), "env", secret_revealed=True)
    text = path.read_text()
    for key in ("SMTP_ENABLE_STARTTLS", "SMTP_REPLY_TO", "SMTP_CA_FILE"):
        assert f"\n{key}=" not in "\n" + text, key
    assert "SMTP_TLS=true" in text
    _mastodon_reads(text)  # mail 2.8 would raise ":enable_starttls and :tls are mutually exclusive"


def test_a_line_inside_another_keys_multiline_value_is_never_touched() -> None:
    from tests.apps.harness import compose_dotenv

    text = 'CERT="-----BEGIN-----\nSMTP_LOGIN=part-of-the-cert\n-----END-----"\nLOCAL_DOMAIN=x\n'
    updated = update_dotenv(text, export("mastodon", make_config(), None).values)
    assert updated.startswith(text)
    assert compose_dotenv(updated)["CERT"] == "-----BEGIN-----\nSMTP_LOGIN=part-of-the-cert\n-----END-----"
    assert compose_dotenv(updated)["SMTP_LOGIN"] == "mailer@example.com"


def test_crlf_line_endings_are_kept(tmp_path: Path, config_home: Path) -> None:
    path = tmp_path / ".env"
    path.write_bytes(b"LOCAL_DOMAIN=x\r\nSMTP_SERVER=old\r\n")
    write_into(path, export("mastodon", make_config(), None), "env", secret_revealed=False)
    data = path.read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n") and b"SMTP_SERVER=smtp.example.com\r\n" in data


def test_values_the_config_does_not_set_are_kept(tmp_path: Path, config_home: Path) -> None:
    path = tmp_path / "config.json"
    ours = '"FeedbackName": "Our Chat",\n        "ReplyToAddress": "team@example.com",\n        "SMTPServer"'
    path.write_text(MATTERMOST.replace('"SMTPServer"', ours))
    nameless = make_config()
    nameless = replace(nameless, sender=replace(nameless.sender, name=None, reply_to=None))
    write_into(path, export("mattermost", nameless, None), "json", secret_revealed=False)
    settings = json.loads(path.read_text())["EmailSettings"]
    assert (settings["FeedbackName"], settings["ReplyToAddress"]) == ("Our Chat", "team@example.com")


@pytest.mark.parametrize(
    ("name", "kind", "target", "content", "read"),
    [
        (".env.production", "env", "mastodon", "SMTP_PASSWORD='working pw'\n",
         lambda text: __import__("tests.apps.harness", fromlist=["x"]).compose_dotenv(text)["SMTP_PASSWORD"]),
        ("config.json", "json", "mattermost", '{"EmailSettings": {"SMTPPassword": "working pw"}}\n',
         lambda text: json.loads(text)["EmailSettings"]["SMTPPassword"]),
    ],
)  # fmt: skip
def test_an_existing_password_is_kept_without_reveal_and_the_user_is_told(
    name: str, kind: str, target: str, content: str, read: Any, tmp_path: Path, config_home: Path
) -> None:
    path = tmp_path / name
    path.write_text(content)
    result = write_into(path, export(target, make_config(), Secret("new pw")), kind, secret_revealed=False)
    assert read(path.read_text()) == "working pw"
    assert PASSWORD_PLACEHOLDER not in path.read_text()
    assert any("password already in" in note and "--reveal-secret" in note for note in result.notes)
    write_into(path, export(target, make_config(), Secret("new pw"), reveal=True), kind, secret_revealed=True)
    assert read(path.read_text()) == "new pw"


def test_the_email_settings_mattermost_reads_are_edited_the_last_of_duplicates(tmp_path: Path) -> None:
    text = '{"EmailSettings": {"SMTPServer": "first"},\n "EmailSettings": {"SMTPServer": "last", "SMTPServer": "really"}}\n'
    updated = update_mattermost_json(text, {"SMTPServer": "smtp.example.com"})
    assert json.loads(updated)["EmailSettings"]["SMTPServer"] == "smtp.example.com"  # json keeps the last, like Go
    assert '"first"' in updated and '"last"' in updated


def test_no_lock_or_other_file_is_left_beside_the_apps_file(tmp_path: Path, config_home: Path) -> None:
    app_dir = tmp_path / "mastodon"
    app_dir.mkdir()
    (app_dir / ".env.production").write_text(ENV)
    write_into(app_dir / ".env.production", export("mastodon", make_config(), None), "env", secret_revealed=False)
    assert sorted(p.name for p in app_dir.iterdir()) == [".env.production"]


def test_a_group_member_keeps_owner_group_mode_and_hard_links(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Run as a real non-root uid that may write the file only through its group."""
    import os
    import tempfile

    if os.geteuid() != 0:
        pytest.skip("needs root to switch to a non-root uid (os.setuid) for this test")
    root = Path(tempfile.mkdtemp(prefix="smtpwizard-group-"))
    try:
        root.chmod(0o777)
        app = root / "app"
        app.mkdir()
        app.chmod(0o755)  # the group member may not create files here: in place is the only way
        path = app / ".env.production"
        path.write_text(ENV)
        group = 4242
        os.chown(path, 0, group)
        path.chmod(0o664)
        link = root / "hard-link"
        os.link(path, link)
        before = path.stat()
        pid = os.fork()
        if pid == 0:  # the child becomes uid/gid 65534 (nobody), a member of the file's group only
            code = 1
            try:
                os.environ["XDG_CONFIG_HOME"] = str(root / "xdg")
                os.setgroups([group])
                os.setgid(65534)
                os.setuid(65534)
                write_into(path, export("mastodon", make_config(), None), "env", secret_revealed=False)
                code = 0
            finally:
                os._exit(code)
        _pid, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        after = path.stat()
        assert (after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) == (0, group, 0o664)
        assert after.st_ino == before.st_ino and after.st_nlink == 2
        assert "SMTP_SERVER=smtp.example.com" in link.read_text()
        assert sorted(p.name for p in app.iterdir()) == [".env.production"]
    finally:
        import shutil

        shutil.rmtree(root)


def test_a_django_env_is_updated_with_the_quoting_python_dotenv_reads(tmp_path: Path, config_home: Path) -> None:
    from tests.apps.harness import django_environ, python_dotenv

    path = tmp_path / ".env"
    path.write_text("SECRET_KEY=keep\nEMAIL_HOST_PASSWORD=old\n")
    password = "a\\$b 'c'"
    result = export("django", make_config(), Secret(password), fmt="env", reveal=True)
    write_into(path, result, "env", secret_revealed=True)
    text = path.read_text()
    assert python_dotenv(text)["EMAIL_HOST_PASSWORD"] == password
    assert django_environ(text, "EMAIL_HOST_PASSWORD") == password


def test_a_file_a_rename_can_keep_is_replaced_atomically_with_its_mode(tmp_path: Path, config_home: Path) -> None:
    """A reader (or a crash) never sees half a file: the new version is renamed into place."""
    app_dir = tmp_path / "mastodon"
    app_dir.mkdir()
    path = app_dir / ".env.production"
    path.write_text(ENV)
    path.chmod(0o640)
    before = path.stat()
    write_into(path, export("mastodon", make_config(), None), "env", secret_revealed=False)
    after = path.stat()
    assert after.st_ino != before.st_ino
    assert (after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) == (before.st_uid, before.st_gid, 0o640)
    assert "SMTP_SERVER=smtp.example.com" in path.read_text()
    assert sorted(p.name for p in app_dir.iterdir()) == [".env.production"]


def test_a_hard_linked_file_is_rewritten_in_place_so_every_link_sees_it(tmp_path: Path, config_home: Path) -> None:
    path = tmp_path / ".env.production"
    path.write_text(ENV)
    link = tmp_path / "linked.env"
    link.hardlink_to(path)
    before = path.stat()
    write_into(path, export("mastodon", make_config(), None), "env", secret_revealed=False)
    assert path.stat().st_ino == before.st_ino and path.stat().st_nlink == 2
    assert "SMTP_SERVER=smtp.example.com" in link.read_text()


def test_a_symlink_another_user_planted_is_refused_and_its_target_untouched(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    import os

    from smtpwizard.core.errors import WriteFailed

    if os.geteuid() != 0:
        pytest.skip("needs root to give the planted link to another uid (os.lchown)")
    shared = tmp_path_factory.mktemp("shared")
    shared.chmod(0o1777)
    victim = tmp_path_factory.mktemp("system") / "passwd-like"
    victim.write_text("root:x:0:0\n")
    planted = shared / ".env.production"
    planted.symlink_to(victim)
    os.lchown(planted, 65534, 65534)
    with pytest.raises(WriteFailed, match="symbolic link owned by another user"):
        write_into(planted, export("mastodon", make_config(), None), "env", secret_revealed=False)
    assert victim.read_text() == "root:x:0:0\n"
