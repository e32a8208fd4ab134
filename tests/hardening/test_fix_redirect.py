"""Apply fix never moves the password to another host (issue 11, item 1).

An attacker on the path can present a valid certificate for a name of their own. The
certificate-name mismatch that follows must not turn into a one-key 'host: <their name>'
that re-tests at once and sends them the login."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from smtpwizard.core.diagnose import Diagnosis, diagnose
from smtpwizard.core.exit_codes import ExitCode
from smtpwizard.core.probe import run_probe
from smtpwizard.core.settings import Secret, SmtpSettings
from smtpwizard.ui.steps.live_test import LiveTestStep
from smtpwizard.ui.widgets.diagnosis import DiagnosisPanel
from tests.conftest import TEST_SECRET, MemoryKeyring
from tests.servers import USERNAME, smtp_server
from tests.ui.scenes import answers_for, wizard_at


async def test_pressing_f_on_a_certificate_for_another_name_sends_no_login_and_keeps_the_host(
    tmp_path: Path, wrong_host_tls: ssl.SSLContext, ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    config = tmp_path / "config.yaml"
    with smtp_server(password=TEST_SECRET, starttls_context=wrong_host_tls) as (server, mailbox):
        app = wizard_at("live_test", answers_for(server.port, ca_file, TEST_SECRET), config)
        async with app.run_test(size=(100, 40)) as pilot:
            screen = app.screen
            assert isinstance(screen, LiveTestStep)
            while screen.report is None:
                await pilot.pause(0.05)
                await app.workers.wait_for_complete()
            assert screen.diagnosis is not None and screen.diagnosis.code == "cert_hostname"
            shown = str(screen.query_one("#diagnosis", DiagnosisPanel).render())
            assert "mail.elsewhere.test" in shown  # the name is offered as advice...
            await pilot.press("f")
            await pilot.pause()
            await app.workers.wait_for_complete()
            assert app.answers.host == "127.0.0.1"  # ...and never applied by one key
            assert screen.diagnosis is not None and screen.diagnosis.code == "cert_hostname"
            assert "Apply fix" not in shown
    assert mailbox.auth_attempts == []  # no AUTH reached this server (or, by the host, any other)
    assert not config.exists()


async def test_a_certificate_mismatch_is_advice_in_every_front_end(
    wrong_host_tls: ssl.SSLContext, ca_file: str
) -> None:
    """The headless output's 'Change in the file' and --json's settings_change come from the same object."""
    with smtp_server(password=TEST_SECRET, starttls_context=wrong_host_tls) as (server, mailbox):
        s = SmtpSettings("127.0.0.1", server.port, ca_file=ca_file, username=USERNAME)
        report = await run_probe(s, Secret(TEST_SECRET))
    diagnosis = diagnose(report, s)
    assert diagnosis is not None and diagnosis.settings_change is None and diagnosis.change_summary() is None
    assert diagnosis.to_dict()["settings_change"] is None
    assert "mail.elsewhere.test" in diagnosis.fix and "will not change the host" in diagnosis.fix
    assert mailbox.auth_attempts == []


def test_no_diagnosis_can_carry_a_host_change() -> None:
    """The rule lives in the Diagnosis itself, so a future catalog entry cannot slip one in."""
    with pytest.raises(ValueError, match="advice"):
        Diagnosis("x", "t", "e", "f", ExitCode.PROTOCOL, {"host": "mx.attacker.test"})
