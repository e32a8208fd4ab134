"""Step 7: the live test. Stages appear as they run; a failure shows a diagnosis with the
fix, and 'Apply fix' when the fix is a settings change. Retrying is always the user's call."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Static
from textual.worker import Worker, WorkerState

from smtpwizard.core.answers import WizardAnswers
from smtpwizard.core.apply import live_test
from smtpwizard.core.apps import find_app
from smtpwizard.core.config import InlineSource, KeyringSource
from smtpwizard.core.diagnose import Diagnosis
from smtpwizard.core.errors import WizardError
from smtpwizard.core.probe import ProbeReport
from smtpwizard.core.settings import SECURITY_LABELS
from smtpwizard.ui.steps.base import StepScreen, bring_into_view
from smtpwizard.ui.widgets.diagnosis import DiagnosisPanel, escape
from smtpwizard.ui.widgets.domain_check import DomainCheckPanel
from smtpwizard.ui.widgets.stages import StageList


def summary_text(a: WizardAnswers) -> str:
    """The loaded config in a few lines, as the edit-mode summary shows it."""
    mode = SECURITY_LABELS.get(a.security, a.security)  # type: ignore[call-overload]
    lines = [
        f"App:       {a.target or 'just SMTP'}",
        f"Provider:  {a.provider_preset.name}",
        f"Server:    {a.host} port {a.port}, {mode}",
    ]
    if a.uses_oauth:
        o = a.oauth
        who = f"signed in as {o.signed_in_as}, kept in the keyring" if a.signed_in() else "not signed in"
        if o.flow == "client_credentials":
            who = "app-only: " + ("certificate " + o.certificate if o.certificate else "client secret in the keyring")
        lines += [f"Login:     {a.username} (XOAUTH2, {o.provider})", f"Sign-in:   {who}"]
        if (app := a.bridge_app()) is not None:
            lines.append(f"Bridge:    {app.name} sends through emailproxy (smtpwizard bridge)")
    elif a.username:
        kept = "kept from the keyring" if a.keep_stored_password and a.stored_password else "the one you typed"
        lines += [f"Login:     {a.username} ({a.auth_choice()})", f"Password:  {kept}"]
    else:
        lines.append("Login:     none")
    sender = f"{a.sender_name} <{a.sender_address}>" if a.sender_name else a.sender_address
    lines.append(f"Sender:    {sender}")
    return "\n".join(lines)


class LiveTestStep(StepScreen):
    STEP = "live_test"
    TITLE = "Live test"
    SHORT = "Test"
    INTRO = ""
    HELP = (
        "smtpwizard connects to the server the way your app will: name lookup, connection, greeting, "
        "encryption and certificate, login, sender, and the test message if you gave an address. "
        "A failed login is never retried automatically: providers lock accounts after repeated failures."
    )
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        *StepScreen.BINDINGS,
        Binding("enter", "test_now", "Test now"),  # edit mode's summary, instead of Continue
        Binding("r", "retry", "Test again"),
        Binding("f", "apply_fix", "Apply fix"),
        Binding("t", "transcript", "Transcript"),
        Binding("c", "cancel", "Cancel test"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.report: ProbeReport | None = None
        self.diagnosis: Diagnosis | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("", id="target-line")
        yield StageList(id="stages", stable=self.wizard.stable)
        yield Static("", id="outcome")
        yield DiagnosisPanel(id="diagnosis")
        yield DomainCheckPanel(id="domain-check")  # the sender domain's DNS, after a pass
        with Horizontal(id="test-actions"):
            yield Button("Apply fix (f)", id="apply-fix", variant="warning", compact=True)
            yield Button("Test again (r)", id="retry", compact=True)
            yield Button("Transcript (t)", id="transcript", compact=True)
            yield Button("Cancel (c)", id="cancel", variant="error", compact=True)
        yield Static("", id="transcript-text")

    def on_mount(self) -> None:
        self.query_one("#transcript-text", Static).display = False
        if self.wizard.summary_first:
            self.show_summary()
        else:
            self.start()

    def show_summary(self) -> None:
        """Edit mode opens here without testing: what the config says, and 'Test now'."""
        a = self.answers
        self.query_one("#target-line", Static).update(escape(f"Editing {self.wizard.config_path}"))
        self.query_one("#stages", StageList).update("\n".join(escape(line) for line in summary_text(a).split("\n")))
        self.query_one("#diagnosis", DiagnosisPanel).show(None)
        outcome = self.query_one("#outcome", Static)
        outcome.add_class("note")
        outcome.update(
            "Enter tests these settings now (login only: no message is sent unless you give a 'Test to' address "
            "on the Sender step). Esc goes back to change them."
        )
        self.query_one("#next", Button).label = "Test now"
        self.set_buttons(running=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Show only the bindings that do something now."""
        running = self.is_mounted and self.running()
        if action in ("next", "test_now"):
            return self.wizard.summary_first == (action == "test_now")
        if action == "cancel":
            return running
        if action == "apply_fix":
            return not running and bool(self.diagnosis and self.diagnosis.settings_change)
        if action in ("retry", "transcript"):
            return not running and (action == "retry" or self.report is not None)
        return True

    def set_buttons(self, *, running: bool) -> None:
        self.refresh_bindings()
        has_fix = bool(self.diagnosis and self.diagnosis.settings_change)
        self.query_one("#apply-fix", Button).display = not running and has_fix
        self.query_one("#retry", Button).display = not running and not self.wizard.summary_first
        self.query_one("#transcript", Button).display = not running and self.report is not None
        self.query_one("#cancel", Button).display = running
        passed = self.report is not None and self.report.ok
        self.query_one("#next", Button).disabled = running or not (passed or self.wizard.summary_first)

    def start(self) -> None:
        if self.wizard.summary_first:
            self.wizard.summary_first = False
            self.query_one("#next", Button).label = self.NEXT_LABEL
        self.clear_error()
        self.report, self.diagnosis = None, None
        self.query_one("#stages", StageList).reset()
        self.query_one("#outcome", Static).update("")
        self.query_one("#outcome", Static).remove_class("note")
        self.query_one("#diagnosis", DiagnosisPanel).show(None)
        self.query_one("#transcript-text", Static).display = False
        a = self.answers
        login = f" as {a.username}" if a.username else " without login"
        login += " with XOAUTH2" if a.uses_oauth else ""
        mode = SECURITY_LABELS.get(a.security, a.security)  # type: ignore[call-overload]
        app = f" as {found.name} will connect" if (found := find_app(a.target)) else ""  # the probe speaks as it
        if (bridged := a.bridge_app()) is not None:  # the sign-in is tested as the bridge will use it
            app = f" the sign-in {bridged.name} will send through (the bridge)"
        self.query_one("#target-line", Static).update(
            escape(f"Testing{app}: {a.host} port {a.port} with {mode}{login}")
        )
        try:
            document = a.to_document()
        except WizardError as exc:
            self.show_error(f"{exc} (press Esc to go back and correct it)")
            self.set_buttons(running=False)
            return
        self.set_buttons(running=True)
        self.run_worker(self.run_test(document), exclusive=True, group="probe", name="probe", exit_on_error=False)

    async def run_test(self, document: object) -> None:
        from smtpwizard.core.config import Document

        assert isinstance(document, Document)
        source = document.password_source
        secret = None
        if isinstance(source, InlineSource):
            secret = source.secret
        elif isinstance(source, KeyringSource):
            secret = await asyncio.to_thread(self.wizard.store.get, source.ref)  # D-Bus may block
            if secret is None:
                ref = source.ref
                self.show_error(
                    f"password: the keyring has no entry {ref.service}/{ref.account}; press Esc, "
                    "and type the password on the Login step"
                )
                self.set_buttons(running=False)
                return
        stages = self.query_one("#stages", StageList)
        # XOAUTH2: the token comes from the keyring, a client secret typed now from memory until the write
        pending = self.answers.pending_secrets(document.config)
        store = pending.over(self.wizard.store) if pending else self.wizard.store
        try:
            report, diagnosis = await live_test(
                document.config,
                secret,
                test_to=self.answers.test_to or None,
                probe_options=self.wizard.probe_options,
                on_stage=stages.show,
                store=store,
            )
        except WizardError as exc:  # a local fault (e.g. an unusable CA file): the user's to fix
            self.show_error(f"{exc} (press Esc to go back and correct it)")
            self.set_buttons(running=False)
            return
        self.report, self.diagnosis = report, diagnosis
        self.wizard.last_report = report if report.ok else None
        self.wizard.tested_document = document if report.ok else None
        self.wizard.tested_secret = secret if report.ok else None
        self.wizard.tested_pending = pending if report.ok else None
        outcome = self.query_one("#outcome", Static)
        if report.ok:
            took = "" if self.wizard.stable else f" in {report.elapsed_s:.1f} s"  # stable: reproducible pictures
            sent = (
                f" A test message went to {report.test_message_to}."
                if report.test_message_to
                else " No message was sent."
            )
            outcome.update(f"[b]✓ The test passed{took}.[/b]{escape(sent)} Press Enter to review and write.")
            self.query_one("#next", Button).focus()
        else:
            outcome.update("")
        self.query_one("#diagnosis", DiagnosisPanel).show(diagnosis)
        self.set_buttons(running=False)
        shown = self.query_one("#diagnosis") if diagnosis else outcome
        bring_into_view(shown)  # the verdict, not the stages, in view
        if diagnosis and diagnosis.settings_change:
            self.query_one("#apply-fix", Button).focus()
        self.query_one("#domain-check", DomainCheckPanel).after_test(report, self.answers)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "probe":
            return
        if event.state == WorkerState.CANCELLED:
            self.query_one("#stages", StageList).cancel()
            outcome = self.query_one("#outcome", Static)
            outcome.add_class("note")
            outcome.update("Test cancelled; the connection was closed. Nothing was written.")
            bring_into_view(outcome)
            self.set_buttons(running=False)
        elif event.state == WorkerState.ERROR:
            self.show_error(
                f"the test stopped unexpectedly ({type(event.worker.error).__name__}); press r to run it again"
            )
            self.set_buttons(running=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {
            "apply-fix": self.action_apply_fix,
            "retry": self.action_retry,
            "transcript": self.action_transcript,
            "cancel": self.action_cancel,
        }
        if event.button.id in actions:  # Back/Continue are handled by StepScreen's handler
            event.stop()
            actions[event.button.id]()

    def running(self) -> bool:
        return any(w.name == "probe" and w.is_running for w in self.workers)

    def action_retry(self) -> None:
        if not self.running():
            self.start()

    def action_apply_fix(self) -> None:
        if self.running() or not (self.diagnosis and self.diagnosis.settings_change):
            return
        self.answers.apply_change(self.diagnosis.settings_change)
        self.notify(f"Applied: {escape(self.diagnosis.change_summary() or '')}. Testing again.", timeout=4)
        self.start()

    def action_transcript(self) -> None:
        if self.report is None:
            return
        panel = self.query_one("#transcript-text", Static)
        panel.display = not panel.display
        text = "\n".join(self.report.transcript) or "(no SMTP exchange)"
        panel.update("Transcript (passwords redacted):\n" + "\n".join(escape(line) for line in text.split("\n")))
        if panel.display:  # PageDown/End scroll on from here
            bring_into_view(panel, top=True)

    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "probe")

    def action_back(self) -> None:
        self.wizard.summary_first = False  # coming back with Continue is asking for the test
        super().action_back()

    def action_test_now(self) -> None:
        self.start()

    def action_next(self) -> None:
        if self.wizard.summary_first:
            self.start()  # "Test now"
            return
        super().action_next()

    def save(self) -> bool:
        if self.running():
            self.show_error("the test is still running; wait for it, or press c to cancel")
            return False
        if self.report is None or not self.report.ok:
            self.show_error("the test has not passed; nothing can be written until it does (apply the fix, or go back)")
            return False
        return True
