"""Every file in examples/ is a valid headless input."""

from __future__ import annotations

from pathlib import Path

import pytest

from smtpwizard.core.config import read_document_file
from smtpwizard.core.providers import get_provider

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))


def test_there_is_an_example_per_common_provider_and_a_local_relay() -> None:
    assert {p.stem for p in EXAMPLES} >= {"sendgrid", "amazon_ses", "gmail", "microsoft365", "local_relay"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_is_valid_and_matches_its_provider(path: Path) -> None:
    document = read_document_file(path, "input")
    config = document.config
    provider = get_provider(config.provider)
    assert any(h.host == config.smtp.host for h in provider.hosts)
    assert provider.security_for_port(config.smtp.port) == config.smtp.security
    assert document.warnings == ()
