"""A real Secret Service for tests and benchmarks: a private D-Bus session bus with
gnome-keyring, unlocked, in a directory of its own. Nothing here depends on pytest."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

TOOLS = ("dbus-daemon", "gnome-keyring-daemon")


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


@contextlib.contextmanager
def running_secret_service(root: Path) -> Iterator[dict[str, str]]:
    """Start dbus-daemon and gnome-keyring under ``root``; yield the environment a
    subprocess needs to use them; stop both afterwards."""
    env = {
        **os.environ,
        "HOME": str(root),
        "XDG_DATA_HOME": str(root / "data"),
        "XDG_RUNTIME_DIR": str(root / "run"),
        "XDG_CONFIG_HOME": str(root / "config"),
    }
    for key in ("data", "run", "config"):
        (root / key).mkdir(mode=0o700, exist_ok=True)
    env.pop("PYTHON_KEYRING_BACKEND", None)
    bus = subprocess.run(
        ["dbus-daemon", "--session", "--fork", "--nopidfile", "--print-address=1", "--print-pid=1"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=20,
    )
    address, pid = bus.stdout.split()[:2]
    env["DBUS_SESSION_BUS_ADDRESS"] = address
    pids = [pid]
    try:
        daemon = subprocess.run(
            ["gnome-keyring-daemon", "--unlock", "--components=secrets", "--daemonize"],
            input="test-keyring-unlock",
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=20,
        )
        pids += [line.split("=", 1)[1] for line in daemon.stdout.splitlines() if line.startswith("GNOME_KEYRING_PID=")]
        yield env
    finally:
        for p in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(p), signal.SIGTERM)
