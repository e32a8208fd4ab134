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


# --- import: the env: section of containers/app.yml (smtpwizard doctor) ----------------------------
# (imported here, at the end, so this block stays apart from the exports above)
from collections.abc import Mapping  # noqa: E402
from dataclasses import replace as _replace  # noqa: E402
from pathlib import Path  # noqa: E402

from smtpwizard.core.apps.readers import (  # noqa: E402
    RUBY_NOT_TLS,
    Collector,
    Contradiction,
    Imported,
    build,
    mangled,
    read_text,
    read_yaml_env,
)
from smtpwizard.core.settings import SmtpSettings  # noqa: E402

DEFAULT_PATH = "/var/discourse/containers/app.yml"  # discourse/discourse_docker README / discourse-setup
FIELDS = {
    "host": "DISCOURSE_SMTP_ADDRESS",
    "port": "DISCOURSE_SMTP_PORT",
    "security": "DISCOURSE_SMTP_ENABLE_START_TLS / DISCOURSE_SMTP_FORCE_TLS",
    "verify_certificate": "DISCOURSE_SMTP_OPENSSL_VERIFY_MODE",
    "auth": "DISCOURSE_SMTP_AUTHENTICATION",
    "username": "DISCOURSE_SMTP_USER_NAME",
    "password": "DISCOURSE_SMTP_PASSWORD",
    "helo_domain": "DISCOURSE_SMTP_DOMAIN",
    "timeout_s": "DISCOURSE_SMTP_OPEN_TIMEOUT",
}
_AUTH = {"plain": "plain", "login": "login", "cram_md5": "cram-md5"}


def _launcher_reads(value: str) -> str:
    """What bash `while read i` (no -r) in discourse_docker's launcher makes of a value: a backslash
    escapes the next character and is dropped, trailing blanks are cut."""
    return re.sub(r"\\(.)", r"\1", value).rstrip(" \t")


def read_settings(path: Path, environ: Mapping[str, str]) -> Imported:
    """Discourse's DISCOURSE_SMTP_* from app.yml as they reach the app: through the launcher's read
    loop, then GlobalSetting (discourse/discourse app/models/global_setting.rb smtp_settings:
    enable_starttls_auto = !force_tls && enable_start_tls; all-digit values become integers)."""
    found = read_yaml_env(read_text(path), path)
    for key, entry in list(found.items()):
        if entry.value is not None and _launcher_reads(entry.value) != entry.value:
            # A backslash that is not doubled, or trailing blanks, is lost; doubled ones are meant for the launcher.
            odd = any(len(run) % 2 for run in re.findall(r"\\+", entry.value))
            lost = odd or entry.value != entry.value.rstrip(" \t")
            found[key] = _replace(entry, value=_launcher_reads(entry.value), written=entry.value if lost else None)
    read = Collector(path, found)
    yes, no = ("true",), ("false",)
    force_tls = read.boolean("DISCOURSE_SMTP_FORCE_TLS", False, yes, no)
    start_tls = read.boolean("DISCOURSE_SMTP_ENABLE_START_TLS", True, yes, no)
    method = read.choice("DISCOURSE_SMTP_AUTHENTICATION", "plain", tuple(_AUTH))
    verify = read.choice("DISCOURSE_SMTP_OPENSSL_VERIFY_MODE", "peer", ("peer", "none"))
    smtp = SmtpSettings(
        host=read.host("DISCOURSE_SMTP_ADDRESS", "localhost"),
        port=read.integer("DISCOURSE_SMTP_PORT", 25) or 25,
        security="tls" if force_tls else ("starttls" if start_tls else "none"),
        verify_certificate=verify != "none",
        auth=_AUTH[method or "plain"],  # type: ignore[arg-type]
        username=read.value("DISCOURSE_SMTP_USER_NAME") or None,
        helo_domain=read.value("DISCOURSE_SMTP_DOMAIN") or None,
        timeout_s=float(read.integer("DISCOURSE_SMTP_OPEN_TIMEOUT", 5, 1, 300) or 5),
    )
    sender = read.address("DISCOURSE_NOTIFICATION_EMAIL", "noreply@unconfigured.discourse.org")
    read.raise_if_any()
    key = "DISCOURSE_SMTP_PASSWORD"
    contradictions = mangled(
        found, key, NAME, "the launcher reads app.yml with bash 'read' without -r: backslashes vanish and "
        "trailing spaces are cut", "double every backslash in app.yml (or change the password)",
    )  # fmt: skip
    password = found.get(key)
    if password is not None and password.value is not None and re.fullmatch(r"-?[0-9]+", password.value.strip()):
        contradictions.append(
            Contradiction(
                "password_mangled", (key,), password.line,
                f"{NAME} will not send the password as written in {key}: GlobalSetting turns an all-digit value "
                "into a number, which the mail gem cannot send",
                "change the password at the provider so it holds a letter or symbol, then put it in app.yml",
            )
        )  # fmt: skip
    return build(
        app="discourse", path=path, fmt="yaml", write_kind="app_yml", found=read.kept(key), smtp=smtp, sender=sender,
        fields=FIELDS, credential_key=key, contradictions=contradictions,
        notes=("Apply a change with './launcher rebuild app'.",),
        symptoms={"tls_wrong_version": f"Discourse's logs show it as '{RUBY_NOT_TLS}'."},
    )  # fmt: skip
