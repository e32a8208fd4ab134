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
