"""The apps smtpwizard configures mail for."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    id: str
    name: str
    where: str  # where the app reads its mail settings, in the user's words
    blurb: str  # what the app is, in a few words


TARGETS: tuple[Target, ...] = (
    Target(
        "posthog", "PostHog", "environment of the web and worker containers, or Helm values.yaml", "product analytics"
    ),
    Target(
        "forem",
        "Forem",
        "Admin > Customization > Config, or SMTP_* environment defaults",
        "community platform (like DEV)",
    ),
    Target("sourcegraph", "Sourcegraph", "site configuration (email.address, email.smtp)", "code search"),
    Target("mattermost", "Mattermost", "config.json EmailSettings, or MM_EMAILSETTINGS_* environment", "team chat"),
    Target("selfmx", "SelfMX", "SMTP_* environment variables", "self-hosted email API"),
    Target("mastodon", "Mastodon", ".env.production", "social network server"),
    Target("discourse", "Discourse", "containers/app.yml env section", "discussion forum"),
    Target("gitlab", "GitLab", "/etc/gitlab/gitlab.rb", "Git hosting (Omnibus package)"),
    Target("django", "Django", "settings.py or the environment", "any Django site"),
)
TARGET_IDS: tuple[str, ...] = tuple(t.id for t in TARGETS)


def get_target(target_id: str) -> Target:
    for target in TARGETS:
        if target.id == target_id:
            return target
    raise KeyError(target_id)
