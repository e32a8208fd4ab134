"""`smtpwizard providers` is a table whose columns line up on every line, and `export`
without --target exports for the app the config records."""

from __future__ import annotations

import io
import itertools
import json
import re
import ssl
from pathlib import Path

import pytest

from smtpwizard.cli import main
from smtpwizard.core.exit_codes import ExitCode
from tests.cli.test_headless import write_input
from tests.conftest import TEST_SECRET, MemoryKeyring
from tests.servers import smtp_server


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_providers_table_columns_line_up_on_every_line() -> None:
    code, out, _ = run("providers")
    presets = {p["id"]: p for p in json.loads(run("providers", "--json")[1])["providers"]}
    lines = out.splitlines()
    header = lines[0]
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    assert header.split() == ["ID", "NAME", "HOST", "PORT", "SECURITY", "REGION"]
    rows = [line for line in lines[1:] if line.startswith("  ")]
    assert code == 0 and len(rows) == len(presets)
    port_end = starts[3] + len("PORT")
    for line in rows:
        cells = [line[a:b].strip() for a, b in itertools.pairwise(starts[:4])]
        preset = presets[cells[0]]
        assert cells[1] == preset["name"], line
        assert cells[2] == (preset["hosts"][0]["host"] if preset["hosts"] else "(you enter it)"), line
        assert line[starts[2] : port_end].split()[-1] == str(preset["recommended"]["port"]), line  # right-aligned
        assert line[port_end : starts[4]].strip() == "" and line[starts[3] - 1] == " ", line
        assert line[starts[4] :].split()[0] == preset["recommended"]["security"], line
        region = line[starts[5] :].strip() if len(line) > starts[5] else ""
        regions = [h["region"] for h in preset["hosts"] if h["region"]]
        assert region.startswith(regions[0]) if regions else region == "", line
        for name in regions[1:] if len(regions) <= 4 else ():
            assert name in region, line
    assert "+1 regions" not in out and not re.search(r"\b1 other regions\b", out)
    assert "US; also EU" in out  # Mailgun: which region the host serves, and the other one
    assert "us-east-1, and 24 other regions" in out


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring, config_home: Path) -> MemoryKeyring:
    monkeypatch.setenv("SMTP_PASSWORD", TEST_SECRET)
    return memory_keyring


def test_export_without_target_uses_the_target_the_config_records(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, env: MemoryKeyring, config_home: Path
) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (srv, _):
        assert run("apply", str(write_input(tmp_path, srv.port, ca_file, target="mastodon")), "--yes")[0] == 0
    config = config_home / "smtpwizard" / "config.yaml"
    code, out, err = run("export")
    assert code == 0 and out == run("export", "--target", "mastodon")[1]
    assert "SMTP_SERVER=127.0.0.1" in out
    assert f"note: exporting for mastodon, the target recorded in {config} (choose another with --target)" in err
    assert (
        run("export", "--target", "gitlab")[1].startswith("gitlab_rails")
        or "gitlab_rails" in run("export", "--target", "gitlab")[1]
    )


def test_export_without_target_and_none_recorded_names_the_choices(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, env: MemoryKeyring, config_home: Path
) -> None:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (srv, _):
        assert run("apply", str(write_input(tmp_path, srv.port, ca_file)), "--yes")[0] == 0
    code, out, err = run("export")
    assert code == ExitCode.DATA_ERROR and out == ""
    assert "--target is missing and" in err and "records no target; choose one of: posthog" in err
