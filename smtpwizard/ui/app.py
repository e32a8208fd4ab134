"""WizardApp: holds the answers and walks the step screens. The steps do the work; the app
only orders them, and every service (keyring store, probe timeouts) comes in through
:func:`make_app`, so the CLI, the tests, the snapshots and the screenshot script build the
same app."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import signal
from pathlib import Path
from typing import ClassVar

from rich.console import RenderableType
from textual.app import App
from textual.binding import Binding

from smtpwizard.core.answers import PendingSecrets, WizardAnswers
from smtpwizard.core.config import Document, KeyringSource, read_document_file
from smtpwizard.core.errors import WizardError
from smtpwizard.core.exit_codes import ExitCode
from smtpwizard.core.files import default_config_path
from smtpwizard.core.probe import ProbeOptions, ProbeReport
from smtpwizard.core.secrets import KeyringStore, SecretStore
from smtpwizard.core.settings import Config, Secret, SecretRef
from smtpwizard.ui.steps import STEPS
from smtpwizard.ui.widgets.breadcrumb import Breadcrumb
from smtpwizard.ui.widgets.dialogs import ConfirmQuit


class WizardApp(App[int]):
    CSS_PATH = "wizard.tcss"
    TITLE = "smtpwizard"
    SUB_TITLE = "outgoing email that works"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+c", "interrupt", "Interrupt", show=False, priority=True),
    ]

    def __init__(
        self,
        *,
        config_path: Path,
        store: SecretStore,
        answers: WizardAnswers,
        start_step: int = 0,
        probe_options: ProbeOptions | None = None,
        stable: bool = False,
        notice: str | None = None,
        summary_first: bool = False,
    ) -> None:
        super().__init__()
        self.config_path = config_path
        self.store = store
        self.answers = answers
        self.step = start_step
        self.probe_options = probe_options
        self.stable = stable  # reproducible rendering (snapshot tests): no spinner, no timings
        self.notice = notice
        self.keyring_ok = False
        self.last_report: ProbeReport | None = None
        self.tested_document: Document | None = None
        self.tested_secret: Secret | None = None  # the password the passing test used, for the write
        self.tested_pending: PendingSecrets | None = None  # an OAuth client secret the test used, for the write
        self.switch_note: str | None = None  # what switching provider cleared; the Login step says it
        self.summary_first = summary_first  # edit mode: show the config and wait for "Test now"
        self.initial_answers = copy.deepcopy(answers)  # to tell whether quitting loses anything
        self.written: tuple[Config, Path, Path | None, SecretRef | None] | None = None

    def on_mount(self) -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread (tests)
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self.action_interrupt, ExitCode.TERMINATED)
        self.push_screen(STEPS[self.step]())
        if self.notice:
            self.notify(self.notice, timeout=6, markup=False)  # it quotes the file's own text

    def breadcrumb(self, step_id: str) -> Breadcrumb:
        index = next(i for i, s in enumerate(STEPS) if step_id == s.STEP)
        return Breadcrumb([s.SHORT for s in STEPS], index, id="progress")

    def go_to(self, step: int) -> None:
        self.step = max(0, min(step, len(STEPS) - 1))
        self.switch_screen(STEPS[self.step]())

    def next_step(self) -> None:
        self.go_to(self.step + 1)

    def previous_step(self) -> None:
        if self.step > 0:
            self.go_to(self.step - 1)

    def show_finish(self) -> None:
        from smtpwizard.ui.steps.finish import FinishScreen

        assert self.written is not None
        config, path, backup, _ref = self.written
        kept = self.tested_document is not None and isinstance(self.tested_document.password_source, KeyringSource)
        bridge = self.answers.bridge_app()
        self.switch_screen(
            FinishScreen(
                config,
                path,
                backup,
                password_kept=kept,
                signed_in_as=self.answers.oauth.signed_in_as if config.oauth else None,
                client_secret_stored=self.tested_pending is not None,
                bridge=(bridge.name, self.answers.bridge_command(str(path))) if bridge else None,
            )
        )

    def would_lose_answers(self) -> bool:
        """Whether quitting now drops answers the user gave and has not written."""
        return self.written is None and self.answers != self.initial_answers

    async def action_quit(self) -> None:
        if not self.would_lose_answers():
            self.exit(0)  # nothing to lose: written, or nothing changed
            return
        if isinstance(self.screen, ConfirmQuit):
            return

        def decided(quit_: bool | None) -> None:
            if quit_:  # the user abandons unsaved answers: nothing was written, as after Ctrl+C
                self.exit(int(ExitCode.INTERRUPTED), return_code=int(ExitCode.INTERRUPTED))

        self.push_screen(ConfirmQuit(), decided)

    def action_interrupt(self, code: int = ExitCode.INTERRUPTED) -> None:
        """Ctrl+C (and SIGTERM, code 143), as in any terminal program: stop now (a running test
        is cancelled, which closes its connection; a keyring call in flight is abandoned, so
        its thread does not hold the exit), write nothing, leave the terminal as it was. After
        the write it simply quits."""
        if self.written is not None:
            self.exit(0)
            return
        self.workers.cancel_all()
        self.exit(int(code), return_code=int(code))

    def exit(self, result: int | None = None, return_code: int = 0, message: RenderableType | None = None) -> None:
        """Every way out abandons a keyring call in flight, so its thread never holds the exit."""
        self.store.abandon()
        super().exit(result, return_code, message)

    def action_exit_done(self) -> None:
        self.exit(0)


def make_app(
    config_path: Path | None = None,
    *,
    store: SecretStore | None = None,
    probe_options: ProbeOptions | None = None,
    stable: bool = False,
) -> WizardApp:
    """The wizard, opened pre-filled (at the live test) when ``config_path`` holds a config."""
    path = (config_path or default_config_path()).expanduser()
    answers = WizardAnswers()
    start, notice = 0, None
    if path.exists():
        try:
            config = read_document_file(path, "config").config
        except WizardError as exc:
            notice = f"Could not read the existing config, starting afresh: {exc}"
        else:
            answers = WizardAnswers.from_config(config)
            start = next(i for i, s in enumerate(STEPS) if s.STEP == "live_test")  # its summary says "Editing"
    return WizardApp(
        config_path=path,
        store=store or KeyringStore(),
        answers=answers,
        start_step=start,
        probe_options=probe_options,
        stable=stable,
        notice=notice,
        summary_first=start > 0,
    )


def run_wizard(config_path: Path | None = None) -> int:
    """Run the TUI; returns the exit code (0 when a config was written)."""
    app = make_app(config_path)
    result = app.run()
    return result if isinstance(result, int) else (0 if app.written else int(ExitCode.INTERRUPTED))
