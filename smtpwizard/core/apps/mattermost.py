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


# --- import: config.json EmailSettings and MM_EMAILSETTINGS_* overrides (smtpwizard doctor) ------
# (imported here, at the end, so this block stays apart from the exports above)
from collections.abc import Mapping  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

from smtpwizard.core.apps.readers import (  # noqa: E402
    GO_NOT_TLS,
    Collector,
    Contradiction,
    EnvironmentFile,
    Found,
    Imported,
    Unreadable,
    build,
    json_found,
    load_json,
    read_text,
)
from smtpwizard.core.settings import Sender, SmtpSettings  # noqa: E402

DEFAULT_PATH = "/opt/mattermost/config/config.json"  # docs.mattermost.com install guides (tarball)
FIELDS = {
    "host": "SMTPServer",
    "port": "SMTPPort",
    "security": "ConnectionSecurity",
    "verify_certificate": "SkipServerCertificateVerification",
    "auth": "EnableSMTPAuth",
    "username": "SMTPUsername",
    "password": "SMTPPassword",
    "timeout_s": "SMTPServerTimeout",
}
_KEYS = (*FIELDS.values(), "FeedbackEmail", "FeedbackName", "ReplyToAddress", "SendEmailNotifications")
_SECURITY = {"": "none", "PLAIN": "none", "TLS": "tls", "STARTTLS": "starttls"}


def read_settings(path: Path, environ: Mapping[str, str]) -> Imported:
    """Mattermost's EmailSettings as the server reads them: config.json, then MM_EMAILSETTINGS_<KEY>
    from the environment overriding it (mattermost/mattermost server/public/model/config.go
    SetDefaults: SMTPServer "localhost", SMTPPort "10025", timeout 10 s; ConnectionSecurity "",
    "PLAIN" (= ""), "TLS" or "STARTTLS")."""
    text = read_text(path)
    data = load_json(text, path)
    if not isinstance(data, dict) or not isinstance(data.get("EmailSettings"), dict):
        raise Unreadable([f"{path}: has no EmailSettings section; is this Mattermost's config.json?"])
    found = json_found(text, data, {f"EmailSettings/{key}": key for key in _KEYS})
    for key in _KEYS:  # the environment wins over config.json (model/config.go, config/environment.go)
        name = f"MM_EMAILSETTINGS_{key.upper()}"
        if isinstance(environ, EnvironmentFile) and name in environ.found:
            found[key] = replace(environ.found[name], key=key)
        elif name in environ:
            found[key] = Found(key, environ[name], 0, origin=f"environment variable {name}")
    read = Collector(path, found)
    yes, no = ("true",), ("false",)
    security = read.choice("ConnectionSecurity", "", tuple(_SECURITY))
    timeout = read.integer("SMTPServerTimeout", 10, 0, 3600) or 10
    smtp = SmtpSettings(
        host=read.host("SMTPServer", "localhost"),
        port=read.integer("SMTPPort", 10025) or 10025,
        security=_SECURITY[security or ""],  # type: ignore[arg-type]
        verify_certificate=not read.boolean("SkipServerCertificateVerification", False, yes, no),
        auth="auto" if read.boolean("EnableSMTPAuth", security not in ("", None), yes, no) else "none",
        username=read.value("SMTPUsername") or None,
        timeout_s=float(min(max(timeout, 1), 300)),
    )
    sender = read.address("FeedbackEmail", "test@example.com")
    if read.value("FeedbackName"):
        sender = Sender(sender.address, read.value("FeedbackName"), sender.reply_to)
    read.raise_if_any()
    contradictions: list[Contradiction] = []
    overridden = sorted(f.origin for f in found.values() if f.origin)
    notes = (f"Overridden by the environment: {', '.join(overridden)}.",) if overridden else ()
    return build(
        app="mattermost", path=path, fmt="json", write_kind="json", found=read.kept("SMTPPassword"), smtp=smtp, sender=sender,
        fields=FIELDS, credential_key="SMTPPassword", contradictions=contradictions, notes=notes,
        symptoms={"tls_wrong_version": f"This is what Mattermost's Test Connection shows as '{GO_NOT_TLS}'."},
    )  # fmt: skip
