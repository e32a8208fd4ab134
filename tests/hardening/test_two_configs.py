"""Two config files never share one keyring entry (issue 10, item 7): applying a second config
for the same profile, user, host and port, with another password and --skip-test, leaves the
first config's verified password where it was, so the first still passes its test. With the
real Secret Service."""

from __future__ import annotations

import ssl
from pathlib import Path

import yaml

from smtpwizard.core.exit_codes import ExitCode
from tests.cli.test_headless_subprocess import keyring_lookup, smtpwizard
from tests.conftest import TEST_SECRET
from tests.servers import USERNAME, smtp_server

OTHER_PASSWORD = "the-staging-password-0c41"


def test_a_second_config_for_the_same_settings_does_not_replace_the_first_ones_password(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, secret_service: dict[str, str]
) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, mailbox):
        source = tmp_path / "input.yaml"
        source.write_text(
            f"version: 1\nprofile: default\nsmtp:\n  host: 127.0.0.1\n  port: {server.port}\n  security: starttls\n"
            f"  ca_file: {ca_file}\n  username: {USERNAME}\n  password: {{stdin: true}}\n"
            "sender:\n  address: app@example.com\n"
        )
        first, second = tmp_path / "prod" / "config.yaml", tmp_path / "staging" / "config.yaml"
        applied = smtpwizard(
            "apply", str(source), "--config", str(first), "--yes", env=secret_service, stdin=TEST_SECRET + "\n"
        )
        assert applied.returncode == ExitCode.OK, applied.stdout + applied.stderr
        again = smtpwizard(
            "apply",
            str(source),
            "--config",
            str(second),
            "--yes",
            "--skip-test",
            env=secret_service,
            stdin=OTHER_PASSWORD + "\n",
        )
        assert again.returncode == ExitCode.OK, again.stdout + again.stderr
        retest = smtpwizard("test", "--config", str(first), env=secret_service)
    assert retest.returncode == ExitCode.OK, retest.stdout + retest.stderr
    refs = [yaml.safe_load(path.read_text())["smtp"]["password"]["keyring"]["account"] for path in (first, second)]
    assert refs[0] != refs[1]
    assert keyring_lookup(secret_service, refs[0]) == TEST_SECRET
    assert keyring_lookup(secret_service, refs[1]) == OTHER_PASSWORD
    assert len(mailbox.auth_attempts) == 2  # the first apply and the retest; --skip-test logged in nowhere
