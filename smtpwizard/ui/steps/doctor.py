"""'I already have settings: check them': the doctor in the TUI. Pick the app and its file, run the
check (the app's own settings, tested as the app will), read the diagnosis in the app's keys, and
apply the fix after confirming; the same core calls as `smtpwizard doctor`."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Header, Input, Select, Static

from smtpwizard.core.apps import APPS, IMPORTERS
from smtpwizard.core.display import safe_text
from smtpwizard.core.doctor import DoctorResult
from smtpwizard.core.probe import ProbeOptions, StageResult

TITLE = "I already have settings: check them"


def shown(text: str) -> str:
    """Text from the app's file or the server, on screen: no markup, no control characters."""
    return escape(safe_text(text, keep_newlines=True))


class ConfirmFix(ModalScreen[bool]):
    """Apply the change to the app's file? It shows exactly what will change."""

    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("y", "answer(True)", "Apply"),
        Binding("n,escape", "answer(False)", "Cancel"),
    ]

    def __init__(self, summary: str) -> None:
        super().__init__()
        self.summary = summary

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Apply the fix?", classes="dialog-title")
            yield Static(
                shown(self.summary) + "\nsmtpwizard first tests the fixed settings as the app will, and writes "
                "only if that passes (a backup is kept).",
                classes="dialog-text",
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply (y)", id="yes", variant="primary", compact=True)
                yield Button("Cancel (n)", id="no", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, apply: bool) -> None:
        self.dismiss(apply)


class DoctorScreen(Screen[None]):
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("escape", "back", "Back"),
        Binding("f5", "check", "Check"),
        Binding("f6", "apply", "Apply fix"),
    ]

    def __init__(self, app_id: str | None = None, probe_options: ProbeOptions | None = None) -> None:
        super().__init__()
        self.app_id = app_id if app_id in IMPORTERS else next(iter(IMPORTERS))
        self.probe_options = probe_options
        self.result: DoctorResult | None = None

    def compose(self) -> ComposeResult:
        yield Header(icon="@")
        yield Static(TITLE, id="progress")
        with VerticalScroll(id="body"):
            yield Static(
                "smtpwizard reads the app's own mail settings where the app reads them, tests them as the app "
                "will, and says what to change in the app's own words.",
                classes="intro",
            )
            with Horizontal(classes="row"):
                yield Static("App", classes="label")
                yield Select(
                    [(app.name, app.id) for app in APPS if app.id in IMPORTERS],
                    value=self.app_id,
                    allow_blank=False,
                    id="doctor-app",
                )
            with Horizontal(classes="row"):
                yield Static("File", classes="label")
                yield Input(
                    self._default_path(self.app_id), placeholder="path of the app's settings file", id="doctor-path"
                )
            yield Static("", id="doctor-stages")
            yield Static("", id="doctor-diagnosis")
            yield Static("", id="error")
        with Horizontal(id="nav"):
            yield Button("Back", id="back", compact=True)
            yield Button("Check (F5)", id="check", variant="primary", compact=True)
            yield Button("Apply fix (F6)", id="apply", disabled=True, compact=True)
        yield Footer()

    @staticmethod
    def _default_path(app_id: str) -> str:
        return IMPORTERS[app_id][1] or ""

    def on_select_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self.app_id = event.value
            self.query_one("#doctor-path", Input).value = self._default_path(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        {"back": self.action_back, "check": self.action_check, "apply": self.action_apply}[event.button.id or "back"]()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_check()

    def action_back(self) -> None:
        self.workers.cancel_all()
        self.app.pop_screen()

    def _put(self, widget: str, text: str) -> None:
        self.query_one(f"#{widget}", Static).update(text)

    def _say_error(self, text: str) -> None:
        error = self.query_one("#error", Static)
        error.update(shown(text))
        error.set_class(bool(text), "shown")

    def action_check(self) -> None:
        path = self.query_one("#doctor-path", Input).value.strip()
        self._say_error("")
        self._put("doctor-stages", "Checking...")
        self._put("doctor-diagnosis", "")
        self.query_one("#apply", Button).disabled = True
        self._check(self.app_id, Path(path) if path else None)

    @work(exclusive=True)
    async def _check(self, app_id: str, path: Path | None) -> None:
        from smtpwizard.core.doctor import examine, load
        from smtpwizard.core.errors import WizardError

        try:
            imported = load(app_id, path)
        except WizardError as exc:
            self._put("doctor-stages", "")
            self._say_error(str(exc))
            return
        self.result = await examine(imported, options=self.probe_options, on_stage=self._stage)
        self._show_result(self.result)

    def _show_result(self, result: DoctorResult) -> None:
        smtp = result.imported.smtp
        lines = [f"Read {shown(str(result.imported.path))}: {shown(smtp.host)} port {smtp.port} ({smtp.security})"]
        if result.report is not None:
            marks = {"ok": "✓", "failed": "✗", "skipped": "–", "running": "…"}
            lines += [f"{marks[r.status]} {r.stage.label} {shown(r.detail)}" for r in result.report.stages]
        self._put("doctor-stages", "\n".join(lines))
        diagnosis = result.diagnosis
        if diagnosis is None:
            self._put("doctor-diagnosis", "[b]The settings work as the app will use them.[/b]")
            return
        text = [f"[b]{shown(diagnosis.title)}[/b]", shown(diagnosis.explanation), f"Fix: {shown(result.fix or '')}"]
        if result.change is not None and result.change.diff:
            text += ["", "Proposed change (password masked):", shown(result.change.diff)]
        if result.outcome == "fixed":
            kept = f" (previous version kept as {result.backup})" if result.backup else ""
            text.append(f"[b]Fixed:[/b] the fixed settings passed and were written{shown(kept)}.")
        elif result.outcome in _OUTCOME:
            text.append(shown(_OUTCOME[result.outcome]))
        self._put("doctor-diagnosis", "\n".join(text))
        change = result.change
        fixable = change is not None and bool(change.set_keys or change.removed_keys or change.writes_password)
        self.query_one("#apply", Button).disabled = not (fixable and result.outcome in ("failed", "contradiction"))

    def action_apply(self) -> None:
        result = self.result
        if result is None or result.change is None or self.query_one("#apply", Button).disabled:
            return

        def decided(apply: bool | None) -> None:
            if apply:
                self._apply()

        self.app.push_screen(ConfirmFix(result.change.summary(result.imported.path.name)), decided)

    def _stage(self, result: StageResult) -> None:
        """Each stage as it ends, so a slow server shows where it is."""
        if result.status != "running":
            stages = self.query_one("#doctor-stages", Static)
            mark = {"ok": "✓", "failed": "✗", "skipped": "–"}[result.status]
            stages.update(f"{stages.content}\n{mark} {result.stage.label} {shown(result.detail)}")

    @work(exclusive=True)
    async def _apply(self) -> None:
        from smtpwizard.core.doctor import try_fix
        from smtpwizard.core.errors import WizardError

        assert self.result is not None
        try:
            self.result = await try_fix(self.result, write=True, options=self.probe_options)
        except WizardError as exc:
            self._say_error(str(exc))
            return
        self._show_result(self.result)


_OUTCOME = {
    "fix_failed": "The fixed settings fail too; the app's file was not changed.",
    "no_fix": "smtpwizard cannot fix this by itself; the app's file was not changed.",
    "fix_tested": "The fixed settings pass; nothing was written.",
    "fix_shown": "The fixed settings pass; make the change in the app's file by hand.",
}
