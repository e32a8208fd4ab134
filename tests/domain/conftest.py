"""A real Knot DNS server on loopback for the sender-domain tests (one per test session)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from smtpwizard.core.domain.resolver import DnsConfig
from tests.domain.knot import KnotServer, knot_server
from tests.domain.zones import all_zones


@pytest.fixture(scope="session")
def dns_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnotServer]:
    with knot_server(Path(tmp_path_factory.mktemp("knot")), all_zones()) as server:
        yield server


@pytest.fixture
def dns_config(dns_server: KnotServer) -> DnsConfig:
    """Point the resolver at the test server by configuration, as SMTPWIZARD_DNS does."""
    return DnsConfig.from_env({"SMTPWIZARD_DNS": dns_server.address, "SMTPWIZARD_DNS_TIMEOUT": "0.5"})


@pytest.fixture(scope="session")
def slow_dns_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnotServer]:
    """A second server whose zone slow.test never answers (kept apart: see tests/domain/knot.py)."""
    with knot_server(Path(tmp_path_factory.mktemp("knot-slow")), {"ready.test": []}, timeout_zone=True) as server:
        yield server


@pytest.fixture
def slow_dns_config(slow_dns_server: KnotServer) -> DnsConfig:
    return DnsConfig.from_env({"SMTPWIZARD_DNS": slow_dns_server.address, "SMTPWIZARD_DNS_TIMEOUT": "0.3"})
