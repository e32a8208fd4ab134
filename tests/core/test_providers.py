"""The provider catalog is complete data."""

from __future__ import annotations

import pytest

from smtpwizard.core.providers import get_provider, load_providers
from smtpwizard.core.settings import SECURITY_MODES

REQUIRED = [
    "gmail", "google_workspace_relay", "outlook_com", "microsoft365", "amazon_ses", "sendgrid", "mailgun",
    "postmark", "sparkpost", "mandrill", "brevo", "mailjet", "zoho", "fastmail", "icloud", "yahoo", "resend",
    "smtp2go", "proton_bridge", "local_relay", "custom",
]  # fmt: skip


def test_catalog_has_every_required_preset() -> None:
    ids = [p.id for p in load_providers()]
    assert len(ids) >= 20 and len(set(ids)) == len(ids)
    assert set(REQUIRED) <= set(ids)


@pytest.mark.parametrize("provider", load_providers(), ids=lambda p: p.id)
def test_every_preset_is_complete(provider: object) -> None:
    from smtpwizard.core.providers import Provider

    assert isinstance(provider, Provider)
    assert provider.name and provider.summary and provider.docs.startswith("https://")
    assert provider.ports and all(p.security in SECURITY_MODES for p in provider.ports)
    assert provider.security_for_port(provider.recommended_port) == provider.recommended_security
    assert provider.username_hint and provider.password_hint
    assert provider.group in ("transactional", "mailbox", "self-hosted", "custom")
    if provider.id != "custom":
        assert provider.hosts


def test_regions_where_they_exist() -> None:
    ses = get_provider("amazon_ses")
    assert ses.has_regions and len(ses.hosts) >= 17
    assert {h.region for h in get_provider("mailgun").hosts} == {"US", "EU"}
    assert {h.region for h in get_provider("sparkpost").hosts} == {"US", "EU"}


def test_username_conventions() -> None:
    assert get_provider("sendgrid").username_default == "apikey"
    assert get_provider("sparkpost").username_default == "SMTP_Injection"
    assert get_provider("resend").username_default == "resend"
    assert get_provider("postmark").security_for_port(465) is None  # no implicit TLS at Postmark
