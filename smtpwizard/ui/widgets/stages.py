"""The live test's stages as they run: a spinner, then a tick or a cross and the time."""

from __future__ import annotations

from dataclasses import replace

from textual.widgets import Static

from smtpwizard.core.probe import Stage, StageResult
from smtpwizard.ui.widgets.diagnosis import escape

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
MARKS = {"ok": "[$success]✓[/]", "failed": "[$error]✗[/]", "skipped": "[$text-muted]–[/]"}


class StageList(Static):
    """One line per stage; animates only while a stage is running."""

    DEFAULT_CSS = "StageList { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }"

    def __init__(self, *, stable: bool = False, id: str | None = None) -> None:
        super().__init__("", id=id, markup=True)
        self.rows: dict[Stage, StageResult] = {}
        self.frame = 0
        self.stable = stable  # no spinner, no timings: reproducible pictures for snapshot tests

    def on_mount(self) -> None:
        if not self.stable:
            self.set_interval(0.1, self.tick)

    def tick(self) -> None:
        if any(r.status == "running" for r in self.rows.values()):
            self.frame = (self.frame + 1) % len(FRAMES)
            self.redraw()

    def reset(self) -> None:
        self.rows.clear()
        self.redraw()

    def show(self, result: StageResult) -> None:
        self.rows[result.stage] = replace(result)
        self.redraw()

    def redraw(self) -> None:
        lines = []
        for row in self.rows.values():
            mark = FRAMES[self.frame] if row.status == "running" else MARKS[row.status]
            timed = row.status in ("ok", "failed") and not self.stable
            timing = f"{row.elapsed_s * 1000:6.0f} ms" if timed else " " * 9
            detail = escape(row.detail)
            lines.append(f"{mark} {row.stage.label:<30} {timing}  {detail}")
        self.update("\n".join(lines) if lines else "Not run yet.")
