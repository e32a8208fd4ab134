"""Certificates: untrusted, expired, not yet valid, wrong host name and self-signed each fail
verification with the matching diagnosis, over STARTTLS and implicit TLS alike. Opting out
of verification is explicit, and is shown in every later output."""

from __future__ import annotations

import datetime as dt
import io
import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from smtpwizard.cli import main
from smtpwizard.core.diagnose import diagnose
from smtpwizard.core.exit_codes import ExitCode
from smtpwizard.core.probe import run_probe
from smtpwizard.core.settings import Secret, SmtpSettings
from tests.conftest import TEST_SECRET, MemoryKeyring
from tests.servers import USERNAME, smtp_server
from tests.ui.scenes import answers_for, wizard_at


def self_signed(tmp_path: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    pem = tmp_path / "self-signed.pem"
    pem.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pem)
    return context


CASES: dict[str, tuple[str, str]] = {
    # name: (failure kind, a phrase the diagnosis title must carry)
    "untrusted": ("cert_untrusted", "not trusted"),
    "expired": ("cert_expired", "expired"),
    "not_yet_valid": ("cert_not_yet_valid", "not valid yet"),
    "wrong_host": ("cert_hostname", "different name"),
    "self_signed": ("cert_self_signed", "self-signed"),
}


@pytest.fixture
def contexts(request: pytest.FixtureRequest, ca: trustme.CA, tmp_path: Path) -> dict[str, Callable[[], ssl.SSLContext]]:
    return {
        "untrusted": lambda: request.getfixturevalue("untrusted_tls"),
        "expired": lambda: request.getfixturevalue("expired_tls"),
        "not_yet_valid": lambda: request.getfixturevalue("not_yet_valid_tls"),
        "wrong_host": lambda: request.getfixturevalue("wrong_host_tls"),
        "self_signed": lambda: self_signed(tmp_path),
    }


@pytest.mark.parametrize("mode", ["starttls", "tls"])
@pytest.mark.parametrize("case", list(CASES))
async def test_each_bad_certificate_gets_its_own_diagnosis(
    case: str, mode: str, contexts: dict[str, Callable[[], ssl.SSLContext]], ca_file: str
) -> None:
    kind, phrase = CASES[case]
    server_tls = contexts[case]()
    where = {"starttls_context": server_tls} if mode == "starttls" else {"implicit_context": server_tls}
    with smtp_server(password=TEST_SECRET, **where) as (server, mailbox):  # type: ignore[arg-type]
        s = SmtpSettings(
            host="127.0.0.1",
            port=server.port,
            security=mode,
            ca_file=ca_file,
            username=USERNAME,  # type: ignore[arg-type]
        )
        report = await run_probe(s, Secret(TEST_SECRET))
    assert report.failure is not None and report.failure.kind == kind, report.failure
    diagnosis = diagnose(report, s)
    assert diagnosis is not None and phrase in diagnosis.title.lower(), diagnosis.title
    assert diagnosis.settings_change is None or diagnosis.settings_change.get("verify_certificate") is not False
    assert report.failure.certificate is not None  # shown to the user: subject, issuer, dates
    assert mailbox.auth_attempts == []  # no password for a server that did not prove who it is


def test_opting_out_is_explicit_and_shown_in_every_later_output(
    tmp_path: Path,
    untrusted_tls: ssl.SSLContext,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", TEST_SECRET)
    config = tmp_path / "config.yaml"
    with smtp_server(password=TEST_SECRET, starttls_context=untrusted_tls) as (server, _):
        source = tmp_path / "input.yaml"
        base = (
            f"version: 1\ntarget: mastodon\nsmtp:\n  host: 127.0.0.1\n  port: {server.port}\n  security: starttls\n"
            f"  username: {USERNAME}\n  password: {{env: SMTP_PASSWORD}}\n"
        )
        source.write_text(base + "sender:\n  address: app@example.com\n")
        out, err = io.StringIO(), io.StringIO()
        refused = main(["apply", str(source), "--config", str(config), "--yes"], out=out, err=err)
        assert refused == ExitCode.PROTOCOL and not config.exists()  # verified by default: refused

        source.write_text(base + "  verify_certificate: false\nsender:\n  address: app@example.com\n")
        outputs = {}
        for name, args in {
            "apply": ["apply", str(source), "--config", str(config), "--yes"],
            "test": ["test", "--config", str(config)],
            "export": ["export", "--config", str(config), "--target", "mastodon"],
        }.items():
            out, err = io.StringIO(), io.StringIO()
            assert main(args, out=out, err=err) == ExitCode.OK, out.getvalue() + err.getvalue()
            outputs[name] = out.getvalue() + err.getvalue()
    assert yaml.safe_load(config.read_text())["smtp"]["verify_certificate"] is False
    for name, text in outputs.items():
        assert "certificate checks are OFF" in text, name
    assert "SMTP_OPENSSL_VERIFY_MODE=none" in outputs["export"]
    assert "NOT verified" in outputs["test"]  # the TLS stage says so too
    assert all(TEST_SECRET not in text for text in outputs.values())


async def test_the_tui_shows_disabled_checks_on_review_and_finish(
    tmp_path: Path, untrusted_tls: ssl.SSLContext, memory_keyring: MemoryKeyring
) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=untrusted_tls) as (server, _):
        answers = answers_for(server.port, "", TEST_SECRET)
        answers.ca_file = None
        answers.verify_certificate = False
        app = wizard_at("live_test", answers, tmp_path / "config.yaml")
        async with app.run_test(size=(100, 40)) as pilot:
            while app.last_report is None:
                await pilot.pause(0.05)
                await app.workers.wait_for_complete()
            assert app.last_report.ok, app.last_report.failure
            await pilot.press("enter")
            review = str(app.screen.query_one("#warnings").render())
            assert "certificate checks are OFF" in review
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert "certificate checks are OFF" in str(app.screen.query_one("#warnings").render())
