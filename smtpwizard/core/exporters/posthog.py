"""PostHog: environment variables (web and worker) or the Helm chart's ``email:`` block."""

from __future__ import annotations

from smtpwizard.core.exporters import Export, Exporter, Source, header
from smtpwizard.core.exporters.django import email_connection
from smtpwizard.core.exporters.formats import Scalar, render_dotenv, render_yaml

APP = "PostHog"


def _checked(source: Source) -> None:
    source.require_verification(APP)
    source.require_automatic_auth(APP)


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
    text = render_dotenv(pairs, header(APP, source, "the environment of the web and worker containers (.env)"))
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
    text = render_yaml({"email": block}, header(APP, source, "your Helm values.yaml"))
    return Export(text, _notes(source), tuple(block.items()))


EXPORTER = Exporter(
    "posthog",
    APP,
    {"env": ("environment variables (.env)", env), "helm": ("Helm values.yaml email: block", helm)},
    "env",
    write_into=("env",),
)
