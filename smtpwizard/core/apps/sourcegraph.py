"""Sourcegraph: site configuration keys ``email.address``, ``email.senderName`` and ``email.smtp``."""

from __future__ import annotations

from typing import Any

from smtpwizard.core.apps.base import App, ClientProfile, Export, Source
from smtpwizard.core.consequences import Consequence
from smtpwizard.core.exporters.formats import render_json

NAME = "Sourcegraph"


def site_config(source: Source) -> Export:
    smtp, sender = source.smtp, source.config.sender
    if smtp.security == "tls":
        raise source.refuse(
            NAME,
            "it has no implicit TLS (it connects in plain text and upgrades with STARTTLS)",
            "use port 587 or 2525 with security: starttls",
        )
    mechanism = source.mechanism
    if smtp.auth == "login":
        raise source.refuse(NAME, "it does not support AUTH LOGIN", "use auth: auto, plain or cram-md5")
    if source.uses_auth and mechanism == "LOGIN":
        # internal/txemail/txemail.go sends PLAIN or CRAM-MD5 only: a server that took LOGIN in the
        # live test may offer nothing else, and then answers Sourcegraph's PLAIN with 504.
        raise source.refuse(
            NAME,
            "the live test logged in with AUTH LOGIN, which it cannot send (only PLAIN or CRAM-MD5)",
            "run 'smtpwizard test' again with target: sourcegraph, or use a server that offers AUTH PLAIN",
        )
    authentication = "none" if not source.uses_auth else ("CRAM-MD5" if mechanism == "CRAM-MD5" else "PLAIN")
    block: dict[str, Any] = {"host": smtp.host, "port": smtp.port, "authentication": authentication}
    if source.uses_auth:
        block["username"] = smtp.username
        block["password"] = source.password
    if smtp.helo_domain:
        block["domain"] = smtp.helo_domain
    if not smtp.verify_certificate:
        block["noVerifyTLS"] = True
    data: dict[str, Any] = {"email.address": sender.address}
    if sender.name:
        data["email.senderName"] = sender.name
    data["email.smtp"] = block
    notes = [
        "Merge these keys into Site admin > Configuration. Sourcegraph uses STARTTLS when offered but cannot require it.",
        "Test with the GraphQL mutation sendTestEmail after saving.",
    ]
    if smtp.ca_file:
        notes.append("Sourcegraph has no CA-file setting: install the CA in the container's system store.")
    return Export(render_json(data), tuple(notes), tuple(data.items()))


PROFILE = ClientProfile(
    app=NAME,
    library="Go net/smtp (through jordan-wright/email)",
    # sourcegraph/sourcegraph-public-snapshot internal/txemail/txemail.go: m.Send / m.SendWithStartTLS
    # -> Go net/smtp SendMail: plain dial, then STARTTLS whenever the server offers it, certificate
    # checked unless noVerifyTLS. No implicit TLS.
    starttls="whenever-offered",
    implicit_tls=False,
    verify_switch="noVerifyTLS",  # txemail.go: tls.Config{InsecureSkipVerify: true}
    ca_file_setting=None,
    # txemail.go: switch conf.EmailSmtp.Authentication { "none", "PLAIN", "CRAM-MD5" }: no LOGIN,
    # and the configured one is sent whatever the server offers (a LOGIN-only server answers 504).
    auth_mechanisms=("PLAIN", "CRAM-MD5"),
    auth_choice="configured",
    auth_setting="authentication",
    charset="utf-8",
    # txemail.go: smtp.PlainAuth("", user, pass, conf.EmailSmtp.Host); Go net/smtp auth.go
    # plainAuth.Start: no TLS and a name other than localhost/127.0.0.1/::1 -> "unencrypted connection".
    plaintext_login="localhost-names",
    timeout_setting=None,
    default_timeout_s=None,
    helo="localhost (Go net/smtp's default)",
)

CONSEQUENCES = (
    Consequence(
        "sourcegraph_verification",
        "warning",
        "users signing up with builtin authentication",
        "With email configured, new email addresses must be verified, and password resets depend on mail arriving.",
        "Send a test email from Sourcegraph after saving (GraphQL sendTestEmail) to confirm delivery.",
    ),
)

APP = App(
    id="sourcegraph",
    name=NAME,
    where="site configuration (email.address, email.smtp)",
    blurb="code search",
    profile=PROFILE,
    formats={"json": ("site configuration JSON", site_config)},
    default_format="json",
    consequences=CONSEQUENCES,
)


# --- import: email.* of the site configuration, JSON with comments (smtpwizard doctor) -------------
# (imported here, at the end, so this block stays apart from the exports above)
from collections.abc import Mapping  # noqa: E402
from pathlib import Path  # noqa: E402

from smtpwizard.core.apps.readers import (  # noqa: E402
    Collector,
    Imported,
    Unreadable,
    build,
    json_found,
    load_json,
    read_text,
)
from smtpwizard.core.settings import Sender, SmtpSettings  # noqa: E402

DEFAULT_PATH = None  # the file SITE_CONFIG_FILE names, or a copy of Site admin > Configuration
FIELDS = {
    "host": "email.smtp host",
    "port": "email.smtp port",
    "verify_certificate": "email.smtp noVerifyTLS",
    "auth": "email.smtp authentication",
    "username": "email.smtp username",
    "password": "email.smtp password",
    "helo_domain": "email.smtp domain",
}
_PATHS = {
    "email.address": "email.address",
    "email.senderName": "email.senderName",
    **{f"email.smtp/{key}": f"email.smtp {key}" for key in
       ("host", "port", "authentication", "username", "password", "domain", "noVerifyTLS")},
}  # fmt: skip
_AUTH = {"none": "none", "PLAIN": "plain", "CRAM-MD5": "cram-md5"}


def read_settings(path: Path, environ: Mapping[str, str]) -> Imported:
    """Sourcegraph's email settings from its site configuration (schema/site.schema.json: comments
    and trailing commas allowed; authentication "none", "PLAIN" or "CRAM-MD5"; no TLS keys - it
    upgrades whenever the server offers STARTTLS, internal/txemail/txemail.go)."""
    text = read_text(path)
    data = load_json(text, path, comments=True)
    if not isinstance(data, dict) or not isinstance(data.get("email.smtp"), dict):
        raise Unreadable([f'{path}: has no "email.smtp" object; is this Sourcegraph\'s site configuration?'])
    found = json_found(text, data, _PATHS)
    read = Collector(path, found)
    port = data["email.smtp"].get("port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int)):
        read.add("email.smtp port", "is not a JSON number (the schema wants an integer)", "write it without quotes")
    method = read.choice("email.smtp authentication", None, tuple(_AUTH))
    if method is None and "email.smtp authentication" not in found:
        read.add("email.smtp authentication", "is missing (the schema requires it)", 'add "authentication": "PLAIN"')
    smtp = SmtpSettings(
        host=read.host("email.smtp host", "localhost"),
        port=read.integer("email.smtp port", 25) or 25,
        security="none",  # upgraded whenever offered: the profile's whenever-offered policy
        verify_certificate=not read.boolean("email.smtp noVerifyTLS", False, ("true",), ("false",)),
        auth=_AUTH[method or "none"],  # type: ignore[arg-type]
        username=read.value("email.smtp username") or None,
        helo_domain=read.value("email.smtp domain") or None,
    )
    sender = read.address("email.address", "noreply@localhost")
    sender = Sender(sender.address, read.value("email.senderName") or "Sourcegraph")  # schema default
    read.raise_if_any()
    return build(
        app="sourcegraph", path=path, fmt="json", write_kind="jsonc", found=read.kept("email.smtp password"), smtp=smtp, sender=sender,
        fields=FIELDS, credential_key="email.smtp password",
        notes=("A site configuration edited in Site admin > Configuration lives in the database: paste the change there.",),
    )  # fmt: skip
