"""Forem: SMTP_* environment defaults (the admin form at /admin/customization/config takes the same values)."""

from __future__ import annotations

from smtpwizard.core.apps.base import App, ClientProfile, Export, Source, header
from smtpwizard.core.consequences import Consequence
from smtpwizard.core.exporters.formats import COMPOSE_AND_RUBY, Scalar, render_dotenv

NAME = "Forem"


def env(source: Source) -> Export:
    smtp, sender = source.smtp, source.config.sender
    if smtp.security == "tls":
        raise source.refuse(
            NAME,
            "it has no implicit-TLS setting (it only upgrades with STARTTLS)",
            "use port 587 or 2525 with security: starttls",
        )
    if not source.uses_auth:
        raise source.refuse(
            NAME,
            "it only enables SMTP when a username and password are set",
            "use a provider or relay that takes a login",
        )
    source.require_verification(NAME)
    # app/models/settings/smtp.rb: each field is ApplicationConfig[...].presence, so a blank one is unset.
    for field, value in (("username", smtp.username or ""), ("password", source.password or "")):
        if not value.strip():
            raise source.refuse(
                NAME, f"a blank {field} counts as unset, and then it falls back to SendGrid", f"set a real {field}"
            )
    # forem/forem app/models/settings/smtp.rb: no CA setting; the Mail gem uses the system store.
    if source.smtp.ca_file:
        raise source.refuse(
            NAME,
            "it has no CA-file setting (it trusts the system store only)",
            "add the CA to the system trust store of the app's container, then remove ca_file from the config",
        )
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
    text = render_dotenv(
        pairs,
        header(NAME, source, "Forem's environment (.env), or the same fields in the admin form"),
        COMPOSE_AND_RUBY,
    )
    return Export(text, tuple(notes), tuple(pairs), () if smtp.helo_domain else ("SMTP_DOMAIN",))


PROFILE = ClientProfile(
    app=NAME,
    library="Ruby mail gem with net-smtp (ActionMailer)",
    # forem/forem app/models/settings/smtp.rb has no TLS keys, so mikel/mail
    # lib/mail/network/delivery_methods/smtp.rb DEFAULTS apply: enable_starttls_auto: true.
    starttls="whenever-offered",
    implicit_tls=False,
    verify_switch=None,  # no openssl_verify_mode in Settings::SMTP: net-smtp verifies (default_ssl_context)
    ca_file_setting=None,
    # forem/forem app/models/settings/smtp.rb: authentication validated as plain, login, cram_md5;
    # ruby/net-smtp SMTP#authenticate sends that one whatever the server offers.
    auth_mechanisms=("PLAIN", "LOGIN", "CRAM-MD5"),
    auth_choice="configured",
    auth_setting="SMTP_AUTHENTICATION",
    charset="utf-8",
    plaintext_login="anywhere",  # ruby/net-smtp sends AUTH over plain text when not upgraded
    timeout_setting=None,
    default_timeout_s=None,
    helo="SMTP_DOMAIN, else localhost.localdomain (mail gem default)",
    helo_setting="SMTP_DOMAIN",
)

CONSEQUENCES = (
    Consequence(
        "forem_logout",
        "danger",
        "every user of the Forem instance, including admins",
        "Forem's admin documentation warns that once SMTP settings are saved, all users are logged out and must "
        "confirm their email address to log in again; only the first user (ID 1) is exempt. Accounts that never "
        "confirmed their email cannot log in until they do.",
        "Make sure the first user's account is a super admin and its mailbox is reachable, and that this live test "
        "delivers a test message, before saving.",
    ),
    Consequence(
        "forem_no_implicit_tls",
        "info",
        "the Forem admin",
        "Forem has no TLS setting: it uses STARTTLS when the server offers it, so implicit TLS (port 465) cannot be used.",
        "Use port 587 or 2525 with STARTTLS.",
    ),
)

APP = App(
    id="forem",
    name=NAME,
    where="Admin > Customization > Config, or SMTP_* environment defaults",
    blurb="community platform (like DEV)",
    profile=PROFILE,
    formats={"env": ("environment variables (.env)", env)},
    default_format="env",
    write_into=("env",),
    consequences=CONSEQUENCES,
)


# --- import: Forem's SMTP_* environment defaults from its .env (smtpwizard doctor) ----------------
# (imported here, at the end, so this block stays apart from the exports above)
from collections.abc import Mapping  # noqa: E402
from pathlib import Path  # noqa: E402

from smtpwizard.core.apps.readers import Imported, build, dotenv_password, env_file  # noqa: E402
from smtpwizard.core.settings import SmtpSettings  # noqa: E402

DEFAULT_PATH = None  # the .env of the Forem checkout (dotenv-rails)
FIELDS = {
    "host": "SMTP_ADDRESS",
    "port": "SMTP_PORT",
    "auth": "SMTP_AUTHENTICATION",
    "username": "SMTP_USER_NAME",
    "password": "SMTP_PASSWORD",
    "helo_domain": "SMTP_DOMAIN",
}
_AUTH = {"plain": "plain", "login": "login", "cram_md5": "cram-md5"}


def read_settings(path: Path, environ: Mapping[str, str]) -> Imported:
    """Forem's SMTP_* defaults (forem/forem app/models/settings/smtp.rb): no TLS keys at all - the
    mail gem upgrades whenever the server offers STARTTLS; read with dotenv-rails (Ruby dotenv 2.x)."""
    found, read = env_file(path, "ruby")
    method = read.choice("SMTP_AUTHENTICATION", "plain", tuple(_AUTH))
    smtp = SmtpSettings(
        host=read.host("SMTP_ADDRESS", "localhost"),
        port=read.integer("SMTP_PORT", 25) or 25,
        security="none",  # upgraded whenever offered: the profile's whenever-offered policy
        auth=_AUTH[method or "plain"],  # type: ignore[arg-type]
        username=read.value("SMTP_USER_NAME") or None,
        helo_domain=read.value("SMTP_DOMAIN") or None,
    )
    sender = read.address("DEFAULT_EMAIL", "noreply@localhost")
    read.raise_if_any()
    return build(
        app="forem", path=path, fmt="env", write_kind="env", found=read.kept("SMTP_PASSWORD"), smtp=smtp, sender=sender,
        fields=FIELDS, credential_key="SMTP_PASSWORD",
        contradictions=dotenv_password(found, "SMTP_PASSWORD", NAME, "ruby"),
        notes=("Values saved in Forem's admin form override these .env defaults.",),
    )  # fmt: skip
