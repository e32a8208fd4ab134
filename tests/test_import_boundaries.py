"""The core, the CLI, --help and the headless path never import Textual."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import smtpwizard.core

CORE_MODULES = sorted(f"smtpwizard.core.{m.name}" for m in pkgutil.iter_modules(smtpwizard.core.__path__))


@pytest.mark.parametrize("module", [*CORE_MODULES, "smtpwizard.cli"])
def test_module_does_not_import_textual(module: str) -> None:
    code = f"import sys, {module}; bad = [m for m in sys.modules if m == 'textual' or m.startswith(('textual.', 'smtpwizard.ui'))]; print(bad)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["providers"],
        ["providers", "--json"],
        ["--from-yaml", "/nonexistent.yaml"],
        ["test", "--config", "/nonexistent.yaml"],
    ],
)
def test_headless_commands_never_import_textual(argv: list[str]) -> None:
    code = (
        "import sys\nfrom smtpwizard.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "assert not [m for m in sys.modules if m == 'textual' or m.startswith('textual.')], 'textual imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_help_does_not_import_the_smtp_or_keyring_libraries() -> None:
    code = (
        "import sys\nfrom smtpwizard.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('aiosmtplib', 'keyring', 'yaml', 'textual') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "[]"


OAUTH_MODULES = (
    "smtpwizard.core.oauth",
    "smtpwizard.core.oauth_msal",
    "msal",
    "requests",
    "authlib",
    "urllib.request",
    "http.server",
)


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["login", "--help"],
        # the password path end to end: parse, live test (port 25 of 127.0.0.1 refuses), diagnosis
        ["--from-yaml", "examples/local_relay.yaml", "--dry-run", "--yes", "--config", "/nonexistent/c.yaml"],
    ],
)
def test_help_and_the_password_path_never_load_the_oauth_client(argv: list[str]) -> None:
    code = (
        "import sys\nfrom smtpwizard.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {OAUTH_MODULES!r} if m in sys.modules))\n"
    )
    from pathlib import Path

    root = Path(__file__).parents[1]
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60, cwd=root)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr


def test_the_oauth_modules_load_msal_only_when_a_microsoft_token_request_is_made() -> None:
    # msal (and the requests stack it pulls in) costs its import time on the Microsoft OAuth path only
    code = (
        "import sys\nfrom smtpwizard.core import oauth, oauth_msal\n"
        "print(sorted(m for m in ('msal', 'requests', 'jwt') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
