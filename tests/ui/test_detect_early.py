"""Detect (F5) shows the early "probably blocked" answer at once, fills it in, and then says
whether the normal timeouts confirmed it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Select

from smtpwizard.core import autodetect
from smtpwizard.core.probe import ProbeOptions
from tests.conftest import TEST_SECRET, MemoryKeyring
from tests.servers import filtered_port, smtp_server
from tests.ui.scenes import answers_for, wizard_at


async def test_f5_shows_the_early_answer_then_its_confirmation(
    tmp_path: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown_early: list[tuple[str, str, Any]] = []
    real_detect = autodetect.detect

    with smtp_server(password=TEST_SECRET, require_auth=False) as (server, _), filtered_port() as blocked:
        candidates = [autodetect.Candidate(blocked, "starttls"), autodetect.Candidate(server.port, "none")]
        monkeypatch.setattr(autodetect, "candidates_for", lambda *_args: candidates)
        app = wizard_at("connection", answers_for(blocked, "", TEST_SECRET), tmp_path / "c.yaml")
        app.probe_options = ProbeOptions(connect_timeout_s=autodetect.EARLY_MIN_S + 1.0, banner_timeout_s=1.0)

        async def recording_detect(host: str, given: list[autodetect.Candidate], **kwargs: Any) -> Any:
            show = kwargs.pop("on_early")

            def on_early(early: autodetect.Detection) -> None:
                show(early)  # what the screen shows at that moment
                screen = app.screen
                text = str(screen.query_one("#detect-result").render())
                shown_early.append(
                    (text, screen.query_one("#port", Input).value, screen.query_one("#security", Select).value)
                )

            return await real_detect(host, given, on_early=on_early, **kwargs)

        monkeypatch.setattr(autodetect, "detect", recording_detect)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("f5")
            await app.workers.wait_for_complete()
            await pilot.pause()
            final = str(app.screen.query_one("#detect-result").render())
    [(early_text, port, security)] = shown_early
    assert (port, security) == (str(server.port), "none")
    assert f"Best: port {server.port} with no encryption (filled in; early verdict, still confirming...)" in early_text
    assert "Why: early verdict after" in early_text and f"port {blocked} gave no TCP handshake" in early_text
    assert "probably blocked: no TCP handshake within" in early_text
    assert f"Early verdict confirmed: port {blocked} gave no answer until its timeout." in final
    assert f"Best: port {server.port}, security: none (port and security filled in)." in final
