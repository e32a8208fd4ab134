"""authentik: ``AUTHENTIK_EMAIL__*`` environment variables (the ``.env`` its docker-compose.yml reads)."""

from __future__ import annotations

from dataclasses import replace

from smtpwizard.core.apps.base import App, Export, Source, header
from smtpwizard.core.apps.django import PROFILE as DJANGO_PROFILE
from smtpwizard.core.consequences import Consequence
from smtpwizard.core.exporters.formats import Scalar, display_address, render_dotenv

NAME = "authentik"
# goauthentik/authentik authentik/lib/config.py: a value starting with one of these is read from
# there instead (authentik/lib/default.yml uses 'env://POSTGRES_PASSWORD').
_INDIRECT = ("env://", "file://")


def env(source: Source) -> Export:
    source.require_verification(NAME)
    source.require_automatic_auth(NAME)
    smtp, sender = source.smtp, source.config.sender
    if source.revealed and source.password and source.password.startswith(_INDIRECT):
        raise source.refuse(
            NAME,
            "it reads a value starting with env:// or file:// from that variable or file, not as the password",
            "change the password so it does not start with env:// or file://",
        )
    # authentik/stages/email/models.py backend: Django's EmailBackend with CONFIG email.*; use_tls
    # is STARTTLS, use_ssl implicit TLS (never both: Django raises ValueError).
    pairs: list[tuple[str, Scalar]] = [
        ("AUTHENTIK_EMAIL__HOST", smtp.host),
        ("AUTHENTIK_EMAIL__PORT", smtp.port),
        ("AUTHENTIK_EMAIL__USERNAME", smtp.username if source.uses_auth else ""),
        ("AUTHENTIK_EMAIL__PASSWORD", source.password or ""),
        ("AUTHENTIK_EMAIL__USE_TLS", smtp.security == "starttls"),
        ("AUTHENTIK_EMAIL__USE_SSL", smtp.security == "tls"),
        ("AUTHENTIK_EMAIL__TIMEOUT", int(smtp.timeout_s)),
        ("AUTHENTIK_EMAIL__FROM", display_address(sender.name, sender.address)),
    ]
    notes = ["Recreate the server and worker containers (docker compose up -d) so they read the new .env."]
    if smtp.helo_domain:
        notes.append("authentik cannot set the EHLO name; it sends the container's host name.")
    if smtp.ca_file:
        notes.append("authentik has no CA-file setting: add the CA to the container's system store.")
    # authentik's docker-compose.yml gives server and worker env_file: .env: docker compose reads it.
    text = render_dotenv(pairs, header(NAME, source, "the .env beside authentik's docker-compose.yml"), ("compose",))
    return Export(text, tuple(notes), tuple(pairs))


# authentik/stages/email/models.py: EmailStage.backend builds Django's EmailBackend (smtplib) from
# CONFIG email.*: the same client as Django; authentik/lib/default.yml: email.timeout 10.
PROFILE = replace(DJANGO_PROFILE, app=NAME, timeout_setting="AUTHENTIK_EMAIL__TIMEOUT", default_timeout_s=10.0)

CONSEQUENCES = (
    Consequence(
        "authentik_recovery",
        "warning",
        "users recovering their accounts or enrolling",
        "Email stages (recovery, enrollment verification, email MFA) send with these global settings once the "
        "containers are recreated; an email stage set to its own settings ignores them.",
        "After recreating the containers, run 'ak test_email you@example.com' in the worker container.",
    ),
)

APP = App(
    id="authentik",
    name=NAME,
    where="AUTHENTIK_EMAIL__* in the .env read by its docker-compose.yml",
    blurb="identity provider (SSO)",
    profile=PROFILE,
    formats={"env": ("environment variables (.env)", env)},
    default_format="env",
    write_into=("env",),
    consequences=CONSEQUENCES,
    # goauthentik/authentik docker-compose.yml: server and worker both have env_file: .env.
    compose="its docker-compose.yml reads .env through env_file for the server and the worker",
)


# --- import: authentik's AUTHENTIK_EMAIL__* settings from its .env (smtpwizard doctor) ----------
# (imported here, at the end, so this block stays apart from the exports above)
from collections.abc import Mapping  # noqa: E402
from pathlib import Path  # noqa: E402

from smtpwizard.core.apps.django import django_fields, read_django_env  # noqa: E402
from smtpwizard.core.apps.readers import Imported  # noqa: E402

DEFAULT_PATH = None  # the .env beside authentik's docker-compose.yml
# goauthentik/authentik authentik/lib/default.yml email: host, port, username, password, use_tls, use_ssl, timeout, from
FIELDS = django_fields(
    "AUTHENTIK_EMAIL__",
    {"security": "USE_TLS / USE_SSL", "username": "USERNAME", "password": "PASSWORD"},
)


def read_settings(path: Path, environ: Mapping[str, str]) -> Imported:
    """authentik's mail settings from the .env docker compose hands its server and worker."""
    return read_django_env(path, NAME, "authentik", FIELDS, "compose", "AUTHENTIK_EMAIL__FROM")
