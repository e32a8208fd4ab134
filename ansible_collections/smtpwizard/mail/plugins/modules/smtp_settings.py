#!/usr/bin/python
# Copyright: smtpwizard contributors
# MIT License (see the repository's LICENSE)
"""Ansible module smtp_settings: wanted mail settings for one app on the managed host."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: smtp_settings
short_description: Test an app's mail settings from the managed host, then write them into the app's own file
description:
  - Reads the mail settings of one self-hosted app (GitLab, Mattermost, Discourse, Mastodon, PostHog, ...) from
    the app's own file, with the app's own rules, using smtpwizard on the managed host.
  - Lays the settings given to the task over them (a provider preset first, then each option given; options not
    given keep what the file has).
  - Runs smtpwizard's live test B(from the managed host), speaking as the app's mail client would (its STARTTLS
    policy, AUTH choice and certificate rules).
  - Writes only the mail keys that differ into the app's file, and only when the test passed; the file keeps its
    owner, group and mode, and its previous version goes to smtpwizard's backups folder of the remote user.
  - Nothing is stored in an OS keyring on the managed host; the password goes only into the app's file.
  - The password is never shown in a result, diff, warning or failure message.
version_added: "0.1.0"
author:
  - smtpwizard contributors (@smtpwizard)
requirements:
  - smtpwizard (Python 3.11 or later) importable by the Python that runs the module on the managed host
options:
  app:
    description: The app whose mail settings these are.
    type: str
    required: true
    choices: [posthog, forem, sourcegraph, mattermost, selfmx, gitea, authentik, ghost, mastodon, discourse, gitlab, django]
  path:
    description:
      - The app's settings file (for example C(/etc/gitlab/gitlab.rb)).
      - Default is where the app keeps it, for apps that have such a place.
      - The file must exist. When it holds none of the app's mail keys yet, all of them are added; O(host) and
        O(sender) must then be given.
    type: path
  env_file:
    description:
      - A docker-compose.yml or .env whose environment the app gets (for example Mattermost's
        C(MM_EMAILSETTINGS_*) overrides), read as overrides of the file.
      - The module's own environment is never read as the app's.
    type: path
  provider:
    description:
      - A provider preset of smtpwizard (for example C(sendgrid), C(amazon_ses), C(microsoft365)), giving the
        host, port, security and username the provider documents; options given explicitly win.
    type: str
  host:
    description: The SMTP server's host name.
    type: str
  port:
    description: The SMTP server's port.
    type: int
  security:
    description: C(starttls) (usually port 587), C(tls) (implicit TLS, usually port 465) or C(none).
    type: str
    choices: [starttls, tls, none]
  verify_certificate:
    description: Whether the app checks the server's certificate (apps without such a setting always do).
    type: bool
  ca_file:
    description: The CA file (PEM) the app trusts for this server, for apps that have such a setting.
    type: path
  auth:
    description: How the app logs in.
    type: str
    choices: [auto, plain, login, cram-md5, none]
  username:
    description: The SMTP login.
    type: str
  password:
    description:
      - The SMTP password; keep it in Ansible Vault.
      - Given, it is used for the test and written into the app's file; not given, the file's password is kept.
    type: str
  sender:
    description: The From address the app sends as.
    type: str
  sender_name:
    description: The From display name, where the app has one.
    type: str
  reply_to:
    description: The Reply-To address, where the app has one.
    type: str
  timeout:
    description: The app's SMTP timeout in seconds, where the app has one.
    type: float
  send_test_to:
    description: Also send a test message to this address during the live test.
    type: str
notes:
  - Supports C(check_mode) (the live test runs, nothing is written) and C(diff) (the file before and after,
    with every password masked).
  - The live test runs on every run, so a task that changes nothing still proves that mail works from the host.
attributes:
  check_mode:
    support: full
    description: The live test runs; the change is reported, not written.
  diff_mode:
    support: full
    description: The app's file before and after, every password masked.
seealso:
  - module: smtpwizard.mail.smtp_check
"""

EXAMPLES = r"""
- name: Mattermost sends through SendGrid, tested from this host
  smtpwizard.mail.smtp_settings:
    app: mattermost
    path: /opt/mattermost/config/config.json
    provider: sendgrid
    password: "{{ vault_sendgrid_api_key }}"
    sender: chat@example.com

- name: GitLab through the company relay on 587 (STARTTLS)
  smtpwizard.mail.smtp_settings:
    app: gitlab
    host: smtp.example.com
    port: 587
    security: starttls
    username: gitlab@example.com
    password: "{{ vault_smtp_password }}"
    sender: gitlab@example.com
"""

RETURN = r"""
msg:
  description: What happened, in one line.
  returned: always
  type: str
  sample: "Mattermost's settings pass the test from this host; wrote in config.json: set SMTPPort to \"587\"."
app:
  description: The app's id.
  returned: success
  type: str
  sample: mattermost
path:
  description: The app's settings file.
  returned: success
  type: str
  sample: /opt/mattermost/config/config.json
settings:
  description: The settings tested and written, the password masked.
  returned: success
  type: dict
  sample: {"host": "smtp.sendgrid.net", "port": 587, "security": "starttls", "password": "********"}
test:
  description: What the live test from this host proved (stages, TLS version, AUTH mechanism, time taken).
  returned: success
  type: dict
  sample: {"ok": true, "tls_version": "TLSv1.3", "auth_mechanism": "PLAIN", "elapsed_s": 0.21}
keys_changed:
  description: The app's keys whose value changes (the password named as C((password)), never shown).
  returned: success
  type: list
  elements: str
  sample: ["SMTPPort", "(password)"]
keys_removed:
  description: The app's keys commented out or removed because the settings must not have them.
  returned: success
  type: list
  elements: str
  sample: []
backup_path:
  description: Where the previous version of the file was saved, when it was written.
  returned: changed and not check mode
  type: str
  sample: /root/.config/smtpwizard/backups/config.json.3f2a9c1b0d4e.bak
notes:
  description: What to do after the change (for example restart the app).
  returned: success
  type: list
  elements: str
  sample: ["Use System Console > Environment > SMTP > Test Connection after restarting."]
diagnosis:
  description: Why the test failed (code, title, explanation, fix, exit code, settings change).
  returned: failed
  type: dict
  sample: {"code": "connect_timeout", "title": "No answer from the server", "fix": "..."}
"""

# Ansible modules keep their documentation first, then the imports.
from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402

from ansible_collections.smtpwizard.mail.plugins.module_utils.app_mail import (  # noqa: E402
    APPS,
    HAS_SMTPWIZARD,
    IMPORT_ERROR,
    TaskFailed,
    Wanted,
    converge,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "app": {"type": "str", "required": True, "choices": APPS},
            "path": {"type": "path"},
            "env_file": {"type": "path"},
            "provider": {"type": "str"},
            "host": {"type": "str"},
            "port": {"type": "int"},
            "security": {"type": "str", "choices": ["starttls", "tls", "none"]},
            "verify_certificate": {"type": "bool"},
            "ca_file": {"type": "path"},
            "auth": {"type": "str", "choices": ["auto", "plain", "login", "cram-md5", "none"]},
            "username": {"type": "str"},
            "password": {"type": "str", "no_log": True},
            "sender": {"type": "str"},
            "sender_name": {"type": "str"},
            "reply_to": {"type": "str"},
            "timeout": {"type": "float"},
            "send_test_to": {"type": "str"},
        },
        supports_check_mode=True,
    )
    if not HAS_SMTPWIZARD:
        module.fail_json(msg=missing_required_lib("smtpwizard"), exception=IMPORT_ERROR)
    params = dict(module.params)
    params["timeout_s"] = params.pop("timeout")
    try:
        result = converge(Wanted(**params), check_mode=module.check_mode)
    except TaskFailed as failure:
        failure.result.pop("diff", None)
        module.fail_json(msg=failure.msg, **failure.result)
    diff = result.pop("diff")
    for warning in result.pop("warnings"):
        module.warn(warning)
    if module._diff and result["changed"]:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
