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
