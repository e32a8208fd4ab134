"""Detect (F5) on the connection step: the port in the field goes first, and an answer whose
certificate is not trusted is reported as such, with the CA fix."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Select

from smtpwizard.core import autodetect
from tests.conftest import TEST_SECRET, MemoryKeyring
from tests.servers import smtp_server
from tests.ui.scenes import answers_for, wizard_at


async def test_f5_tries_the_typed_port_and_reports_an_untrusted_certificate_with_the_ca_fix(
    tmp_path: Path, untrusted_tls: ssl.SSLContext, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(autodetect, "DEFAULT_CANDIDATES", ((587, "starttls"),))
    tried: list[list[autodetect.Candidate]] = []
    real_detect = autodetect.detect

    async def recording_detect(host: str, candidates: list[autodetect.Candidate], **kwargs: Any) -> Any:
        tried.append(candidates)
        return await real_detect(host, candidates, **kwargs)

    monkeypatch.setattr(autodetect, "detect", recording_detect)
    with smtp_server(password=TEST_SECRET, starttls_context=untrusted_tls) as (server, mailbox):
        answers = answers_for(server.port, "", TEST_SECRET, security="tls")
        app = wizard_at("connection", answers, tmp_path / "c.yaml")
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("f5")
            await app.workers.wait_for_complete()
            await pilot.pause()
            text = str(app.screen.query_one("#detect-result").render())
            assert app.screen.query_one("#port", Input).value == str(server.port)
            assert app.screen.query_one("#security", Select).value == "starttls"
    assert "Nothing answered" not in text
    assert f"Port {server.port} with STARTTLS answered, but the server's certificate is not trusted" in text
    assert "CA file field" in text and "filled in" in text
    typed_first = [autodetect.Candidate(server.port, "tls"), autodetect.Candidate(server.port, "starttls")]
    assert tried == [[*typed_first, autodetect.Candidate(587, "starttls")]]  # the typed port and mode first
    assert mailbox.auth_attempts == []
