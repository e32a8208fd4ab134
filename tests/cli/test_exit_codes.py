"""The exit-code table in README and in --help lists exactly the codes smtpwizard returns."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from smtpwizard.cli import main
from smtpwizard.core.exit_codes import ExitCode

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_table() -> dict[int, str]:
    text = README.read_text()
    section = text[text.index("## Exit codes") :]
    section = section[: section.index("\n## ", 1)]
    return {int(code): meaning for code, meaning in re.findall(r"^\| (\d+) \| (.+) \|$", section, re.MULTILINE)}


def test_readme_lists_every_exit_code_and_no_other() -> None:
    assert set(readme_table()) == {int(code) for code in ExitCode}


def test_help_lists_every_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"], out=io.StringIO(), err=io.StringIO())
    assert done.value.code == 0
    epilog = capsys.readouterr().out.split("exit codes (sysexits.h):")[1]
    listed = [int(m) for m in re.findall(r"^\s+(\d+)  \S", epilog, re.MULTILINE)]
    assert listed == [int(code) for code in ExitCode]
