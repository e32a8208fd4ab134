"""Passwords live in the OS keyring, and only there.

``KeyringStore`` wraps the ``keyring`` package: it refuses backends that cannot keep a
secret (the ``fail`` and ``null`` backends, plain-text files) with a message naming the
backend and the ways forward, and turns every keyring error into a SecretStoreError.
Calls may block on D-Bus: UIs should run them in a thread.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol

from smtpwizard.core.errors import SecretStoreError
from smtpwizard.core.settings import Secret, SecretRef

WAYS_FORWARD = (
    "run inside a desktop session, or install and unlock a Secret Service "
    "(e.g. gnome-keyring: 'echo -n PASS | gnome-keyring-daemon --unlock' inside 'dbus-run-session'), "
    "or choose a backend with PYTHON_KEYRING_BACKEND"
)

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


def _describe(backend: object) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


class KeyringStore:
    """The OS keyring, through the ``keyring`` package."""

    def backend(self) -> BackendInfo:
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

    def require_usable(self) -> BackendInfo:
        """The backend, or SecretStoreError saying why it cannot be used and what to do."""
        info = self.backend()
        if not info.usable:
            raise SecretStoreError(f"keyring: {info.problem} (backend {info.name}); {WAYS_FORWARD}")
        return info

    def _fail(self, action: str, exc: Exception) -> SecretStoreError:
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
            value = keyring.get_password(ref.service, ref.account)
        except Exception as exc:  # backends raise their own types too (D-Bus, secretstorage)
            raise self._fail("read the password", exc) from None
        return None if value is None else Secret(value)

    def put(self, ref: SecretRef, secret: Secret) -> None:
        import keyring

        self.require_usable()
        try:
            keyring.set_password(ref.service, ref.account, secret.reveal())
        except Exception as exc:
            raise self._fail("store the password", exc) from None

    def delete(self, ref: SecretRef) -> bool:
        import keyring
        from keyring.errors import PasswordDeleteError

        self.require_usable()
        try:
            keyring.delete_password(ref.service, ref.account)
        except PasswordDeleteError:
            return False
        except Exception as exc:
            raise self._fail("delete the password", exc) from None
        return True
