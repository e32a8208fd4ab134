"""SelfMX: what it really reads (the Amazon SES API settings), and the SMTP_* variables of its former docs."""

from __future__ import annotations

import re

from smtpwizard.core.apps.base import App, ClientProfile, Export, Source, header
from smtpwizard.core.consequences import Consequence
from smtpwizard.core.exporters.formats import Scalar, render_dotenv

NAME = "SelfMX"


# aduggleby/selfmx @1ec2ab3: nothing under src/ reads SMTP settings. src/SelfMX.Api/Program.cs
# builds an AmazonSimpleEmailServiceV2Client from AwsSettings (Settings/AppSettings.cs: Region,
# AccessKeyId, SecretAccessKey; without a key, the default AWS credentials such as an IAM role),
# and deploy/docker-compose.yml fills them from AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY.
# The SMTP_* names come only from website/src/pages/configuration/smtp.md, deleted in 1562d88.
TRUTH = (
    "SelfMX does not read SMTP settings: its code (aduggleby/selfmx src/SelfMX.Api/Program.cs) sends every "
    "message through the Amazon SES API with an AWS access key"
)
_SES_HOST = re.compile(r"^email-smtp\.([a-z0-9-]+)\.amazonaws\.com\Z")  # \Z: `$` passes a trailing newline


def needs(source: Source) -> list[str]:
    """What SelfMX needs instead of SMTP settings, for the provider of this config."""
    region = _SES_HOST.match(source.smtp.host.lower())
    if region is None:
        return [
            f"SelfMX cannot send through {source.smtp.host}: it only sends through Amazon SES.",
            "What it needs (deploy/docker-compose.yml): AWS_REGION (Aws__Region), AWS_ACCESS_KEY_ID "
            "(Aws__AccessKeyId) and AWS_SECRET_ACCESS_KEY (Aws__SecretAccessKey) of an IAM key allowed ses:SendEmail.",
        ]
    username = source.smtp.username or "the IAM user's access key ID"
    return [
        "What SelfMX needs for Amazon SES (deploy/docker-compose.yml):",
        f"  AWS_REGION={region.group(1)}  (Aws__Region, the region of this SES endpoint)",
        f"  AWS_ACCESS_KEY_ID={username}  (Aws__AccessKeyId: the access key of the IAM user behind these SMTP "
        "credentials; it must be allowed ses:SendEmail)",
        "  AWS_SECRET_ACCESS_KEY=...  (Aws__SecretAccessKey: that key's secret access key; the SES SMTP password "
        "is derived from it and cannot be turned back into it)",
    ]


def env(source: Source) -> Export:
    smtp = source.smtp
    # SelfMX's former docs decide implicit TLS by the port: 465 is implicit, others use STARTTLS.
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
    lines = [
        header(NAME, source, "SelfMX's environment, only the AWS_* settings named below (it ignores SMTP_*)"),
        f"{TRUTH}.",
        *needs(source),
        "The SMTP_* lines below are from its former docs (website/src/pages/configuration/smtp.md, deleted); "
        "current SelfMX ignores them.",
    ]
    notes = (f"{TRUTH}; the SMTP_* variables are from its former docs and are ignored.", *needs(source))
    unset = () if source.uses_auth else ("SMTP_USER", "SMTP_PASS")
    return Export(render_dotenv(pairs, "\n".join(lines), ("compose",)), notes, tuple(pairs), unset)


PROFILE = ClientProfile(
    app=NAME,
    library="none (Amazon SES API); the rest is from its former docs",
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
        f"{TRUTH}; the SMTP_* variables come only from its former docs and current SelfMX ignores them.",
        "Give SelfMX an Amazon SES region and an IAM access key (AWS_REGION, AWS_ACCESS_KEY_ID, "
        "AWS_SECRET_ACCESS_KEY) instead; the export shows which.",
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
    caveat=TRUTH + "; its env export shows what it needs instead (Amazon SES)",
)


# --- import (smtpwizard doctor): SelfMX reads no SMTP settings, so there is nothing to test ---------
# (imported here, at the end, so this block stays apart from the exports above)
from collections.abc import Mapping  # noqa: E402
from pathlib import Path  # noqa: E402

from smtpwizard.core.apps.readers import Imported, Unreadable  # noqa: E402

DEFAULT_PATH = None
FIELDS: dict[str, str] = {}


def read_settings(path: Path, environ: Mapping[str, str]) -> Imported:
    """Always refuses: aduggleby/selfmx src/SelfMX.Api/Settings/AppSettings.cs has no SMTP settings."""
    raise Unreadable(
        [f"{path}: SelfMX reads no SMTP settings ({TRUTH}); check its Aws__* settings in the AWS console instead"]
    )
