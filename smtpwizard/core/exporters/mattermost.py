"""Mattermost: ``config.json`` ``EmailSettings`` or the ``MM_EMAILSETTINGS_*`` environment."""

from __future__ import annotations

from typing import Any

from smtpwizard.core.exporters import Export, Exporter, Source, header
from smtpwizard.core.exporters.formats import Scalar, render_dotenv, render_json

APP = "Mattermost"
SECURITY = {"starttls": "STARTTLS", "tls": "TLS", "none": ""}


def email_settings(source: Source) -> dict[str, Any]:
    smtp, sender = source.smtp, source.config.sender
    if smtp.auth in ("cram-md5", "login"):
        # Mattermost picks PLAIN when offered, else LOGIN; it cannot be told which.
        source.require_automatic_auth(APP, supported=("PLAIN",))
    return {
        "SendEmailNotifications": True,
        "FeedbackName": sender.name or "",
        "FeedbackEmail": sender.address,
        "ReplyToAddress": sender.reply_to or sender.address,
        "EnableSMTPAuth": source.uses_auth,
        "SMTPUsername": smtp.username if source.uses_auth else "",
        "SMTPPassword": source.password or "",
        "SMTPServer": smtp.host,
        "SMTPPort": str(smtp.port),  # Mattermost keeps the port as a string
        "SMTPServerTimeout": int(smtp.timeout_s),
        "ConnectionSecurity": SECURITY[smtp.security],
        "SkipServerCertificateVerification": not smtp.verify_certificate,
    }


def _notes(source: Source) -> tuple[str, ...]:
    notes = ["Use System Console > Environment > SMTP > Test Connection after restarting."]
    if source.smtp.security == "none" and source.uses_auth:
        notes.append("Mattermost refuses to send a password without TLS except to localhost.")
    if source.smtp.ca_file:
        notes.append("Mattermost has no CA-file setting: install the CA in the system store.")
    return tuple(notes)


def config_json(source: Source) -> Export:
    settings = email_settings(source)
    return Export(render_json({"EmailSettings": settings}), _notes(source), tuple(settings.items()))


def env(source: Source) -> Export:
    pairs: list[tuple[str, Scalar]] = [
        (f"MM_EMAILSETTINGS_{key.upper()}", value) for key, value in email_settings(source).items()
    ]
    text = render_dotenv(
        pairs, header(APP, source, "Mattermost's environment (values set here cannot be edited in the System Console)")
    )
    return Export(text, _notes(source), tuple(pairs))


EXPORTER = Exporter(
    "mattermost",
    APP,
    {"json": ("config.json EmailSettings", config_json), "env": ("MM_EMAILSETTINGS_* environment", env)},
    "json",
    write_into=("json", "env"),
)
