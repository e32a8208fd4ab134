"""Passwords live in the OS keyring, and only there.

``KeyringStore`` wraps the ``keyring`` package: it refuses backends that cannot keep a
secret (the ``fail`` and ``null`` backends, plain-text files) with a message naming the
backend and the ways forward, and turns every keyring error into a SecretStoreError.
Every call runs in a worker thread with a timeout (a Secret Service waiting for an unlock
prompt blocks forever): the caller waits at most ``timeout_s``, and :meth:`KeyringStore.abandon`
(Ctrl+C, SIGTERM, quitting the TUI) stops the wait at once. An abandoned thread is a daemon
and never holds the process's exit.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from smtpwizard.core.errors import KeyringInterrupted, SecretStoreError
from smtpwizard.core.settings import Secret, SecretRef

WAYS_FORWARD = (
    "run inside a desktop session, or install and unlock a Secret Service "
    "(e.g. gnome-keyring: 'echo -n PASS | gnome-keyring-daemon --unlock' inside 'dbus-run-session'), "
    "or choose a backend with PYTHON_KEYRING_BACKEND"
)

DEFAULT_TIMEOUT_S = 20.0
TIMEOUT_ENV = "SMTPWIZARD_KEYRING_TIMEOUT"  # seconds; README, 'Passwords'
T = TypeVar("T")

_UNUSABLE = {
    "keyring.backends.fail.Keyring": "no keyring backend is available",
    "keyring.backends.null.Keyring": "the null backend discards every secret",
}


@dataclass(frozen=True)
class BackendInfo:
    name: str
    usable: bool
    problem: str | None = None


class SecretStore(Protocol):
    """What the core needs from a secret store."""

    def backend(self) -> BackendInfo: ...

    def require_usable(self) -> BackendInfo: ...

    def get(self, ref: SecretRef) -> Secret | None: ...

    def put(self, ref: SecretRef, secret: Secret) -> None: ...

    def delete(self, ref: SecretRef) -> bool: ...

    def abandon(self) -> None: ...


def _describe(backend: object) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _timeout_from_env() -> float:
    try:
        value = float(os.environ.get(TIMEOUT_ENV, ""))
    except ValueError:
        return DEFAULT_TIMEOUT_S
    return value if 0 < value <= 3600 else DEFAULT_TIMEOUT_S


@dataclass
class _Call:
    """One keyring call in flight: its thread sets ``done``; abandoning it sets it too."""

    done: threading.Event
    abandoned: bool = False


class KeyringStore:
    """The OS keyring, through the ``keyring`` package, every call bounded by a timeout."""

    def __init__(self, timeout_s: float | None = None) -> None:
        self.timeout_s = timeout_s if timeout_s is not None else _timeout_from_env()
        self._lock = threading.Lock()
        self._pending: dict[int, _Call] = {}

    def abandon(self) -> None:
        """Stop waiting for every keyring call in flight (they raise KeyringInterrupted);
        later calls work as usual, so a rollback can still restore an entry."""
        with self._lock:
            pending = list(self._pending.values())
        for call in pending:
            call.abandoned = True
            call.done.set()

    def _call(self, action: str, work: Callable[[], T]) -> T:
        """Run ``work`` in a daemon thread; wait for it at most ``timeout_s``."""
        call = _Call(threading.Event())
        box: dict[str, object] = {}

        def run() -> None:
            try:
                box["value"] = work()
            except Exception as exc:  # handed to the waiting caller below
                box["error"] = exc
            finally:
                call.done.set()

        key = id(call)
        with self._lock:
            self._pending[key] = call
        try:
            threading.Thread(target=run, name=f"smtpwizard-keyring-{action}", daemon=True).start()
            finished = call.done.wait(self.timeout_s)
        finally:
            with self._lock:
                self._pending.pop(key, None)
        if call.abandoned:
            raise KeyringInterrupted(f"keyring: stopped waiting to {action}; nothing more was changed")
        if not finished:
            raise SecretStoreError(
                f"keyring: no answer within {self.timeout_s:g} s when trying to {action} (it may be locked "
                f"and waiting for an unlock prompt); unlock it and run again, or set {TIMEOUT_ENV}=SECONDS"
            )
        if "error" in box:
            raise box["error"]  # type: ignore[misc]
        return box["value"]  # type: ignore[return-value]

    def backend(self) -> BackendInfo:
        """Which backend the keyring uses and whether it can keep a secret; a backend that
        does not answer in time is reported as unusable (never raises)."""
        try:
            return self._call("find the keyring backend", _backend_info)
        except SecretStoreError as exc:
            return BackendInfo("(no answer)", False, str(exc).removeprefix("keyring: ").split(";")[0])

    def require_usable(self) -> BackendInfo:
        """The backend, or SecretStoreError saying why it cannot be used and what to do."""
        info = self.backend()
        if not info.usable:
            raise SecretStoreError(f"keyring: {info.problem} (backend {info.name}); {WAYS_FORWARD}")
        return info

    def _fail(self, action: str, exc: Exception) -> SecretStoreError:
        if isinstance(exc, SecretStoreError):
            return exc  # a timeout or an abandoned call says it all already
        info = self.backend()
        kind = type(exc).__name__
        hint = "unlock the keyring (log in to the desktop session, or unlock gnome-keyring)"
        if kind not in ("KeyringLocked", "LockedException"):
            hint = WAYS_FORWARD
        return SecretStoreError(f"keyring: could not {action} ({kind} from {info.name}); {hint}")

    def get(self, ref: SecretRef) -> Secret | None:
        import keyring

        self.require_usable()
        try:
            value = self._call("read the password", lambda: keyring.get_password(ref.service, ref.account))
        except Exception as exc:  # backends raise their own types too (D-Bus, secretstorage)
            raise self._fail("read the password", exc) from None
        return None if value is None else Secret(value)

    def put(self, ref: SecretRef, secret: Secret) -> None:
        import keyring

        self.require_usable()
        try:
            self._call("store the password", lambda: keyring.set_password(ref.service, ref.account, secret.reveal()))
        except Exception as exc:
            raise self._fail("store the password", exc) from None

    def delete(self, ref: SecretRef) -> bool:
        import keyring
        from keyring.errors import PasswordDeleteError

        self.require_usable()
        try:
            self._call("delete the password", lambda: keyring.delete_password(ref.service, ref.account))
        except PasswordDeleteError:
            return False
        except Exception as exc:
            raise self._fail("delete the password", exc) from None
        return True


def _backend_info() -> BackendInfo:
    import keyring

    backend = keyring.get_keyring()
    name = _describe(backend)
    if name in _UNUSABLE:
        return BackendInfo(name, False, _UNUSABLE[name])
    if "chainer" in name.lower() and not getattr(backend, "backends", None):
        return BackendInfo(name, False, "no keyring backend is available")
    if "plaintext" in name.lower() and "PYTHON_KEYRING_BACKEND" not in os.environ:
        return BackendInfo(name, False, "it stores secrets unencrypted in a file")
    return BackendInfo(name, True)
