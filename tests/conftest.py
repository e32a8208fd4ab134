"""Shared fixtures: certificates (trustme), an in-memory keyring backend, the test secret."""

from __future__ import annotations

import contextlib
import datetime as dt
import ssl
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
import trustme
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

# A password holding every character that breaks config formats; unique enough to grep for.
TEST_SECRET = "Zx9'q\"$HOME #not-a-comment \\n sp@ce=ünï-7f3a91"


class MemoryKeyring(KeyringBackend):
    """An in-memory keyring backend for unit tests (the real Secret Service has its own test)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("no such entry")


@contextlib.contextmanager
def using_keyring(backend: KeyringBackend) -> Iterator[None]:
    """Make ``backend`` the keyring for the duration, then put the previous one back."""
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    backend = MemoryKeyring()
    with using_keyring(backend):
        yield backend


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA(organization_name="smtpwizard test CA")


@pytest.fixture(scope="session")
def other_ca() -> trustme.CA:
    return trustme.CA(organization_name="Untrusted CA")


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def server_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


@pytest.fixture(scope="session")
def good_tls(ca: trustme.CA) -> ssl.SSLContext:
    return server_context(ca.issue_cert("127.0.0.1", "localhost", common_name="localhost"))


@pytest.fixture(scope="session")
def wrong_host_tls(ca: trustme.CA) -> ssl.SSLContext:
    return server_context(ca.issue_cert("mail.elsewhere.test", common_name="mail.elsewhere.test"))


@pytest.fixture(scope="session")
def untrusted_tls(other_ca: trustme.CA) -> ssl.SSLContext:
    return server_context(other_ca.issue_cert("127.0.0.1", "localhost", common_name="localhost"))


def dated_tls(ca: trustme.CA, valid_from_days: int, valid_to_days: int) -> ssl.SSLContext:
    """A certificate for 127.0.0.1 valid from/to so many days from now (negative: past)."""
    now = dt.datetime.now(dt.UTC)
    cert = ca.issue_cert(
        "127.0.0.1",
        "localhost",
        common_name="localhost",
        not_before=now + dt.timedelta(days=valid_from_days),
        not_after=now + dt.timedelta(days=valid_to_days),
    )
    return server_context(cert)


@pytest.fixture(scope="session")
def expired_tls(ca: trustme.CA) -> ssl.SSLContext:
    return dated_tls(ca, -60, -1)


@pytest.fixture(scope="session")
def not_yet_valid_tls(ca: trustme.CA) -> ssl.SSLContext:
    return dated_tls(ca, 2, 90)


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A real Secret Service (gnome-keyring on a private D-Bus session bus), unlocked.

    Yields the environment a subprocess needs to use it. .ci/run installs both; on a
    developer machine without them the tests that need it are skipped, in CI they fail.
    """
    import os

    from tests.secret_service import missing_tools, running_secret_service

    if missing := missing_tools():
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide {', '.join(missing)} (.ci/run installs them)")
        pytest.skip(f"needs {', '.join(missing)}; run .ci/run or apt-get install dbus gnome-keyring")
    with running_secret_service(tmp_path_factory.mktemp("secret-service")) as env:
        yield env
