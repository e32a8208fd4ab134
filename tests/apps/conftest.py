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
    """tests/apps/go built once per session: stdlib + Debian's gopkg.in/yaml.v2, no downloads."""
    need("go", "golang-go")
    if not Path("/usr/share/gocode/src/gopkg.in/yaml.v2").is_dir():
        if os.environ.get("CI"):
            pytest.fail("CI must provide golang-gopkg-yaml.v2-dev (.ci/run installs it)")
        pytest.skip("needs apt-get install golang-gopkg-yaml.v2-dev")
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
