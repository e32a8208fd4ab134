"""The errors the core raises. Each renders as one line naming the problem and the fix."""

from __future__ import annotations

from smtpwizard.core.display import safe_text
from smtpwizard.core.exit_codes import ExitCode


class WizardError(Exception):
    """Base of every expected failure; ``str()`` is the one line shown to the user."""

    exit_code: ExitCode = ExitCode.SOFTWARE


def one_line(text: str, limit: int = 160) -> str:
    """``text`` with control characters escaped and shortened, safe to echo in a one-line error."""
    escaped = safe_text(text)
    return escaped if len(escaped) <= limit else escaped[: limit - 3] + "..."


class FieldError(WizardError):
    """A value in a config or input document is wrong. Echoed input is escaped to one line."""

    exit_code = ExitCode.DATA_ERROR

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field = one_line(field, 80)
        self.problem = one_line(problem)
        self.fix = fix
        super().__init__(f"{self.field}: {self.problem}; {fix}")


class InputMissing(WizardError):
    """An input file or secret source does not exist."""

    exit_code = ExitCode.NO_INPUT


class WriteFailed(WizardError):
    """A file could not be written; the old one is untouched."""

    exit_code = ExitCode.CANT_CREATE


class LockBusy(WizardError):
    """Another smtpwizard run is writing the same config."""

    exit_code = ExitCode.CONFIG


class SecretStoreError(WizardError):
    """The keyring cannot be used, or an entry is missing."""

    exit_code = ExitCode.CONFIG


class KeyringInterrupted(SecretStoreError):
    """A keyring call was abandoned (Ctrl+C, SIGTERM, quitting the wizard)."""

    exit_code = ExitCode.INTERRUPTED


class Interrupted(WizardError):
    """The work was stopped by Ctrl+C or SIGTERM before it completed; what it changed was undone."""

    exit_code = ExitCode.INTERRUPTED


class NotAcknowledged(WizardError):
    """The consequences of the change were not acknowledged."""

    exit_code = ExitCode.CONFIG


class OutputFailed(WizardError):
    """smtpwizard's own output could not be written (a closed pipe, a full disk): a local fault."""

    exit_code = ExitCode.IO_ERROR


class ExportError(WizardError):
    """A setting cannot be expressed in the target app's configuration."""

    exit_code = ExitCode.DATA_ERROR
