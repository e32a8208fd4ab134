"""Editing an app's file keeps the comment an admin wrote after a value, and the app still reads
the new value: each edited file is read back by the app's own reader (docker compose and Ruby
dotenv, Discourse's launcher, omnibus' gitlab.rb through Ruby, Gitea's go-ini).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smtpwizard.core.apps.readers import read_ini_section
from smtpwizard.core.editors import update_app_yml, update_gitlab_rb, update_ini_section
from smtpwizard.core.exporters.write_into import update_dotenv
from tests.apps import harness
from tests.apps.reading import _dotenvs

PASSWORD = "n#w ;pa'ss\"wd"  # comment signs and quotes of every language


def go_ini(binary: Path, texts: list[str]) -> list[dict[str, Any]]:
    done = subprocess.run([str(binary), "inis"], input=json.dumps(texts), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout
    return list(json.loads(done.stdout))


def test_dotenv_keeps_comments_after_plain_quoted_and_empty_values() -> None:
    original = (
        "EMAIL_HOST=old.example.net  # our relay\n"
        "EMAIL_HOST_PASSWORD='old'# rotated 2026-01\n"
        "EMAIL_PORT=25 # was 25\n"
        "EMAIL_HOST_USER= # who sends: fill in\n"
    )
    edited = update_dotenv(
        original,
        (
            ("EMAIL_HOST", "smtp.example.com"),
            ("EMAIL_HOST_PASSWORD", PASSWORD),
            ("EMAIL_PORT", 587),
            ("EMAIL_HOST_USER", "mailer"),
        ),
    )
    lines = edited.splitlines()
    assert lines[0].endswith("  # our relay") and lines[1].endswith(" # rotated 2026-01")
    assert lines[2].endswith(" # was 25") and lines[3] == "EMAIL_HOST_USER=mailer # who sends: fill in"
    (read,) = _dotenvs([edited], ("compose", "dotenv2", "dotenv3"))
    assert read == {
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_HOST_PASSWORD": PASSWORD,
        "EMAIL_PORT": "587",
        "EMAIL_HOST_USER": "mailer",
    }


def test_discourse_app_yml_keeps_comments_and_the_launcher_reads_the_new_values(tmp_path: Path) -> None:
    original = (
        "env:\n"
        "  LANG: en_US.UTF-8\n"
        "  DISCOURSE_SMTP_ADDRESS: smtp.old.example  # the old relay\n"
        '  DISCOURSE_SMTP_PASSWORD: "old # not a comment" # rotated yearly\n'
        "  DISCOURSE_SMTP_USER_NAME: 'it''s # inside'   # who sends\n"
        "  DISCOURSE_SMTP_PORT:   # fill in\n"
    )
    edited = update_app_yml(
        original,
        (
            ("DISCOURSE_SMTP_ADDRESS", "smtp.example.com"),
            ("DISCOURSE_SMTP_PASSWORD", PASSWORD),
            ("DISCOURSE_SMTP_USER_NAME", "mailer"),
            ("DISCOURSE_SMTP_PORT", 587),
        ),
    )
    for comment in ("  # the old relay", " # rotated yearly", "   # who sends", "   # fill in"):
        assert any(line.endswith(comment) for line in edited.splitlines()), comment
    (env,) = harness.discourse_launcher_many([edited], tmp_path)
    assert isinstance(env, dict)
    assert env["DISCOURSE_SMTP_ADDRESS"] == "smtp.example.com"
    assert env["DISCOURSE_SMTP_PASSWORD"] == PASSWORD
    assert env["DISCOURSE_SMTP_USER_NAME"] == "mailer"
    assert env["DISCOURSE_SMTP_PORT"] == "587"


def test_gitlab_rb_keeps_comments_and_omnibus_reads_the_new_values() -> None:
    original = (
        "gitlab_rails['smtp_enable'] = true\n"
        "gitlab_rails['smtp_address'] = \"smtp.old.example\" # relay, see ticket #42\n"
        "gitlab_rails['smtp_password'] = 'a#b' # not the comment: 'a#b' is the string\n"
        "gitlab_rails['smtp_user_name'] = \"old\"\n"
        "gitlab_rails['gitlab_email_from'] = 'old@example.com' # sender\n"
    )
    edited = update_gitlab_rb(
        original,
        (
            ("smtp_address", "smtp.example.com"),
            ("smtp_password", PASSWORD),
            ("smtp_user_name", "mailer"),
            ("gitlab_email_from", "app@example.com"),
        ),
    )
    assert "# relay, see ticket #42" in edited and "# not the comment: 'a#b' is the string" in edited
    assert "# sender" in edited
    (read,) = harness.ruby_read_many("app:gitlab", [{"gitlab_rb": edited}])
    assert read["password"] == PASSWORD
    assert read["user_name"] == "mailer"
    assert read["from"] == "app@example.com"


def test_gitea_app_ini_keeps_comments_and_go_ini_reads_the_new_values(go_clients: Path) -> None:
    original = (
        "[server]\nDOMAIN = git.example.com ; not ours\n\n"
        "[mailer]\n"
        "ENABLED = true\n"
        "SMTP_ADDR = smtp.old.example ; the old relay\n"
        "PASSWD = `old;pw` # rotated\n"
        "USER = old # a comment with a `backtick`\n"
        "SMTP_PORT: 25\n"
    )
    edited = update_ini_section(
        original,
        "mailer",
        (("SMTP_ADDR", "smtp.example.com"), ("PASSWD", PASSWORD), ("USER", "m;ailer"), ("SMTP_PORT", 587)),
    )
    assert "SMTP_ADDR = smtp.example.com ; the old relay" in edited
    assert "# rotated" in edited and "# a comment with a `backtick`" in edited
    assert "DOMAIN = git.example.com ; not ours" in edited
    (read,) = go_ini(go_clients, [edited])
    assert read["SMTP_ADDR"] == "smtp.example.com"
    assert read["PASSWD"] == PASSWORD
    assert read["USER"] == "m;ailer"  # a backtick value with a backtick comment: the comment moved up a line
    assert read["SMTP_PORT"] == "587"
    assert {k: f.value for k, f in read_ini_section(edited, "mailer").items()} == read  # the doctor agrees


_VALUE_CHARS = st.sampled_from(list("ab #;`'\"=:\\ \t"))


@settings(max_examples=1, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(_VALUE_CHARS, max_size=14), min_size=300, max_size=300))
def test_the_doctor_reads_app_ini_values_as_go_ini_does(go_clients: Path, values: list[str]) -> None:
    """smtpwizard's reader of [mailer] (the doctor) against go-ini itself, on 300 random values
    made of the characters that matter: comment signs, quotes, backticks, delimiters, blanks."""
    texts = [f"[mailer]\nKEY ={value}\n" for value in values]
    for text, theirs in zip(texts, go_ini(go_clients, texts), strict=True):
        if "error" in theirs:
            continue  # go-ini refuses it (e.g. an unclosed multi-line quote); the doctor need not agree
        ours = {k: f.value for k, f in read_ini_section(text, "mailer").items()}
        assert ours == theirs, text
