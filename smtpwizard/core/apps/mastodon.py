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


# --- import: the settings Mastodon reads from .env.production (smtpwizard doctor) -------------
# (imported here, at the end, so this block stays apart from the exports above)
from collections.abc import Mapping  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

from smtpwizard.core.apps.readers import (  # noqa: E402
    RUBY_NOT_TLS,
    Contradiction,
    Found,
    Imported,
    build,
    dotenv_password,
    env_file,
    mangled,
)
from smtpwizard.core.settings import IMPLICIT_TLS_PORTS, SmtpSettings  # noqa: E402

DEFAULT_PATH = "/home/mastodon/live/.env.production"  # mastodon/documentation admin/install.md
FIELDS = {
    "host": "SMTP_SERVER",
    "port": "SMTP_PORT",
    "security": "SMTP_ENABLE_STARTTLS / SMTP_TLS",
    "verify_certificate": "SMTP_OPENSSL_VERIFY_MODE",
    "ca_file": "SMTP_CA_FILE",
    "auth": "SMTP_AUTH_METHOD",
    "username": "SMTP_LOGIN",
    "password": "SMTP_PASSWORD",
    "helo_domain": "SMTP_DOMAIN",
}
_AUTH = {"plain": "plain", "login": "login", "cram_md5": "cram-md5", "none": "none"}


def _through_email_yml(value: str) -> str | None:
    """What config/email.yml makes of a value ERB pastes into it unquoted (Psych reads YAML 1.1:
    ' #' starts a comment, yes/123/0777 are not strings); None when the YAML cannot be read."""
    import yaml

    try:
        data = yaml.safe_load(f"k: {value}")
    except yaml.YAMLError:
        return None
    read = data.get("k") if isinstance(data, dict) else None
    if isinstance(read, bool):
        return "true" if read else "false"  # Ruby's to_s of what net-smtp is handed
    return None if read is None else str(read)


def _email_yml_password(found: dict[str, Found]) -> list[Contradiction]:
    """A password that config/email.yml's YAML changes: Mastodon logs in with something else."""
    entry = found.get("SMTP_PASSWORD")
    if entry is None or not entry.value or entry.written is not None:
        return []  # absent, or the .env reader already changes it (reported as such)
    value = entry.value
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        through = _through_email_yml(value)  # a YAML-quoted value, written for email.yml on purpose
        found["SMTP_PASSWORD"] = replace(entry, value=through)
        return []
    through = _through_email_yml(value)
    if through == value:
        return []
    found["SMTP_PASSWORD"] = replace(entry, value=through, written=value)
    how = "config/email.yml pastes it into YAML unquoted, which " + (
        "cannot read it (Mastodon will not start)"
        if through is None
        else "reads it as something else (' #' starts a comment; yes, no and digits are not text)"
    )
    return mangled(
        found, "SMTP_PASSWORD", NAME, how, "write SMTP_PASSWORD as a quoted YAML string inside its .env quotes"
    )


def read_settings(path: Path, environ: Mapping[str, str]) -> Imported:
    """Mastodon's mail settings from its .env.production, read as Mastodon reads them.

    mastodon/mastodon config/email.yml and lib/mastodon/email_configuration_helper.rb: SMTP_TLS or
    SMTP_SSL 'true' is implicit TLS; SMTP_ENABLE_STARTTLS always/auto/never; SMTP_AUTH_METHOD
    plain (default), login, cram_md5 or none; .env.production is read by Ruby dotenv 3.x."""
    found, read = env_file(path, "ruby")
    tls = any(read.boolean(key, False, ("true",), ("false", "")) for key in ("SMTP_TLS", "SMTP_SSL"))
    starttls = read.choice("SMTP_ENABLE_STARTTLS", None, ("auto", "always", "never", "false"))
    if starttls is None:  # legacy switch, only read when SMTP_ENABLE_STARTTLS is unset
        auto = read.boolean("SMTP_ENABLE_STARTTLS_AUTO", True, ("true",), ("false",))
        starttls = "auto" if auto and not tls else ("never" if not tls else None)
    port = read.integer("SMTP_PORT", 25) or 25
    verify = read.choice("SMTP_OPENSSL_VERIFY_MODE", "peer", ("peer", "none", "client_once", "fail_if_no_peer_cert"))
    method = read.choice("SMTP_AUTH_METHOD", "plain", tuple(_AUTH))
    smtp = SmtpSettings(
        host=read.host("SMTP_SERVER", "localhost"),
        port=port,
        security="tls" if tls else ("none" if starttls in ("never", "false") else "starttls"),
        verify_certificate=verify != "none",
        ca_file=read.value("SMTP_CA_FILE"),
        auth=_AUTH[method or "plain"],  # type: ignore[arg-type]
        username=read.value("SMTP_LOGIN") or None,
        helo_domain=read.value("SMTP_DOMAIN") or read.value("LOCAL_DOMAIN"),
    )
    sender = read.address("SMTP_FROM_ADDRESS", "notifications@localhost")
    read.raise_if_any()
    contradictions = dotenv_password(found, "SMTP_PASSWORD", NAME, "ruby")
    contradictions += _email_yml_password(found)
    if tls and starttls in ("always", "auto") and "SMTP_ENABLE_STARTTLS" in found:
        wanted = "tls" if port in IMPLICIT_TLS_PORTS else "starttls"
        contradictions.append(
            Contradiction(
                "flags_contradict",
                ("SMTP_TLS", "SMTP_ENABLE_STARTTLS"),
                found["SMTP_ENABLE_STARTTLS"].line,
                "SMTP_TLS (implicit TLS) and SMTP_ENABLE_STARTTLS are both set: Mastodon fails every message "
                "(':enable_starttls and :tls are mutually exclusive')",
                "keep SMTP_TLS=true and remove SMTP_ENABLE_STARTTLS (port 465)"
                if wanted == "tls"
                else "remove SMTP_TLS and keep SMTP_ENABLE_STARTTLS=always (port 587)",
                {"security": wanted},
            )
        )
    return build(
        app="mastodon", path=path, fmt="env", write_kind="env", found=read.kept("SMTP_PASSWORD"), smtp=smtp, sender=sender,
        fields=FIELDS, credential_key="SMTP_PASSWORD", contradictions=contradictions,
        symptoms={"tls_wrong_version": f"Mastodon's Sidekiq log shows it as '{RUBY_NOT_TLS}'."},
    )  # fmt: skip
