"""A keyring backend for subprocess tests, chosen with PYTHON_KEYRING_BACKEND: entries live
in a JSON file ($STUB_KEYRING_FILE), and the call named by $STUB_KEYRING_BLOCK ("get",
"set", "delete", with an optional "#N" for the Nth such call, counted across processes in
the file) blocks for ever after creating ``$STUB_KEYRING_FILE.blocked``, as a Secret Service
waiting for an unlock prompt does. Used where the real gnome-keyring cannot be made to
block on cue."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class BlockingKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @property
    def file(self) -> Path:
        return Path(os.environ["STUB_KEYRING_FILE"])

    def _load(self) -> dict[str, object]:
        try:
            data: dict[str, object] = json.loads(self.file.read_text())
        except FileNotFoundError:
            data = {}
        data.setdefault("entries", {})
        data.setdefault("calls", {})
        return data

    def _save(self, data: dict[str, object]) -> None:
        self.file.write_text(json.dumps(data))

    def _maybe_block(self, kind: str) -> None:
        data = self._load()
        calls = data["calls"]
        assert isinstance(calls, dict)
        calls[kind] = calls.get(kind, 0) + 1
        self._save(data)
        wanted, _, nth = os.environ.get("STUB_KEYRING_BLOCK", "").partition("#")
        if wanted == kind and calls[kind] == int(nth or 1):
            Path(f"{self.file}.blocked").write_text(kind)
            threading.Event().wait()  # for ever: only abandoning the call ends the wait

    def get_password(self, service: str, username: str) -> str | None:
        self._maybe_block("get")
        entries = self._load()["entries"]
        assert isinstance(entries, dict)
        value = entries.get(f"{service}\0{username}")
        return value if isinstance(value, str) else None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._maybe_block("set")
        data = self._load()
        entries = data["entries"]
        assert isinstance(entries, dict)
        entries[f"{service}\0{username}"] = password
        self._save(data)

    def delete_password(self, service: str, username: str) -> None:
        self._maybe_block("delete")
        data = self._load()
        entries = data["entries"]
        assert isinstance(entries, dict)
        if entries.pop(f"{service}\0{username}", None) is None:
            raise PasswordDeleteError("no such entry")
        self._save(data)


def entries(file: Path) -> dict[tuple[str, str], str]:
    """What the stub keyring at ``file`` holds, as (service, account) -> password."""
    if not file.exists():
        return {}
    raw = json.loads(file.read_text()).get("entries", {})
    return {tuple(key.split("\0", 1)): value for key, value in raw.items()}  # type: ignore[misc]


def seed(file: Path, service: str, account: str, password: str) -> None:
    data = json.loads(file.read_text()) if file.exists() else {"entries": {}, "calls": {}}
    data["entries"][f"{service}\0{account}"] = password
    file.write_text(json.dumps(data))
