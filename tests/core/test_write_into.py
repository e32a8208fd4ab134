"""Updating an app's existing file in place: only mail keys change, everything else stays
byte for byte; any error leaves the file untouched."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from smtpwizard.core.errors import ExportError
from smtpwizard.core.exporters import export
from smtpwizard.core.exporters.write_into import update_dotenv, update_mattermost_json, write_into
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


def test_write_into_keeps_mode_backs_up_and_hides_a_revealed_secret(tmp_path: Path) -> None:
    from smtpwizard.core.settings import Secret

    path = tmp_path / ".env.production"
    path.write_text(ENV)
    path.chmod(0o644)
    backup = write_into(path, export("mastodon", make_config(), None), "env", secret_revealed=False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert backup is not None and backup.read_text() == ENV
    write_into(path, export("mastodon", make_config(), Secret("s3cret-pass"), reveal=True), "env", secret_revealed=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert "SMTP_PASSWORD='s3cret-pass'" in path.read_text() or "SMTP_PASSWORD=s3cret-pass" in path.read_text()
