"""The wizard as people use it after the first pass: edit mode, provider switches, the sender's
display name, port typing, markup in what users type, Cancel and Ctrl+Q. Driven with Pilot
against real SMTP servers on 127.0.0.1; each test asserts what the user sees and what lands
on disk and in the keyring."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
import yaml
from textual.widgets import Button, Input, Select

from smtpwizard.cli import main
from smtpwizard.core.answers import WizardAnswers
from smtpwizard.core.settings import Secret
from smtpwizard.ui.app import WizardApp, make_app
from smtpwizard.ui.steps.finish import FinishScreen
from smtpwizard.ui.widgets.dialogs import ConfirmQuit
from tests.conftest import TEST_SECRET, MemoryKeyring
from tests.servers import USERNAME, Mailbox, ServerThread, scripted_server, silent
from tests.ui.scenes import FAST, answers_for, settle, step, wizard_at

SIZE = (80, 24)


def text_of(app: WizardApp, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


def visible(app: WizardApp, selector: str) -> str:
    """The lines of a widget exactly as they are on the screen (cut, wrapped or scrolled)."""
    widget = app.screen.query_one(selector)
    return "\n".join(widget.render_line(y).text for y in range(widget.size.height))


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


async def headless_config(
    tmp_path: Path, port: int, ca_file: str, monkeypatch: pytest.MonkeyPatch, *, username: str = USERNAME
) -> Path:
    """A config written by the headless apply, every optional field set to a non-default value
    (tested, unless the username is not the one the server knows)."""
    source = tmp_path / "input.yaml"
    source.write_text(
        "version: 1\ntarget: gitlab\nprovider: custom\n"
        f"smtp:\n  host: 127.0.0.1\n  port: {port}\n  security: starttls\n  ca_file: {ca_file}\n"
        f"  auth: login\n  username: '{username}'\n  password: {{env: SMTP_PASSWORD}}\n"
        "  helo_domain: mail.example.com\n  timeout_s: 120\n"
        "sender:\n  address: app@example.com\n  name: Mattermost\n  reply_to: help@example.com\n"
    )
    monkeypatch.setenv("SMTP_PASSWORD", TEST_SECRET)
    config = tmp_path / "config.yaml"
    skip = [] if username == USERNAME else ["--skip-test"]
    code, _out, err = await asyncio.to_thread(cli, "--from-yaml", str(source), "--yes", "--config", str(config), *skip)
    assert code == 0, err
    monkeypatch.delenv("SMTP_PASSWORD")
    return config


@pytest.fixture
async def existing_config(
    tmp_path: Path,
    server: tuple[ServerThread, Mailbox],
    ca_file: str,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """A verified config from the headless apply, its password in the (memory) keyring; the
    server's record of logins starts empty."""
    config_path = await headless_config(tmp_path, server[0].port, ca_file, monkeypatch)
    server[1].auth_attempts.clear()
    return config_path


# --- 1 and 2: edit mode keeps the config and never tests or sends by itself ----------------


async def test_edit_mode_round_trip_changes_only_the_sender_name(
    existing_config: Path, server: tuple[ServerThread, Mailbox], memory_keyring: MemoryKeyring
) -> None:
    _srv, mailbox = server
    config_path = existing_config
    before = yaml.safe_load(config_path.read_text())
    keyring_before = dict(memory_keyring.entries)

    app = make_app(config_path, probe_options=FAST, stable=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert step(app) == "live_test"
        assert mailbox.auth_attempts == []  # opening tests nothing
        summary = text_of(app, "#stages")
        assert "127.0.0.1 port" in summary and "kept from the keyring" in summary
        await pilot.press("escape", "escape")
        assert step(app) == "sender"
        assert app.screen.query_one("#test-to", Input).value == ""  # no message unless asked this time
        app.screen.query_one("#sender-name", Input).value = "Chat server"
        await pilot.press("enter")
        assert step(app) == "consequences"
        await pilot.press("enter")
        assert step(app) == "live_test"
        await settle(app, pilot)
        assert app.last_report is not None and app.last_report.ok, text_of(app, "#diagnosis")
        assert "No message was sent" in text_of(app, "#outcome")
        await pilot.press("enter")
        assert step(app) == "review"
        diff = app.screen.diff_text  # type: ignore[attr-defined]
        changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("---", "+++")]
        assert changed == ["-  name: Mattermost", "+  name: Chat server"], diff
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, FinishScreen)
        assert "Password kept, unchanged, in the OS keyring" in text_of(app, "#keyring-line")

    after = yaml.safe_load(config_path.read_text())
    assert after["sender"]["name"] == "Chat server"
    for section in ("smtp",):
        assert after[section] == before[section]  # keyring reference, auth, timeout, helo, ca_file...
    assert after["sender"]["reply_to"] == "help@example.com" and after["target"] == "gitlab"
    assert memory_keyring.entries == keyring_before
    assert mailbox.messages == []
    assert [mechanism for mechanism, _login in mailbox.auth_attempts] == ["LOGIN"]  # the config's mechanism
    assert "<this file>" not in config_path.read_text()
    assert f"smtpwizard test --config {config_path}" in config_path.read_text()

    code, out, err = await asyncio.to_thread(cli, "test", "--config", str(config_path))
    assert code == 0, out + err
    reopened = make_app(config_path, probe_options=FAST, stable=True)
    assert reopened.notice is None and reopened.summary_first  # read fine: no "starting afresh"
    assert reopened.answers.sender_name == "Chat server" and reopened.answers.timeout_s == 120


async def test_edit_mode_opens_on_a_summary_and_tests_only_when_asked(
    existing_config: Path, server: tuple[ServerThread, Mailbox]
) -> None:
    _srv, mailbox = server
    config_path = existing_config
    app = make_app(config_path, probe_options=FAST, stable=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert str(app.screen.query_one("#next", Button).label) == "Test now"
        assert not app.screen.query_one("#next", Button).disabled
        assert mailbox.auth_attempts == [] and app.last_report is None
        await pilot.press("enter")  # Test now
        await settle(app, pilot)
        assert app.last_report is not None and app.last_report.ok
        await pilot.press("r")
        await settle(app, pilot)
        assert len(mailbox.auth_attempts) == 2
    assert mailbox.messages == []  # neither the opening, Test now nor r sent a message


async def test_edit_mode_credentials_keep_the_stored_password_unless_a_new_one_is_typed(existing_config: Path) -> None:
    config_path = existing_config
    app = make_app(config_path, probe_options=FAST, stable=True)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(3):
            await pilot.press("escape")
        assert step(app) == "credentials"
        await settle(app, pilot)
        assert "password: kept from the keyring" in text_of(app, "#password-hint")
        assert app.screen.query_one("#password", Input).value == ""
        await pilot.press("enter")
        assert step(app) == "sender" and app.answers.keep_stored_password
        await pilot.press("escape")
        await settle(app, pilot)
        app.screen.query_one("#password", Input).value = "new-secret"
        await pilot.pause()
        assert "replaces the stored one" in text_of(app, "#password-hint")
        await pilot.press("enter")
        assert not app.answers.keep_stored_password and app.answers.password == Secret("new-secret")


def test_answers_from_a_config_carry_every_field_back_into_the_document(ca_file: str) -> None:
    from smtpwizard.core.config import KeyringSource, parse_document

    doc = {
        "version": 1,
        "profile": "chat",
        "target": "gitlab",
        "provider": "custom",
        "smtp": {
            "host": "127.0.0.1",
            "port": 2525,
            "security": "none",
            "verify_certificate": True,
            "ca_file": ca_file,
            "auth": "cram-md5",
            "username": "relay-user",
            "password": {"keyring": {"service": "smtpwizard", "account": "chat/relay-user@127.0.0.1:2525"}},
            "helo_domain": "mail.example.com",
            "timeout_s": 120,
            "allow_insecure_auth": True,
        },
        "sender": {"address": "app@example.com", "name": "GitLab", "reply_to": "help@example.com"},
    }
    config = parse_document(doc, "config").config
    document = WizardAnswers.from_config(config).to_document()
    assert document.config == config  # every field, including auth and timeout_s
    assert isinstance(document.password_source, KeyringSource) and document.password_source.ref == config.smtp.password


# --- 3: a display name is not an address -----------------------------------------------


async def test_sender_display_name_is_accepted_as_a_name(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    app = wizard_at("sender", answers_for(587, "", TEST_SECRET), tmp_path / "c.yaml")
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#sender-name", Input).value = "Mattermost"
        await pilot.press("enter")
        assert step(app) == "consequences", text_of(app, "#error") if step(app) == "sender" else ""
    assert app.answers.sender_name == "Mattermost"
    assert app.answers.to_document().config.sender.formatted() == "Mattermost <notifications@example.com>"


async def test_sender_reply_to_is_still_checked_as_an_address(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    app = wizard_at("sender", answers_for(587, "", TEST_SECRET), tmp_path / "c.yaml")
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#reply-to", Input).value = "Support"
        await pilot.press("enter")
        assert step(app) == "sender" and "Reply-To" in text_of(app, "#error")


# --- 4: switching provider drops the old provider's login ----------------------------------


async def test_switching_provider_clears_the_old_login_and_says_so(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    answers = WizardAnswers(provider="sendgrid", host="smtp.sendgrid.net", username="apikey", password=Secret("SG.x"))
    app = wizard_at("provider", answers, tmp_path / "c.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"amazon ses", "enter")
        assert step(app) == "connection" and app.answers.provider == "amazon_ses"
        assert app.answers.username == "" and app.answers.password is None
        notes = [n.message for n in app._notifications]
        assert any("cleared the username and password you gave for SendGrid" in n for n in notes), notes
        await pilot.press("enter")
        await settle(app, pilot)
        assert step(app) == "credentials"
        assert "cleared the username and password you gave for SendGrid" in text_of(app, "#switch-note")
        assert app.screen.query_one("#username", Input).value == ""
        assert app.screen.query_one("#password", Input).value == ""
        # Typed for the new provider: going back and confirming the same provider keeps them.
        app.screen.query_one("#username", Input).value = "AKIAEXAMPLE"
        app.screen.query_one("#password", Input).value = "ses-secret"
        await pilot.press("escape", "escape")
        assert step(app) == "provider"
        await pilot.press("enter")
        assert app.answers.username == "AKIAEXAMPLE" and app.answers.password == Secret("ses-secret")


def test_switching_provider_fills_the_new_username_convention() -> None:
    answers = WizardAnswers(provider="amazon_ses", username="AKIAEXAMPLE", password=Secret("x"), ca_file="/ca.pem")
    note = answers.choose_provider("sendgrid")
    assert answers.username == "apikey" and answers.password is None and answers.ca_file == ""
    assert note == (
        "Switched from Amazon SES to SendGrid: cleared the username, password and CA file you gave for Amazon SES."
    )


# --- 5: the port proposes a mode only when left, never over a hand-picked one ----------------


async def type_port(app: WizardApp, pilot: object, digits: str) -> None:
    port = app.screen.query_one("#port", Input)
    port.focus()
    port.value = ""
    for digit in digits:
        await pilot.press(digit)  # type: ignore[attr-defined]


async def test_typing_4650_never_passes_through_465(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    app = wizard_at("connection", WizardAnswers(provider="custom", host="mail.example.com"), tmp_path / "c.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await type_port(app, pilot, "4650")
        assert app.answers.security == "starttls"
        await pilot.press("tab")
        assert app.answers.security == "starttls"
        assert "Port 4650 has no usual security mode" in text_of(app, "#port-hint")


async def test_leaving_the_port_field_proposes_its_mode_and_says_why(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    app = wizard_at("connection", WizardAnswers(provider="custom", host="mail.example.com"), tmp_path / "c.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await type_port(app, pilot, "465")
        assert app.answers.security == "starttls"  # not while typing
        assert "Port 465 normally uses implicit TLS (SSL)" in text_of(app, "#port-hint")
        await pilot.press("enter")  # confirming proposes, and stays so the change is seen
        assert step(app) == "connection" and app.answers.security == "tls"
        assert app.screen.query_one("#security", Select).value == "tls"
        assert "so security is now implicit TLS (SSL)" in text_of(app, "#port-hint")


async def test_a_mode_picked_by_hand_is_never_overridden_by_the_port(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    app = wizard_at("connection", WizardAnswers(provider="custom", host="127.0.0.1"), tmp_path / "c.yaml")
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#security", Select).value = "none"
        await pilot.pause()
        for port in ("2526", "25"):
            await type_port(app, pilot, port)
            await pilot.press("tab")
            assert app.answers.security == "none", port
        assert "Port 25 normally uses STARTTLS; you chose no encryption" in text_of(app, "#port-hint")
        app.screen.query_one("#port", Input).value = "99999"
        app.screen.query_one("#port", Input).focus()
        await pilot.press("enter")
        assert step(app) == "connection"
        assert "port: 99999 is out of range" in text_of(app, "#error")


async def test_microsoft_365_port_465_hint_comes_from_the_preset(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    answers = WizardAnswers()
    answers.choose_provider("microsoft365")
    app = wizard_at("connection", answers, tmp_path / "c.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await type_port(app, pilot, "465")
        await pilot.press("tab")
        hint = text_of(app, "#port-hint")
        assert "does not offer port 465" in hint and "587 (STARTTLS)" in hint
        assert "normally uses implicit TLS" not in hint
        assert app.answers.security == "starttls"


# --- 10: what users type is never read as markup ---------------------------------------------


async def test_markup_in_a_prefilled_username_and_paths_is_shown_as_typed(
    tmp_path: Path,
    server: tuple[ServerThread, Mailbox],
    ca_file: str,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    srv, _mailbox = server
    folder = tmp_path / "cfg[/]dir[b]"
    folder.mkdir(parents=True)
    config_path = await headless_config(folder, srv.port, ca_file, monkeypatch, username="[/]wiz[b]")
    app = make_app(config_path, probe_options=FAST, stable=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "[/]wiz[b]" in text_of(app, "#stages")
        await pilot.press("enter")  # the test fails (the server does not know that user): no crash
        await settle(app, pilot)
        assert "as [/]wiz[b]" in text_of(app, "#target-line")
        for _ in range(4):
            await pilot.press("escape")
        assert step(app) == "connection"
        app.screen.query_one("#ca-file", Input).value = "/no/such[/]ca[b].pem"
        await pilot.press("enter")
        assert "'/no/such[/]ca[b].pem' does not exist" in text_of(app, "#error")
        assert app.is_running


async def test_markup_in_the_config_path_and_keyring_account_on_review_and_finish(
    tmp_path: Path, server: tuple[ServerThread, Mailbox], ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    folder = tmp_path / "cfg[/]dir[b]"
    answers = answers_for(server[0].port, ca_file, TEST_SECRET)
    app = wizard_at("live_test", answers, folder / "config.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        assert f"Will write {folder / 'config.yaml'}" in text_of(app, "#destination")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, FinishScreen)
        assert f"Wrote {folder / 'config.yaml'}" in text_of(app, "#saved")
        env_file = folder / "app[i].env"
        env_file.write_text("OTHER=1\n")
        app.screen.query_one("#write-path", Input).value = str(env_file)
        app.screen.query_one("#write-into", Button).press()
        await settle(app, pilot)
        assert f"Updated {env_file}" in text_of(app, "#write-result")


async def test_markup_in_the_keyring_account_on_the_finish_screen(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    from dataclasses import replace

    from smtpwizard.core.settings import SecretRef

    answers = answers_for(587, "", TEST_SECRET)
    config = answers.to_document().config
    ref = SecretRef("smtpwizard", "default/[/]wiz[b]@127.0.0.1:587")
    config = replace(config, smtp=replace(config.smtp, password=ref))
    app = wizard_at("review", answers, tmp_path / "c.yaml")
    async with app.run_test(size=SIZE) as pilot:
        app.written = (config, tmp_path / "c.yaml", None, ref)
        app.show_finish()
        await pilot.pause()
        assert isinstance(app.screen, FinishScreen)
        assert "smtpwizard/default/[/]wiz[b]@127.0.0.1:587" in text_of(app, "#keyring-line")


# --- 11: Cancel, Ctrl+Q, the provider filter ------------------------------------------------


async def test_cancel_stops_the_spinner_and_says_the_stage_was_cancelled(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    with scripted_server(silent) as srv:
        answers = answers_for(srv.port, "", TEST_SECRET)
        app = wizard_at("live_test", answers, tmp_path / "c.yaml", stable=False)
        app.probe_options = None  # the default 3 s greeting timeout: long enough to cancel
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.3)
            await pilot.press("c")
            await settle(app, pilot)
            stages = app.screen.query_one("#stages")
            first = str(stages.render())
            await pilot.pause(0.3)  # the spinner would have moved three frames by now
            assert str(stages.render()) == first
            assert "cancelled; the connection was closed" in first
            assert not any(frame in first for frame in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
    assert not (tmp_path / "c.yaml").exists()


async def test_ctrl_q_with_nothing_to_lose_quits_at_once_with_0(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    app = make_app(tmp_path / "c.yaml", probe_options=FAST, stable=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+q")
        assert not isinstance(app.screen, ConfirmQuit)
    assert app.return_code == 0


async def test_provider_filter_arrows_move_the_list_and_enter_picks_it(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    app = make_app(tmp_path / "c.yaml", probe_options=FAST, stable=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", *"mail")
        assert app.screen.query_one("#filter", Input).has_focus
        first = app.screen.highlighted()  # type: ignore[attr-defined]
        await pilot.press("down")
        second = app.screen.highlighted()  # type: ignore[attr-defined]
        assert second is not None and first is not None and second.id != first.id
        assert app.screen.query_one("#filter", Input).has_focus
        await pilot.press("enter")
        assert step(app) == "connection" and app.answers.provider == second.id


async def test_provider_list_shows_whole_descriptions(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    app = make_app(tmp_path / "c.yaml", probe_options=FAST, stable=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter", *"microsoft")
        await pilot.pause()
        rows = visible(app, "#providers")
        assert "Personal Microsoft account; password sign-in no longer works" in rows
        assert "Microsoft 365 / Exchange Online" in rows and "…" not in rows
    app = make_app(tmp_path / "c.yaml", probe_options=FAST, stable=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", *"microsoft")
        await pilot.pause()
        rows = " ".join(visible(app, "#providers").split())  # at 80 columns long ones wrap, whole
        assert "Personal Microsoft account; password sign-in no longer works" in rows and "…" not in rows


async def test_finish_screen_scrolls_with_page_down_end_and_home(
    tmp_path: Path, server: tuple[ServerThread, Mailbox], ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    app = wizard_at("live_test", answers_for(server[0].port, ca_file, TEST_SECRET), tmp_path / "c.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("enter", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, FinishScreen)
        app.screen.query_one("#quit", Button).focus()  # wherever the focus is, the keys scroll
        body = app.screen.query_one("#body")
        assert body.max_scroll_y > 0 and body.scroll_y == 0
        await pilot.press("pagedown")
        await pilot.pause()
        assert body.scroll_y > 0
        await pilot.press("end")
        await pilot.pause()
        assert body.scroll_y == body.max_scroll_y
        await pilot.press("home")
        await pilot.pause()
        assert body.scroll_y == 0


async def test_transcript_opens_in_view_and_scrolls(
    tmp_path: Path, server: tuple[ServerThread, Mailbox], ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    app = wizard_at("live_test", answers_for(server[0].port, ca_file, TEST_SECRET), tmp_path / "c.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("t")
        await pilot.pause()
        body = app.screen.query_one("#body")
        panel = app.screen.query_one("#transcript-text")
        assert panel.display and body.scroll_y > 0
        assert body.region.contains(panel.region.x, panel.region.y)  # its first line is on screen
        await pilot.press("end")
        await pilot.pause()
        assert body.scroll_y == body.max_scroll_y


async def test_write_into_result_is_scrolled_into_view(
    tmp_path: Path, server: tuple[ServerThread, Mailbox], ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    app = wizard_at("live_test", answers_for(server[0].port, ca_file, TEST_SECRET), tmp_path / "c.yaml")
    env_file = tmp_path / ".env.production"
    env_file.write_text("OTHER=1\n")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("enter", "enter")
        await settle(app, pilot)
        app.screen.query_one("#write-path", Input).value = str(env_file)
        app.screen.query_one("#write-into", Button).press()
        await settle(app, pilot)
        await pilot.pause()
        result = app.screen.query_one("#write-result")
        assert "Updated" in str(result.render())
        assert app.screen.query_one("#body").region.contains_region(result.region)


def test_starttls_timing_is_labelled_as_including_the_handshake() -> None:
    from smtpwizard.core.probe import Stage, StageResult
    from smtpwizard.ui.widgets.stages import StageList

    stages = StageList()
    stages.rows = {
        Stage.STARTTLS: StageResult(Stage.STARTTLS, "ok", 0.072, "220 ready"),
        Stage.TLS: StageResult(Stage.TLS, "ok", 0.0, "TLSv1.3, certificate valid"),
    }
    starttls, tls = (stages.line(row) for row in stages.rows.values())
    assert "STARTTLS and TLS handshake" in starttls and "72 ms" in starttls
    assert "TLS version and certificate" in tls and " ms" not in tls


def test_breadcrumb_keeps_the_current_step_when_narrow() -> None:
    from smtpwizard.ui.widgets.breadcrumb import trail

    names = ["App", "Provider", "Connection", "Login", "Sender", "Confirm", "Test", "Write"]
    for current, name in enumerate(names):
        text = trail(names, current, 56)
        assert f" {name} " in text.plain and text.cell_len <= 56, text.plain
    assert "…" in trail(names, 6, 56).plain
    assert "…" not in trail(names, 0, 120).plain


async def test_breadcrumb_at_60x20_shows_the_current_step(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    app = wizard_at("review", answers_for(587, "", TEST_SECRET), tmp_path / "c.yaml")
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        assert " Write " in visible(app, "#progress")


async def test_an_unreadable_config_is_reported_without_reading_it_as_markup(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    config_path = tmp_path / "config.yaml"
    config_path.write_text("version: 1\n'[/]x': 1\n")
    app = make_app(config_path, probe_options=FAST, stable=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.is_running and step(app) == "target"
        notes = [n.message for n in app._notifications]
        assert any("starting afresh" in n and "[/]x" in n for n in notes), notes


async def test_edit_mode_moves_the_kept_password_when_the_server_name_changes(
    existing_config: Path, memory_keyring: MemoryKeyring
) -> None:
    config_path = existing_config
    app = make_app(config_path, probe_options=FAST, stable=True)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(4):
            await pilot.press("escape")
        assert step(app) == "connection"
        app.screen.query_one("#host", Input).value = "localhost"  # the certificate names it too
        await pilot.press("enter")
        await settle(app, pilot)
        assert step(app) == "credentials"
        assert "kept from the keyring, and stored again for this login and server" in text_of(app, "#password-hint")
        await pilot.press("enter", "enter", "enter")  # sender, confirm, test
        await settle(app, pilot)
        assert app.last_report is not None and app.last_report.ok, text_of(app, "#diagnosis")
        await pilot.press("enter", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, FinishScreen)
    ref = yaml.safe_load(config_path.read_text())["smtp"]["password"]["keyring"]
    assert "@localhost:" in ref["account"]
    assert memory_keyring.entries[(ref["service"], ref["account"])] == TEST_SECRET


async def test_ctrl_q_after_only_looking_at_an_existing_config_quits_with_0(existing_config: Path) -> None:
    config_path = existing_config
    app = make_app(config_path, probe_options=FAST, stable=True)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(3):
            await pilot.press("escape")
        await settle(app, pilot)
        assert step(app) == "credentials"  # the keyring was read; nothing was changed
        await pilot.press("ctrl+q")
        assert not isinstance(app.screen, ConfirmQuit)
    assert app.return_code == 0


async def test_edit_mode_summary_shows_one_line_per_setting(existing_config: Path) -> None:
    app = make_app(existing_config, probe_options=FAST, stable=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        lines = visible(app, "#stages").splitlines()
        assert any(line.startswith("Password:  kept from the keyring") for line in lines), lines
        assert any(line.startswith("Sender:    Mattermost <app@example.com>") for line in lines), lines
