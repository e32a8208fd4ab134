"""The live-test screen names the app the test speaks as, and shows that app's diagnosis."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual.widgets import Static

from tests.conftest import TEST_SECRET, MemoryKeyring
from tests.hardening.test_certificates import self_signed
from tests.servers import smtp_server
from tests.ui.scenes import answers_for, wizard_at
from tests.ui.test_wizard import SIZE, settle


async def test_live_test_names_the_app_and_fails_as_sourcegraph_would(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=self_signed(tmp_path), require_auth=False) as (
        server,
        mailbox,
    ):
        answers = replace(
            answers_for(server.port, "", TEST_SECRET, security="none"),
            target="sourcegraph",
            ca_file="",
            username="",
            password=None,
        )
        app = wizard_at("live_test", answers, tmp_path / "c.yaml")
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            line = str(app.screen.query_one("#target-line", Static).render())
            assert line.startswith("Testing as Sourcegraph will connect: 127.0.0.1 port")
            assert app.last_report is None  # the test failed: nothing to write
            shown = str(app.screen.query_one("#diagnosis").render())
            assert "Sourcegraph will upgrade to STARTTLS and reject this certificate" in shown
    assert mailbox.messages == []
