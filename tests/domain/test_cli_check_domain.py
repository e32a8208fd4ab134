"""`smtpwizard check-domain` and the domain check in apply/test --json, against the Knot server."""

from __future__ import annotations

import io
import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from smtpwizard.cli import main
from smtpwizard.core.exit_codes import ExitCode
from tests.conftest import TEST_SECRET, MemoryKeyring
from tests.domain.knot import KnotServer
from tests.servers import USERNAME, smtp_server


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_a_ready_domain_exits_0_and_says_so(dns_server: KnotServer) -> None:
    code, out, _ = run(
        "check-domain", "no-reply@sendgrid-ok.test", "--provider", "sendgrid", "--dns", dns_server.address
    )
    assert code == 0
    assert "ok   DKIM: SendGrid can sign as your domain" in out
    assert "Ready: receivers can authenticate mail from this domain." in out


def test_missing_dkim_prints_the_records_to_add_and_exits_78(dns_server: KnotServer) -> None:
    code, out, _ = run("check-domain", "no-reply@no-dkim.test", "--provider", "fastmail", "--dns", dns_server.address)
    assert code == ExitCode.CONFIG
    assert "FIX  DKIM: Fastmail's key records are missing" in out
    assert "fm1._domainkey.no-dkim.test  CNAME  fm1.no-dkim.test.dkim.fmhosted.com" in out
    assert "Not ready: add or fix these records at your DNS host, or mail may go to spam or be rejected." in out


def test_a_dns_failure_exits_75_without_a_verdict(dns_server: KnotServer) -> None:
    code, out, _ = run("check-domain", "a@servfail.test", "--provider", "sendgrid", "--dns", dns_server.address)
    assert code == ExitCode.TEMP_FAIL
    assert "SERVFAIL for" in out and "No verdict: DNS look-ups failed; try again." in out


def test_json_report_lists_findings_with_records(dns_server: KnotServer) -> None:
    code, out, _ = run(
        "check-domain", "a@plus-all.test", "--provider", "sendgrid", "--dns", dns_server.address, "--json"
    )
    data = json.loads(out)
    assert code == ExitCode.CONFIG and data["verdict"] == "problems" and data["exit_code"] == 78
    plus_all = next(f for f in data["findings"] if f["code"] == "spf_plus_all")
    assert plus_all["records"] == [
        {"name": "plus-all.test", "type": "TXT", "value": "v=spf1 include:sendgrid.net ~all"}
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["a@localhost", "--provider", "sendgrid"], "ADDRESS: 'a@localhost' has no valid domain"),
        (["a@x.test", "--provider", "nope"], "--provider: 'nope' is not a known provider"),
        (["a@x.test", "--dns", "resolver.test"], "--dns: 'resolver.test' is not IP[:PORT]"),
        (["a@x.test", "--dkim-selector", "s1;rm"], "--dkim-selector: 's1;rm' is not a DKIM selector"),
        (["a@x.test", "--return-path", "bounces"], "--return-path: 'bounces' has no valid domain"),
    ],
)
def test_bad_input_is_one_line_naming_the_field(args: list[str], message: str) -> None:
    code, out, err = run("check-domain", *args)
    assert code == ExitCode.DATA_ERROR and out == ""
    assert err.splitlines() == [f"smtpwizard: error: {err.split('error: ', 1)[1].strip()}"]
    assert message in err


def test_the_installed_command_reads_the_server_from_smtpwizard_dns(dns_server: KnotServer) -> None:
    env = {**os.environ, "SMTPWIZARD_DNS": dns_server.address}
    done = subprocess.run(
        [sys.executable, "-m", "smtpwizard", "check-domain", "me@m365-ok.test", "--provider", "microsoft365", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["verdict"] == "ready"


def test_apply_json_includes_the_domain_check_after_smtp_passes(
    tmp_path: Path,
    dns_server: KnotServer,
    good_tls: ssl.SSLContext,
    ca_file: str,
    memory_keyring: MemoryKeyring,
    config_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", TEST_SECRET)
    monkeypatch.setenv("SMTPWIZARD_DNS", dns_server.address)
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, _):
        source = tmp_path / "input.yaml"
        source.write_text(
            "version: 1\nprovider: sendgrid\nsmtp:\n  host: 127.0.0.1\n"
            f"  port: {server.port}\n  security: starttls\n  ca_file: {ca_file}\n"
            f"  username: {USERNAME}\n  password: {{env: SMTP_PASSWORD}}\n"
            "sender:\n  address: app@no-dkim.test\n"
        )
        code, out, err = run("apply", str(source), "--yes", "--json")
        assert code == 0, err  # a domain problem never turns a passing SMTP test into a failure
        check = json.loads(out)["domain_check"]
        assert check["domain"] == "no-dkim.test" and check["verdict"] == "problems"
        assert "dkim_missing" in [f["code"] for f in check["findings"]]
        code, out, _ = run("test", "--json")
        assert code == 0 and json.loads(out)["domain_check"]["verdict"] == "problems"


def test_a_provider_needing_a_selector_is_not_called_ready(dns_server: KnotServer) -> None:
    code, out, _ = run("check-domain", "a@ses-ok.test", "--provider", "amazon_ses", "--dns", dns_server.address)
    assert code == 0
    assert "--   DKIM: smtpwizard needs your Amazon SES selector to check it" in out
    assert "Not fully checked: nothing wrong so far; give your DKIM selector (--dkim-selector) to finish." in out
    assert "Ready:" not in out


def test_without_an_address_it_needs_the_config(tmp_path: Path) -> None:
    code, out, err = run("check-domain", "--config", str(tmp_path / "missing.yaml"))
    assert code == ExitCode.NO_INPUT and out == ""
    assert f"{tmp_path / 'missing.yaml'}: no such file" in err


def test_without_an_address_it_checks_the_configs_sender_and_provider(tmp_path: Path, dns_server: KnotServer) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "version: 1\nprovider: fastmail\nsmtp: {host: smtp.fastmail.com, port: 465, security: tls, auth: none}\n"
        "sender: {address: me@fastmail-ok.test}\n"
    )
    code, out, _ = run("check-domain", "--config", str(config), "--dns", dns_server.address)
    assert code == 0, out
    assert out.startswith("Sender domain fastmail-ok.test, sending through Fastmail:")


def test_check_domain_never_imports_textual_and_help_skips_dnspython(dns_server: KnotServer) -> None:
    code = (
        "import sys\nfrom smtpwizard.cli import main\n"
        "try:\n    main(['check-domain', '--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'dns' not in sys.modules, 'dnspython imported for --help'\n"
        f"main(['check-domain', 'a@sendgrid-ok.test', '--provider', 'sendgrid', '--dns', '{dns_server.address}'])\n"
        "assert 'dns' in sys.modules\n"
        "assert not [m for m in sys.modules if m == 'textual' or m.startswith('textual.')], 'textual imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Ready: receivers can authenticate mail from this domain." in done.stdout


def test_control_characters_in_dns_data_never_reach_the_terminal(dns_server: KnotServer) -> None:
    code, out, _ = run("check-domain", "a@escape.test", "--provider", "sendgrid", "--dns", dns_server.address)
    assert code == ExitCode.CONFIG
    assert "\x1b" not in out and "\x07" not in out
    assert "'v=DMARC1; p=\\x1b[2J\\x1b]0;owned\\x07' lacks p=none" in out
