"""The live-test step shows the sender-domain check after SMTP passes (Pilot, a real SMTP server
and the Knot DNS server on loopback)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from textual.widgets import Static

from smtpwizard.ui.widgets.domain_check import DomainCheckPanel
from tests.conftest import TEST_SECRET, MemoryKeyring
from tests.domain.knot import KnotServer
from tests.servers import smtp_server
from tests.ui.scenes import answers_for, wizard_at


@pytest.fixture
def dns_env(dns_server: KnotServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTPWIZARD_DNS", dns_server.address)


async def test_a_passing_test_is_followed_by_the_records_the_domain_lacks(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, memory_keyring: MemoryKeyring, dns_env: None
) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, _):
        answers = answers_for(server.port, ca_file, TEST_SECRET)
        answers.provider, answers.sender_address = "sendgrid", "notifications@no-dkim.test"
        app = wizard_at("live_test", answers, tmp_path / "config.yaml")
        async with app.run_test(size=(100, 60)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            await app.workers.wait_for_complete()  # the domain check starts once the SMTP test is done
            await pilot.pause()
            panel = app.screen.query_one("#domain-check", DomainCheckPanel)
            assert app.last_report is not None and app.last_report.ok
            assert panel.display and panel.report is not None and panel.report.verdict == "problems"
            text = str(panel.render())
            assert text.startswith("Sender domain no-dkim.test with SendGrid\n")
            assert text.endswith(
                "Not ready: add or fix these records at your DNS host, or mail may go to spam or be rejected."
            )
            assert "✗ DKIM: SendGrid's key records are missing" in text
            assert "s1._domainkey.no-dkim.test  CNAME  s1.domainkey.u<ACCOUNT_ID>.wl<NUMBER>.sendgrid.net" in text
            assert "✓ SPF: no-dkim.test publishes one valid record" in text
            assert "The test passed" in str(app.screen.query_one("#outcome", Static).render())


async def test_a_failed_test_or_an_example_domain_shows_no_domain_check(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, memory_keyring: MemoryKeyring, dns_env: None
) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, _):
        for password, address in (("wrong-password", "a@no-dkim.test"), (TEST_SECRET, "a@example.com")):
            answers = answers_for(server.port, ca_file, password)
            answers.provider, answers.sender_address = "sendgrid", address
            app = wizard_at("live_test", answers, tmp_path / "config.yaml")
            async with app.run_test(size=(100, 60)) as pilot:
                await app.workers.wait_for_complete()
                await pilot.pause()
                assert (app.last_report is not None) == (password == TEST_SECRET)
                panel = app.screen.query_one("#domain-check", DomainCheckPanel)
                assert not panel.display and panel.report is None


async def test_a_custom_server_is_told_which_preset_the_domain_points_to(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, memory_keyring: MemoryKeyring, dns_env: None
) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, _):
        answers = answers_for(server.port, ca_file, TEST_SECRET)  # provider: custom
        answers.sender_address = "notifications@fastmail-ok.test"
        app = wizard_at("live_test", answers, tmp_path / "config.yaml")
        async with app.run_test(size=(100, 60)) as pilot:
            for _ in range(2):  # the SMTP test, then the domain check it starts
                await app.workers.wait_for_complete()
                await pilot.pause()
            panel = app.screen.query_one("#domain-check", DomainCheckPanel)
            assert panel.proposal is not None and panel.proposal.provider_id == "fastmail"
            assert str(panel.render()).startswith(
                "Proposed from your domain: Fastmail. fastmail-ok.test receives its mail at "
                "in1-smtp.messagingengine.com, a Fastmail server, so Fastmail is the likely sender."
            )
