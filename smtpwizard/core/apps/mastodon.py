"""Mastodon: ``.env.production``."""

from __future__ import annotations

from smtpwizard.core.apps.base import App, ClientProfile, Export, Source, header
from smtpwizard.core.consequences import Consequence
from smtpwizard.core.exporters.formats import Scalar, display_address, render_dotenv, yaml_unquoted_safe

NAME = "Mastodon"


# mastodon/mastodon config/email.yml pastes each SMTP_* value unquoted into YAML (ERB, then
# config_for): a value YAML would read differently is written as a quoted YAML scalar.
_THROUGH_YAML = {
    "SMTP_SERVER",
    "SMTP_LOGIN",
    "SMTP_PASSWORD",
    "SMTP_DOMAIN",
    "SMTP_CA_FILE",
    "SMTP_FROM_ADDRESS",
    "SMTP_REPLY_TO",
}
# Keys of the other security mode, or optional keys this config does not set: write-into removes them.
_MODE_AND_OPTIONAL_KEYS = (
    "SMTP_TLS", "SMTP_SSL", "SMTP_ENABLE_STARTTLS", "SMTP_ENABLE_STARTTLS_AUTO", "SMTP_CA_FILE", "SMTP_DOMAIN",
    "SMTP_REPLY_TO", "SMTP_LOGIN", "SMTP_PASSWORD",
)  # fmt: skip


def env(source: Source) -> Export:
    smtp, sender = source.smtp, source.config.sender
    pairs: list[tuple[str, Scalar]] = [("SMTP_SERVER", smtp.host), ("SMTP_PORT", smtp.port)]
    if source.uses_auth:
        mechanism = (source.mechanism or "PLAIN").lower().replace("-", "_")
        pairs += [("SMTP_LOGIN", smtp.username), ("SMTP_PASSWORD", source.password), ("SMTP_AUTH_METHOD", mechanism)]
    else:
        pairs.append(("SMTP_AUTH_METHOD", "none"))  # and SMTP_LOGIN/SMTP_PASSWORD must stay unset
    # SMTP_ENABLE_STARTTLS and SMTP_TLS/SMTP_SSL together make every delivery fail (mail 2.8 ArgumentError).
    if smtp.security == "tls":
        pairs.append(("SMTP_TLS", True))
    else:
        pairs.append(("SMTP_ENABLE_STARTTLS", "always" if smtp.security == "starttls" else "never"))
    pairs.append(("SMTP_OPENSSL_VERIFY_MODE", "peer" if smtp.verify_certificate else "none"))
    if smtp.ca_file:
        pairs.append(("SMTP_CA_FILE", smtp.ca_file))
    if smtp.helo_domain:
        pairs.append(("SMTP_DOMAIN", smtp.helo_domain))
    pairs.append(("SMTP_FROM_ADDRESS", display_address(sender.name, sender.address)))
    if sender.reply_to:
        pairs.append(("SMTP_REPLY_TO", sender.reply_to))
    pairs = [
        (key, yaml_unquoted_safe(value) if key in _THROUGH_YAML and isinstance(value, str) else value)
        for key, value in pairs
    ]
    notes = ["Restart mastodon-web and mastodon-sidekiq after editing .env.production."]
    if not source.uses_auth:
        notes.append("Remove any SMTP_LOGIN and SMTP_PASSWORD lines: they must be unset for a relay without login.")
    written = {key for key, _value in pairs}
    unset = tuple(key for key in _MODE_AND_OPTIONAL_KEYS if key not in written)
    text = render_dotenv(pairs, header(NAME, source, ".env.production (Mastodon 4.3 or later)"), ("compose", "ruby3"))
    return Export(text, tuple(notes), tuple(pairs), unset)


PROFILE = ClientProfile(
    app=NAME,
    library="Ruby mail gem with net-smtp (ActionMailer)",
    # mastodon/mastodon lib/mastodon/email_configuration_helper.rb: SMTP_ENABLE_STARTTLS=always ->
    # enable_starttls: :always (ruby/net-smtp raises when the server does not offer it), never -> false;
    # SMTP_TLS / SMTP_SSL -> implicit TLS.
    starttls="required",
    implicit_tls=True,
    verify_switch="SMTP_OPENSSL_VERIFY_MODE",  # config/email.yml: openssl_verify_mode
    ca_file_setting="SMTP_CA_FILE",  # config/email.yml: ca_file
    # email_configuration_helper.rb: SMTP_AUTH_METHOD plain/login/cram_md5, sent as configured
    # (ruby/net-smtp SMTP#authenticate does not look at what the server offers).
    auth_mechanisms=("PLAIN", "LOGIN", "CRAM-MD5"),
    auth_choice="configured",
    auth_setting="SMTP_AUTH_METHOD",
    charset="utf-8",
    plaintext_login="anywhere",
    timeout_setting=None,
    default_timeout_s=None,
    helo="SMTP_DOMAIN, else LOCAL_DOMAIN (config/email.yml)",
    helo_setting="SMTP_DOMAIN",
)

CONSEQUENCES = (
    Consequence(
        "mastodon_restart",
        "warning",
        "the Mastodon admin",
        "Mail is sent by Sidekiq: changes in .env.production take effect after restarting both mastodon-web and mastodon-sidekiq.",
        "Restart both services after editing .env.production.",
    ),
)

APP = App(
    id="mastodon",
    name=NAME,
    where=".env.production",
    blurb="social network server",
    profile=PROFILE,
    formats={"env": (".env.production", env)},
    default_format="env",
    write_into=("env",),
    consequences=CONSEQUENCES,
)
