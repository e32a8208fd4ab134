"""After writing: what was written, the export for the chosen app, and next steps."""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path
from typing import ClassVar

from rich.markup import escape
from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Footer, Header, Input, Label, Static
from textual.worker import Worker, WorkerState

from smtpwizard.core.display import safe_text
from smtpwizard.core.errors import WizardError
from smtpwizard.core.exporters import Export, export, exporters
from smtpwizard.core.settings import Config
from smtpwizard.ui.steps.base import SCROLL_BINDINGS, bring_into_view, scroll_body, warning_lines
from smtpwizard.ui.widgets.tick import Tick

LEXERS = {"env": "bash", "helm": "yaml", "yaml": "yaml", "json": "json", "ruby": "ruby", "python": "python"}


class FinishScreen(Screen[None]):
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("q", "app.exit_done", "Quit"),
        Binding("y", "copy", "Copy export"),
        Binding("f1", "help", "Help"),
        *SCROLL_BINDINGS,
    ]

    def __init__(
        self,
        config: Config,
        path: Path,
        backup: Path | None,
        *,
        password_kept: bool = False,
        signed_in_as: str | None = None,
        client_secret_stored: bool = False,
        bridge: tuple[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.path = path
        self.backup = backup
        self.password_kept = password_kept  # edit mode: the keyring entry was left as it was
        self.signed_in_as = signed_in_as  # XOAUTH2: whose sign-in the config uses
        self.client_secret_stored = client_secret_stored  # XOAUTH2 app-only: stored by this write
        self.bridge = bridge  # the app that cannot send XOAUTH2, and the command that gives it a way
        self.export: Export | None = None

    def compose(self) -> ComposeResult:
        yield Header(icon="@")
        with VerticalScroll(id="body"):
            saved = Text.assemble(
                (f"✓ Wrote {self.path}", "bold"),
                f" (previous version kept as {self.backup.name})" if self.backup else "",
            )
            yield Static(saved, id="saved")
            if self.config.warnings:
                yield Static(warning_lines(self.config.warnings), id="warnings", classes="warnings")
            ref = self.config.smtp.password
            if ref is not None:
                how = "kept, unchanged," if self.password_kept else "stored"
                yield Static(
                    escape(f"✓ Password {how} in the OS keyring ({ref.service}/{ref.account})."), id="keyring-line"
                )
            yield from self.compose_oauth()
            yield Static(
                escape(f"Re-test any time (also in scripts):  smtpwizard test --config {self.path}"), id="retest"
            )
            yield from self.compose_bridge() if self.bridge else self.compose_export()
        with Horizontal(id="nav"):
            yield Button("Quit (q)", id="quit", variant="primary", compact=True)
        yield Footer()

    def compose_oauth(self) -> ComposeResult:
        """Where the sign-in's secrets are: the keyring only (the config names the entries)."""
        oauth = self.config.oauth
        if oauth is None:
            return
        lines = []
        if oauth.refresh_token is not None:
            ref = oauth.refresh_token
            who = safe_text(self.signed_in_as or self.config.smtp.username or "?")
            lines.append(
                f"✓ Signed in as {who}: the refresh token stays in the OS keyring ({ref.service}/{ref.account})."
            )
        if (ref := oauth.client_secret) is not None:
            how = "stored" if self.client_secret_stored else "kept, unchanged,"
            lines.append(f"✓ Client secret {how} in the OS keyring ({ref.service}/{ref.account}).")
        if oauth.certificate:
            lines.append(f"✓ App-only sign-in with the certificate {safe_text(oauth.certificate)}.")
        yield Static(escape("\n".join(lines)), id="keyring-line")

    def compose_bridge(self) -> ComposeResult:
        """An app that cannot send XOAUTH2: no export it could not use; the bridge command instead."""
        assert self.bridge is not None
        app, command = self.bridge
        args = shlex.split(command)
        out = shlex.quote(args[args.index("--out") + 1] + "/app.yaml")
        self.bridge_command = command
        tls = (
            f"({app} sends a password only over TLS: --tls-cert names a PEM file with a certificate and key for the "
            "bridge, --tls-ca the CA that signed it.)\n"
            if "--tls-cert" in command
            else ""
        )
        text = (
            f"⚠ {app} cannot send with OAuth2 (its mail library sends only a password), so there is no {app} "
            f"export of this config. Give {app} a working path through a local bridge (emailproxy):\n"
            f"  {command}\n"
            f"{tls}"
            f"Copy it with y. Then start emailproxy, and: smtpwizard test --config {out}\n"
            f"and: smtpwizard export --config {out} --reveal-secret"
        )
        yield Static(escape(safe_text(text, keep_newlines=True)), id="bridge", classes="warnings bridge")

    def compose_export(self) -> ComposeResult:
        target = self.config.target
        if target is None:
            yield Static("To use these settings in an app: smtpwizard export --list")
            return
        exporter = exporters()[target]
        try:
            self.export = export(target, self.config, None)
        except WizardError as exc:
            yield Static(escape(f"✗ {exc}"), id="export-error")
            return
        yield Static(
            f"[b]{exporter.name} settings[/b] (password as a placeholder; smtpwizard export --target {target} --reveal-secret fills it):"
        )
        yield Static(
            Syntax(
                safe_text(self.export.text, keep_newlines=True),  # shown safe; copied and written as it is
                LEXERS[exporter.default_format],
                theme="ansi_dark",
                background_color="default",
                word_wrap=True,
            ),
            id="export",
        )
        for note in self.export.notes:
            yield Static(escape(f"• {note}"), classes="hint")
        with Horizontal(classes="row"):
            yield Button("Copy (y)", id="copy", compact=True)
        if exporter.default_format in exporter.write_into:
            with Horizontal(classes="row"):
                yield Label("Write into", classes="label")
                yield Input(placeholder="path of the app's existing file, e.g. .env", id="write-path", compact=True)
                yield Button("Write", id="write-into", compact=True)
            yield Tick("Fill in the password from the keyring", id="reveal")
        yield Static("", id="write-result")

    def action_scroll_body(self, how: str) -> None:
        scroll_body(self, how)

    def show_result(self, message: str) -> None:
        """The outcome of Write into, scrolled into view: it is the answer the user waits for."""
        result = self.query_one("#write-result", Static)
        result.update(escape(safe_text(message, keep_newlines=True)))
        bring_into_view(result)

    bridge_command: str | None = None

    def action_copy(self) -> None:
        if self.bridge_command is not None:
            self.app.copy_to_clipboard(self.bridge_command)
            self.notify("Copied the bridge command to the clipboard.", timeout=4)
        elif self.export is not None:
            self.app.copy_to_clipboard(self.export.text)
            self.notify("Copied to the clipboard (the password is a placeholder).", timeout=4)

    def action_help(self) -> None:
        from smtpwizard.ui.widgets.dialogs import HelpDialog

        self.app.push_screen(
            HelpDialog(
                "Done",
                "Your config is written and verified. Copy the export into your app, then restart it as the notes say.",
            )
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "quit":
            self.app.exit(0)
        elif event.button.id == "copy":
            self.action_copy()
        elif event.button.id == "write-into":
            self.run_worker(self.write_into(), exclusive=True, name="write-into", exit_on_error=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name == "write-into" and event.state == WorkerState.ERROR:
            self.show_result(f"✗ writing failed unexpectedly ({type(event.worker.error).__name__})")

    async def write_into(self) -> None:
        from smtpwizard.core.exporters.write_into import write_into
        from smtpwizard.ui.app import WizardApp

        assert self.config.target is not None
        raw = self.query_one("#write-path", Input).value.strip()
        if not raw:
            self.show_result("✗ Write into: no path given; type the path of the app's existing file")
            return
        reveal = self.query_one("#reveal", Checkbox).value
        app = self.app
        assert isinstance(app, WizardApp)
        try:
            secret = None
            if reveal and self.config.smtp.password is not None:
                secret = await asyncio.to_thread(app.store.get, self.config.smtp.password)
            exporter = exporters()[self.config.target]
            fresh = export(self.config.target, self.config, secret, reveal=reveal)
            kind = "json" if exporter.default_format == "json" else "env"
            written = await asyncio.to_thread(write_into, Path(raw), fresh, kind, secret_revealed=secret is not None)
        except WizardError as exc:
            self.show_result(f"✗ {exc}")
            return
        backup = written.backup
        kept = "".join(f"\n{note}" for note in written.notes)
        self.show_result(f"✓ Updated {raw}" + (f" (previous version kept as {backup})" if backup else "") + kept)
