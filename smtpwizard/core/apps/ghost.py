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
