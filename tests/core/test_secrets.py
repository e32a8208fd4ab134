"""The keyring store: refuses backends that cannot keep a secret, and says what to do."""

from __future__ import annotations

import keyring
import pytest
from keyring.backends import fail, null
from keyring.errors import KeyringLocked

from smtpwizard.core.errors import SecretStoreError
from smtpwizard.core.exit_codes import ExitCode
from smtpwizard.core.secrets import KeyringStore
from smtpwizard.core.settings import Secret, SecretRef
from tests.conftest import TEST_SECRET, MemoryKeyring, using_keyring

REF = SecretRef("smtpwizard", "default/u@h:587")


def test_put_get_delete_round_trip(memory_keyring: MemoryKeyring) -> None:
    store = KeyringStore()
    store.put(REF, Secret(TEST_SECRET))
    assert store.get(REF) == Secret(TEST_SECRET)
    assert store.delete(REF) is True
    assert store.get(REF) is None
    assert store.delete(REF) is False


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring()])
def test_unusable_backend_is_refused_with_backend_name_and_ways_forward(
    backend: keyring.backend.KeyringBackend,
) -> None:
    with using_keyring(backend), pytest.raises(SecretStoreError) as err:
        KeyringStore().put(REF, Secret(TEST_SECRET))
    message = str(err.value)
    assert type(backend).__module__ in message
    assert "gnome-keyring" in message and "PYTHON_KEYRING_BACKEND" in message and "desktop session" in message
    assert err.value.exit_code == ExitCode.CONFIG
    assert TEST_SECRET not in message


class LockedKeyring(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("collection is locked")

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("collection is locked")


def test_locked_collection_says_unlock() -> None:
    with using_keyring(LockedKeyring()), pytest.raises(SecretStoreError, match="unlock the keyring"):
        KeyringStore().put(REF, Secret(TEST_SECRET))


def test_secret_hides_its_value() -> None:
    secret = Secret(TEST_SECRET)
    assert TEST_SECRET not in repr(secret) and TEST_SECRET not in str(secret) and TEST_SECRET not in f"{secret}"
