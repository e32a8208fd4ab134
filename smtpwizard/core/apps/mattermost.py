"""Mattermost: ``config.json`` ``EmailSettings`` or the ``MM_EMAILSETTINGS_*`` environment."""

from __future__ import annotations

from typing import Any

from smtpwizard.core.apps.base import App, ClientProfile, Export, Source, header
from smtpwizard.core.consequences import Consequence
from smtpwizard.core.exporters.formats import Scalar, render_compose_override, render_dotenv, render_json

NAME = "Mattermost"
SECURITY = {"starttls": "STARTTLS", "tls": "TLS", "none": ""}


def email_settings(source: Source) -> dict[str, Any]:
    smtp, sender = source.smtp, source.config.sender
    if smtp.security == "none" and source.uses_auth:
        raise source.refuse(
            NAME,
            "it never sends a password without TLS (it names the server host:port, which Go's net/smtp "
            "never treats as localhost, and its LOGIN refuses plain text)",
            "use security: starttls or tls, or a relay that needs no login (auth: none)",
        )
    if smtp.auth in ("cram-md5", "login"):
        # Mattermost picks PLAIN when offered, else LOGIN; it cannot be told which.
        source.require_automatic_auth(NAME, supported=("PLAIN",))
    return {
        "SendEmailNotifications": True,
        **({"FeedbackName": sender.name} if sender.name else {}),  # no name: keep the app's own
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
    if source.smtp.ca_file:
        notes.append("Mattermost has no CA-file setting: install the CA in the system store.")
    return tuple(notes)


def _fill_only(source: Source, prefix: str = "") -> tuple[str, ...]:
    """Without a reply-to in the config, the sender address is only a default for a new file."""
    if source.config.sender.reply_to:
        return ()
    return (f"{prefix}REPLYTOADDRESS",) if prefix else ("ReplyToAddress",)


def config_json(source: Source) -> Export:
    settings = email_settings(source)
    text = render_json({"EmailSettings": settings})
    return Export(text, _notes(source), tuple(settings.items()), fill_only=_fill_only(source))


# mattermost/docker docker-compose.yml: the mattermost service's environment: lists the variables it
# forwards, and no MM_EMAILSETTINGS_* is among them (its env.example says only listed ones pass).
COMPOSE_SERVICES = ("mattermost",)
ENV_NOT_READ = (
    "mattermost/docker forwards only the variables its docker-compose.yml lists, so .env alone is not read: "
    "use --format compose (a docker-compose.override.yml) for that setup"
)


def _env_pairs(source: Source) -> list[tuple[str, Scalar]]:
    return [(f"MM_EMAILSETTINGS_{key.upper()}", value) for key, value in email_settings(source).items()]


def env(source: Source) -> Export:
    pairs = _env_pairs(source)
    where = f"Mattermost's environment (values set here cannot be edited in the System Console). {ENV_NOT_READ}"
    text = render_dotenv(pairs, header(NAME, source, where), ("compose",))
    return Export(text, _notes(source), tuple(pairs), fill_only=_fill_only(source, "MM_EMAILSETTINGS_"))


def compose(source: Source) -> Export:
    pairs = _env_pairs(source)
    where = "docker-compose.override.yml beside mattermost/docker's docker-compose.yml"
    text = render_compose_override(COMPOSE_SERVICES, pairs, header(NAME, source, where))
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
    formats={
        "json": ("config.json EmailSettings", config_json),
        "env": ("MM_EMAILSETTINGS_* environment", env),
        "compose": ("docker-compose.override.yml environment: for mattermost/docker", compose),
    },
    default_format="json",
    write_into=("json", "env"),
    consequences=CONSEQUENCES,
    # mattermost/docker env.example: only the variables listed in docker-compose.yml reach the container.
    compose="mattermost/docker forwards only the variables its docker-compose.yml lists",
)
