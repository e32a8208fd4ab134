"""GitLab Omnibus: ``/etc/gitlab/gitlab.rb``."""

from __future__ import annotations

from smtpwizard.core.apps.base import App, ClientProfile, Export, Source, header
from smtpwizard.core.consequences import Consequence
from smtpwizard.core.exporters.formats import Scalar, display_address, ruby_value, yaml_unquoted_safe

NAME = "GitLab"


def gitlab_rb(source: Source) -> Export:
    smtp, sender = source.smtp, source.config.sender
    pairs: list[tuple[str, Scalar]] = [
        ("smtp_enable", True),
        ("smtp_address", smtp.host),
        ("smtp_port", smtp.port),
    ]
    if source.uses_auth:
        mechanism = (source.mechanism or "PLAIN").lower().replace("-", "_")
        pairs += [
            ("smtp_user_name", smtp.username),
            ("smtp_password", source.password),
            ("smtp_authentication", mechanism),
        ]
    else:
        pairs.append(("smtp_authentication", False))
    if smtp.helo_domain:
        pairs.append(("smtp_domain", smtp.helo_domain))
    # Mutually exclusive in GitLab: reconfigure fails when both are true.
    pairs += [
        ("smtp_enable_starttls_auto", smtp.security == "starttls"),
        ("smtp_tls", smtp.security == "tls"),
        ("smtp_openssl_verify_mode", "peer" if smtp.verify_certificate else "none"),
    ]
    if smtp.ca_file:
        pairs.append(("smtp_ca_file", smtp.ca_file))
    # files/gitlab-cookbooks/gitlab/attributes/default.rb: smtp_open_timeout / smtp_read_timeout (seconds).
    pairs += [("smtp_open_timeout", int(smtp.timeout_s)), ("smtp_read_timeout", max(60, int(smtp.timeout_s)))]
    # templates/default/gitlab.yml.erb writes these three unquoted into gitlab.yml: a value YAML
    # would misread (": ", a leading "@", " #") goes in as a quoted YAML scalar.
    pairs.append(("gitlab_email_from", yaml_unquoted_safe(sender.address)))
    if sender.name:
        display_address(sender.name, sender.address)  # refuses a name with a line break
        pairs.append(("gitlab_email_display_name", yaml_unquoted_safe(sender.name)))
    if sender.reply_to:
        pairs.append(("gitlab_email_reply_to", yaml_unquoted_safe(sender.reply_to)))
    lines = [f"# {line}" for line in header(NAME, source, "/etc/gitlab/gitlab.rb").splitlines()]
    lines += [f"gitlab_rails['{key}'] = {ruby_value(value)}" for key, value in pairs]
    notes = ["Run 'sudo gitlab-ctl reconfigure', then test with Notify.test_email in 'gitlab-rails console'."]
    if smtp.security == "starttls":
        notes.append("GitLab uses STARTTLS when offered (smtp_enable_starttls_auto) but cannot require it.")
    return Export("\n".join(lines) + "\n", tuple(notes), tuple(pairs))


PROFILE = ClientProfile(
    app=NAME,
    library="Ruby mail gem with net-smtp (ActionMailer)",
    # gitlabhq/omnibus-gitlab files/gitlab-cookbooks/gitlab/templates/default/smtp_settings.rb.erb:
    # enable_starttls_auto (upgrades when offered, cannot require it); tls for implicit TLS.
    starttls="opportunistic",
    implicit_tls=True,
    verify_switch="smtp_openssl_verify_mode",  # gitlab.rb.template: none, peer, ...
    ca_file_setting="smtp_ca_file",  # attributes/default.rb: smtp_ca_file
    # smtp_helper.rb: smtp_authentication login/plain/cram_md5, sent as configured by ruby/net-smtp.
    auth_mechanisms=("PLAIN", "LOGIN", "CRAM-MD5"),
    auth_choice="configured",
    auth_setting="smtp_authentication",
    charset="utf-8",
    plaintext_login="anywhere",
    # attributes/default.rb: smtp_open_timeout 30, smtp_read_timeout 60.
    timeout_setting="smtp_open_timeout",
    default_timeout_s=30.0,
    helo="smtp_domain, else localhost.localdomain (mail gem default)",
    helo_setting="smtp_domain",
)

CONSEQUENCES = (
    Consequence(
        "gitlab_reconfigure",
        "warning",
        "everyone using GitLab",
        "'gitlab-ctl reconfigure' restarts Puma and Sidekiq. Password resets, notifications and sign-up confirmations depend on mail.",
        "Run reconfigure at a quiet time, then send a test with Notify.test_email in 'gitlab-rails console'.",
    ),
)

APP = App(
    id="gitlab",
    name=NAME,
    where="/etc/gitlab/gitlab.rb",
    blurb="Git hosting (Omnibus package)",
    profile=PROFILE,
    formats={"ruby": ("gitlab.rb lines", gitlab_rb)},
    default_format="ruby",
    consequences=CONSEQUENCES,
)


# --- import: the gitlab_rails['smtp_*'] assignments of gitlab.rb (smtpwizard doctor) --------------
# (imported here, at the end, so this block stays apart from the exports above)
from collections.abc import Mapping  # noqa: E402
from pathlib import Path  # noqa: E402

from smtpwizard.core.apps.readers import (  # noqa: E402
    RUBY_NOT_TLS,
    Collector,
    Contradiction,
    Imported,
    Unreadable,
    build,
    read_gitlab_rb,
    read_text,
)
from smtpwizard.core.settings import IMPLICIT_TLS_PORTS, Sender, SmtpSettings  # noqa: E402

DEFAULT_PATH = "/etc/gitlab/gitlab.rb"  # gitlabhq/omnibus-gitlab files/gitlab-config-template/gitlab.rb.template
FIELDS = {
    "host": "smtp_address",
    "port": "smtp_port",
    "security": "smtp_enable_starttls_auto / smtp_tls",
    "verify_certificate": "smtp_openssl_verify_mode",
    "ca_file": "smtp_ca_file",
    "auth": "smtp_authentication",
    "username": "smtp_user_name",
    "password": "smtp_password",
    "helo_domain": "smtp_domain",
    "timeout_s": "smtp_open_timeout",
}
_AUTH = {"plain": "plain", "login": "login", "cram_md5": "cram-md5", "false": "none", "none": "none", "": "none"}


def read_settings(path: Path, environ: Mapping[str, str]) -> Imported:
    """GitLab's SMTP settings as omnibus renders them (files/gitlab-cookbooks/gitlab/templates/default/
    smtp_settings.rb.erb, libraries/smtp_helper.rb: smtp_tls and smtp_enable_starttls_auto together
    stop reconfigure; smtp_authentication false/'none'/'' is no login)."""
    found = read_gitlab_rb(read_text(path), path, ("smtp_", "gitlab_email_"))
    read = Collector(path, found)
    yes, no = ("true",), ("false",)
    if not read.boolean("smtp_enable", False, yes, no):
        raise Unreadable(
            [f"{path}: smtp_enable is not true, so GitLab sends with sendmail and these settings are unused; "
             "set gitlab_rails['smtp_enable'] = true"]
        )  # fmt: skip
    tls = read.boolean("smtp_tls", False, yes, no)
    starttls = read.boolean("smtp_enable_starttls_auto", False, yes, no)
    method = read.choice("smtp_authentication", "none", tuple(_AUTH))
    verify = read.choice("smtp_openssl_verify_mode", "peer", ("peer", "none", "client_once", "fail_if_no_peer_cert"))
    port = read.integer("smtp_port", 25) or 25
    smtp = SmtpSettings(
        host=read.host("smtp_address", "localhost"),
        port=port,
        security="tls" if tls else ("starttls" if starttls else "none"),
        verify_certificate=verify != "none",
        ca_file=read.value("smtp_ca_file"),
        auth=_AUTH[method or "none"],  # type: ignore[arg-type]
        username=read.value("smtp_user_name") or None,
        helo_domain=read.value("smtp_domain") or None,
        timeout_s=float(read.integer("smtp_open_timeout", 30, 1, 300) or 30),
    )
    if smtp.username and not read.value("smtp_password"):
        # omnibus libraries/smtp_helper.rb: without smtp_password in gitlab.rb GitLab uses its encrypted SMTP secret
        read.add(
            "smtp_user_name",
            "is set but smtp_password is not in gitlab.rb, so GitLab logs in with its encrypted SMTP secret, "
            "which smtpwizard cannot read",
            "run the doctor on a copy of gitlab.rb with gitlab_rails['smtp_password'] filled in",
        )
    sender = read.address("gitlab_email_from", "gitlab@localhost")
    if read.value("gitlab_email_display_name"):
        sender = Sender(sender.address, read.value("gitlab_email_display_name"))
    read.raise_if_any()
    contradictions: list[Contradiction] = []
    if tls and starttls:
        wanted = "tls" if port in IMPLICIT_TLS_PORTS else "starttls"
        contradictions.append(
            Contradiction(
                "flags_contradict",
                ("smtp_tls", "smtp_enable_starttls_auto"),
                found["smtp_tls"].line,
                "smtp_tls and smtp_enable_starttls_auto are both true: 'gitlab-ctl reconfigure' stops with "
                "'gitlab_rails['smtp_tls'] and gitlab_rails['smtp_enable_starttls_auto'] are mutually exclusive'",
                f"set smtp_enable_starttls_auto to false (implicit TLS, port {port})"
                if wanted == "tls"
                else f"set smtp_tls to false (STARTTLS, port {port})",
                {"security": wanted},
            )
        )
    return build(
        app="gitlab", path=path, fmt="ruby", write_kind="gitlab_rb", found=read.kept("smtp_password"), smtp=smtp, sender=sender,
        fields=FIELDS, credential_key="smtp_password", contradictions=contradictions,
        notes=("Apply a change with 'sudo gitlab-ctl reconfigure'.",),
        symptoms={"tls_wrong_version": f"GitLab's Sidekiq log shows it as '{RUBY_NOT_TLS}'."},
    )  # fmt: skip
