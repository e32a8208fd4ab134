"""Mattermost: ``config.json`` ``EmailSettings`` or the ``MM_EMAILSETTINGS_*`` environment."""

from __future__ import annotations

from typing import Any

from smtpwizard.core.apps.base import App, ClientProfile, Export, Source, header
from smtpwizard.core.consequences import Consequence
from smtpwizard.core.exporters.formats import Scalar, render_dotenv, render_json

NAME = "Mattermost"
SECURITY = {"starttls": "STARTTLS", "tls": "TLS", "none": ""}


def email_settings(source: Source) -> dict[str, Any]:
    smtp, sender = source.smtp, source.config.sender
    if smtp.auth in ("cram-md5", "login"):
        # Mattermost picks PLAIN when offered, else LOGIN; it cannot be told which.
        source.require_automatic_auth(NAME, supported=("PLAIN",))
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
        pairs, header(NAME, source, "Mattermost's environment (values set here cannot be edited in the System Console)")
    )
    return Export(text, _notes(source), tuple(pairs))


PROFILE = ClientProfile(
    app=NAME,
    library="Go net/smtp",
    # mattermost/mattermost server/platform/shared/mail/mail.go: ConnectionSecurity "TLS" ->
    # tls.DialWithDialer; "STARTTLS" -> c.StartTLS (its error ignored: the login then fails); "" -> plain.
    starttls="required",
    implicit_tls=True,
    verify_switch="SkipServerCertificateVerification",  # mail.go: InsecureSkipVerify
    ca_file_setting=None,
    # mail.go authChooser.Start: PLAIN when the server offers it, else its own LOGIN.
    auth_mechanisms=("PLAIN", "LOGIN"),
    auth_choice="preference",
    auth_setting=None,
    charset="utf-8",
    # mail.go passes ServerName+":"+Port as the name to smtp.PlainAuth and its loginAuth; Go net/smtp
    # auth.go allows plain text only to a name that is exactly localhost/127.0.0.1/::1, and loginAuth
    # refuses any unencrypted connection: no login without TLS, ever.
    plaintext_login="never",
    timeout_setting="SMTPServerTimeout",  # server/public/model/config.go: default 10 seconds
    default_timeout_s=10.0,
    helo="the host of its Site URL (mail.go c.Hello(config.Hostname)), else localhost",
)

CONSEQUENCES = (
    Consequence(
        "mattermost_verification",
        "warning",
        "users resetting passwords or verifying addresses",
        "Password reset, email verification and notification emails all depend on these settings.",
        "Use System Console > Environment > SMTP > Test Connection after saving. Values set through "
        "MM_EMAILSETTINGS_* cannot be edited in the System Console.",
    ),
)

APP = App(
    id="mattermost",
    name=NAME,
    where="config.json EmailSettings, or MM_EMAILSETTINGS_* environment",
    blurb="team chat",
    profile=PROFILE,
    formats={"json": ("config.json EmailSettings", config_json), "env": ("MM_EMAILSETTINGS_* environment", env)},
    default_format="json",
    write_into=("json", "env"),
    consequences=CONSEQUENCES,
    # mattermost/docker env.example: only the variables listed in docker-compose.yml reach the container.
    compose="mattermost/docker forwards only the variables its docker-compose.yml lists",
)
