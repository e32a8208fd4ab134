"""KeyringStore against a real Secret Service (gnome-keyring on a private D-Bus session)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import TEST_SECRET

SCRIPT = """
import sys
from smtpwizard.core.secrets import KeyringStore
from smtpwizard.core.settings import Secret, SecretRef
store = KeyringStore()
info = store.require_usable()
ref = SecretRef("smtpwizard", "integration/u@h:587")
secret = sys.stdin.read()
store.put(ref, Secret(secret))
assert store.get(ref) == Secret(secret), "read back differs"
assert store.delete(ref) is True
assert store.get(ref) is None
print(info.name)
"""


def test_round_trip_through_a_real_secret_service(secret_service: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        input=TEST_SECRET,
        env=secret_service,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "keyring.backends.SecretService.Keyring"
    assert TEST_SECRET not in done.stdout + done.stderr
