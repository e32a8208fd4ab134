"""Discourse (discourse_docker): the ``env:`` section of ``containers/app.yml``."""

from __future__ import annotations

from typing import Any

from smtpwizard.core.exporters import Export, Exporter, Source, header
from smtpwizard.core.exporters.formats import render_yaml

APP = "Discourse"


def app_yml(source: Source) -> Export:
    smtp, sender = source.smtp, source.config.sender
    env: dict[str, Any] = {"DISCOURSE_SMTP_ADDRESS": smtp.host, "DISCOURSE_SMTP_PORT": smtp.port}
    if source.uses_auth:
        env["DISCOURSE_SMTP_USER_NAME"] = smtp.username
        env["DISCOURSE_SMTP_PASSWORD"] = source.password
        env["DISCOURSE_SMTP_AUTHENTICATION"] = (source.mechanism or "PLAIN").lower().replace("-", "_")
    env["DISCOURSE_SMTP_ENABLE_START_TLS"] = smtp.security == "starttls"
    if smtp.security == "tls":
        env["DISCOURSE_SMTP_FORCE_TLS"] = True
    env["DISCOURSE_SMTP_OPENSSL_VERIFY_MODE"] = "peer" if smtp.verify_certificate else "none"
    if smtp.helo_domain:
        env["DISCOURSE_SMTP_DOMAIN"] = smtp.helo_domain
    env["DISCOURSE_NOTIFICATION_EMAIL"] = sender.address
    notes = ["Apply with './launcher rebuild app' (the forum is offline for a few minutes)."]
    if smtp.security == "starttls":
        notes.append("Discourse uses STARTTLS when offered but cannot require it.")
    if smtp.ca_file:
        notes.append("Discourse has no CA-file setting: add the CA to the container's system store.")
    text = render_yaml({"env": env}, header(APP, source, "the env: section of containers/app.yml"))
    return Export(text, tuple(notes), tuple(env.items()))


EXPORTER = Exporter("discourse", APP, {"yaml": ("app.yml env: section", app_yml)}, "yaml")
