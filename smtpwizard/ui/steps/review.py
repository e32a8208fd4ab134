"""Step 8: the YAML that will be written, where it goes, the difference from what is there,
and Write. The password is stored in the keyring at the same moment."""

from __future__ import annotations

import asyncio
import difflib
from pathlib import Path

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from smtpwizard.core.apply import planned, save_off_loop, verification_from
from smtpwizard.core.config import Document, dump_config
from smtpwizard.core.display import safe_text
from smtpwizard.core.errors import WizardError
from smtpwizard.ui.steps.base import StepScreen, warning_lines


def settings_lines(text: str) -> list[str]:
    """A config's lines without comments and without the ``verified`` record (the last section)."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return lines[: next((i for i, line in enumerate(lines) if line.startswith("verified:")), len(lines))]


class ReviewStep(StepScreen):
    STEP = "review"
    TITLE = "Review and write"
    SHORT = "Write"
    NEXT_LABEL = "Write"
    HELP = (
        "This is the file smtpwizard will write (mode 0600), with the previous version kept as .bak. "
        "It holds no password and no token: the password (or an OAuth client secret) goes to the OS keyring when "
        "you press Write; an OAuth sign-in's refresh token is already there."
    )

    def compose_body(self) -> ComposeResult:
        yield Static("", id="destination")
        yield Static("", id="warnings", classes="warnings")
        yield Static("", id="diff")  # first: when a file is there, what changes is the news
        yield Static("", id="yaml")

    def document(self) -> Document | None:
        return self.wizard.tested_document

    def on_mount(self) -> None:
        document, report = self.document(), self.wizard.last_report
        if document is None or report is None:
            self.show_error("run the live test first (press Esc)")
            return
        secret = self.wizard.tested_secret
        path = self.wizard.config_path
        config, _ref = planned(
            document.config, secret, document.password_source, verification_from(report), config_path=path
        )
        text = dump_config(config, path)
        self.query_one("#destination", Static).update(
            Text.assemble("Will write ", (safe_text(str(path)), "bold"), " (mode 0600):")
        )
        warnings = self.query_one("#warnings", Static)
        warnings.update(warning_lines(document.warnings))
        warnings.display = bool(document.warnings)
        self.query_one("#yaml", Static).update(
            Syntax(
                safe_text(text, keep_newlines=True),
                "yaml",
                theme="ansi_dark",
                background_color="default",
                word_wrap=True,
            )
        )
        self.diff_text = self.difference(path, text)
        self.query_one("#diff", Static).update(
            Syntax(self.diff_text, "diff", theme="ansi_dark", background_color="default", word_wrap=True)
        )
        self.query_one("#next").focus()

    diff_text = ""

    @staticmethod
    def difference(path: Path, text: str) -> str:
        """What the user changed: the settings only (comments and the test record differ each run)."""
        if not path.exists():
            return "There is no file there yet."
        old = settings_lines(path.read_text(encoding="utf-8", errors="replace"))
        lines = list(difflib.unified_diff(old, settings_lines(text), "current", "new", lineterm="", n=1))
        body = "\n".join(safe_text(line) for line in lines) if lines else "(no change to the settings)"
        return f"Difference from the current file (the 'verified' record is updated from this test):\n{body}"

    def save(self) -> bool:
        document, report = self.document(), self.wizard.last_report
        if document is None or report is None:
            self.show_error("run the live test first (press Esc)")
            return False
        self.run_worker(self.write(document), exclusive=True, group="write", name="write", exit_on_error=False)
        return False  # the worker moves on when the write succeeded

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name == "write" and event.state == WorkerState.ERROR:
            self.show_error(f"writing failed unexpectedly ({type(event.worker.error).__name__}); nothing was changed")

    async def write(self, document: Document) -> None:
        wizard = self.wizard
        source = document.password_source
        secret = wizard.tested_secret  # also for a kept keyring entry: save() then leaves it as it is
        assert wizard.last_report is not None
        pending = wizard.tested_pending  # an OAuth client secret: into the keyring with the config
        undo = None
        try:
            if pending is not None:
                undo = await asyncio.to_thread(pending.store, wizard.store)
            final, path, backup, ref = await save_off_loop(  # in a thread; rolled back if cancelled (Ctrl+C, SIGTERM)
                document.config,
                secret,
                source,
                wizard.store,
                wizard.config_path,
                verification_from(wizard.last_report),
            )
        except BaseException as exc:
            if undo is not None:
                await asyncio.to_thread(undo)  # the config was not written: the keyring is as it was
            if not isinstance(exc, WizardError):
                raise
            self.show_error(str(exc))
            return
        wizard.written = (final, Path(path), backup, ref)
        self.app.call_later(wizard.show_finish)  # not from inside this screen's own worker
