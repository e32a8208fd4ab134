"""Step 1: which app is being configured (optional)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from smtpwizard.core.targets import TARGETS
from smtpwizard.ui.steps.base import StepScreen

JUST_SMTP = "just-smtp"


class TargetStep(StepScreen):
    STEP = "target"
    TITLE = "App"
    SHORT = "App"
    INTRO = (
        "Which app is the mail for? It decides the warnings and the export at the end. "
        "I already have settings: F4 checks them."
    )
    HELP = (
        "Pick the self-hosted app that will send the mail. smtpwizard then shows what changing its mail settings "
        "does (some apps log everyone out) and, at the end, writes the settings in that app's own format. "
        "Choose 'Just SMTP' to only test and save the settings."
    )

    BINDINGS: ClassVar[list[Binding]] = [Binding("f4", "doctor", "Check existing settings")]  # type: ignore[assignment]

    def action_doctor(self) -> None:
        from smtpwizard.ui.steps.doctor import DoctorScreen  # the doctor screen (smtpwizard doctor)

        targets = self.query_one("#targets", OptionList)
        chosen = targets.options[targets.highlighted].id if targets.highlighted is not None else None
        self.app.push_screen(DoctorScreen(chosen, self.wizard.probe_options))

    def compose_body(self) -> ComposeResult:
        options = [Option(f"{t.name:<13}{t.blurb}", id=t.id) for t in TARGETS]
        options.append(Option(f"{'Just SMTP':<13}test and save the settings only", id=JUST_SMTP))
        yield OptionList(*options, id="targets")

    def on_mount(self) -> None:
        targets = self.query_one("#targets", OptionList)
        wanted = self.answers.target or JUST_SMTP
        for index, option in enumerate(targets.options):
            if option.id == wanted:
                targets.highlighted = index
        targets.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_next()

    def save(self) -> bool:
        self.save_quietly()
        return True

    def save_quietly(self) -> None:
        targets = self.query_one("#targets", OptionList)
        if targets.highlighted is not None:
            chosen = targets.options[targets.highlighted].id
            self.answers.choose_target(None if chosen == JUST_SMTP else chosen)
