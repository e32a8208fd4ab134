"""Django: ``settings.py`` lines, or the same names as environment variables."""

from __future__ import annotations

from smtpwizard.core.apps.base import PASSWORD_PLACEHOLDER, App, ClientProfile, Export, Source, header
from smtpwizard.core.consequences import Consequence
from smtpwizard.core.exporters.formats import Scalar, display_address, python_value, render_dotenv

NAME = "Django"


def email_connection(source: Source) -> list[tuple[str, Scalar]]:
    """Django's SMTP connection settings (PostHog, a Django app, reads the same names):
    EMAIL_USE_TLS means STARTTLS and EMAIL_USE_SSL implicit TLS, never both. Django logs in
    only when both user and password are non-empty."""
    smtp = source.smtp
    return [
        ("EMAIL_HOST", smtp.host),
        ("EMAIL_PORT", smtp.port),
        ("EMAIL_HOST_USER", smtp.username if source.uses_auth else ""),
        ("EMAIL_HOST_PASSWORD", source.password or ""),
        ("EMAIL_USE_TLS", smtp.security == "starttls"),
        ("EMAIL_USE_SSL", smtp.security == "tls"),
    ]


def _pairs(source: Source) -> list[tuple[str, Scalar]]:
    source.require_verification(NAME)
    source.require_automatic_auth(NAME)
    smtp, sender = source.smtp, source.config.sender
    return [
        ("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"),
        *email_connection(source),
        ("EMAIL_TIMEOUT", int(smtp.timeout_s)),
        ("DEFAULT_FROM_EMAIL", display_address(sender.name, sender.address)),
        ("SERVER_EMAIL", sender.address),
    ]


def _notes(source: Source) -> tuple[str, ...]:
    notes = ["Restart the app server (and any worker that sends mail)."]
    if source.smtp.helo_domain:
        notes.append("Django cannot set the EHLO name; it sends this machine's host name.")
    if source.smtp.ca_file:
        notes.append("Django has no CA-file setting: point SSL_CERT_FILE at the CA, or add it to the system store.")
    return tuple(notes)


def settings_py(source: Source) -> Export:
    pairs = _pairs(source)
    placeholder = source.password == PASSWORD_PLACEHOLDER
    note = "The password is read from the EMAIL_HOST_PASSWORD environment variable; --reveal-secret writes it here."
    lines = [f"# {line}" for line in header(NAME, source, "settings.py", note if placeholder else None).splitlines()]
    if placeholder:
        lines.append("import os")
    for key, value in pairs:
        if key == "EMAIL_HOST_PASSWORD" and placeholder:
            lines.append('EMAIL_HOST_PASSWORD = os.environ["EMAIL_HOST_PASSWORD"]')
        else:
            lines.append(f"{key} = {python_value(value)}")
    return Export("\n".join(lines) + "\n", _notes(source), tuple(pairs))


def env(source: Source) -> Export:
    pairs = [(k, v) for k, v in _pairs(source) if k != "EMAIL_BACKEND"]
    # Django sites read .env with python-dotenv or django-environ, not docker compose's rules.
    where = "the .env your settings.py reads (python-dotenv or django-environ)"
    text = render_dotenv(pairs, header(NAME, source, where), ("python",))
    return Export(text, _notes(source), tuple(pairs))


# Django 6.1 deprecates the EMAIL_* transport settings for MAILERS: each alias names a BACKEND and
# OPTIONS passed as keyword arguments to it (django/django docs/topics/email.txt, 6.1 release
# notes); these OPTIONS are the keyword arguments of django/core/mail/backends/smtp.py EmailBackend.
_MAILER_OPTIONS = {
    "EMAIL_HOST": "host",
    "EMAIL_PORT": "port",
    "EMAIL_HOST_USER": "username",
    "EMAIL_HOST_PASSWORD": "password",
    "EMAIL_USE_TLS": "use_tls",
    "EMAIL_USE_SSL": "use_ssl",
    "EMAIL_TIMEOUT": "timeout",
}


def mailers_py(source: Source) -> Export:
    pairs = _pairs(source)
    placeholder = source.password == PASSWORD_PLACEHOLDER
    note = "The password is read from the EMAIL_HOST_PASSWORD environment variable; --reveal-secret writes it here."
    where = "settings.py of Django 6.1 or later (MAILERS replaces the deprecated EMAIL_* settings)"
    lines = [f"# {line}" for line in header(NAME, source, where, note if placeholder else None).splitlines()]
    if placeholder:
        lines.append("import os")
    lines += [
        "MAILERS = {",
        '    "default": {',
        f'        "BACKEND": {python_value(dict(pairs)["EMAIL_BACKEND"])},',
        '        "OPTIONS": {',
    ]
    for key, value in pairs:
        if key not in _MAILER_OPTIONS:
            continue
        literal = (
            'os.environ["EMAIL_HOST_PASSWORD"]' if key == "EMAIL_HOST_PASSWORD" and placeholder else python_value(value)
        )
        lines.append(f'            "{_MAILER_OPTIONS[key]}": {literal},')
    lines += ["        },", "    },", "}"]
    lines += [f"{key} = {python_value(value)}" for key, value in pairs if key in ("DEFAULT_FROM_EMAIL", "SERVER_EMAIL")]
    return Export("\n".join(lines) + "\n", _notes(source), tuple(pairs))


PROFILE = ClientProfile(
    app=NAME,
    library="Python smtplib through Django's EmailBackend",
    # django/django django/core/mail/backends/smtp.py: use_tls -> starttls() (smtplib raises
    # SMTPNotSupportedError when the server does not offer it); use_ssl -> SMTP_SSL; neither -> plain.
    starttls="required",
    implicit_tls=True,
    verify_switch=None,  # django/core/mail/backends/smtp.py: ssl.create_default_context(), no switch
    ca_file_setting=None,  # only EMAIL_SSL_CERTFILE/KEYFILE, a client certificate (docs/ref/settings.txt)
    # CPython Lib/smtplib.py SMTP.login: preferred_auths = ['CRAM-MD5', 'PLAIN', 'LOGIN'], the first
    # the server offers (and, on a rejection, the next one).
    auth_mechanisms=("CRAM-MD5", "PLAIN", "LOGIN"),
    auth_choice="preference",
    auth_setting=None,
    # CPython Lib/smtplib.py SMTP.auth: initial_response.encode('ascii'); auth_cram_md5:
    # self.password.encode('ascii'): a non-ASCII username or password raises UnicodeEncodeError.
    charset="ascii",
    plaintext_login="anywhere",  # smtplib.login checks nothing about TLS
    timeout_setting="EMAIL_TIMEOUT",  # django/conf/global_settings.py: EMAIL_TIMEOUT = None
    default_timeout_s=None,
    helo="this machine's fully qualified host name (socket.getfqdn(), smtplib's default)",
)

CONSEQUENCES = (
    Consequence(
        "django_restart",
        "info",
        "the site's users",
        "Password-reset mails and error reports to ADMINS use these settings after the app server restarts.",
        "Restart the app server (and any worker that sends mail).",
    ),
)

APP = App(
    id="django",
    name=NAME,
    where="settings.py or the environment",
    blurb="any Django site",
    profile=PROFILE,
    formats={
        "python": ("settings.py lines", settings_py),
        "mailers": ("settings.py MAILERS for Django 6.1+", mailers_py),
        "env": ("environment variables", env),
    },
    default_format="python",
    write_into=("env",),
    consequences=CONSEQUENCES,
)


# --- import: a Django site's EMAIL_* settings from its .env (smtpwizard doctor) ----------------
# (imported here, at the end, so this block stays apart from the exports above)
from collections.abc import Mapping  # noqa: E402
from pathlib import Path  # noqa: E402

from smtpwizard.core.apps.readers import (  # noqa: E402
    Collector,
    Contradiction,
    DotenvFlavour,
    Found,
    Imported,
    build,
    dotenv_password,
    env_file,
)
from smtpwizard.core.settings import IMPLICIT_TLS_PORTS, SmtpSettings  # noqa: E402

DEFAULT_PATH = None  # every Django site keeps its .env where its settings.py reads it
# django-environ Env.BOOLEAN_TRUE_STRINGS and the false spellings most settings.py accept.
TRUE = ("true", "1", "yes", "on", "y", "t", "ok")
FALSE = ("false", "0", "no", "off", "n", "f", "")


def django_fields(prefix: str = "EMAIL_", names: Mapping[str, str] | None = None) -> dict[str, str]:
    """smtpwizard field -> the Django-style key (PostHog and authentik reuse the names)."""
    keys = {
        "host": "HOST",
        "port": "PORT",
        "security": "USE_TLS / USE_SSL",
        "username": "HOST_USER",
        "password": "HOST_PASSWORD",
        "timeout_s": "TIMEOUT",
        **(names or {}),
    }
    return {name: " / ".join(prefix + part for part in key.split(" / ")) for name, key in keys.items()}


FIELDS = django_fields()


def read_connection(
    read: Collector, found: dict[str, Found], app: str, fields: dict[str, str], default_port: int = 25
) -> tuple[SmtpSettings, list[Contradiction]]:
    """Django's EmailBackend settings (django/core/mail/backends/smtp.py): EMAIL_USE_TLS is STARTTLS,
    EMAIL_USE_SSL implicit TLS, both at once a ValueError; it logs in only with user and password."""
    tls_key, ssl_key = fields["security"].split(" / ")
    use_tls = read.boolean(tls_key, False, TRUE, FALSE)
    use_ssl = read.boolean(ssl_key, False, TRUE, FALSE)
    port = read.integer(fields["port"], default_port) or default_port
    timeout = read.integer(fields["timeout_s"], None, 1, 300) if "timeout_s" in fields else None
    username = read.value(fields["username"]) or None
    smtp = SmtpSettings(
        host=read.host(fields["host"], "localhost"),
        port=port,
        security="tls" if use_ssl else ("starttls" if use_tls else "none"),
        username=username,
        timeout_s=float(timeout or 15),
    )
    contradictions: list[Contradiction] = []
    if use_tls and use_ssl:
        wanted = "tls" if port in IMPLICIT_TLS_PORTS else "starttls"
        contradictions.append(
            Contradiction(
                "flags_contradict",
                (tls_key, ssl_key),
                found[ssl_key].line,
                f"{tls_key} and {ssl_key} are both true: {app} cannot send any mail (Django raises 'EMAIL_USE_TLS/"
                "EMAIL_USE_SSL are mutually exclusive, so only set one of those settings to True')",
                f"set {tls_key} to false (implicit TLS, port {port})"
                if wanted == "tls"
                else f"set {ssl_key} to false (STARTTLS, port {port})",
                {"security": wanted},
            )
        )
    return smtp, contradictions


def read_django_env(
    path: Path, app: str, app_id: str, fields: dict[str, str], flavour: DotenvFlavour, from_key: str, fmt: str = "env"
) -> Imported:
    found, read = env_file(path, flavour)
    smtp, contradictions = read_connection(read, found, app, fields)
    sender = read.address(from_key, "webmaster@localhost")
    read.raise_if_any()
    contradictions = dotenv_password(found, fields["password"], app, flavour) + contradictions
    return build(
        app=app_id, path=path, fmt=fmt, write_kind="env", found=read.kept(fields["password"]), smtp=smtp, sender=sender,
        fields=fields, credential_key=fields["password"], contradictions=contradictions,
        login_needs_password=False,  # django/core/mail/backends/smtp.py logs in only with user and password
        # smtplib.SMTP waits for the greeting as long as the timeout (Django's EMAIL_TIMEOUT: None, forever)
        symptoms={"banner_timeout": f"{app} waits for that greeting as long as {fields['timeout_s']} allows "
                  "(forever when unset): whatever sends mail hangs."},
    )  # fmt: skip


def read_settings(path: Path, environ: Mapping[str, str]) -> Imported:
    """A Django site's EMAIL_* settings from the .env its settings.py reads with python-dotenv or
    django-environ (django/django docs/ref/settings.txt for the names and defaults)."""
    return read_django_env(path, NAME, "django", FIELDS, "python", "DEFAULT_FROM_EMAIL")
