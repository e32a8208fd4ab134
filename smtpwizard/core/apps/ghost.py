"""Ghost: the ``mail`` section of config.production.json (nodemailer's SMTP options)."""

from __future__ import annotations

from typing import Any

from smtpwizard.core.apps.base import App, ClientProfile, Export, Source
from smtpwizard.core.consequences import Consequence
from smtpwizard.core.exporters.formats import display_address, render_json

NAME = "Ghost"


def _flat(prefix: str, data: dict[str, Any]) -> list[tuple[str, object]]:
    """Nested keys as dotted paths (mail.options.auth.pass), for write-into and tests."""
    out: list[tuple[str, object]] = []
    for key, value in data.items():
        path = f"{prefix}.{key}"
        out += _flat(path, value) if isinstance(value, dict) else [(path, value)]
    return out


def config_json(source: Source) -> Export:
    smtp, sender = source.smtp, source.config.sender
    # TryGhost/Ghost ghost/core/core/server/services/mail/GhostMailer.js hands mail.options to
    # nodemailer unchanged; nodemailer lib/smtp-connection/index.js: secure -> implicit TLS,
    # requireTLS -> STARTTLS or fail, ignoreTLS -> never STARTTLS (else whenever offered).
    options: dict[str, Any] = {"host": smtp.host, "port": smtp.port, "secure": smtp.security == "tls"}
    if smtp.security == "starttls":
        options["requireTLS"] = True
    elif smtp.security == "none":
        options["ignoreTLS"] = True
    if source.uses_auth:
        # smtp-connection login(): auth.method, else the first of PLAIN, LOGIN, CRAM-MD5 offered.
        options["auth"] = {"user": smtp.username, "pass": source.password, "method": source.mechanism or "PLAIN"}
    if not smtp.verify_certificate:
        options["tls"] = {"rejectUnauthorized": False}
    if smtp.helo_domain:
        options["name"] = smtp.helo_domain
    options["connectionTimeout"] = int(smtp.timeout_s * 1000)  # milliseconds
    # nodemailer parses "from" itself and encodes a non-ASCII name: a quoted name, not RFC 2047 words.
    mail = {"transport": "SMTP", "from": display_address(sender.name, sender.address), "options": options}
    notes = ["Merge this into config.production.json, then run 'ghost restart'."]
    if source.password is not None and not source.revealed:
        notes.append("The password is a placeholder; add --reveal-secret to fill it in.")
    if smtp.ca_file:
        notes.append(f"Ghost has no CA-file setting: start it with NODE_EXTRA_CA_CERTS={smtp.ca_file}.")
    return Export(render_json({"mail": mail}), tuple(notes), tuple(_flat("mail", mail)))


PROFILE = ClientProfile(
    app=NAME,
    library="nodemailer",
    # nodemailer lib/smtp-connection/index.js: requireTLS fails without STARTTLS (the export writes it
    # for starttls), ignoreTLS never upgrades (written for none).
    starttls="required",
    implicit_tls=True,
    verify_switch="mail.options.tls.rejectUnauthorized",  # Node's tls option, passed through
    ca_file_setting=None,  # tls.ca takes certificate text, not a path: NODE_EXTRA_CA_CERTS instead
    auth_mechanisms=("PLAIN", "LOGIN", "CRAM-MD5"),
    auth_choice="configured",  # the export always names auth.method
    auth_setting="mail.options.auth.method",
    charset="utf-8",
    plaintext_login="anywhere",
    # smtp-connection/index.js: connectionTimeout (ms) default 2 minutes, greetingTimeout 30 s.
    timeout_setting="mail.options.connectionTimeout",
    default_timeout_s=120.0,
    helo="mail.options.name, else the machine's host name (smtp-connection _getHostname)",
    helo_setting="mail.options.name",
)

CONSEQUENCES = (
    Consequence(
        "ghost_restart",
        "warning",
        "members and staff signing in",
        "Ghost reads config.production.json only at start; member sign-in links and staff sign-in verification "
        "codes are sent with these settings.",
        "Run 'ghost restart', then send a test from Settings > Labs or sign in as a member.",
    ),
)

APP = App(
    id="ghost",
    name=NAME,
    where="config.production.json (mail section)",
    blurb="publishing and newsletters",
    profile=PROFILE,
    formats={"json": ("config.production.json mail section", config_json)},
    default_format="json",
    consequences=CONSEQUENCES,
)


# --- import: mail of config.production.json (smtpwizard doctor) -----------------------------------
# (imported here, at the end, so this block stays apart from the exports above)
from collections.abc import Mapping  # noqa: E402
from pathlib import Path  # noqa: E402

from smtpwizard.core.apps.readers import Collector, Imported, Unreadable, build, json_found, load_json, read_text  # noqa: E402
from smtpwizard.core.settings import SmtpSettings  # noqa: E402

DEFAULT_PATH = "/var/www/ghost/config.production.json"  # TryGhost/docs install: Ghost-CLI's default folder
FIELDS = {
    "host": "mail.options.host",
    "port": "mail.options.port",
    "security": "mail.options.secure / requireTLS / ignoreTLS",
    "verify_certificate": "mail.options.tls.rejectUnauthorized",
    "auth": "mail.options.auth.method",
    "username": "mail.options.auth.user",
    "password": "mail.options.auth.pass",
    "helo_domain": "mail.options.name",
}
_PATHS = {
    "mail/from": "mail.from",
    **{
        f"mail/options/{k}": f"mail.options.{k}"
        for k in ("host", "port", "secure", "requireTLS", "ignoreTLS", "name", "service")
    },
    **{f"mail/options/auth/{k}": f"mail.options.auth.{k}" for k in ("user", "pass", "method")},
    "mail/options/tls/rejectUnauthorized": "mail.options.tls.rejectUnauthorized",
}
_AUTH = {"PLAIN": "plain", "LOGIN": "login", "CRAM-MD5": "cram-md5"}


def read_settings(path: Path, environ: Mapping[str, str]) -> Imported:
    """Ghost's mail section as nodemailer gets it (nodemailer lib/smtp-connection: secure is implicit
    TLS; otherwise STARTTLS when offered, required by requireTLS, never with ignoreTLS)."""
    text = read_text(path)
    data = load_json(text, path)
    mail = data.get("mail") if isinstance(data, dict) else None
    if not isinstance(mail, dict) or not isinstance(mail.get("options"), dict):
        raise Unreadable([f"{path}: has no mail.options section; is this Ghost's config.production.json?"])
    if str(mail.get("transport", "")).upper() != "SMTP":
        raise Unreadable([f"{path}: mail.transport is not SMTP; nothing for smtpwizard to test"])
    found = json_found(text, data, _PATHS)
    read = Collector(path, found)
    yes, no = ("true",), ("false",)
    if read.value("mail.options.service") and not read.value("mail.options.host"):
        # nodemailer lib/well-known/services.json: the service name stands for a host and port
        read.add(
            "mail.options.service",
            "names one of nodemailer's well-known services instead of a host",
            "write its host and port in mail.options.host and mail.options.port to check them",
        )
    secure = read.boolean("mail.options.secure", False, yes, no)
    ignore = read.boolean("mail.options.ignoreTLS", False, yes, no)
    read.boolean("mail.options.requireTLS", False, yes, no)  # STARTTLS either way; only checked to be read
    method = read.choice("mail.options.auth.method", "PLAIN", tuple(_AUTH))
    smtp = SmtpSettings(
        host=read.host("mail.options.host", "localhost"),
        port=read.integer("mail.options.port", 465 if secure else 587) or 587,
        security="tls" if secure else ("none" if ignore else "starttls"),
        verify_certificate=read.boolean("mail.options.tls.rejectUnauthorized", True, yes, no),
        auth=_AUTH[method or "PLAIN"],  # type: ignore[arg-type]
        username=read.value("mail.options.auth.user") or None,
        helo_domain=read.value("mail.options.name") or None,
    )
    sender = read.address("mail.from", "noreply@localhost")
    read.raise_if_any()
    return build(
        app="ghost", path=path, fmt="json", write_kind="json_paths", found=read.kept("mail.options.auth.pass"), smtp=smtp, sender=sender,
        fields=FIELDS, credential_key="mail.options.auth.pass",
    )  # fmt: skip
