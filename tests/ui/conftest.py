"""The loopback SMTP server the Pilot tests talk to (STARTTLS, trustme certificate, the test password)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest

from tests.conftest import TEST_SECRET
from tests.servers import Mailbox, ServerThread, smtp_server


@pytest.fixture
def server(good_tls: ssl.SSLContext) -> Iterator[tuple[ServerThread, Mailbox]]:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as running:
        yield running
