"""Snapshot tests of every step, the diagnosis panel and the dialogs, at 80x24.

Pictures must be reproducible: a fixed server port and fixed paths, the app's stable mode
(no spinner, no timings, no cursor blink), and the test time pinned before it is shown.
Review tests/ui/snapshot_report.html before running with --snapshot-update.
"""

from __future__ import annotations

import fcntl
import shutil
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from keyring.backends import fail

from tests.conftest import TEST_SECRET, MemoryKeyring, using_keyring
from tests.servers import smtp_server
from tests.ui.scenes import answers_for, wizard_at

SIZE = (80, 24)
PORT = 38587
ROOT = Path("/tmp/smtpwizard-snapshots")
PINNED_AT = "2026-11-22T10:00:00Z"


@pytest.fixture(scope="module")
def fixed_ca(ca: Any) -> Iterator[str]:
    # The fixed folder is shared by every checkout on the machine: one run at a time uses it.
    with open(f"{ROOT}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ROOT.mkdir(exist_ok=True)
        path = ROOT / "ca.pem"
        ca.cert_pem.write_to_path(str(path))
        yield str(path)
        shutil.rmtree(ROOT, ignore_errors=True)


@pytest.fixture(scope="module")
def server(good_tls: ssl.SSLContext, fixed_ca: str) -> Iterator[None]:  # its port is fixed too: under the lock
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls, port=PORT):
        yield


@pytest.fixture(autouse=True)
def clean_config(memory_keyring: MemoryKeyring, ca: Any) -> None:
    (ROOT / "config.yaml").unlink(missing_ok=True)
    ROOT.mkdir(exist_ok=True)  # a checkout without the lock may have removed the folder meanwhile
    ca.cert_pem.write_to_path(str(ROOT / "ca.pem"))


def app_at(step: str, ca_file: str, **changes: Any) -> Any:
    answers = answers_for(PORT, ca_file, TEST_SECRET)
    for key, value in changes.items():
        setattr(answers, key, value)
    return wizard_at(step, answers, ROOT / "config.yaml")


async def finish_test(pilot: Any) -> None:
    await pilot.app.workers.wait_for_complete()
    # The verdict is scrolled into view after the next refresh (call_after_refresh); on a
    # loaded machine one pause can return before that refresh, and the picture catches the
    # stages half scrolled. Let the refresh, the scroll and its repaint all happen.
    for _ in range(3):
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
    if pilot.app.last_report is not None:
        pilot.app.last_report.started_at = PINNED_AT


def keys_after_test(*keys: str) -> Callable[[Any], Any]:
    async def run(pilot: Any) -> None:
        await finish_test(pilot)
        for key in keys:
            await pilot.press(key)
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()

    return run


@pytest.mark.parametrize("step", ["target", "provider", "connection", "credentials", "sender", "consequences"])
def test_step(snap_compare: Any, server: None, fixed_ca: str, step: str) -> None:
    assert snap_compare(app_at(step, fixed_ca), terminal_size=SIZE, run_before=finish_test)


def test_provider_filtered_to_regions(snap_compare: Any, server: None, fixed_ca: str) -> None:
    async def run(pilot: Any) -> None:
        await pilot.press(*"ses")  # Enter would pick it and move on

    assert snap_compare(
        app_at("provider", fixed_ca, provider="amazon_ses", host="email-smtp.eu-west-1.amazonaws.com"),
        terminal_size=SIZE,
        run_before=run,
    )


def test_live_test_passed(snap_compare: Any, server: None, fixed_ca: str) -> None:
    assert snap_compare(app_at("live_test", fixed_ca), terminal_size=SIZE, run_before=finish_test)


def test_live_test_failure_panel_offers_apply_fix(snap_compare: Any, server: None, fixed_ca: str) -> None:
    assert snap_compare(app_at("live_test", fixed_ca, security="tls"), terminal_size=SIZE, run_before=finish_test)


def test_review(snap_compare: Any, server: None, fixed_ca: str) -> None:
    assert snap_compare(app_at("live_test", fixed_ca), terminal_size=SIZE, run_before=keys_after_test("enter"))


def test_finish(snap_compare: Any, server: None, fixed_ca: str) -> None:
    assert snap_compare(app_at("live_test", fixed_ca), terminal_size=SIZE, run_before=keys_after_test("enter", "enter"))


def test_help_dialog(snap_compare: Any, server: None, fixed_ca: str) -> None:
    assert snap_compare(app_at("connection", fixed_ca), terminal_size=SIZE, run_before=keys_after_test("f1"))


def test_quit_dialog(snap_compare: Any, server: None, fixed_ca: str) -> None:
    # Ctrl+Q asks only when answers would be lost: type a display name first.
    assert snap_compare(
        app_at("sender", fixed_ca), terminal_size=SIZE, run_before=keys_after_test("tab", "x", "ctrl+q")
    )


def test_no_keyring(snap_compare: Any, fixed_ca: str) -> None:
    with using_keyring(fail.Keyring()):
        assert snap_compare(app_at("credentials", fixed_ca), terminal_size=SIZE, run_before=finish_test)


def test_monochrome_is_readable(
    snap_compare: Any, server: None, fixed_ca: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(app_at("live_test", fixed_ca, security="tls"), terminal_size=SIZE, run_before=finish_test)


SMALL = (60, 20)


@pytest.mark.parametrize("step", ["provider", "connection", "credentials", "consequences"])
def test_step_at_60x20(snap_compare: Any, server: None, fixed_ca: str, step: str) -> None:
    assert snap_compare(app_at(step, fixed_ca), terminal_size=SMALL, run_before=finish_test)


def test_live_test_passed_at_60x20(snap_compare: Any, server: None, fixed_ca: str) -> None:
    assert snap_compare(app_at("live_test", fixed_ca), terminal_size=SMALL, run_before=finish_test)


def test_review_at_60x20(snap_compare: Any, server: None, fixed_ca: str) -> None:
    assert snap_compare(app_at("live_test", fixed_ca), terminal_size=SMALL, run_before=keys_after_test("enter"))


def test_edit_mode_summary(snap_compare: Any, server: None, fixed_ca: str) -> None:
    from smtpwizard.core.apply import save
    from smtpwizard.core.secrets import KeyringStore
    from smtpwizard.core.settings import Verification
    from smtpwizard.ui.app import make_app
    from tests.ui.scenes import FAST

    answers = answers_for(PORT, fixed_ca, TEST_SECRET)
    document = answers.to_document()
    verified = Verification(status="passed", at=PINNED_AT)
    save(document.config, answers.password, document.password_source, KeyringStore(), ROOT / "config.yaml", verified)
    app = make_app(ROOT / "config.yaml", probe_options=FAST, stable=True)
    assert snap_compare(app, terminal_size=SIZE, run_before=finish_test)


def test_port_proposal_hint(snap_compare: Any, server: None, fixed_ca: str) -> None:
    async def run(pilot: Any) -> None:
        pilot.app.screen.query_one("#port").value = "465"
        pilot.app.screen.query_one("#port").focus()
        await pilot.press("enter")

    assert snap_compare(app_at("connection", fixed_ca), terminal_size=SIZE, run_before=run)


@pytest.fixture
def knot_dns(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The loopback Knot DNS server with the sender-domain test zones (tests/domain/)."""
    from tests.domain.knot import knot_server
    from tests.domain.zones import all_zones

    with knot_server(tmp_path / "knot", all_zones()) as dns:
        monkeypatch.setenv("SMTPWIZARD_DNS", dns.address)
        yield


async def propose_from_sender(pilot: Any) -> None:
    await pilot.press("shift+tab", *"me@google-ok.test", "enter")
    await finish_test(pilot)  # the look-up, then the list's scroll to the proposal after a refresh


@pytest.mark.parametrize("size", [SIZE, SMALL], ids=["80x24", "60x20"])
def test_provider_proposed_from_the_sender_domain(
    snap_compare: Any, server: None, fixed_ca: str, knot_dns: None, size: tuple[int, int]
) -> None:
    app = app_at("provider", fixed_ca, sender_address="")
    assert snap_compare(app, terminal_size=size, run_before=propose_from_sender)


# --- the Login step with OAuth2 (XOAUTH2) ----------------------------------------------------


def oauth_app_at(fixed_ca: str, **kwargs: Any) -> Any:
    from tests.ui.scenes import oauth_answers_for

    return wizard_at("credentials", oauth_answers_for(PORT, fixed_ca, **kwargs), ROOT / "config.yaml")


def scrolled_to(selector: str) -> Callable[[Any], Any]:
    async def run(pilot: Any) -> None:
        await finish_test(pilot)
        pilot.app.screen.query_one(selector).scroll_visible(animate=False)
        await pilot.pause()

    return run


def test_credentials_microsoft_365_offers_oauth_first(snap_compare: Any, fixed_ca: str) -> None:
    assert snap_compare(oauth_app_at(fixed_ca), terminal_size=SIZE, run_before=finish_test)


def test_credentials_signed_in_with_microsoft(snap_compare: Any, fixed_ca: str) -> None:
    from smtpwizard.core.secrets import KeyringStore
    from smtpwizard.core.settings import Secret
    from tests.ui.scenes import SIGN_IN_REF

    KeyringStore().put(SIGN_IN_REF, Secret("refresh-token-in-the-keyring"))
    app = oauth_app_at(fixed_ca, signed_in=True)
    assert snap_compare(app, terminal_size=SIZE, run_before=scrolled_to("#sign-in-status"))


def test_credentials_outlook_com_has_no_password_path(snap_compare: Any, fixed_ca: str) -> None:
    assert snap_compare(oauth_app_at(fixed_ca, provider="outlook_com"), terminal_size=SIZE, run_before=finish_test)


def test_credentials_app_only_asks_for_a_secret_or_certificate(snap_compare: Any, fixed_ca: str) -> None:
    app = oauth_app_at(fixed_ca, flow="client_credentials")
    assert snap_compare(app, terminal_size=SIZE, run_before=scrolled_to("#certificate-row"))
