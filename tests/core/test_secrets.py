"""The keyring store: refuses backends that cannot keep a secret, and says what to do."""

from __future__ import annotations

import threading

import keyring
import pytest
from keyring.backends import fail, null
from keyring.errors import KeyringLocked

from smtpwizard.core.errors import KeyringInterrupted, SecretStoreError
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


class StuckKeyring(MemoryKeyring):
    """Reads block until released, as a Secret Service waiting for an unlock prompt does."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.waiting = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.waiting.set()
        self.release.wait()
        return super().get_password(service, username)


def test_a_keyring_call_that_never_returns_times_out_with_a_clear_message() -> None:
    backend = StuckKeyring()
    with using_keyring(backend), pytest.raises(SecretStoreError) as err:
        KeyringStore(timeout_s=0.2).get(REF)
    backend.release.set()
    assert str(err.value).startswith("keyring: no answer within 0.2 s when trying to read the password")
    assert err.value.exit_code == ExitCode.CONFIG


def test_abandon_ends_a_waiting_call_at_once_and_later_calls_still_work() -> None:
    backend = StuckKeyring()
    store = KeyringStore(timeout_s=600)
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            store.get(REF)
        except BaseException as exc:
            outcome.append(exc)

    with using_keyring(backend):
        reader = threading.Thread(target=read)
        reader.start()
        assert backend.waiting.wait(10)
        store.abandon()
        reader.join(10)
        assert not reader.is_alive()
        assert isinstance(outcome[0], KeyringInterrupted) and outcome[0].exit_code == ExitCode.INTERRUPTED
        backend.release.set()
        store.put(REF, Secret(TEST_SECRET))  # a rollback after the abandon still reaches the keyring
        assert backend.entries[(REF.service, REF.account)] == TEST_SECRET


def test_the_timeout_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTPWIZARD_KEYRING_TIMEOUT", "7.5")
    assert KeyringStore().timeout_s == 7.5
    monkeypatch.setenv("SMTPWIZARD_KEYRING_TIMEOUT", "soon")
    assert KeyringStore().timeout_s == 20.0


def test_a_backend_that_never_answers_is_reported_as_unusable_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    from smtpwizard.core import secrets

    release = threading.Event()

    def never() -> secrets.BackendInfo:
        release.wait()
        return secrets.BackendInfo("late", True)

    monkeypatch.setattr(secrets, "_backend_info", never)
    try:
        info = KeyringStore(timeout_s=0.2).backend()
        with pytest.raises(SecretStoreError, match=r"no answer within 0\.2 s"):
            KeyringStore(timeout_s=0.2).require_usable()
    finally:
        release.set()
    assert not info.usable and info.problem is not None and info.problem.startswith("no answer within 0.2 s")
