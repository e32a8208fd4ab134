"""GitLab Omnibus: ``/etc/gitlab/gitlab.rb``."""

from __future__ import annotations

from smtpwizard.core.exporters import Export, Exporter, Source, header
from smtpwizard.core.exporters.formats import Scalar, ruby_value

APP = "GitLab"


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
    pairs.append(("gitlab_email_from", sender.address))
    if sender.name:
        pairs.append(("gitlab_email_display_name", sender.name))
    if sender.reply_to:
        pairs.append(("gitlab_email_reply_to", sender.reply_to))
    lines = [f"# {line}" for line in header(APP, source, "/etc/gitlab/gitlab.rb").splitlines()]
    lines += [f"gitlab_rails['{key}'] = {ruby_value(value)}" for key, value in pairs]
    notes = ["Run 'sudo gitlab-ctl reconfigure', then test with Notify.test_email in 'gitlab-rails console'."]
    if smtp.security == "starttls":
        notes.append("GitLab uses STARTTLS when offered (smtp_enable_starttls_auto) but cannot require it.")
    return Export("\n".join(lines) + "\n", tuple(notes), tuple(pairs))


EXPORTER = Exporter("gitlab", APP, {"ruby": ("gitlab.rb lines", gitlab_rb)}, "ruby")
