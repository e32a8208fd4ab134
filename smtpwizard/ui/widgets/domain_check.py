"""The sender-domain check shown under a passing live test: will the mail land in the inbox?
With a custom server, the preset the domain's MX points to is proposed too.

It starts only after SMTP passed and runs in its own worker, so it never holds up the result.
Hidden for a failed test and for documentation domains (example.com), which have no DNS.
"""

from __future__ import annotations

import asyncio

from textual.widgets import Static

from smtpwizard.core.answers import WizardAnswers
from smtpwizard.core.domain.check import DomainReport, check_domain, is_documentation_domain, sender_domain
from smtpwizard.core.domain.detect import LookupFailed, Proposal, propose_provider
from smtpwizard.core.domain_findings import VERDICTS
from smtpwizard.core.errors import WizardError
from smtpwizard.core.probe import ProbeReport
from smtpwizard.ui.widgets.diagnosis import escape  # DNS answers are outside text: the one safe-display path

MARKS = {"ok": "✓", "info": "·", "warning": "!", "unchecked": "-", "problem": "✗", "unknown": "?"}


def render(report: DomainReport) -> str:
    """The report as the panel shows it (Rich markup, user text escaped)."""
    lines = [f"[b]Sender domain {escape(report.domain)}[/b] with {escape(report.provider_name or '')}"]
    for finding in report.findings:
        lines.append(f" {MARKS[finding.severity]} {escape(finding.title)}")
        if finding.severity in ("problem", "warning", "unchecked", "unknown"):
            if finding.fix:
                lines.append(f"   {escape(finding.fix)}")
            lines += [f"     {escape(r.line())}" for r in finding.records]
    lines.append(escape(VERDICTS[report.verdict]))
    return "\n".join(lines)


class DomainCheckPanel(Static):
    DEFAULT_CSS = """
    DomainCheckPanel {
        height: auto;
        margin-top: 1;
        display: none;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.report: DomainReport | None = None
        self.proposal: Proposal | None = None  # a preset the sender's domain points to, when none was chosen

    def after_test(self, probe: ProbeReport, answers: WizardAnswers) -> None:
        """Check the sender's domain when the live test passed; otherwise hide."""
        self.workers.cancel_group(self, "domain-check")
        self.report, self.proposal = None, None
        try:
            domain = sender_domain(answers.sender_address)
        except WizardError:
            domain = ""
        self.display = probe.ok and bool(domain) and not is_documentation_domain(domain)
        if not self.display:
            return
        self.update(
            f"Checking {escape(domain)}'s DNS for {escape(answers.provider or 'your provider')}: DKIM, SPF, DMARC, MX…"
        )
        self.run_worker(
            self._check(answers.sender_address, answers.provider),
            group="domain-check",
            exclusive=True,
            exit_on_error=False,
        )

    async def _check(self, address: str, provider: str | None) -> None:
        try:  # both at once; with a preset chosen there is nothing to propose
            proposal, self.report = await asyncio.gather(
                self._propose(address) if provider in (None, "custom") else asyncio.sleep(0),
                check_domain(address, provider),
            )
        except WizardError as exc:  # e.g. a malformed SMTPWIZARD_DNS
            self.update(escape(f"The sender domain was not checked: {exc}"))
            return
        self.proposal = proposal if proposal is not None and proposal.provider_id != "custom" else None
        text = render(self.report)
        if self.proposal is not None:
            hint = f"Proposed from your domain: {self.proposal.provider_name}. {self.proposal.reason}"
            text = (
                escape(hint)
                + " Go back to the Provider step to choose it (its DKIM records are then checked too).\n"
                + text
            )
        self.update(text)

    @staticmethod
    async def _propose(address: str) -> Proposal | None:
        try:
            return await propose_provider(address)
        except LookupFailed:  # the check itself shows the failing look-ups
            return None
