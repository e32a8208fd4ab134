"""Forem: SMTP_* environment defaults (the admin form at /admin/customization/config takes the same values)."""

from __future__ import annotations

from smtpwizard.core.exporters import Export, Exporter, Source, header
from smtpwizard.core.exporters.formats import Scalar, render_dotenv

APP = "Forem"


def env(source: Source) -> Export:
    smtp, sender = source.smtp, source.config.sender
    if smtp.security == "tls":
        raise source.refuse(
            APP,
            "it has no implicit-TLS setting (it only upgrades with STARTTLS)",
            "use port 587 or 2525 with security: starttls",
        )
    if not source.uses_auth:
        raise source.refuse(
            APP,
            "it only enables SMTP when a username and password are set",
            "use a provider or relay that takes a login",
        )
    source.require_verification(APP)
    mechanism = (source.mechanism or "PLAIN").lower().replace("-", "_")
    pairs: list[tuple[str, Scalar]] = [
        ("SMTP_ADDRESS", smtp.host),
        ("SMTP_PORT", smtp.port),
        ("SMTP_AUTHENTICATION", mechanism),
        ("SMTP_USER_NAME", smtp.username),
        ("SMTP_PASSWORD", source.password),
    ]
    if smtp.helo_domain:
        pairs.append(("SMTP_DOMAIN", smtp.helo_domain))
    pairs.append(("DEFAULT_EMAIL", sender.address))
    notes = [
        "Values saved in the admin form (Admin > Customization > Config) override these environment defaults.",
        "Saving SMTP settings logs users out until they confirm their email: see the consequences shown.",
    ]
    if smtp.security == "none":
        notes.append("Forem uses STARTTLS whenever the server offers it; it cannot be switched off.")
    else:
        notes.append("Forem uses STARTTLS when the server offers it but cannot require it.")
    text = render_dotenv(pairs, header(APP, source, "Forem's environment (.env), or the same fields in the admin form"))
    return Export(text, tuple(notes), tuple(pairs))


EXPORTER = Exporter("forem", APP, {"env": ("environment variables (.env)", env)}, "env", write_into=("env",))
