"""Real ansible-core runs examples/ansible/site.yml against four hosts reached with the `local`
connection, each with its own app file and its own loopback SMTP server; one host's port is
filtered (a firewall). Three runs in all (ansible-playbook starts slowly): check + diff, normal
+ diff at -vvv, then normal again."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml

from smtpwizard.core.apps import get_app
from tests.conftest import server_context
from tests.servers import USERNAME, Mailbox, filtered_port, smtp_server

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "ansible"
FIXTURES = ROOT / "tests" / "fixtures" / "apps"
VAULT_PASSWORD_FILE = EXAMPLE / "vault-password-FOR-TESTS-ONLY.txt"
# The secrets inside examples/ansible/group_vars/all/vault.yml (encrypted with the test-only password).
PASSWORDS = {
    "gitlab": "gl-Vault pw#1 $HOME 'q'",
    "mattermost": 'mm-Vault pw#2 "dq" \\bs',
    "discourse": "dc-Vault pw#3 %x&y",
}
OLD_PASSWORD = "old-Pw-1f9e"  # what each app file holds before the first run
HOSTS = {  # host -> (app, fixture file)
    "gitlab-1": ("gitlab", "gitlab.rb"),
    "chat-eu-1": ("mattermost", "mattermost.config.json"),
    "chat-us-1": ("mattermost", "mattermost.config.json"),
    "forum-1": ("discourse", "discourse.app.yml"),
}
BLOCKED = "chat-us-1"
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def _ansible_playbook() -> list[str]:
    try:
        import ansible  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI must provide ansible-core (the test extra installs it)")
        pytest.skip("needs pip install ansible-core")
    return [sys.executable, "-m", "ansible.cli.playbook"]


@dataclass
class Run:
    argv: list[str]
    returncode: int
    output: str  # stdout and stderr
    seconds: float

    def recap(self) -> dict[str, dict[str, int]]:
        return {
            host: {"ok": int(ok), "changed": int(ch), "unreachable": int(un), "failed": int(fa)}
            for host, ok, ch, un, fa in RECAP.findall(self.output)
        }

    def recap_lines(self) -> list[str]:
        return [line for line in self.output.splitlines() if RECAP.match(line)]


@dataclass
class Fleet:
    tmp: Path
    files: dict[str, Path]
    ports: dict[str, int]
    mailboxes: dict[str, Mailbox]
    runs: dict[str, Run] = field(default_factory=dict)
    snapshots: dict[str, dict[str, tuple[str, int, int]]] = field(default_factory=dict)  # after each run
    doctor: dict[str, Any] = field(default_factory=dict)  # the smtp_check run's result of each host

    def snapshot(self) -> dict[str, tuple[str, int, int]]:
        return {host: (p.read_text(), p.stat().st_ino, p.stat().st_mtime_ns) for host, p in self.files.items()}


def _app_file(folder: Path, fixture: str) -> Path:
    folder.mkdir(parents=True)
    text = (FIXTURES / fixture).read_text()
    text = text.replace("__HOST__", "127.0.0.1").replace("__PORT__", "2").replace("__PASSWORD__", OLD_PASSWORD)
    path = folder / fixture
    path.write_text(text)
    path.chmod(0o640)
    return path


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    command = _ansible_playbook()
    tmp = tmp_path_factory.mktemp("fleet")
    ca = trustme.CA()
    ca_file = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    tls = server_context(ca.issue_cert("127.0.0.1", "localhost"))
    files = {host: _app_file(tmp / host, fixture) for host, (_app, fixture) in HOSTS.items()}
    with contextlib.ExitStack() as stack:
        ports: dict[str, int] = {}
        mailboxes: dict[str, Mailbox] = {}
        for host, (app, _fixture) in HOSTS.items():
            if host == BLOCKED:
                ports[host] = stack.enter_context(filtered_port())
                continue
            server, mailboxes[host] = stack.enter_context(smtp_server(password=PASSWORDS[app], starttls_context=tls))
            ports[host] = server.port
        lab = {
            "all": {
                "hosts": {
                    host: {
                        "smtp_app_file": str(files[host]),
                        "smtp_host": "127.0.0.1",
                        "smtp_port": ports[host],
                        "smtp_test_to": "ops@example.com",
                    }
                    for host in HOSTS
                }
            }
        }
        (tmp / "lab.yml").write_text(yaml.safe_dump(lab))
        env = {
            **os.environ,
            "SSL_CERT_FILE": str(ca_file),  # each host trusts the relay's CA in its system store
            "XDG_CONFIG_HOME": str(tmp / "xdg"),  # smtpwizard's backups folder on the "hosts"
            "ANSIBLE_HOME": str(tmp / "ansible-home"),
            "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-local"),
            "ANSIBLE_REMOTE_TEMP": str(tmp / "ansible-remote"),
            "ANSIBLE_LOG_PATH": str(tmp / "ansible.log"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",  # any keyring use would fail the run
        }
        fleet = Fleet(tmp, files, ports, mailboxes)
        fleet.snapshots["start"] = fleet.snapshot()
        # smtpwizard's doctor on every host's current file, ad hoc, results as JSON
        doctor = [sys.executable, "-m", "ansible.cli.adhoc", "mail_apps", "-i", str(EXAMPLE / "inventory.yml")]
        doctor += ["-i", str(tmp / "lab.yml"), "-m", "smtpwizard.mail.smtp_check"]
        doctor += ["-a", "app={{ smtp_app }} path={{ smtp_app_file }}", "--one-line"]
        doctor += ["--vault-password-file", str(VAULT_PASSWORD_FILE)]
        doctor_env = {**env, "ANSIBLE_COLLECTIONS_PATH": str(EXAMPLE / "collections")}  # no playbook beside it
        started = time.monotonic()
        done = subprocess.run(doctor, cwd=tmp, env=doctor_env, capture_output=True, text=True, timeout=300)
        fleet.runs["doctor"] = Run(doctor, done.returncode, done.stdout + done.stderr, time.monotonic() - started)
        # --one-line: "host | FAILED! => {result}" on one line per host
        fleet.doctor = {
            line.split(" | ")[0]: {
                "status": line.split(" | ")[1].partition(" => ")[0],
                **json.loads(line.partition(" => ")[2]),
            }
            for line in done.stdout.splitlines()
            if " | " in line and " => " in line
        }
        fleet.snapshots["doctor"] = fleet.snapshot()
        base = [*command, "-i", str(EXAMPLE / "inventory.yml"), "-i", str(tmp / "lab.yml")]
        base += ["--vault-password-file", str(VAULT_PASSWORD_FILE), str(EXAMPLE / "site.yml")]
        for name, extra in (("check", ["--check", "--diff"]), ("write", ["--diff", "-vvv"]), ("again", [])):
            started = time.monotonic()
            done = subprocess.run([*base, *extra], cwd=tmp, env=env, capture_output=True, text=True, timeout=300)
            run = Run([*base, *extra], done.returncode, done.stdout + done.stderr, time.monotonic() - started)
            fleet.runs[name] = run
            fleet.snapshots[name] = fleet.snapshot()
            print(f"\n{name}: {run.seconds:.1f} s, exit {run.returncode}\n" + "\n".join(run.recap_lines()))
        yield fleet


def test_smtp_check_fails_each_broken_host_with_its_diagnosis_as_data(fleet: Fleet) -> None:
    results = fleet.doctor
    assert fleet.runs["doctor"].returncode == 2, fleet.runs["doctor"].output
    assert set(results) == set(HOSTS)
    for host, (app, _fixture) in HOSTS.items():
        result = results[host]
        assert result["status"] == "FAILED!" and result["changed"] is False
        diagnosis = result["diagnosis"]
        assert diagnosis["title"] and diagnosis["fix"] and diagnosis["code"]
        assert "\n" not in result["msg"] and diagnosis["title"] in result["msg"]
        assert result["msg"].startswith(f"{get_app(app).name} ({fleet.files[host]}) would not send mail: ")
        assert result["settings"]["password"] == "********" and result["settings"]["port"] == 2
        assert result["outcome"] == "failed" and result["test"]["ok"] is False
    assert fleet.snapshots["doctor"] == fleet.snapshots["start"]  # the doctor changed nothing
    assert OLD_PASSWORD not in fleet.runs["doctor"].output


def test_check_mode_tests_every_host_reports_the_change_and_writes_nothing(fleet: Fleet) -> None:
    run = fleet.runs["check"]
    recap = run.recap()
    assert set(recap) == set(HOSTS), run.output
    for host in HOSTS:
        if host != BLOCKED:
            assert recap[host]["changed"] == 1 and recap[host]["failed"] == 0, run.output
    assert fleet.snapshots["check"] == fleet.snapshots["start"]
    # the diff shows the new port and masks every password, old and new
    assert "-gitlab_rails['smtp_password'] = ********\n" in run.output
    assert "+gitlab_rails['smtp_password'] = ******** (new password)\n" in run.output
    assert f'+        "SMTPPort": "{fleet.ports["chat-eu-1"]}",' in run.output
    assert f"+  DISCOURSE_SMTP_PORT: {fleet.ports['forum-1']}" in run.output


def test_blocked_host_fails_with_the_diagnosis_and_its_file_is_untouched(fleet: Fleet) -> None:
    for name in ("check", "write", "again"):
        run = fleet.runs[name]
        assert run.returncode == 2, run.output  # ansible-playbook: some hosts failed
        assert run.recap()[BLOCKED]["failed"] == 1
        assert f"fatal: [{BLOCKED}]: FAILED!" in run.output
        diagnosis = (
            f"Mattermost cannot send through 127.0.0.1 port {fleet.ports[BLOCKED]} from this host: "
            "The port did not answer (probably blocked). Try port 587 with STARTTLS"
        )
        assert f"Module failed: {diagnosis}" in run.output  # the one-line diagnosis as the task's error
        assert "mattermost.config.json was not changed." in run.output
        assert fleet.snapshots[name][BLOCKED] == fleet.snapshots["start"][BLOCKED]


def test_other_hosts_are_written_once_and_their_test_messages_arrive(fleet: Fleet) -> None:
    write, again = fleet.runs["write"], fleet.runs["again"]
    for host in HOSTS:
        if host == BLOCKED:
            continue
        assert write.recap()[host]["changed"] == 1 and write.recap()[host]["failed"] == 0, write.output
        assert again.recap()[host]["changed"] == 0 and again.recap()[host]["failed"] == 0, again.output
        assert fleet.snapshots["again"][host] == fleet.snapshots["write"][host]  # not even rewritten
        text = fleet.snapshots["write"][host][0]
        assert OLD_PASSWORD not in text
        # every run's live test sent its test message (check mode too); the doctor's check only logs in
        assert len([m for m in fleet.mailboxes[host].messages if "smtpwizard" in m.content.decode()]) == 3
        assert [login for _mech, login in fleet.mailboxes[host].auth_attempts][:5] == [USERNAME] * 5
        assert (fleet.files[host].stat().st_mode & 0o777) == 0o640  # the file's mode kept


def test_each_written_app_file_delivers_through_the_apps_own_mail_code(
    fleet: Fleet, go_clients: Path, tmp_path: Path
) -> None:
    from tests.doctor.cases import DELIVER

    for host, (app, _fixture) in HOSTS.items():
        if host == BLOCKED:
            continue
        before = len(fleet.mailboxes[host].messages)
        scratch = tmp_path / host  # the harness' own copies (Discourse's launcher), apart from the fleet's files
        scratch.mkdir()
        sent = DELIVER[app](fleet.files[host], str(fleet.tmp / "ca.pem"), go_clients, scratch)
        assert sent.ok, f"{host}: {sent.detail}"
        assert len(fleet.mailboxes[host].messages) == before + 1


def test_written_file_is_read_back_by_the_doctor_as_the_wanted_settings(fleet: Fleet) -> None:
    from smtpwizard.core.doctor import load

    for host, (app, _fixture) in HOSTS.items():
        if host == BLOCKED:
            continue
        imported = load(app, fleet.files[host], {})
        assert imported.password is not None and imported.password.reveal() == PASSWORDS[app]
        assert (imported.smtp.host, imported.smtp.port) == ("127.0.0.1", fleet.ports[host])
        assert imported.config.sender.address == f"{app}@example.com"


def test_no_ansible_output_log_or_other_file_holds_a_password(fleet: Fleet) -> None:
    outputs = "\n".join(run.output for run in fleet.runs.values())
    assert f"<{BLOCKED}> EXEC /bin/sh" in fleet.runs["write"].output  # -vvv really ran
    assert '"password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' in fleet.runs["write"].output
    app_files = {path.resolve() for path in fleet.files.values()}
    assert (fleet.tmp / "ansible.log").stat().st_size > 0  # searched below, with every other file
    assert len(list((fleet.tmp / "xdg" / "smtpwizard" / "backups").iterdir())) == 3  # one per written file
    for app, secret in PASSWORDS.items():
        forms = {secret, json.dumps(secret)[1:-1], secret.replace('"', '\\"'), secret.replace("'", "\\'")}
        for form in forms:
            assert form not in outputs, f"{app}'s password in the Ansible output"
        for path in fleet.tmp.rglob("*"):
            if path.is_file() and path.resolve() not in app_files:
                data = path.read_bytes()
                assert secret.encode() not in data, f"{app}'s password in {path}"
    vault = (EXAMPLE / "group_vars" / "all" / "vault.yml").read_text()
    assert vault.startswith("$ANSIBLE_VAULT;") and "Vault pw" not in vault
