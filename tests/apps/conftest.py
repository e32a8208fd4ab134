"""Fixtures for the app tests: the Go clients built once per session, loopback servers per mode."""

from __future__ import annotations

import os
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.apps.harness import HERE, need
from tests.servers import Mailbox, ServerThread, smtp_server


@pytest.fixture(scope="session")
def go_clients(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/apps/go built once per session: stdlib + Debian's gopkg.in/yaml.v2 and ini.v1, no downloads."""
    need("go", "golang-go")
    for library, package in (("yaml.v2", "golang-gopkg-yaml.v2-dev"), ("ini.v1", "golang-gopkg-ini.v1-dev")):
        if not Path(f"/usr/share/gocode/src/gopkg.in/{library}").is_dir():
            if os.environ.get("CI"):
                pytest.fail(f"CI must provide {package} (.ci/run installs it)")
            pytest.skip(f"needs apt-get install {package}")
    binary = tmp_path_factory.mktemp("go") / "appclients"
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": "/usr/share/gocode"}
    done = subprocess.run(
        ["go", "build", "-o", str(binary), "."], cwd=HERE / "go", env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return binary


MODES = ("starttls", "tls", "none")


def mode_server(mode: str, password: str, good_tls: ssl.SSLContext) -> Iterator[tuple[ServerThread, Mailbox]]:
    """A server for ``mode``: STARTTLS, implicit TLS, or plain text with AUTH allowed (a local relay)."""
    if mode == "starttls":
        return smtp_server(password=password, starttls_context=good_tls)  # type: ignore[return-value]
    if mode == "tls":
        # aiosmtpd cannot tell an implicit-TLS transport is encrypted: let it offer AUTH there.
        return smtp_server(password=password, implicit_context=good_tls, auth_require_tls=False)  # type: ignore[return-value]
    return smtp_server(password=password, auth_require_tls=False)  # type: ignore[return-value]
