"""Step 8: the YAML that will be written, where it goes, the difference from what is there,
and Write. The password is stored in the keyring at the same moment."""

from __future__ import annotations

import difflib
from pathlib import Path

from rich.markup import escape
from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from smtpwizard.core.apply import planned, save_off_loop, verification_from
from smtpwizard.core.config import Document, InlineSource, dump_config
from smtpwizard.core.display import safe_text
from smtpwizard.core.errors import WizardError
from smtpwizard.ui.steps.base import StepScreen, warning_lines


class ReviewStep(StepScreen):
    STEP = "review"
    TITLE = "Review and write"
    SHORT = "Write"
    NEXT_LABEL = "Write"
    HELP = (
        "This is the file smtpwizard will write (mode 0600), with the previous version kept as .bak. "
        "It holds no password: the password goes to the OS keyring when you press Write."
    )

    def compose_body(self) -> ComposeResult:
        yield Static("", id="destination")
        yield Static("", id="warnings", classes="warnings")
        yield Static("", id="yaml")
        yield Static("", id="diff")

    def document(self) -> Document | None:
        return self.wizard.tested_document

    def on_mount(self) -> None:
        document, report = self.document(), self.wizard.last_report
        if document is None or report is None:
            self.show_error("run the live test first (press Esc)")
            return
        config, _ref = planned(document.config, None, document.password_source, verification_from(report))
        text = dump_config(config)
        if isinstance(document.password_source, InlineSource):
            text = text.replace("password: null", "password: {keyring: <stored when you press Write>}")
        path = self.wizard.config_path
        self.query_one("#destination", Static).update(f"Will write [b]{escape(safe_text(str(path)))}[/b] (mode 0600):")
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
        diff = self.query_one("#diff", Static)
        if path.exists():
            old = path.read_text(encoding="utf-8", errors="replace").splitlines()
            lines = list(difflib.unified_diff(old, text.splitlines(), "current", "new", lineterm="", n=1))
            body = "\n".join(safe_text(line) for line in lines) if lines else "(no change from the current file)"
            diff.update(
                Syntax(
                    f"Difference from the current file:\n{body}", "diff", theme="ansi_dark", background_color="default"
                )
            )
        else:
            diff.update("There is no file there yet.")
        self.query_one("#next").focus()

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
        secret = source.secret if isinstance(source, InlineSource) else None
        assert wizard.last_report is not None
        try:
            final, path, backup, ref = await save_off_loop(  # in a thread; rolled back if cancelled (Ctrl+C, SIGTERM)
                document.config,
                secret,
                source,
                wizard.store,
                wizard.config_path,
                verification_from(wizard.last_report),
            )
        except WizardError as exc:
            self.show_error(str(exc))
            return
        wizard.written = (final, Path(path), backup, ref)
        self.app.call_later(wizard.show_finish)  # not from inside this screen's own worker
