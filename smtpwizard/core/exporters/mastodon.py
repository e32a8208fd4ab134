"""Mastodon: ``.env.production``."""

from __future__ import annotations

from smtpwizard.core.exporters import Export, Exporter, Source, header
from smtpwizard.core.exporters.formats import Scalar, render_dotenv

APP = "Mastodon"


def env(source: Source) -> Export:
    smtp, sender = source.smtp, source.config.sender
    pairs: list[tuple[str, Scalar]] = [("SMTP_SERVER", smtp.host), ("SMTP_PORT", smtp.port)]
    if source.uses_auth:
        mechanism = (source.mechanism or "PLAIN").lower().replace("-", "_")
        pairs += [("SMTP_LOGIN", smtp.username), ("SMTP_PASSWORD", source.password), ("SMTP_AUTH_METHOD", mechanism)]
    else:
        pairs.append(("SMTP_AUTH_METHOD", "none"))  # and SMTP_LOGIN/SMTP_PASSWORD must stay unset
    if smtp.security == "tls":
        pairs.append(("SMTP_TLS", True))
    else:
        pairs.append(("SMTP_ENABLE_STARTTLS", "always" if smtp.security == "starttls" else "never"))
    pairs.append(("SMTP_OPENSSL_VERIFY_MODE", "peer" if smtp.verify_certificate else "none"))
    if smtp.ca_file:
        pairs.append(("SMTP_CA_FILE", smtp.ca_file))
    if smtp.helo_domain:
        pairs.append(("SMTP_DOMAIN", smtp.helo_domain))
    pairs.append(("SMTP_FROM_ADDRESS", sender.formatted()))
    if sender.reply_to:
        pairs.append(("SMTP_REPLY_TO", sender.reply_to))
    notes = ["Restart mastodon-web and mastodon-sidekiq after editing .env.production."]
    if not source.uses_auth:
        notes.append("Remove any SMTP_LOGIN and SMTP_PASSWORD lines: they must be unset for a relay without login.")
    unset = () if source.uses_auth else ("SMTP_LOGIN", "SMTP_PASSWORD")
    return Export(render_dotenv(pairs, header(APP, source, ".env.production")), tuple(notes), tuple(pairs), unset)


EXPORTER = Exporter("mastodon", APP, {"env": (".env.production", env)}, "env", write_into=("env",))
