"""Shared fixtures: certificates (trustme), an in-memory keyring backend, the test secret."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import ipaddress
import os
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


_REAL_GETADDRINFO = socket.getaddrinfo


def _loopback_only_getaddrinfo(host: object, *args: object, **kwargs: object) -> list[Any]:
    """Tests resolve only IP literals and names this machine answers itself (``localhost``,
    /etc/hosts): any other name fails as a name that does not exist, without asking a DNS server."""
    name = host.decode() if isinstance(host, bytes) else host
    local = not isinstance(name, str) or not name or _numeric(name) or name.lower().rstrip(".") in _hosts_file_names()
    if not local:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (the tests ask no DNS server)")
    return _REAL_GETADDRINFO(host, *args, **kwargs)  # type: ignore[arg-type]


def _numeric(name: str) -> bool:
    """An address getaddrinfo reads without DNS: IPv6, or IPv4 in any inet_aton form (``127.1``)."""
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(name.split("%", 1)[0])
        return True
    try:
        socket.inet_aton(name)
    except OSError:
        return False
    return all(part.isdigit() or part.lower().startswith("0x") for part in name.split("."))


@functools.cache
def _hosts_file_names() -> frozenset[str]:
    names = {"localhost"}
    with contextlib.suppress(OSError):
        for line in Path("/etc/hosts").read_text().splitlines():
            names.update(word.lower() for word in line.split("#", 1)[0].split()[1:])
    return frozenset(names)


@pytest.fixture(autouse=True)
def _no_dns_off_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback only: no test's name lookup leaves the machine (a test may still stub getaddrinfo
    itself, or point the domain check at its own loopback DNS server with SMTPWIZARD_DNS)."""
    monkeypatch.setattr(socket, "getaddrinfo", _loopback_only_getaddrinfo)
    monkeypatch.setenv("SMTPWIZARD_DNS", os.environ.get("SMTPWIZARD_DNS") or "127.0.0.1:9")
