"""Discourse (discourse_docker): the ``env:`` section of ``containers/app.yml``."""

from __future__ import annotations

import re
from typing import Any

from smtpwizard.core.apps.base import App, ClientProfile, Export, Source, header
from smtpwizard.core.consequences import Consequence
from smtpwizard.core.exporters.formats import render_yaml

NAME = "Discourse"


def _through_launcher(source: Source, key: str, value: str) -> str:
    """``value`` as app.yml must hold it to reach the container unchanged, or a refusal.

    discourse/discourse_docker launcher (lines 379-417) prints KEY=VALUE and reads it back with
    bash `while read i` (no -r): a backslash escapes the next character, trailing blanks are cut,
    {{config}} becomes the container name, and _FILE_SEPERATOR_ splits the YAML input."""
    problems = (
        ("\n" in value or "\r" in value, "holds a line break, which splits the launcher's KEY=VALUE lines"),
        (value != value.rstrip(" \t"), "ends in a space or tab, which the launcher cuts off"),
        ("{{config}}" in value, "holds {{config}}, which the launcher replaces with the container name"),
        ("_FILE_SEPERATOR_" in value, "holds _FILE_SEPERATOR_, which the launcher splits its input on"),
        (value == "*ERROR.", "is the launcher's error marker"),
    )
    for found, problem in problems:
        if found:
            raise source.refuse(NAME, f"{key} {problem}", "change that value, or set it in the admin panel instead")
    return value.replace("\\", "\\\\")  # `read` without -r halves backslashes


def _typed_as_text(source: Source, key: str, value: str) -> None:
    """discourse/discourse app/models/global_setting.rb BaseProvider.coerce/resolve: true/false
    become booleans, digits (after strip) integers, blank values nil."""
    if value in ("true", "false") or re.fullmatch(r"-?[0-9]+", value.strip()) or not value.strip():
        raise source.refuse(
            NAME,
            f"{key} would reach Discourse as {'nothing' if not value.strip() else 'a number or a boolean'} "
            "(GlobalSetting converts all-digit, true/false and blank values)",
            "use a password with at least one letter or symbol",
        )


def app_yml(source: Source) -> Export:
    smtp, sender = source.smtp, source.config.sender
    env: dict[str, Any] = {"DISCOURSE_SMTP_ADDRESS": smtp.host, "DISCOURSE_SMTP_PORT": smtp.port}
    if source.uses_auth:
        for key, value in (
            ("DISCOURSE_SMTP_USER_NAME", smtp.username or ""),
            ("DISCOURSE_SMTP_PASSWORD", source.password or ""),
        ):
            _typed_as_text(source, key, value)
            env[key] = value
        env["DISCOURSE_SMTP_AUTHENTICATION"] = (source.mechanism or "PLAIN").lower().replace("-", "_")
    env["DISCOURSE_SMTP_ENABLE_START_TLS"] = smtp.security == "starttls"
    if smtp.security == "tls":
        env["DISCOURSE_SMTP_FORCE_TLS"] = True
    env["DISCOURSE_SMTP_OPENSSL_VERIFY_MODE"] = "peer" if smtp.verify_certificate else "none"
    if smtp.helo_domain:
        env["DISCOURSE_SMTP_DOMAIN"] = smtp.helo_domain
    # global_setting.rb smtp_settings: open_timeout / read_timeout (seconds, .to_f); defaults 5 / 30.
    env["DISCOURSE_SMTP_OPEN_TIMEOUT"] = int(smtp.timeout_s)
    env["DISCOURSE_SMTP_READ_TIMEOUT"] = max(30, int(smtp.timeout_s))
    env["DISCOURSE_NOTIFICATION_EMAIL"] = sender.address
    env = {
        key: _through_launcher(source, key, value) if isinstance(value, str) else value for key, value in env.items()
    }
    notes = ["Apply with './launcher rebuild app' (the forum is offline for a few minutes)."]
    if smtp.security == "starttls":
        notes.append("Discourse uses STARTTLS when offered but cannot require it.")
    if smtp.ca_file:
        notes.append("Discourse has no CA-file setting: add the CA to the container's system store.")
    if any("\\" in str(value) for value in env.values()):
        notes.append("Backslashes are doubled on purpose: Discourse's launcher reads each one as an escape.")
    text = render_yaml({"env": env}, header(NAME, source, "the env: section of containers/app.yml"))
    return Export(text, tuple(notes), tuple(env.items()))


PROFILE = ClientProfile(
    app=NAME,
    library="Ruby mail gem with net-smtp (ActionMailer)",
    # discourse/discourse app/models/global_setting.rb smtp_settings: enable_starttls_auto =
    # !force_tls && enable_start_tls (upgrades when offered, cannot require it); tls when FORCE_TLS.
    starttls="opportunistic",
    implicit_tls=True,
    verify_switch="DISCOURSE_SMTP_OPENSSL_VERIFY_MODE",  # global_setting.rb: openssl_verify_mode
    ca_file_setting=None,
    # global_setting.rb: authentication (plain/login/cram_md5) only when a user or password is set,
    # sent as configured by ruby/net-smtp.
    auth_mechanisms=("PLAIN", "LOGIN", "CRAM-MD5"),
    auth_choice="configured",
    auth_setting="DISCOURSE_SMTP_AUTHENTICATION",
    charset="utf-8",
    plaintext_login="anywhere",
    # config/discourse_defaults.conf: smtp_open_timeout 5, smtp_read_timeout 30.
    timeout_setting="DISCOURSE_SMTP_OPEN_TIMEOUT",
    default_timeout_s=5.0,
    helo="DISCOURSE_SMTP_DOMAIN, else localhost.localdomain (mail gem default)",
    helo_setting="DISCOURSE_SMTP_DOMAIN",
)

CONSEQUENCES = (
    Consequence(
        "discourse_rebuild",
        "warning",
        "everyone using the forum",
        "Changing app.yml requires './launcher rebuild app', which takes the forum offline for several minutes. "
        "Without working mail, new users cannot activate accounts and admins cannot log in by email.",
        "Plan the rebuild at a quiet time; keep a working admin login.",
    ),
)

APP = App(
    id="discourse",
    name=NAME,
    where="containers/app.yml env section",
    blurb="discussion forum",
    profile=PROFILE,
    formats={"yaml": ("app.yml env: section", app_yml)},
    default_format="yaml",
    consequences=CONSEQUENCES,
)
