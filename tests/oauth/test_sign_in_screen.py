"""The TUI's sign-in step, driven with Pilot against the real authorization server: the browser
comes back to the loopback redirect, or the redirect URL is pasted (a server over SSH)."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.app import App
from textual.widgets import Input, Static

from smtpwizard.core import oauth
from smtpwizard.core.secrets import KeyringStore
from smtpwizard.core.settings import Config
from smtpwizard.ui.steps.oauth_sign_in import OAuthSignInScreen
from tests.conftest import MemoryKeyring
from tests.oauth.authserver import ACCOUNT, AuthServer, UserAgent
from tests.oauth.conftest import config_doc
from tests.oauth.test_xoauth2 import _config


class SignInApp(App[None]):
    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        self.result: Any = "not dismissed"

    def on_mount(self) -> None:
        def done(result: str | None) -> None:
            self.result = result

        self.push_screen(OAuthSignInScreen(self.config, KeyringStore()), done)


async def shown_url(app: Any, pilot: Any) -> str:
    """The sign-in address, once the sign-in screen is up and shows it (it is prepared in a thread)."""
    for _ in range(100):
        await pilot.pause()
        if isinstance(app.screen, OAuthSignInScreen):
            text = str(app.screen.query_one("#url", Static).render())
            if "https://" in text:
                return "https://" + text.split("https://", 1)[1].split()[0]
    raise AssertionError("no sign-in URL shown")


async def dismissed(app: SignInApp, pilot: Any) -> None:
    for _ in range(200):
        await pilot.pause(0.05)
        if app.result != "not dismissed":
            return
    raise AssertionError("the sign-in never finished: " + str(app.screen.query_one("#status", Static).render()))


async def test_the_browser_comes_back_to_the_loopback_redirect(
    auth_server: AuthServer, ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    config = _config(config_doc(auth_server, 587, ACCOUNT, ca_file))
    app = SignInApp(config)
    async with app.run_test(size=(100, 40)) as pilot:
        register = str(app.screen.query_one("#register", Static).render())
        assert "SMTP.Send" in register and "http://127.0.0.1" in register
        url = await shown_url(app, pilot)
        redirect = await asyncio.to_thread(UserAgent(auth_server).sign_in, url)
        await asyncio.to_thread(UserAgent(auth_server).follow_redirect, redirect)
        await dismissed(app, pilot)
    assert app.result == ACCOUNT
    assert KeyringStore().get(oauth.refresh_token_ref(config)) is not None


async def test_a_pasted_redirect_url_signs_in_and_is_not_left_on_screen(
    auth_server: AuthServer, ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    config = _config(config_doc(auth_server, 587, ACCOUNT, ca_file))
    app = SignInApp(config)
    async with app.run_test(size=(100, 40)) as pilot:
        url = await shown_url(app, pilot)
        redirect = await asyncio.to_thread(UserAgent(auth_server).sign_in, url)
        field = app.screen.query_one("#paste", Input)
        field.focus()
        field.value = redirect
        await pilot.press("enter")
        assert field.value == ""
        await dismissed(app, pilot)
    assert app.result == ACCOUNT
    stored = KeyringStore().get(oauth.refresh_token_ref(config))
    assert stored is not None


async def test_a_declined_sign_in_shows_the_diagnosis_and_stores_nothing(
    auth_server: AuthServer, ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    config = _config(config_doc(auth_server, 587, "denied@example.test", ca_file))
    app = SignInApp(config)
    async with app.run_test(size=(100, 40)) as pilot:
        url = await shown_url(app, pilot)
        redirect = await asyncio.to_thread(UserAgent(auth_server).sign_in, url)
        await asyncio.to_thread(UserAgent(auth_server).follow_redirect, redirect)
        status = ""
        for _ in range(200):
            await pilot.pause(0.05)
            status = str(app.screen.query_one("#status", Static).render())
            if status:
                break
        assert "The sign-in was declined" in status
        await pilot.press("escape")
        await pilot.pause()
    assert app.result is None
    assert memory_keyring.entries == {}


async def test_the_device_code_fallback_for_microsoft(
    auth_server: AuthServer, ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    config = _config(config_doc(auth_server, 587, ACCOUNT, ca_file))
    app = SignInApp(config)
    async with app.run_test(size=(100, 40)) as pilot:
        await shown_url(app, pilot)
        await pilot.click("#device")
        status = ""
        for _ in range(200):
            await pilot.pause(0.05)
            status = str(app.screen.query_one("#status", Static).render())
            if "enter the code" in status:
                break
        words = status.split()
        await asyncio.to_thread(UserAgent(auth_server).enter_user_code, words[1], words[-1])
        for _ in range(400):  # the app polls at the server's interval (5 s)
            await pilot.pause(0.05)
            if app.result != "not dismissed":
                break
    assert app.result == ACCOUNT
    assert KeyringStore().get(oauth.refresh_token_ref(config)) is not None
