"""What an app reads from many exports at once (a few processes per batch, not one per export):
the password, login and sender each app ends up with, through its users' real parser."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tests.apps import harness
from tests.apps.harness import ParseError

Reading = dict[str, Any]  # password, username, sender (as the app holds them)


def _each(texts: list[str], read: Any) -> list[Reading | ParseError]:
    results: list[Reading | ParseError] = []
    for text in texts:
        try:
            results.append(read(text))
        except ParseError as exc:
            results.append(exc)
    return results


def _env_reading(env: dict[str, Any], password: str, username: str, sender: str) -> Reading:
    return {"password": env.get(password), "username": env.get(username), "sender": env.get(sender)}


def _exec_settings(text: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"os": SimpleNamespace(environ={"EMAIL_HOST_PASSWORD": "<env>"})}
    exec(text.replace("import os\n", ""), namespace)  # noqa: S102 - our own export, as Django imports it
    return namespace


def _django_python(text: str) -> Reading:
    ns = _exec_settings(text)
    return {
        "password": ns["EMAIL_HOST_PASSWORD"],
        "username": ns["EMAIL_HOST_USER"],
        "sender": ns["DEFAULT_FROM_EMAIL"],
    }


def _django_mailers(text: str) -> Reading:
    ns = _exec_settings(text)
    options = ns["MAILERS"]["default"]["OPTIONS"]
    return {"password": options["password"], "username": options["username"], "sender": ns["DEFAULT_FROM_EMAIL"]}


def _django_env(text: str) -> Reading:
    """python-dotenv and django-environ must both read the same values."""
    values = harness.python_dotenv(text)
    for key in ("EMAIL_HOST_PASSWORD", "EMAIL_HOST_USER", "DEFAULT_FROM_EMAIL"):
        if harness.django_environ(text, key) != values.get(key):
            raise ParseError(f"django-environ reads {key} differently from python-dotenv")
    return _env_reading(values, "EMAIL_HOST_PASSWORD", "EMAIL_HOST_USER", "DEFAULT_FROM_EMAIL")


def _helm(texts: list[str], go: Path) -> list[Reading | ParseError]:
    done = subprocess.run([str(go), "yamls"], input=json.dumps(texts), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout
    results: list[Reading | ParseError] = []
    for doc in json.loads(done.stdout):
        if "error" in doc:
            results.append(ParseError(doc["error"]))
            continue
        email = doc["email"]
        # The chart b64encs the password and passes user/from as strings: anything else breaks.
        if any(email[k]["type"] != "string" for k in ("password", "user", "from_email")):
            results.append(ParseError("Helm reads a value as a non-string"))
            continue
        results.append(
            {
                k: email[v]["value"]
                for k, v in (("password", "password"), ("username", "user"), ("sender", "from_email"))
            }
        )
    return results


def _ghost(text: str) -> Reading:
    """config.production.json as Ghost reads it (JSON; GhostMailer hands mail.options to nodemailer)."""
    mail = json.loads(text)["mail"]
    return {
        "password": mail["options"]["auth"]["pass"],
        "username": mail["options"]["auth"]["user"],
        "sender": mail["from"],
    }


def _ruby_app(app: str, items: list[dict[str, Any]]) -> list[Reading | ParseError]:
    results: list[Reading | ParseError] = []
    for item in harness.ruby_read_many(f"app:{app}", items):
        if isinstance(item, ParseError):
            results.append(item)
        else:
            results.append({"password": item["password"], "username": item["user_name"], "sender": item["from"]})
    return results


def _dotenvs(texts: list[str], readers: tuple[str, ...]) -> list[dict[str, Any] | ParseError]:
    """Each .env as every reader in ``readers`` reads it; a ParseError where any refuses it or
    where they disagree."""
    per_reader: list[list[Any]] = []
    for reader in readers:
        if reader == "compose":
            per_reader.append(_each(texts, harness.compose_dotenv))
        else:
            per_reader.append(harness.ruby_read_many(reader, texts))
    results: list[dict[str, Any] | ParseError] = []
    for readings in zip(*per_reader, strict=True):
        bad = next((r for r in readings if isinstance(r, ParseError)), None)
        if bad is None and any(r != readings[0] for r in readings):
            bad = ParseError(f"{' and '.join(readers)} read this .env differently")
        results.append(bad or readings[0])
    return results


def _discourse(texts: list[str], tmp_path: Path) -> list[Reading | ParseError]:
    envs = harness.discourse_launcher_many(texts, tmp_path)
    good = [e for e in envs if not isinstance(e, ParseError)]
    read = iter(_ruby_app("discourse", [{"env": e} for e in good]))
    return [e if isinstance(e, ParseError) else next(read) for e in envs]


def read_exports(target: str, fmt: str, texts: list[str], tmp_path: Path, go: Path) -> list[Reading | ParseError]:
    """What ``target`` reads from each export text in ``fmt``."""
    if (target, fmt) == ("django", "python"):
        return _each(texts, _django_python)
    if (target, fmt) == ("django", "mailers"):
        return _each(texts, _django_mailers)
    if (target, fmt) == ("django", "env"):
        return _each(texts, _django_env)
    if (target, fmt) == ("posthog", "helm"):
        return _helm(texts, go)
    if target == "ghost":
        return _each(texts, _ghost)
    if fmt == "compose":
        service = {"mattermost": "mattermost", "gitea": "server"}.get(target, "web")
        keys = KEYS[target]
        return _each(texts, lambda t: _env_reading(harness.compose_environment(t, service), *keys))
    if (target, fmt) == ("mattermost", "json"):
        keys = ("SMTPPassword", "SMTPUsername", "FeedbackName")
        return _each(texts, lambda t: _env_reading(json.loads(t)["EmailSettings"], *keys))
    if target == "sourcegraph":
        return _each(
            texts,
            lambda t: _env_reading(
                {**json.loads(t), **json.loads(t)["email.smtp"]}, "password", "username", "email.senderName"
            ),
        )
    if target == "gitlab":
        return _ruby_app("gitlab", [{"gitlab_rb": t} for t in texts])
    if target == "discourse":
        return _discourse(texts, tmp_path)
    envs = _dotenvs(texts, DOTENV_READERS[target])
    if target in ("mastodon", "forem"):
        good = [e for e in envs if not isinstance(e, ParseError)]
        read = iter(_ruby_app(target, [{"env": e} for e in good]))
        return [e if isinstance(e, ParseError) else next(read) for e in envs]
    return [e if isinstance(e, ParseError) else _env_reading(e, *KEYS[target]) for e in envs]


# Who reads each app's .env: Mastodon (docker compose env_file, dotenv 3.x), Forem (compose, dotenv-rails).
DOTENV_READERS: dict[str, tuple[str, ...]] = {
    "posthog": ("compose",),
    "mattermost": ("compose",),
    "selfmx": ("compose",),
    "gitea": ("compose",),
    "authentik": ("compose",),
    "mastodon": ("compose", "dotenv3"),
    "forem": ("compose", "dotenv2", "dotenv3"),
}
KEYS: dict[str, tuple[str, str, str]] = {
    "posthog": ("EMAIL_HOST_PASSWORD", "EMAIL_HOST_USER", "EMAIL_DEFAULT_FROM"),
    "mattermost": ("MM_EMAILSETTINGS_SMTPPASSWORD", "MM_EMAILSETTINGS_SMTPUSERNAME", "MM_EMAILSETTINGS_FEEDBACKNAME"),
    "selfmx": ("SMTP_PASS", "SMTP_USER", "SMTP_HOST"),
    "gitea": ("GITEA__mailer__PASSWD", "GITEA__mailer__USER", "GITEA__mailer__FROM"),
    "authentik": ("AUTHENTIK_EMAIL__PASSWORD", "AUTHENTIK_EMAIL__USERNAME", "AUTHENTIK_EMAIL__FROM"),
}
