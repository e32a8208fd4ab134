"""The doctor's own line editors (gitlab.rb, Discourse app.yml) write like write-into: only the mail
lines change, CRLF stays CRLF, the file keeps its inode (hard links, owner, group, mode), and the
backup goes to smtpwizard's folder under a name without the password."""

from __future__ import annotations

import json
import os
import ssl
from pathlib import Path

import pytest

from smtpwizard.core.doctor import examine, load, try_fix
from smtpwizard.core.editors import update_app_yml, update_gitlab_rb
from smtpwizard.core.probe import ProbeOptions
from tests.doctor.cases import CASES, PASSWORD, write_app_file
from tests.servers import smtp_server


def test_gitlab_rb_editor_replaces_the_last_assignment_and_keeps_crlf() -> None:
    text = "external_url 'x'\r\ngitlab_rails['smtp_tls'] = false\r\n# gitlab_rails['smtp_tls'] = true\r\n"
    text += "gitlab_rails['smtp_tls'] = false # the one omnibus uses\r\n"
    updated = update_gitlab_rb(text, (("smtp_tls", True), ("smtp_port", 465)), ("smtp_enable_starttls_auto",))
    assert updated.splitlines(keepends=True) == [
        "external_url 'x'\r\n",
        "gitlab_rails['smtp_tls'] = false\r\n",
        "# gitlab_rails['smtp_tls'] = true\r\n",
        "gitlab_rails['smtp_tls'] = true # the one omnibus uses\r\n",
        "gitlab_rails['smtp_port'] = 465\r\n",
    ]


def test_app_yml_editor_touches_only_the_env_entries_and_keeps_comments() -> None:
    text = (
        "templates:\n  - a.yml\nenv:\n  LANG: en_US.UTF-8\n  ## TODO\n  DISCOURSE_SMTP_PORT: 587  # submission\n"
        "  DISCOURSE_SMTP_ENABLE_START_TLS: true\nvolumes:\n  - volume: {}\n"
    )
    updated = update_app_yml(
        text, (("DISCOURSE_SMTP_PORT", 465), ("DISCOURSE_SMTP_FORCE_TLS", True)), ("DISCOURSE_SMTP_ENABLE_START_TLS",)
    )
    assert updated == (
        "templates:\n  - a.yml\nenv:\n  LANG: en_US.UTF-8\n  ## TODO\n  DISCOURSE_SMTP_PORT: 465  # submission\n"
        "  # DISCOURSE_SMTP_ENABLE_START_TLS: true  (unset by smtpwizard)\n  DISCOURSE_SMTP_FORCE_TLS: true\n"
        "volumes:\n  - volume: {}\n"
    )


@pytest.mark.parametrize("app", ["gitlab", "discourse"])
async def test_fix_keeps_hard_links_and_mode_and_backs_up_elsewhere(
    app: str, good_tls: ssl.SSLContext, ca_file: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    config_home: Path,
) -> None:  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    with smtp_server(password=PASSWORD, implicit_context=good_tls, auth_require_tls=False) as (server, _mailbox):
        folder = tmp_path / "etc"  # the app's folder: nothing of smtpwizard's may be left there
        folder.mkdir()
        path = write_app_file(folder, CASES[app], server.port)
        crlf = path.read_text().replace("\n", "\r\n")
        path.write_bytes(crlf.encode())
        link = tmp_path / "hard-link"
        os.link(path, link)
        inode = path.stat().st_ino
        result = await examine(load(app, path, {}), options=ProbeOptions(banner_timeout_s=1.0))
        fixed = await try_fix(result, write=True, options=ProbeOptions(banner_timeout_s=1.0))
    assert fixed.outcome == "fixed"
    assert path.stat().st_ino == inode and link.read_bytes() == path.read_bytes()
    assert oct(path.stat().st_mode & 0o777) == "0o640"
    data = path.read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n")  # CRLF kept, added lines too
    assert fixed.backup is not None and fixed.backup.parent == config_home / "smtpwizard" / "backups"
    assert PASSWORD not in fixed.backup.name and list(path.parent.iterdir()) == [path]


def test_json_with_comments_is_edited_in_place_comments_and_trailing_commas_kept() -> None:
    from smtpwizard.core.apps.readers import strip_json_comments
    from smtpwizard.core.editors import update_json_paths

    text = (
        '{\n  // the URL\n  "externalURL": "https://x",\n  /* email */\n  "email.smtp": {\n'
        '    "host": "a", // relay\n    "port": 25,\n    "username": "u",\n    "password": "p",\n  },\n}\n'
    )
    updated = update_json_paths(
        text,
        (("email.smtp port", 587), ("email.smtp noVerifyTLS", True)),
        ("email.smtp username", "email.smtp password"),
        separator=" ",
    )
    assert "// the URL" in updated and "/* email */" in updated and '"host": "a", // relay' in updated
    assert json.loads(strip_json_comments(updated)) == {
        "externalURL": "https://x",
        "email.smtp": {"host": "a", "port": 587, "noVerifyTLS": True},
    }
