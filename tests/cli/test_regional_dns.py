"""A DNS failure on a regional preset never moves the host to another region: SES SMTP
credentials (like a Mailgun or SparkPost domain) only work in the region they belong to."""

from __future__ import annotations

import asyncio
import io
import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from smtpwizard.cli import main
from smtpwizard.core.diagnose import apply_change, diagnose
from smtpwizard.core.probe import run_probe
from smtpwizard.core.settings import SmtpSettings
from tests.conftest import TEST_SECRET, MemoryKeyring

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "amazon_ses.yaml"
EU_WEST_1 = "email-smtp.eu-west-1.amazonaws.com"


@pytest.fixture
def no_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A resolver that knows no name (no real lookup leaves the machine); records what was asked."""
    asked: list[str] = []

    def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        asked.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def loop_getaddrinfo(self: asyncio.AbstractEventLoop, host: str, *args: Any, **kwargs: Any) -> Any:
        return getaddrinfo(host)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)  # the probe resolves in a thread of its own
    monkeypatch.setattr(asyncio.base_events.BaseEventLoop, "getaddrinfo", loop_getaddrinfo)
    return asked


def region_of(host: str) -> str:
    return host.split(".")[1]


async def test_ses_dns_failure_keeps_the_region_and_says_to_check_it(no_dns: list[str]) -> None:
    settings = SmtpSettings(host=EU_WEST_1, port=587, username="AKIAXXXXXXXXXXXXXXXX")
    report = await run_probe(settings, None)
    diagnosis = diagnose(report, settings, "amazon_ses")
    assert no_dns == [EU_WEST_1]
    assert diagnosis is not None and diagnosis.code == "dns"
    assert diagnosis.settings_change is None and apply_change(settings, diagnosis).host == EU_WEST_1
    assert "server for eu-west-1" in diagnosis.fix and "Keep the region" in diagnosis.fix
    assert "getent hosts " + EU_WEST_1 in diagnosis.fix
    assert "us-east-1" not in diagnosis.fix + diagnosis.explanation


async def test_a_mistyped_regional_host_is_pointed_to_its_own_region(no_dns: list[str]) -> None:
    typo = "email-smtp.eu-west-1.amazonaws.co"
    settings = SmtpSettings(host=typo, port=587)
    diagnosis = diagnose(await run_probe(settings, None), settings, "amazon_ses")
    assert diagnosis is not None and diagnosis.settings_change is None  # advice: the host is the user's to set
    assert f"Amazon SES's server for eu-west-1 is {EU_WEST_1}" in diagnosis.fix
    assert {region_of(h) for h in re.findall(r"email-smtp\.[\w-]+\.amazonaws\.com", diagnosis.fix)} == {"eu-west-1"}


async def test_an_unrecognisable_regional_host_gets_no_other_regions_host(no_dns: list[str]) -> None:
    settings = SmtpSettings(host="email-smtp.amazonaws.invalid", port=587)
    diagnosis = diagnose(await run_probe(settings, None), settings, "amazon_ses")
    assert diagnosis is not None and diagnosis.settings_change is None
    assert diagnosis.fix.startswith("Check the region and the spelling of the host name")
    assert "amazonaws.com" not in diagnosis.fix


async def test_a_single_host_preset_still_suggests_its_server(no_dns: list[str]) -> None:
    settings = SmtpSettings(host="smtp.sendgrid.invalid", port=587)
    diagnosis = diagnose(await run_probe(settings, None), settings, "sendgrid")
    assert diagnosis is not None and "SendGrid's server is smtp.sendgrid.net" in diagnosis.fix


def test_headless_ses_example_with_a_dns_failure_suggests_no_other_region(
    no_dns: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    source = tmp_path / "amazon_ses.yaml"
    source.write_text(EXAMPLE.read_text().replace("{file: /run/secrets/ses_smtp_password}", "{env: SMTP_PASSWORD}"))
    monkeypatch.setenv("SMTP_PASSWORD", TEST_SECRET)
    config = tmp_path / "config.yaml"
    for mode in ([], ["--json"]):
        out, err = io.StringIO(), io.StringIO()
        code = main(["--from-yaml", str(source), "--yes", "--config", str(config), *mode], out=out, err=err)
        assert code == 69
        if mode:
            diagnosis = json.loads(out.getvalue())["diagnosis"]
            assert diagnosis["code"] == "dns" and diagnosis["settings_change"] is None
        else:
            assert f"{EU_WEST_1} is Amazon SES's server for eu-west-1" in out.getvalue()
            assert "Change in the file" not in out.getvalue() and "us-east-1" not in out.getvalue()
    assert not config.exists() and memory_keyring.entries == {}
