"""Step 3: host, port, security mode, certificate checks, CA file and HELO name."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from smtpwizard.core.errors import FieldError, WizardError
from smtpwizard.core.settings import SECURITY_LABELS, validate_hostname, validate_port
from smtpwizard.ui.steps.base import StepScreen
from smtpwizard.ui.widgets.diagnosis import escape
from smtpwizard.ui.widgets.tick import Tick

SECURITY_CHOICES = [(f"{SECURITY_LABELS[m]}", m) for m in ("starttls", "tls", "none")]


class ConnectionStep(StepScreen):
    BINDINGS: ClassVar[list[Binding]] = [*StepScreen.BINDINGS, Binding("f5", "detect", "Detect port")]  # type: ignore[assignment]

    STEP = "connection"
    TITLE = "Connection"
    SHORT = "Connection"
    INTRO = "Where to connect. The provider's recommended settings are filled in."
    HELP = (
        "Port 587 (and 2525) start in plain text and switch to encryption with STARTTLS. Port 465 is encrypted "
        "from the first byte (implicit TLS, often called SSL). Port 25 is for server-to-server mail and is "
        "blocked by many hosting providers. Keep certificate checks on; for a self-signed relay give its CA file."
    )

    proposed = False  # the security mode was just set from the port (the hint says so)

    def compose_body(self) -> ComposeResult:
        a = self.answers
        with Horizontal(classes="row"):
            yield Label("Host", classes="label")
            yield Input(a.host, placeholder="smtp.example.com", compact=True, id="host")
        with Horizontal(classes="row"):
            yield Label("Port", classes="label")
            yield Input(a.port, placeholder="587", compact=True, id="port", type="integer", max_length=5)
        with Horizontal(classes="row"):
            yield Label("Security", classes="label")
            yield Select(SECURITY_CHOICES, value=a.security, compact=True, id="security", allow_blank=False)
            yield Button("Detect (F5)", id="detect", classes="small", compact=True)
        yield Static("", id="port-hint")
        yield Static("", id="security-notes", classes="warnings")
        yield Static("", id="detect-result")
        yield Tick("Verify the server's certificate (recommended)", a.verify_certificate, id="verify")
        with Horizontal(classes="row"):
            yield Label("CA file", classes="label")
            yield Input(a.ca_file, placeholder="optional: PEM file of a CA to trust", compact=True, id="ca-file")
        with Horizontal(classes="row"):
            yield Label("HELO name", classes="label")
            yield Input(a.helo_domain, placeholder="optional: e.g. mail.example.com", compact=True, id="helo")

    def on_mount(self) -> None:
        self.query_one("#host", Input).focus()
        self.query_one("#detect-result", Static).display = False
        self.update_hint()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "detect":  # Back/Continue are handled by StepScreen's handler
            event.stop()
            self.action_detect()

    def action_detect(self) -> None:
        """Race the provider's ports (no login) and fill in the best working one."""
        self.collect()
        try:
            host = validate_hostname(self.answers.host, "host")
        except FieldError as exc:
            self.show_error(str(exc))
            return
        self.clear_error()
        result = self.query_one("#detect-result", Static)
        result.display = True
        result.update(f"Trying the ports of {host} at once (no login, no mail)...")
        self.run_worker(self.detect(host), exclusive=True, name="detect", exit_on_error=False)

    async def detect(self, host: str) -> None:
        from smtpwizard.core.autodetect import Detection, candidates_for, detect
        from smtpwizard.core.providers import provider_for_host

        preset = self.answers.provider_preset
        provider = preset if preset.id != "custom" else provider_for_host(host)
        marks = {"works": "✓", "fails": "✗", "not waited for": "·", "probably blocked": "?"}

        def on_early(early: Detection) -> None:
            """The answer as soon as it is probably right (filled in); the detection goes on confirming."""
            assert early.best is not None and early.early is not None
            self.query_one("#port", Input).value = str(early.best.port)
            self.query_one("#security", Select).value = early.best.security
            best = f"port {early.best.port} with {SECURITY_LABELS[early.best.security]}"
            lines = [f"Best: {best} (filled in; early verdict, still confirming...)", f"Why: {early.early.reason()}"]
            lines += [f"{marks[r.status]} {r.candidate.label:<24} {r.summary()}" for r in early.results]
            self.query_one("#detect-result", Static).update("\n".join(escape(line) for line in lines))

        typed = int(self.answers.port) if self.answers.port.isdigit() else None  # the port in the field goes first
        try:
            found = await detect(
                host,
                candidates_for(provider, typed, self.answers.security if typed is not None else None),
                verify_certificate=self.answers.verify_certificate,
                ca_file=self.answers.ca_file or None,
                helo_domain=self.answers.helo_domain or None,
                options=self.wizard.probe_options,
                on_early=on_early,
            )
        except WizardError as exc:  # e.g. the CA file: a local fault, not a port that fails
            self.query_one("#detect-result", Static).update("")
            self.show_error(str(exc))
            return
        lines = [f"{marks[r.status]} {r.candidate.label:<24} {r.summary()}" for r in found.results]
        verdict = found.verdict
        headline = verdict.headline
        if verdict.candidate is not None and verdict.state in ("answered", "certificate"):  # the port is right
            self.query_one("#port", Input).value = str(verdict.candidate.port)
            self.query_one("#security", Select).value = verdict.candidate.security
            headline += " (port and security filled in)"
        lines.insert(0, headline + "." + (f" Fix: {verdict.fix}" if verdict.fix else ""))
        if found.early is not None:
            lines.insert(1, f"{found.early.outcome()}.")
        self.query_one("#detect-result", Static).update("\n".join(escape(line) for line in lines))

    def collect(self) -> None:
        a = self.answers
        a.host = self.query_one("#host", Input).value.strip()
        a.port = self.query_one("#port", Input).value.strip()
        security = self.query_one("#security", Select).value
        a.security = security if isinstance(security, str) else a.security
        a.verify_certificate = self.query_one("#verify", Checkbox).value
        a.ca_file = self.query_one("#ca-file", Input).value.strip()
        a.helo_domain = self.query_one("#helo", Input).value.strip()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "port":
            # No proposal while typing: 4650 passes through 465 on its way.
            self.answers.port = event.value.strip()
            self.proposed = False
            self.update_hint()

    def on_input_blurred(self, event: Input.Blurred) -> None:
        if event.input.id == "port":
            self.propose_security()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        event.prevent_default()  # handled here, not again by StepScreen's handler
        if event.input.id == "port" and self.propose_security():
            return  # stay, so the user sees the mode that was just set and why
        self.action_next()

    def propose_security(self) -> bool:
        """Leaving or confirming the port sets its usual mode, unless one was picked by hand."""
        self.answers.port = self.query_one("#port", Input).value.strip()
        proposed = self.answers.propose_security()
        if proposed is not None:
            self.query_one("#security", Select).value = proposed  # answers already hold it: not "by hand"
            self.proposed = True
        self.update_hint()
        return proposed is not None

    def on_select_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.answers.security:
            self.answers.security = event.value
            self.answers.security_by_hand = True
            self.proposed = False
        self.update_hint()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.answers.verify_certificate = event.value
        self.update_hint()

    def update_hint(self) -> None:
        """Always say what the port implies for the security mode, and why."""
        a = self.answers
        advice = a.port_advice()
        mode = SECURITY_LABELS.get(a.security, a.security)  # type: ignore[call-overload]
        if advice.security is None:
            note = f"ℹ {advice.reason}."
        elif advice.security == a.security:
            note = f"✓ {advice.reason}" + (f", so security is now {mode}." if self.proposed else ".")
        elif a.security_by_hand:
            note = f"⚠ {advice.reason}; you chose {mode}. Keep it only if your server says so."
        else:
            note = f"ℹ {advice.reason}: leaving the port field (Tab or Enter) sets it."
        hint = self.query_one("#port-hint", Static)
        hint.update(escape(note))
        hint.set_class(note.startswith("⚠"), "warn")
        warnings = []
        if not self.query_one("#verify", Checkbox).value:
            warnings.append("⚠ Certificate checks OFF: anyone on the path could read the password. Prefer a CA file.")
        if a.security == "none":
            warnings.append("⚠ No encryption: only for a relay on this machine or a network you control.")
        notes = self.query_one("#security-notes", Static)
        notes.update("\n".join(warnings))
        notes.display = bool(warnings)

    def save(self) -> bool:
        self.collect()
        self.clear_error()
        try:
            validate_hostname(self.answers.host, "host")
            validate_port(int(self.answers.port) if self.answers.port.isdigit() else self.answers.port, "port")
            if self.answers.helo_domain:
                validate_hostname(self.answers.helo_domain, "HELO name")
        except FieldError as exc:
            self.show_error(str(exc))
            return False
        if self.answers.ca_file:
            from pathlib import Path

            if not Path(self.answers.ca_file).expanduser().is_file():
                self.show_error(f"CA file: '{self.answers.ca_file}' does not exist; give the path of a PEM file")
                return False
        return True

    def save_quietly(self) -> None:
        self.collect()
