"""SelfMX: SMTP_* environment variables (from an early SelfMX documentation page)."""

from __future__ import annotations

from smtpwizard.core.exporters import Export, Exporter, Source, header
from smtpwizard.core.exporters.formats import Scalar, render_dotenv

APP = "SelfMX"


def env(source: Source) -> Export:
    smtp = source.smtp
    # SelfMX decides implicit TLS by the port: 465 is implicit, others use STARTTLS.
    if smtp.security == "tls" and smtp.port != 465:
        raise source.refuse(
            APP, f"it only uses implicit TLS on port 465, not {smtp.port}", "use port 465 for implicit TLS"
        )
    if smtp.security == "starttls" and smtp.port == 465:
        raise source.refuse(
            APP, "it treats port 465 as implicit TLS", "use security: tls on 465, or port 587 for STARTTLS"
        )
    source.require_automatic_auth(APP)
    pairs: list[tuple[str, Scalar]] = [("SMTP_HOST", smtp.host), ("SMTP_PORT", smtp.port)]
    if source.uses_auth:
        pairs += [("SMTP_USER", smtp.username), ("SMTP_PASS", source.password)]
    pairs += [
        ("SMTP_TLS", smtp.security != "none"),
        ("SMTP_TLS_VERIFY", smtp.verify_certificate),
        ("SMTP_TIMEOUT", int(smtp.timeout_s)),
    ]
    notes = ("These variables come from SelfMX's early documentation; current SelfMX sends through the SES API.",)
    return Export(render_dotenv(pairs, header(APP, source, "SelfMX's environment")), notes, tuple(pairs))


EXPORTER = Exporter("selfmx", APP, {"env": ("environment variables", env)}, "env", write_into=("env",))
