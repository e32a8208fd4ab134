"""The wizard's password path never loads the OAuth client: the Login step imports it only in
its OAuth2 branch (pyproject's import contract lets that one lazy import through)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.test_import_boundaries import OAUTH_MODULES

ROOT = Path(__file__).parents[2]
CODE = """
import asyncio, sys, tempfile
from pathlib import Path
import keyring
from tests.conftest import MemoryKeyring
from tests.ui.scenes import answers_for, oauth_answers_for, wizard_at
keyring.set_keyring(MemoryKeyring())
before = set(sys.modules)  # the test scaffolding's own imports (urllib.request) do not count
ca = Path(tempfile.mkdtemp()) / "ca.pem"
ca.write_text("")
answers = oauth_answers_for(587, str(ca)) if sys.argv[1] == "oauth" else answers_for(587, str(ca), "pw")

async def main() -> None:
    app = wizard_at("credentials", answers, ca.parent / "config.yaml")
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("enter")  # the password path goes on to the Sender step
        await pilot.pause()
asyncio.run(main())
print(sorted(m for m in MODULES if m in set(sys.modules) - before))
"""


def loaded_by_the_login_step(method: str) -> list[str]:
    code = CODE.replace("MODULES", repr(OAUTH_MODULES))
    done = subprocess.run([sys.executable, "-c", code, method], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return eval(done.stdout.strip().splitlines()[-1])  # noqa: S307 - our own subprocess prints a list


def test_the_password_login_step_never_loads_the_oauth_client() -> None:
    assert loaded_by_the_login_step("password") == []


def test_the_oauth_login_step_loads_it() -> None:  # the check above can fail
    assert "smtpwizard.core.oauth" in loaded_by_the_login_step("oauth")
