"""PostHog: environment variables (web and worker) or the Helm chart's ``email:`` block."""

from __future__ import annotations

from dataclasses import replace

from smtpwizard.core.apps.base import App, Export, Source, header
from smtpwizard.core.apps.django import PROFILE as DJANGO_PROFILE
from smtpwizard.core.apps.django import email_connection
from smtpwizard.core.consequences import Consequence
from smtpwizard.core.exporters.formats import (
    Scalar,
    display_address,
    render_compose_override,
    render_dotenv,
    render_yaml,
)

NAME = "PostHog"


# PostHog/posthog docker-compose.hobby.yml: the web and worker services list their environment and
# have no env_file, so EMAIL_* in .env never reaches them.
COMPOSE_SERVICES = ("web", "worker")
ENV_NOT_READ = (
    "PostHog's hobby docker-compose.yml does not pass EMAIL_* from .env to its containers: "
    "use --format compose (a docker-compose.override.yml) for that setup"
)


def _checked(source: Source) -> None:
    source.require_verification(NAME)
    source.require_automatic_auth(NAME)
    if source.smtp.ca_file:
        # posthog/email.py: Django's EmailBackend with the system store; no CA-file setting.
        raise source.refuse(
            NAME,
            "it has no CA-file setting (it trusts the container's system store only)",
            "add the CA to the containers' trust store, then remove ca_file from the config",
        )


def _notes(source: Source) -> tuple[str, ...]:
    notes = ["Restart both the web server and the worker; a value saved in /instance/settings overrides these."]
    if source.smtp.helo_domain:
        notes.append("PostHog cannot set the EHLO name; it sends this machine's host name.")
    return tuple(notes)


def _pairs(source: Source) -> list[tuple[str, Scalar]]:
    _checked(source)
    sender = source.config.sender
    pairs: list[tuple[str, Scalar]] = [
        ("EMAIL_ENABLED", True),
        *email_connection(source),
        # posthog/settings: EMAIL_DEFAULT_FROM is the whole From header, display name included.
        ("EMAIL_DEFAULT_FROM", display_address(sender.name, sender.address)),
    ]
    if sender.reply_to:
        pairs.append(("EMAIL_REPLY_TO", sender.reply_to))
    return pairs


def env(source: Source) -> Export:
    pairs = _pairs(source)
    where = f"the environment of the web and worker containers (.env). {ENV_NOT_READ}"
    text = render_dotenv(pairs, header(NAME, source, where), ("compose",))
    unset = () if source.config.sender.reply_to else ("EMAIL_REPLY_TO",)  # a stale one would still apply
    return Export(text, _notes(source), tuple(pairs), unset)


def compose(source: Source) -> Export:
    pairs = _pairs(source)
    where = "docker-compose.override.yml beside docker-compose.yml (compose merges it into the web and worker services)"
    text = render_compose_override(COMPOSE_SERVICES, pairs, header(NAME, source, where))
    return Export(text, _notes(source), tuple(pairs))


def helm(source: Source) -> Export:
    _checked(source)
    smtp, sender = source.smtp, source.config.sender
    block = {
        "host": smtp.host,
        "port": smtp.port,
        "user": smtp.username if source.uses_auth else "",
        "password": source.password or "",
        # The chart defaults use_tls to true: write both flags so they are never both true.
        "use_tls": smtp.security == "starttls",
        "use_ssl": smtp.security == "tls",
        "from_email": display_address(sender.name, sender.address),
    }
    text = render_yaml({"email": block}, header(NAME, source, "your Helm values.yaml"))
    return Export(text, _notes(source), tuple(block.items()))


# PostHog/posthog posthog/email.py sends through Django's EmailBackend with the EMAIL_*
# settings (posthog/settings/emails.py): the same client as Django.
PROFILE = replace(DJANGO_PROFILE, app=NAME)

CONSEQUENCES = (
    Consequence(
        "posthog_restart",
        "warning",
        "the PostHog admin",
        "Settings given through environment variables only take effect after both the web server and the worker "
        "(Celery, which sends the mail) are restarted. A value saved in Instance settings overrides the environment.",
        "Restart web and worker after changing the environment, and clear any EMAIL_* value saved in /instance/settings.",
    ),
)

APP = App(
    id="posthog",
    name=NAME,
    where="environment of the web and worker containers, or Helm values.yaml",
    blurb="product analytics",
    profile=PROFILE,
    formats={
        "env": ("environment variables (.env)", env),
        "compose": ("docker-compose.override.yml environment: for the hobby setup", compose),
        "helm": ("Helm values.yaml email: block", helm),
    },
    default_format="env",
    write_into=("env",),
    consequences=CONSEQUENCES,
    # PostHog/posthog docker-compose.hobby.yml / docker-compose.base.yml: no env_file, no EMAIL_* listed.
    compose="the hobby docker-compose.yml passes no EMAIL_* variable from .env to the containers",
)


# --- import: PostHog's EMAIL_* settings from its .env (smtpwizard doctor) ------------------------
# (imported here, at the end, so this block stays apart from the exports above)
from collections.abc import Mapping  # noqa: E402
from pathlib import Path  # noqa: E402

from smtpwizard.core.apps.django import django_fields, read_django_env  # noqa: E402
from smtpwizard.core.apps.readers import Imported, is_compose_file  # noqa: E402

DEFAULT_PATH = None  # the .env beside the hobby deploy's docker-compose.yml
FIELDS = django_fields()


def read_settings(path: Path, environ: Mapping[str, str]) -> Imported:
    """PostHog's EMAIL_* settings from its .env as docker compose reads it; PostHog/posthog
    posthog/settings/dynamic_settings.py reads them with Django's meanings (str_to_bool flags)."""
    imported = read_django_env(path, NAME, "posthog", FIELDS, "compose", "EMAIL_DEFAULT_FROM")
    if is_compose_file(path):
        return imported
    # what the test proves holds for PostHog only if the containers get these values
    note = f"{APP.compose}: make sure they reach the web and worker (export --format compose writes an override)."
    return replace(imported, notes=(note[0].upper() + note[1:], *imported.notes))
