"""A failed test in plain words: what happened, why, and the fix."""

from __future__ import annotations

from textual.widgets import Static

from smtpwizard.core.diagnose import Diagnosis
from smtpwizard.core.display import safe_text


def escape(text: str) -> str:
    """Outside text for a markup widget: made safe to show, and no markup of its own."""
    return safe_text(text).replace("[", r"\[")


class DiagnosisPanel(Static):
    DEFAULT_CSS = "DiagnosisPanel { height: auto; }"

    def show(self, diagnosis: Diagnosis | None) -> None:
        self.display = diagnosis is not None
        if diagnosis is None:
            self.update("")
            return
        lines = [f"[b]✗ {escape(diagnosis.title)}[/b]", escape(diagnosis.explanation)]
        lines += [f"  {escape(detail)}" for detail in diagnosis.details]
        lines.append(f"[b]Fix:[/b] {escape(diagnosis.fix)}")
        change = diagnosis.change_summary()
        if change:
            lines.append(f"[b]Apply fix[/b] sets {escape(change)}.")
        self.update("\n".join(lines))
