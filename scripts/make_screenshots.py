#!/usr/bin/env python3
"""Regenerate screenshots/*.svg: the wizard at every step, driven against a real SMTP server
on 127.0.0.1 (aiosmtpd, trustme certificates) with an in-memory keyring.

Usage: python3 scripts/make_screenshots.py [--png]   (--png also writes PNGs, needs cairosvg)
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keyring  # noqa: E402
import trustme  # noqa: E402

from smtpwizard.ui.app import make_app  # noqa: E402
from tests.conftest import MemoryKeyring, server_context  # noqa: E402
from tests.servers import smtp_server  # noqa: E402
from tests.ui.scenes import SIGN_IN_REF, answers_for, oauth_answers_for, wizard_at  # noqa: E402

PASSWORD = "screenshot-password"  # noqa: S105 - the demo server's password
SIZE = (80, 24)
OUT = ROOT / "screenshots"
WORK = Path("/tmp/smtpwizard-screenshots")  # noqa: S108 - a fixed path shown in the pictures
PORT = 38588
PINNED_AT = "2026-11-22T10:00:00Z"


async def shoot(name: str, app, keys: tuple[str, ...] = (), wait_for_test: bool = False) -> Path:  # type: ignore[no-untyped-def]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        if wait_for_test:
            await app.workers.wait_for_complete()
            await pilot.pause()
            if app.last_report is not None:  # a fixed time, so the pictures change only when the wizard does
                app.last_report.started_at = PINNED_AT
        for key in keys:
            await pilot.press(key)
            await app.workers.wait_for_complete()
            await pilot.pause(0.1)
        path = OUT / f"{name}.svg"
        app.save_screenshot(str(path))
    return path


async def main(png: bool) -> None:
    OUT.mkdir(exist_ok=True)
    keyring.set_keyring(MemoryKeyring())
    ca = trustme.CA(organization_name="smtpwizard demo CA")
    # A fixed place and port, so the pictures change only when the wizard does.
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    try:
        tmp = WORK
        ca_file = str(Path(tmp) / "ca.pem")
        ca.cert_pem.write_to_path(ca_file)
        starttls = server_context(ca.issue_cert("127.0.0.1", "localhost"))
        config = Path(tmp) / "config.yaml"
        shots = []
        with smtp_server(password=PASSWORD, starttls_context=starttls, port=PORT) as (server, _mailbox):
            answers = answers_for(server.port, ca_file, PASSWORD)
            for i, step in enumerate(("target", "provider", "connection", "credentials", "sender", "consequences")):
                shots.append(await shoot(f"{i + 1}-{step}", wizard_at(step, answers, config, stable=False)))
            shots.append(await shoot("7-live-test-passed", wizard_at("live_test", answers, config), wait_for_test=True))
            app = wizard_at("live_test", answers, config)
            shots.append(await shoot("8-review", app, keys=("enter",), wait_for_test=True))
            app = wizard_at("live_test", answers, config)
            shots.append(await shoot("9-finish", app, keys=("enter", "enter"), wait_for_test=True))
            app = make_app(config, stable=True)  # the config 9-finish wrote: edit mode's summary
            shots.append(await shoot("10-edit-mode", app))
            keyring.set_password(SIGN_IN_REF.service, SIGN_IN_REF.account, "demo-refresh-token")
            for name, oauth in (
                ("4b-credentials-oauth", {}),
                ("4c-credentials-outlook-com", {"provider": "outlook_com"}),
                ("4d-credentials-app-only", {"flow": "client_credentials"}),
            ):
                app = wizard_at("credentials", oauth_answers_for(server.port, ca_file, **oauth), config, stable=False)
                shots.append(await shoot(name, app))
            signed = oauth_answers_for(server.port, ca_file, signed_in=True)
            shots.append(
                await shoot("4e-credentials-signed-in", wizard_at("credentials", signed, config), keys=("tab",) * 4)
            )
            wrong = answers_for(server.port, ca_file, PASSWORD, security="tls")
            shots.append(
                await shoot("7b-live-test-diagnosis", wizard_at("live_test", wrong, config), wait_for_test=True)
            )
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    for path in shots:
        print(path.relative_to(ROOT))
        if png:
            import cairosvg

            cairosvg.svg2png(url=str(path), write_to=str(path.with_suffix(".png")), output_width=1200)


if __name__ == "__main__":
    asyncio.run(main("--png" in sys.argv))
