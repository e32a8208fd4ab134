"""The provider step proposes a preset from the sender's domain (Pilot, the Knot DNS server on
loopback): the list's highlight moves, nothing is chosen until Enter, and a DNS failure, a
timeout or a stale answer changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static
from textual.worker import WorkerState

from smtpwizard.core.answers import WizardAnswers
from smtpwizard.ui.app import WizardApp
from smtpwizard.ui.steps.provider import ProviderStep
from tests.domain.knot import HoldingProxy, KnotServer, holding_proxy
from tests.ui.scenes import step, wizard_at


@pytest.fixture
def dns_env(dns_server: KnotServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTPWIZARD_DNS", dns_server.address)
    monkeypatch.setenv("SMTPWIZARD_DNS_TIMEOUT", "1")


@pytest.fixture
def held(dns_server: KnotServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[HoldingProxy]:
    """The Knot server behind a proxy that holds every question about fastmail-ok.test until released."""
    with holding_proxy(dns_server.port, "fastmail-ok.test") as proxy:
        monkeypatch.setenv("SMTPWIZARD_DNS", f"127.0.0.1:{proxy.port}")
        monkeypatch.setenv("SMTPWIZARD_DNS_TIMEOUT", "20")  # held questions wait for the release, not a timeout
        yield proxy


def provider_step(tmp_path: Path, answers: WizardAnswers | None = None) -> WizardApp:
    return wizard_at("provider", answers or WizardAnswers(), tmp_path / "config.yaml")


def line(app: WizardApp) -> str:
    proposal = app.screen.query_one("#proposal", Static)
    return str(proposal.render()) if proposal.display else ""


def highlighted(app: WizardApp) -> str | None:
    screen = app.screen
    assert isinstance(screen, ProviderStep)
    provider = screen.highlighted()
    return provider.id if provider else None


async def type_sender(pilot: Pilot[int], text: str, *, then: str = "enter") -> None:
    """Shift+Tab from the filter to the Sender field, type ``text``, then leave with ``then``."""
    await pilot.press("shift+tab")
    assert pilot.app.focused is pilot.app.screen.query_one("#sender-hint", Input)
    await pilot.press(*text)
    if then:
        await pilot.press(then)


async def newest_lookup(app: WizardApp) -> None:
    """Until the latest look-up the step started has finished (older ones may still hang)."""
    lookups = [w for w in app.workers if w.group == "proposal" and w.state != WorkerState.CANCELLED]
    if lookups:  # a finished worker has already left the list
        await lookups[-1].wait()


async def settle(app: WizardApp, pilot: Pilot[int]) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


MX_CASES = [
    ("google-ok.test", "google_workspace_relay", "Google Workspace SMTP relay", "aspmx.l.google.com"),
    ("m365-ok.test", "microsoft365", "Microsoft 365 / Exchange Online", "m365-ok-test.mail.protection.outlook.com"),
    ("fastmail-ok.test", "fastmail", "Fastmail", "in1-smtp.messagingengine.com"),
]


@pytest.mark.parametrize(("domain", "preset", "name", "mx"), MX_CASES)
async def test_the_domains_mailbox_host_is_highlighted_and_enter_chooses_it(
    tmp_path: Path, dns_env: None, domain: str, preset: str, name: str, mx: str
) -> None:
    app = provider_step(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        assert highlighted(app) != preset
        await type_sender(pilot, f"me@{domain}")
        await settle(app, pilot)
        assert line(app) == f"{domain}'s mail is hosted by {name} (MX {mx}): highlighted below; Enter chooses it."
        assert highlighted(app) == preset
        assert app.answers.provider == "custom"  # highlighted, not chosen
        assert app.focused is app.screen.query_one("#filter", Input)
        await pilot.press("enter")
        await pilot.pause()
        assert step(app) == "connection"
        assert app.answers.provider == preset
        assert app.answers.sender_address == f"me@{domain}"  # a full address pre-fills the sender step


async def test_a_proposal_hidden_by_the_filter_says_so_and_shows_once_the_filter_is_cleared(
    tmp_path: Path, dns_env: None
) -> None:
    app = provider_step(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press(*"ses")
        assert highlighted(app) == "amazon_ses"
        await type_sender(pilot, "me@google-ok.test")
        await settle(app, pilot)
        assert line(app) == (
            "google-ok.test's mail is hosted by Google Workspace SMTP relay (MX aspmx.l.google.com): "
            "clear the filter to see Google Workspace SMTP relay."
        )
        assert highlighted(app) == "amazon_ses"
        await pilot.press("backspace", "backspace", "backspace")
        assert highlighted(app) == "google_workspace_relay"


async def test_the_data_centre_the_mx_points_to_is_the_region_shown(tmp_path: Path, dns_env: None) -> None:
    app = provider_step(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await type_sender(pilot, "me@zoho-mx.test")
        await settle(app, pilot)
        assert highlighted(app) == "zoho"
        assert app.screen.query_one("#region", Select).value == "smtp.zoho.eu"
        await pilot.press("enter")
        await pilot.pause()
        assert (app.answers.provider, app.answers.host) == ("zoho", "smtp.zoho.eu")


async def test_a_self_hosted_server_found_by_srv_is_filled_in_when_custom_is_chosen(
    tmp_path: Path, dns_env: None
) -> None:
    app = provider_step(tmp_path, WizardAnswers(provider="sendgrid", host="smtp.sendgrid.net", username="apikey"))
    async with app.run_test(size=(100, 40)) as pilot:
        await type_sender(pilot, "srv-only.test", then="tab")  # a bare domain, and leaving by Tab
        await settle(app, pilot)
        assert line(app) == (
            "srv-only.test runs its own submission server (SRV _submissions._tcp.srv-only.test: "
            "mail.srv-only.test port 465, implicit TLS): Custom server is highlighted below; choosing it fills in "
            "that server."
        )
        assert highlighted(app) == "custom" and app.answers.provider == "sendgrid"
        await pilot.press("enter")
        await pilot.pause()
        assert step(app) == "connection"
        answers = app.answers
        assert (answers.provider, answers.host, answers.port, answers.security) == (
            "custom",
            "mail.srv-only.test",
            "465",
            "tls",
        )
        assert answers.sender_address == ""  # a bare domain is no sender address
        assert answers.sender_hint == "srv-only.test"


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("me@missing.sendgrid-ok.test", "No proposal: missing.sendgrid-ok.test does not exist (NXDOMAIN); "),
        ("me@nothing.test", "No proposal: nothing.test's MX matches no preset and it publishes no submission SRV"),
        ("me@servfail.test", "No proposal: DNS failed for servfail.test (SERVFAIL for MX servfail.test); "),
        ("me@example.com", "No proposal: example.com is reserved for examples and has no DNS"),
    ],
)
async def test_no_proposal_says_why_and_changes_nothing(tmp_path: Path, dns_env: None, typed: str, said: str) -> None:
    app = provider_step(tmp_path, WizardAnswers(provider="sendgrid", host="smtp.sendgrid.net", username="apikey"))
    async with app.run_test(size=(100, 40)) as pilot:
        await type_sender(pilot, typed)
        await settle(app, pilot)
        assert line(app).startswith(said)
        assert highlighted(app) == "sendgrid"
        await pilot.press("enter")
        await pilot.pause()
        assert (app.answers.provider, app.answers.host) == ("sendgrid", "smtp.sendgrid.net")


async def test_a_timed_out_lookup_says_so_plainly(
    tmp_path: Path, slow_dns_server: KnotServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTPWIZARD_DNS", slow_dns_server.address)
    monkeypatch.setenv("SMTPWIZARD_DNS_TIMEOUT", "0.3")
    app = provider_step(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await type_sender(pilot, "me@slow.test")
        assert line(app) == "Looking up the mail servers of me@slow.test (MX, SRV)…"
        await settle(app, pilot)
        assert line(app) == "No proposal: DNS timed out for slow.test; press Enter in the field to try again."
        assert highlighted(app) == "custom" and app.answers.provider == "custom"


async def test_an_older_answer_arriving_after_a_newer_one_is_discarded(tmp_path: Path, held: HoldingProxy) -> None:
    app = provider_step(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await type_sender(pilot, "me@fastmail-ok.test")  # held at the proxy
        await pilot.press("shift+tab", *["backspace"] * len("fastmail-ok.test"), *"google-ok.test", "enter")
        await newest_lookup(app)  # the newer question is answered at once
        await pilot.pause()
        assert line(app).startswith("google-ok.test's mail is hosted by Google Workspace SMTP relay")
        assert held.waiting  # the older question was asked, and is still unanswered
        held.release()
        assert held.wait_relayed()  # now its answer went out
        await settle(app, pilot)
        assert line(app).startswith("google-ok.test's mail is hosted by Google Workspace SMTP relay")
        assert highlighted(app) == "google_workspace_relay"


async def test_an_answer_for_a_value_edited_since_is_discarded(tmp_path: Path, held: HoldingProxy) -> None:
    app = provider_step(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await type_sender(pilot, "me@fastmail-ok.test")
        await pilot.press("shift+tab", "backspace")  # still typing in the field: no new look-up yet
        held.release()
        await settle(app, pilot)
        assert "Fastmail" not in line(app)
        assert highlighted(app) == "custom"


async def test_the_step_stays_usable_while_a_lookup_hangs(tmp_path: Path, held: HoldingProxy) -> None:
    app = provider_step(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await type_sender(pilot, "me@fastmail-ok.test")
        assert line(app) == "Looking up the mail servers of me@fastmail-ok.test (MX, SRV)…"
        before = highlighted(app)
        await pilot.press("up")  # the list moves from the filter while the question hangs
        moved = highlighted(app)
        assert moved not in (None, before)
        await pilot.press("enter")
        await pilot.pause()
        assert step(app) == "connection" and app.answers.provider == moved
        assert held.waiting and not held.wait_relayed(0)  # it was still hanging when Enter picked


async def test_an_address_typed_in_the_sender_step_is_not_replaced(tmp_path: Path, dns_env: None) -> None:
    app = provider_step(tmp_path, WizardAnswers(sender_address="news@other.test"))
    async with app.run_test(size=(100, 40)) as pilot:
        await type_sender(pilot, "me@fastmail-ok.test")
        await settle(app, pilot)
        await pilot.press("enter")
        await pilot.pause()
        assert app.answers.provider == "fastmail" and app.answers.sender_address == "news@other.test"


async def test_edit_mode_shows_the_configs_sender_and_looks_it_up_on_enter(tmp_path: Path, dns_env: None) -> None:
    from smtpwizard.core.config import parse_document

    config = parse_document(
        {
            "version": 1,
            "provider": "custom",
            "smtp": {"host": "mail.example.net", "port": 587, "security": "starttls"},
            "sender": {"address": "app@m365-ok.test"},
        },
        "config",
    ).config
    app = provider_step(tmp_path, WizardAnswers.from_config(config))
    async with app.run_test(size=(100, 40)) as pilot:
        field = app.screen.query_one("#sender-hint", Input)
        assert field.value == "app@m365-ok.test"
        await pilot.press("shift+tab", "tab")  # passing through the field looks nothing up
        await settle(app, pilot)
        assert line(app) == "" and highlighted(app) == "custom"
        await pilot.press("shift+tab", "enter")
        await settle(app, pilot)
        assert highlighted(app) == "microsoft365" and app.answers.provider == "custom"
        assert not app.would_lose_answers()  # the same sender, nothing chosen: quitting loses nothing
