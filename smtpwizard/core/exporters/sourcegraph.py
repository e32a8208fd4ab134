"""Sourcegraph: site configuration keys ``email.address``, ``email.senderName`` and ``email.smtp``."""

from __future__ import annotations

from typing import Any

from smtpwizard.core.exporters import Export, Exporter, Source
from smtpwizard.core.exporters.formats import render_json

APP = "Sourcegraph"


def site_config(source: Source) -> Export:
    smtp, sender = source.smtp, source.config.sender
    if smtp.security == "tls":
        raise source.refuse(
            APP,
            "it has no implicit TLS (it connects in plain text and upgrades with STARTTLS)",
            "use port 587 or 2525 with security: starttls",
        )
    mechanism = source.mechanism
    if smtp.auth == "login" or (smtp.auth == "auto" and mechanism == "LOGIN"):
        if smtp.auth == "login":
            raise source.refuse(APP, "it does not support AUTH LOGIN", "use auth: auto, plain or cram-md5")
        mechanism = "PLAIN"
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


EXPORTER = Exporter("sourcegraph", APP, {"json": ("site configuration JSON", site_config)}, "json")
