"""Step 6: what changing mail settings does, acknowledged before anything is tested or written."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.widgets import Checkbox, Static

from smtpwizard.core.consequences import Consequence, app_without_xoauth2, consequences_for
from smtpwizard.ui.steps.base import StepScreen
from smtpwizard.ui.widgets.tick import Tick

MARK = {"danger": "‼ DANGER", "warning": "⚠ WARNING", "info": "ℹ NOTE"}


class ConsequencesStep(StepScreen):
    STEP = "consequences"
    TITLE = "Before you apply"
    SHORT = "Confirm"
    INTRO = "Nothing is written before the live test passes. Read what these settings will do:"
    HELP = (
        "Changing an app's mail settings can log users out, lock admins out, or get the mail account locked "
        "after failed logins. smtpwizard tests once, never retries a failed login by itself, and writes "
        "nothing until the test passes, keeping a backup of what it replaces."
    )

    def consequences(self) -> list[Consequence]:
        """The catalog's consequences for these answers; an OAuth2 sign-in adds its own (token lifetimes,
        Conditional Access, secret expiry), and an app that cannot send XOAUTH2 the bridge it needs."""
        a = self.answers
        found = consequences_for(a.target, a.provider, a.oauth_settings())
        if (app := a.bridge_app()) is not None:
            command = a.bridge_command(str(self.wizard.config_path))
            found.insert(0, app_without_xoauth2(app.name, app.profile.library, command))
        return found

    def compose_body(self) -> ComposeResult:
        for c in self.consequences():
            yield Static(
                escape(f"{MARK[c.severity]}  {c.what}\n  Affects: {c.who}\n  Do this: {c.action}"),
                classes=f"consequence {c.severity}",
            )
        yield Tick("I understand", self.answers.acknowledged, id="ack")

    def on_mount(self) -> None:
        self.query_one("#ack", Checkbox).focus(scroll_visible=False)  # read from the top: the danger comes first

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.answers.acknowledged = event.value
        if event.value:
            self.clear_error()

    def save(self) -> bool:
        if not self.answers.acknowledged:
            self.show_error("tick 'I understand' (Space) to continue; nothing has been written")
            return False
        return True
