"""PostHog: environment variables (web and worker) or the Helm chart's ``email:`` block."""

from __future__ import annotations

from dataclasses import replace

from smtpwizard.core.apps.base import App, Export, Source, header
from smtpwizard.core.apps.django import PROFILE as DJANGO_PROFILE
from smtpwizard.core.apps.django import email_connection
from smtpwizard.core.consequences import Consequence
from smtpwizard.core.exporters.formats import Scalar, render_dotenv, render_yaml

NAME = "PostHog"


def _checked(source: Source) -> None:
    source.require_verification(NAME)
    source.require_automatic_auth(NAME)


def _notes(source: Source) -> tuple[str, ...]:
    notes = ["Restart both the web server and the worker; a value saved in /instance/settings overrides these."]
    if source.smtp.helo_domain:
        notes.append("PostHog cannot set the EHLO name; it sends this machine's host name.")
    return tuple(notes)


def env(source: Source) -> Export:
    _checked(source)
    sender = source.config.sender
    pairs: list[tuple[str, Scalar]] = [
        ("EMAIL_ENABLED", True),
        *email_connection(source),
        ("EMAIL_DEFAULT_FROM", sender.address),
    ]
    if sender.reply_to:
        pairs.append(("EMAIL_REPLY_TO", sender.reply_to))
    text = render_dotenv(pairs, header(NAME, source, "the environment of the web and worker containers (.env)"))
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
        "from_email": sender.address,
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
    formats={"env": ("environment variables (.env)", env), "helm": ("Helm values.yaml email: block", helm)},
    default_format="env",
    write_into=("env",),
    consequences=CONSEQUENCES,
    # PostHog/posthog docker-compose.hobby.yml / docker-compose.base.yml: no env_file, no EMAIL_* listed.
    compose="the hobby docker-compose.yml passes no EMAIL_* variable from .env to the containers",
)
