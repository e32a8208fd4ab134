"""Exit codes, following sysexits.h as sendmail and msmtp do."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Every exit code smtpwizard uses; the table in README and --help is made from this."""

    OK = 0
    USAGE = 64  # EX_USAGE
    DATA_ERROR = 65  # EX_DATAERR
    NO_INPUT = 66  # EX_NOINPUT
    UNAVAILABLE = 69  # EX_UNAVAILABLE
    SOFTWARE = 70  # EX_SOFTWARE
    CANT_CREATE = 73  # EX_CANTCREAT
    IO_ERROR = 74  # EX_IOERR
    TEMP_FAIL = 75  # EX_TEMPFAIL
    PROTOCOL = 76  # EX_PROTOCOL
    NO_PERMISSION = 77  # EX_NOPERM
    CONFIG = 78  # EX_CONFIG
    INTERRUPTED = 130  # 128 + SIGINT, the shell's convention
    TERMINATED = 143  # 128 + SIGTERM

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success: the test passed and the config was written (or nothing to do)",
    ExitCode.USAGE: "wrong command-line usage",
    ExitCode.DATA_ERROR: "the input or config file is invalid (the message names the field)",
    ExitCode.NO_INPUT: "the input file, config or secret source does not exist",
    ExitCode.UNAVAILABLE: "the server could not be reached, or lacks something required",
    ExitCode.SOFTWARE: "internal error (please report it)",
    ExitCode.CANT_CREATE: "the config file could not be written",
    ExitCode.IO_ERROR: "smtpwizard's own output could not be written (e.g. a closed pipe)",
    ExitCode.TEMP_FAIL: "temporary failure: timeout or a 4xx reply; try again later",
    ExitCode.PROTOCOL: "the server broke the SMTP protocol or the TLS handshake failed",
    ExitCode.NO_PERMISSION: "the server refused the login or the sender/recipient",
    ExitCode.CONFIG: "keyring unavailable, consequences not acknowledged, or another run holds the lock",
    ExitCode.INTERRUPTED: "interrupted (Ctrl+C); nothing was written",
    ExitCode.TERMINATED: "terminated (SIGTERM); stopped like Ctrl+C, nothing was written",
}


def exit_code_table() -> str:
    """The exit-code table as aligned text, for --help."""
    return "\n".join(f"  {code.value:>3}  {code.meaning}" for code in ExitCode)
