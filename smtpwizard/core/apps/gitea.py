"""Gitea (and Forgejo): the ``[mailer]`` section of app.ini, as the ``GITEA__mailer__*``
environment its docker image writes into app.ini at start."""

from __future__ import annotations

from smtpwizard.core.apps.base import App, ClientProfile, Export, Source, header
from smtpwizard.core.consequences import Consequence
from smtpwizard.core.exporters.formats import Scalar, display_address, render_compose_override, render_dotenv

NAME = "Gitea"
# go-gitea/gitea modules/setting/mailer.go: PROTOCOL is one of smtp, smtps, smtp+starttls, ...
PROTOCOL = {"starttls": "smtp+starttls", "tls": "smtps", "none": "smtp"}


def _pairs(source: Source) -> list[tuple[str, Scalar]]:
    smtp, sender = source.smtp, source.config.sender
    # services/mailer/sender/smtp.go picks the login method from what the server offers.
    source.require_automatic_auth(NAME)
    pairs: list[tuple[str, Scalar]] = [
        ("GITEA__mailer__ENABLED", True),
        ("GITEA__mailer__PROTOCOL", PROTOCOL[smtp.security]),
        ("GITEA__mailer__SMTP_ADDR", smtp.host),
        ("GITEA__mailer__SMTP_PORT", smtp.port),
    ]
    if source.uses_auth:
        pairs += [("GITEA__mailer__USER", smtp.username), ("GITEA__mailer__PASSWD", source.password)]
    # mailer.go: mail.ParseAddress(FROM); Go reads a quoted UTF-8 name, so no RFC 2047 words.
    pairs.append(("GITEA__mailer__FROM", display_address(sender.name, sender.address)))
    if not smtp.verify_certificate:
        pairs.append(("GITEA__mailer__FORCE_TRUST_SERVER_CERT", True))
    if smtp.helo_domain:
        pairs.append(("GITEA__mailer__HELO_HOSTNAME", smtp.helo_domain))
    return pairs


def _notes(source: Source) -> tuple[str, ...]:
    smtp = source.smtp
    notes = [
        "In app.ini these are the keys of the [mailer] section (ENABLED, PROTOCOL, SMTP_ADDR, ...); restart Gitea.",
    ]
    if smtp.security == "starttls":
        notes.append("Gitea uses STARTTLS when the server offers it but cannot require it (smtp+starttls).")
    if smtp.security == "none" and source.uses_auth:
        notes.append("Gitea sends a PLAIN login without TLS only to a server named localhost, 127.0.0.1 or ::1.")
    if smtp.ca_file:
        notes.append("Gitea has no CA-file setting: add the CA to the container's system store (or SSL_CERT_FILE).")
    return tuple(notes)


def env(source: Source) -> Export:
    pairs = _pairs(source)
    where = (
        "an env_file: of Gitea's server service (docker compose reads it); for its environment: use --format compose"
    )
    return Export(render_dotenv(pairs, header(NAME, source, where), ("compose",)), _notes(source), tuple(pairs))


def compose(source: Source) -> Export:
    pairs = _pairs(source)
    # Gitea's docker docs (docs/content/installation/install-with-docker.en-us.md) name the service "server".
    where = "docker-compose.override.yml beside Gitea's docker-compose.yml (merged into its server service)"
    text = render_compose_override(("server",), pairs, header(NAME, source, where))
    return Export(text, _notes(source), tuple(pairs))


PROFILE = ClientProfile(
    app=NAME,
    library="wneessen/go-mail",
    # go-gitea/gitea services/mailer/sender/smtp.go: smtp+starttls -> gomail.TLSOpportunistic (goes on in
    # plain text when STARTTLS is missing, only a warning), smtps -> WithSSL, smtp -> NoTLS.
    starttls="opportunistic",
    implicit_tls=True,
    verify_switch="FORCE_TRUST_SERVER_CERT",  # smtp.go buildTLSConfig: InsecureSkipVerify
    ca_file_setting=None,  # smtp.go: only a client certificate (USE_CLIENT_CERT), no CA setting
    # smtp.go: CRAM-MD5 if offered, else PLAIN, else its own LOGIN, else NTLM.
    auth_mechanisms=("CRAM-MD5", "PLAIN", "LOGIN"),
    auth_choice="preference",
    auth_setting=None,
    charset="utf-8",
    # smtp.go: smtp.PlainAuth("", user, pass, SMTPAddr, false): go-mail smtp/auth_plain.go, like Go's
    # net/smtp, sends PLAIN without TLS only to a server named localhost, 127.0.0.1 or ::1.
    plaintext_login="localhost-names",
    timeout_setting=None,
    default_timeout_s=None,
    helo="HELO_HOSTNAME, else the machine's host name (smtp.go os.Hostname())",
    helo_setting="HELO_HOSTNAME",
)

CONSEQUENCES = (
    Consequence(
        "gitea_restart",
        "info",
        "the Gitea admin",
        "Gitea reads [mailer] only at start; registration confirmation (REGISTER_EMAIL_CONFIRM) and notification "
        "mails use these settings after a restart.",
        "Restart Gitea, then use Site Administration > Configuration > Send Testing Email.",
    ),
)

APP = App(
    id="gitea",
    name=NAME,
    where="app.ini [mailer], or GITEA__mailer__* in docker-compose.yml",
    blurb="Git hosting (also Forgejo)",
    profile=PROFILE,
    formats={
        "env": ("GITEA__mailer__* environment (docker env_file)", env),
        "compose": ("docker-compose.override.yml environment: of its server service", compose),
    },
    default_format="env",
    write_into=("env",),
    consequences=CONSEQUENCES,
    # go-gitea/gitea contrib/environment-to-ini: the docker image copies GITEA__section__KEY into app.ini.
    compose="the docker image copies GITEA__mailer__* from the container's environment into app.ini at start",
)


# --- import: [mailer] of app.ini, or GITEA__mailer__* in a .env (smtpwizard doctor) ---------------
# (imported here, at the end, so this block stays apart from the exports above)
from collections.abc import Mapping  # noqa: E402
from pathlib import Path  # noqa: E402

from smtpwizard.core.apps.readers import (  # noqa: E402
    Collector,
    Imported,
    build,
    dotenv_password,
    read_dotenv,
    read_ini_section,
    read_text,
)
from smtpwizard.core.settings import SmtpSettings  # noqa: E402

DEFAULT_PATH = "/etc/gitea/app.ini"  # go-gitea/gitea docs: installation from binary
_PREFIX = "GITEA__mailer__"
FIELDS = {
    "host": "SMTP_ADDR",
    "port": "SMTP_PORT",
    "security": "PROTOCOL",
    "verify_certificate": "FORCE_TRUST_SERVER_CERT",
    "username": "USER",
    "password": "PASSWD",
    "helo_domain": "HELO_HOSTNAME",
}
_PROTOCOLS = {"smtp": "none", "smtps": "tls", "smtp+starttls": "starttls"}


def read_settings(path: Path, environ: Mapping[str, str]) -> Imported:
    """Gitea's [mailer] settings (go-gitea/gitea modules/setting/mailer.go: PROTOCOL smtp, smtps or
    smtp+starttls; when empty, smtps on port 465, smtp+starttls on 587, else smtp)."""
    text = read_text(path)
    ini = path.suffix == ".ini"
    # app.ini's [mailer] keys, or the docker image's GITEA__mailer__KEY environment
    found = read_ini_section(text, "mailer") if ini else read_dotenv(text, path, "compose")
    fields = FIELDS if ini else {k: _PREFIX + v for k, v in FIELDS.items()}
    prefix = "" if ini else _PREFIX
    read = Collector(path, found)
    port = read.integer(prefix + "SMTP_PORT", 25) or 25
    protocol = read.choice(prefix + "PROTOCOL", None, (*_PROTOCOLS, "sendmail", "dummy", "smtp+unix"))
    if protocol in ("sendmail", "dummy", "smtp+unix"):
        read.add(prefix + "PROTOCOL", f"is {protocol}, so Gitea does not send over SMTP", "nothing to test here")
    protocol = protocol or {465: "smtps", 587: "smtp+starttls"}.get(port, "smtp")
    trust = read.boolean(prefix + "FORCE_TRUST_SERVER_CERT", False, ("true", "1"), ("false", "0", ""))
    smtp = SmtpSettings(
        host=read.host(prefix + "SMTP_ADDR", "localhost"),
        port=port,
        security=_PROTOCOLS.get(protocol, "none"),  # type: ignore[arg-type]
        verify_certificate=not trust,
        username=read.value(prefix + "USER") or None,
        helo_domain=read.value(prefix + "HELO_HOSTNAME") or None,
    )
    sender = read.address(prefix + "FROM", "gitea@localhost")
    read.raise_if_any()
    secret = fields["password"]
    return build(
        app="gitea", path=path, fmt="env", write_kind="ini_mailer" if ini else "env", found=read.kept(fields["password"]), smtp=smtp,
        sender=sender, fields=fields, credential_key=secret,
        contradictions=[] if ini else dotenv_password(found, secret, NAME, "compose"),
        export_prefix=_PREFIX if ini else "",
    )  # fmt: skip
