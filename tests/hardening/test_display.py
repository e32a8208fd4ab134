"""Outside text reaches the terminal only through the one safe-display function (issue 11,
item 2): certificate subject, issuer and SAN built to attack the terminal (OSC 52 clipboard
write, title change, screen clear, 8-bit CSI, U+202E, zero-width space) arrive escaped in the
headless text, in --json (valid, escaped) and in the TUI, whether the certificate verified or not."""

from __future__ import annotations

import io
import json
import ssl
import sys
import unicodedata
from pathlib import Path

import pytest

from smtpwizard.cli import main
from smtpwizard.core.diagnose import diagnose
from smtpwizard.core.probe import run_probe
from smtpwizard.core.settings import Secret, SmtpSettings
from smtpwizard.ui.steps.live_test import LiveTestStep
from tests.conftest import TEST_SECRET, MemoryKeyring
from tests.hardening.hostile import hostile_certificate, unsafe_characters
from tests.servers import USERNAME, smtp_server
from tests.ui.scenes import answers_for, wizard_at

UNSAFE_CATEGORIES = ("Cc", "Cf", "Cs", "Zl", "Zp")


def test_safe_text_escapes_every_control_format_and_surrogate_character_visibly() -> None:
    from smtpwizard.core.display import safe_data, safe_text

    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        shown = safe_text(ch)
        if unicodedata.category(ch) in UNSAFE_CATEGORIES:
            assert shown != ch and shown.startswith("\\") and shown.isascii(), hex(code)
        assert safe_text(shown) == shown  # escaping twice changes nothing
    assert safe_text("mx.t\udce9st") == "mx.t\\xe9st"  # a non-UTF-8 byte shows as that byte
    assert safe_text("a\nb") == "a\\x0ab" and safe_text("a\nb", keep_newlines=True) == "a\nb"
    assert safe_data({"k\x1b": ["\u202e", 3, None]}) == {"k\\x1b": ["\\u202e", 3, None]}


@pytest.fixture(params=["verified", "untrusted"])
def hostile(request: pytest.FixtureRequest, tmp_path: Path, ca_file: str) -> tuple[ssl.SSLContext, str]:
    """The hostile server context and the ca_file the client uses: the hostile CA (the
    certificate verifies and is shown in the TLS stage) or another CA (verification fails
    and the certificate is fetched unverified to be shown in the diagnosis)."""
    context, hostile_ca = hostile_certificate(tmp_path)
    return context, hostile_ca if request.param == "verified" else ca_file


async def test_certificate_fields_are_escaped_in_the_report_and_the_diagnosis(
    hostile: tuple[ssl.SSLContext, str],
) -> None:
    context, client_ca = hostile
    with smtp_server(password=TEST_SECRET, starttls_context=context) as (server, _):
        s = SmtpSettings("127.0.0.1", server.port, ca_file=client_ca, username=USERNAME)
        report = await run_probe(s, Secret(TEST_SECRET))
    cert = report.tls.certificate if report.tls else (report.failure.certificate if report.failure else None)
    assert cert is not None
    assert "\\u202e" in cert.subject and "\\x1b]0;pwned" in cert.subject  # there, and visible
    assert any("\\x1b]52;c;" in san for san in cert.sans)
    diagnosis = diagnose(report, s)
    everything = json.dumps(report.to_dict(), ensure_ascii=False) + str(diagnosis and diagnosis.to_dict())
    everything += "\n".join(r.detail for r in report.stages)
    assert unsafe_characters(everything) == []


def test_headless_text_and_json_carry_no_terminal_control(
    hostile: tuple[ssl.SSLContext, str],
    tmp_path: Path,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    context, client_ca = hostile
    monkeypatch.setenv("SMTP_PASSWORD", TEST_SECRET)
    with smtp_server(password=TEST_SECRET, starttls_context=context) as (server, _):
        source = tmp_path / "input.yaml"
        source.write_text(
            f"version: 1\nsmtp:\n  host: 127.0.0.1\n  port: {server.port}\n  security: starttls\n"
            f"  ca_file: {client_ca}\n  username: {USERNAME}\n  password: {{env: SMTP_PASSWORD}}\n"
            "sender:\n  address: app@example.com\n"
        )
        runs = {}
        for mode in ("-v", "--json"):
            out, err = io.StringIO(), io.StringIO()
            main(["apply", str(source), "--dry-run", "--config", str(tmp_path / "c.yaml"), mode], out=out, err=err)
            runs[mode] = (out.getvalue(), err.getvalue())
    text = "".join(runs["-v"])
    assert "\\u202e" in text  # the subject (TLS stage) or the diagnosis' details show it, escaped
    assert unsafe_characters(text) == []
    data = json.loads(runs["--json"][0])
    assert unsafe_characters(runs["--json"][0]) == []
    assert "\\u202e" in json.dumps(data, ensure_ascii=False)
    assert TEST_SECRET not in text + runs["--json"][0]


async def test_the_tui_shows_certificate_text_escaped(
    hostile: tuple[ssl.SSLContext, str], tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    context, client_ca = hostile
    with smtp_server(password=TEST_SECRET, starttls_context=context) as (server, _):
        app = wizard_at("live_test", answers_for(server.port, client_ca, TEST_SECRET), tmp_path / "c.yaml")
        async with app.run_test(size=(200, 50)) as pilot:
            screen = app.screen
            assert isinstance(screen, LiveTestStep)
            while screen.report is None:
                await pilot.pause(0.05)
                await app.workers.wait_for_complete()
            await pilot.press("t")  # the transcript too
            await pilot.pause()
            shown = "\n".join(
                str(screen.query_one(selector).render()) for selector in ("#stages", "#diagnosis", "#transcript-text")
            )
    assert "\\u202e" in shown
    assert unsafe_characters(shown) == []


async def test_config_values_shown_back_in_the_tui_are_escaped_and_carry_no_markup(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, _):
        answers = answers_for(server.port, ca_file, TEST_SECRET)
        answers.username = "wiz\u202e[b]ard@example.com"
        app = wizard_at("live_test", answers, tmp_path / "c.yaml")
        async with app.run_test(size=(200, 50)) as pilot:
            screen = app.screen
            assert isinstance(screen, LiveTestStep)
            while screen.report is None:
                await pilot.pause(0.05)
                await app.workers.wait_for_complete()
            shown = str(screen.query_one("#target-line").render())
    assert "wiz\\u202e[b]ard@example.com" in shown  # shown as typed, escaped, not taken as markup
    assert unsafe_characters(shown) == []


def test_config_values_shown_back_by_the_cli_are_escaped(
    tmp_path: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", TEST_SECRET)
    source = tmp_path / "input.yaml"
    source.write_text(
        "version: 1\nsmtp:\n  host: 127.0.0.1\n  port: 1\n  security: starttls\n"
        '  username: "wiz\\u202eard\\u2066@example.com"\n  password: {env: SMTP_PASSWORD}\n'
        "sender:\n  address: app@example.com\n"
    )
    out, err = io.StringIO(), io.StringIO()
    main(["apply", str(source), "--yes", "--config", str(tmp_path / "c.yaml")], out=out, err=err)
    assert "wiz\\u202eard\\u2066@example.com" in out.getvalue() + err.getvalue()
    assert unsafe_characters(out.getvalue() + err.getvalue()) == []
