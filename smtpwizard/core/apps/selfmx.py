"""SelfMX: SMTP_* environment variables (from an early SelfMX documentation page)."""

from __future__ import annotations

from smtpwizard.core.apps.base import App, ClientProfile, Export, Source, header
from smtpwizard.core.consequences import Consequence
from smtpwizard.core.exporters.formats import Scalar, render_dotenv

NAME = "SelfMX"


def env(source: Source) -> Export:
    smtp = source.smtp
    # SelfMX decides implicit TLS by the port: 465 is implicit, others use STARTTLS.
    if smtp.security == "tls" and smtp.port != 465:
        raise source.refuse(
            NAME, f"it only uses implicit TLS on port 465, not {smtp.port}", "use port 465 for implicit TLS"
        )
    if smtp.security == "starttls" and smtp.port == 465:
        raise source.refuse(
            NAME, "it treats port 465 as implicit TLS", "use security: tls on 465, or port 587 for STARTTLS"
        )
    source.require_automatic_auth(NAME)
    # aduggleby/selfmx website/src/pages/configuration/smtp.md (its former docs) names no CA variable.
    if source.smtp.ca_file:
        raise source.refuse(
            NAME,
            "it has no CA-file setting (it trusts the system store only)",
            "add the CA to the system trust store of the app's container, then remove ca_file from the config",
        )
    pairs: list[tuple[str, Scalar]] = [("SMTP_HOST", smtp.host), ("SMTP_PORT", smtp.port)]
    if source.uses_auth:
        pairs += [("SMTP_USER", smtp.username), ("SMTP_PASS", source.password)]
    pairs += [
        ("SMTP_TLS", smtp.security != "none"),
        ("SMTP_TLS_VERIFY", smtp.verify_certificate),
        ("SMTP_TIMEOUT", int(smtp.timeout_s)),
    ]
    notes = ("These variables come from SelfMX's early documentation; current SelfMX sends through the SES API.",)
    unset = () if source.uses_auth else ("SMTP_USER", "SMTP_PASS")
    text = render_dotenv(pairs, header(NAME, source, "SelfMX's environment"), ("compose",))
    return Export(text, notes, tuple(pairs), unset)


PROFILE = ClientProfile(
    library="none: SelfMX sends through the Amazon SES API",
    # aduggleby/selfmx src/SelfMX.Api/Settings/AppSettings.cs: no SMTP settings at all; the
    # SMTP_* names below come from its deleted docs page website/src/pages/configuration/smtp.md.
    starttls="required",
    implicit_tls=True,  # former docs: "For port 465, the connection uses implicit TLS"
    verify_switch="SMTP_TLS_VERIFY",
    ca_file_setting=None,
    auth_mechanisms=("PLAIN", "LOGIN"),
    auth_choice="preference",
    auth_setting=None,
    charset="utf-8",
    plaintext_login="anywhere",
    timeout_setting="SMTP_TIMEOUT",
    default_timeout_s=30.0,
    helo="unknown (its former docs do not say)",
)

CONSEQUENCES = (
    Consequence(
        "selfmx_unverified",
        "warning",
        "the SelfMX admin",
        "The SMTP_* variables come from an early SelfMX documentation page; current SelfMX sends through the SES API.",
        "Check your SelfMX version's documentation before relying on these variables.",
    ),
)

APP = App(
    id="selfmx",
    name=NAME,
    where="SMTP_* environment variables",
    blurb="self-hosted email API",
    profile=PROFILE,
    formats={"env": ("environment variables", env)},
    default_format="env",
    write_into=("env",),
    consequences=CONSEQUENCES,
)
