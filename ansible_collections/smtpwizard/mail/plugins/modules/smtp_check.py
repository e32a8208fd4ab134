#!/usr/bin/python
# Copyright: smtpwizard contributors
# MIT License (see the repository's LICENSE)
"""Ansible module smtp_check: smtpwizard's doctor on an app's existing mail settings."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: smtp_check
short_description: Check an app's existing mail settings from the managed host, as the app will use them
description:
  - Runs C(smtpwizard doctor) on the managed host. It reads one app's mail settings from its own file with the app's
    own rules, names contradictions before any connection, and runs the live test as the app's mail client would.
  - Returns the diagnosis (code, title, fix in the app's own keys, proposed change) as data.
  - Fails the task with the one-line diagnosis when mail would not work; changes nothing.
  - The password read from the app's file is used for the test only and never shown.
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
    description: The app's settings file; default is where the app keeps it, for apps that have such a place.
    type: path
  env_file:
    description:
      - A docker-compose.yml or .env whose environment the app gets, read as overrides of the file.
      - The module's own environment is never read as the app's.
    type: path
  ca_file:
    description: The CA (PEM) to trust for this server; an untrusted certificate's fix then sets the app's CA file.
    type: path
  send_test_to:
    description: Also send a test message to this address.
    type: str
notes:
  - Changes nothing, so check mode runs it in full.
attributes:
  check_mode:
    support: full
    description: The module changes nothing in any mode.
  diff_mode:
    support: none
    description: The proposed change is returned as data (C(proposed_change.diff)), not as a diff.
seealso:
  - module: smtpwizard.mail.smtp_settings
"""

EXAMPLES = r"""
- name: Check GitLab's mail as GitLab will send it
  smtpwizard.mail.smtp_check:
    app: gitlab
    path: /etc/gitlab/gitlab.rb

- name: Collect diagnoses without stopping the play
  smtpwizard.mail.smtp_check:
    app: mattermost
  register: mail
  ignore_errors: true

- name: Show the fix of the hosts where mail is broken
  ansible.builtin.debug:
    msg: "{{ mail.diagnosis.fix }}"
  when: mail.diagnosis
"""

RETURN = r"""
msg:
  description: The result or the diagnosis, in one line.
  returned: always
  type: str
  sample: "GitLab (/etc/gitlab/gitlab.rb) would not send mail: ..."
outcome:
  description: C(works), C(contradiction) (found before any connection) or C(failed).
  returned: always
  type: str
  sample: works
settings:
  description: The settings read from the app's file, the password masked, with the line of each key.
  returned: always
  type: dict
  sample: {"host": "smtp.example.com", "port": 587, "password": "********"}
contradictions:
  description: Settings of the app that contradict each other, found before any connection.
  returned: always
  type: list
  elements: dict
  sample: []
test:
  description: What the live test from this host proved; null when a contradiction stopped it.
  returned: always
  type: dict
  sample: {"ok": true, "tls_version": "TLSv1.3", "elapsed_s": 0.2}
diagnosis:
  description: Why mail would not work (code, title, explanation, fix in the app's keys, exit code); null when it works.
  returned: always
  type: dict
  sample: {"code": "starttls_on_implicit", "title": "...", "fix": "Set ConnectionSecurity to \"TLS\" in config.json."}
notes:
  description: What the doctor noticed about the file (for example values overridden by the environment, how to apply a change).
  returned: always
  type: list
  elements: str
  sample: ["Apply a change with 'sudo gitlab-ctl reconfigure'."]
proposed_change:
  description: The change of the diagnosis as the app's keys, with a diff of the app's file (password masked).
  returned: always
  type: dict
  sample: {"set": [{"key": "SMTPPort", "value": "\"465\""}], "remove": [], "writes_password": false, "diff": "..."}
"""

# Ansible modules keep their documentation first, then the imports.
from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402

from ansible_collections.smtpwizard.mail.plugins.module_utils.app_mail import (  # noqa: E402
    APPS,
    HAS_SMTPWIZARD,
    IMPORT_ERROR,
    TaskFailed,
    check,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "app": {"type": "str", "required": True, "choices": APPS},
            "path": {"type": "path"},
            "env_file": {"type": "path"},
            "ca_file": {"type": "path"},
            "send_test_to": {"type": "str"},
        },
        supports_check_mode=True,
    )
    if not HAS_SMTPWIZARD:
        module.fail_json(msg=missing_required_lib("smtpwizard"), exception=IMPORT_ERROR)
    p = module.params
    try:
        result = check(p["app"], p["path"], p["env_file"], p["ca_file"], p["send_test_to"])
    except TaskFailed as failure:
        module.fail_json(msg=failure.msg, **failure.result)
    for warning in result.pop("warnings"):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
