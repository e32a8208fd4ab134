"""The live test's stages as they run: a spinner, then a tick or a cross and the time."""

from __future__ import annotations

from dataclasses import replace

from textual.widgets import Static

from smtpwizard.core.probe import Stage, StageResult
from smtpwizard.ui.widgets.diagnosis import escape

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
MARKS = {
    "ok": "[$success]✓[/]",
    "failed": "[$error]✗[/]",
    "skipped": "[$text-muted]–[/]",
    "cancelled": "[$warning]■[/]",
}
# aiosmtplib sends STARTTLS and does the TLS handshake in one call, so the STARTTLS time
# includes the handshake and the TLS row after it only reads the certificate: label them so.
AFTER_STARTTLS = {
    Stage.STARTTLS: "STARTTLS and TLS handshake",
    Stage.TLS: "TLS version and certificate",
}


class StageList(Static):
    """One line per stage; animates only while a stage is running."""

    DEFAULT_CSS = "StageList { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }"

    def __init__(self, *, stable: bool = False, id: str | None = None) -> None:
        super().__init__("", id=id, markup=True)
        self.rows: dict[Stage, StageResult] = {}
        self.cancelled = False
        self.frame = 0
        self.stable = stable  # no spinner, no timings: reproducible pictures for snapshot tests

    def on_mount(self) -> None:
        if not self.stable:
            self.set_interval(0.1, self.tick)

    def tick(self) -> None:
        if not self.cancelled and any(r.status == "running" for r in self.rows.values()):
            self.frame = (self.frame + 1) % len(FRAMES)
            self.redraw()

    def reset(self) -> None:
        self.rows.clear()
        self.cancelled = False
        self.redraw()

    def cancel(self) -> None:
        """The test was cancelled: the stage that was running stops spinning and says so."""
        self.cancelled = True
        self.redraw()

    def show(self, result: StageResult) -> None:
        self.rows[result.stage] = replace(result)
        self.redraw()

    def redraw(self) -> None:
        lines = [self.line(row) for row in self.rows.values()]
        self.update("\n".join(lines) if lines else "Not run yet.")

    def line(self, row: StageResult) -> str:
        status, detail = row.status, row.detail
        if status == "running" and self.cancelled:
            status, detail = "cancelled", "cancelled; the connection was closed"
        mark = FRAMES[self.frame] if status == "running" else MARKS[status]
        label = row.stage.label
        timed = status in ("ok", "failed") and not self.stable
        if Stage.STARTTLS in self.rows and row.stage in AFTER_STARTTLS:
            label = AFTER_STARTTLS[row.stage]
            timed = timed and row.stage == Stage.STARTTLS  # the certificate row has no time of its own
        timing = f"{row.elapsed_s * 1000:6.0f} ms" if timed else " " * 9
        return f"{mark} {label:<30} {timing}  {escape(detail)}"
