"""A config or input file is not a confused deputy (issue 11, items 3 and 10): it cannot make
smtpwizard read, send, print or delete another program's keyring entry, or an entry stored
for another host; password sources are regular files of bounded size, mail variables only,
never control bytes; inline passwords get the same checks; a password asked for on a
terminal is never echoed."""

from __future__ import annotations

import contextlib
import io
import os
import pty
import resource
import select
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smtpwizard.cli import main
from smtpwizard.core.config import parse_document
from smtpwizard.core.errors import FieldError
from smtpwizard.core.exit_codes import ExitCode
from tests.conftest import TEST_SECRET, MemoryKeyring
from tests.servers import USERNAME, Mailbox, smtp_server

ROOT = Path(__file__).resolve().parents[2]
OTHER_TOKEN = "pypi-AgEIcHlwaS5vcmc-another-programs-token-51c0e2"  # what another program keeps
EXISTING = "# the config that works today\nversion: 1\n"


def smtpwizard_cli(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "smtpwizard"
    return subprocess.run([str(exe), *args], input=stdin, env=env, capture_output=True, text=True, timeout=60)


def lookup(env: dict[str, str], service: str, account: str) -> str | None:
    code = "import keyring,sys; v=keyring.get_password(*sys.argv[1:]); print('NONE' if v is None else v, end='')"
    done = subprocess.run(
        [sys.executable, "-c", code, service, account], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return None if done.stdout == "NONE" else done.stdout


def store(env: dict[str, str], service: str, account: str, value: str) -> None:
    code = "import keyring,sys; keyring.set_password(sys.argv[1], sys.argv[2], sys.stdin.read())"
    done = subprocess.run(
        [sys.executable, "-c", code, service, account], input=value, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def config_text(port: int, ca_file: str, password: str) -> str:
    """A written-config-shaped file whose password reference is chosen by the test."""
    return (
        f"version: 1\nprofile: default\nprovider: custom\nsmtp:\n  host: 127.0.0.1\n"
        f"  port: {port}\n  security: starttls\n  ca_file: {ca_file}\n  username: {USERNAME}\n"
        f"  password: {password}\nsender:\n  address: app@example.com\n"
        'verified: {status: passed, at: "2026-11-22T10:00:00Z"}\n'
    )


HOSTILE_REFERENCES = {
    "another_service": ("twine", "__token__", "{keyring: {service: twine, account: __token__}}"),
    "another_host": (
        "smtpwizard",
        f"default/{USERNAME}@mail.other.test:587",
        f"{{keyring: {{account: 'default/{USERNAME}@mail.other.test:587'}}}}",
    ),
}


@pytest.mark.parametrize("kind", HOSTILE_REFERENCES)
def test_a_file_cannot_make_smtpwizard_use_print_or_delete_a_secret_it_did_not_store_there(
    kind: str, tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, secret_service: dict[str, str]
) -> None:
    """With the real Secret Service: test, export --reveal-secret, forget and apply each refuse
    the reference; the entry is not sent, printed, or deleted."""
    service, account, reference = HOSTILE_REFERENCES[kind]
    env = {**secret_service, "PYTHONPATH": str(ROOT)}
    store(env, service, account, OTHER_TOKEN)
    with smtp_server(password=OTHER_TOKEN, starttls_context=good_tls) as (server, mailbox):
        config = tmp_path / "conf" / "config.yaml"
        config.parent.mkdir(mode=0o700)
        config.write_text(config_text(server.port, ca_file, reference))
        source = tmp_path / "input.yaml"
        source.write_text(config_text(server.port, ca_file, reference).replace("verified:", "#"))
        target = tmp_path / "other" / "config.yaml"
        runs = {
            "test": smtpwizard_cli("test", "--config", str(config), env=env),
            "export": smtpwizard_cli(
                "export", "--config", str(config), "--target", "mattermost", "--reveal-secret", env=env
            ),
            "forget": smtpwizard_cli("forget", "--config", str(config), env=env),
            "apply": smtpwizard_cli("apply", str(source), "--config", str(target), "--yes", env=env),
        }
    for name, run in runs.items():
        assert run.returncode == ExitCode.DATA_ERROR, (name, run.stdout + run.stderr)
        lines = run.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("smtpwizard: error: smtp.password"), (name, lines)
        assert OTHER_TOKEN not in run.stdout + run.stderr, name
    assert mailbox.auth_attempts == []  # never sent anywhere
    assert lookup(env, service, account) == OTHER_TOKEN  # not deleted
    assert not target.exists()


def test_an_entry_stored_for_these_settings_is_still_honoured(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, memory_keyring: MemoryKeyring
) -> None:
    """References written before entries carried a config hash keep working."""
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (server, _):
        account = f"default/{USERNAME}@127.0.0.1:{server.port}"
        memory_keyring.entries[("smtpwizard", account)] = TEST_SECRET
        config = tmp_path / "config.yaml"
        config.write_text(config_text(server.port, ca_file, f"{{keyring: {{account: '{account}'}}}}"))
        out, err = io.StringIO(), io.StringIO()
        assert main(["test", "--config", str(config)], out=out, err=err) == ExitCode.OK, err.getvalue()


@contextlib.contextmanager
def apply_input(tmp_path: Path, port: int, ca_file: str, password: str) -> Iterator[Path]:
    source = tmp_path / "input.yaml"
    source.write_text(
        f"version: 1\nsmtp:\n  host: 127.0.0.1\n  port: {port}\n  security: starttls\n  ca_file: {ca_file}\n"
        f"  username: {USERNAME}\n  password: {password}\nsender:\n  address: app@example.com\n"
    )
    yield source


def refused(source: Path, tmp_path: Path, mailbox: Mailbox, env: dict[str, str] | None = None) -> str:
    """Apply ``source`` in a subprocess (bounded memory, so an unbounded read fails rather than
    exhausting the machine); assert a one-line refusal and that nothing was sent or written."""
    config = tmp_path / "conf" / "config.yaml"
    config.parent.mkdir(mode=0o700, exist_ok=True)
    config.write_text(EXISTING)

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    exe = Path(sys.executable).parent / "smtpwizard"
    try:
        run = subprocess.run(
            [str(exe), "apply", str(source), "--config", str(config), "--yes"],
            env={
                **os.environ,
                **(env or {}),
                "PYTHONPATH": str(ROOT),
                "PYTHON_KEYRING_BACKEND": "tests.hardening.stub_keyring.BlockingKeyring",
                "STUB_KEYRING_FILE": str(tmp_path / "keyring.json"),
            },
            capture_output=True,
            text=True,
            timeout=30,
            preexec_fn=limit_memory,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the apply hung on the password source")
    assert run.returncode in (ExitCode.DATA_ERROR, ExitCode.NO_INPUT), run.stdout + run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and "smtp.password" in lines[0], lines
    assert "Traceback" not in run.stderr and "MemoryError" not in run.stderr
    assert mailbox.auth_attempts == []
    assert config.read_text() == EXISTING
    return lines[0]


@pytest.fixture
def server(good_tls: ssl.SSLContext) -> Iterator[tuple[int, Mailbox]]:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (srv, mailbox):
        yield srv.port, mailbox


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/proc/self/environ", "not a regular file"),
        ("/dev/zero", "not a regular file"),
        ("/dev/null", "not a regular file"),
        ("fifo", "not a regular file"),
        ("big", "larger than 4096 bytes"),
        ("nul", "control character"),
        ("tab", "control character"),
    ],
)
def test_a_password_file_must_be_a_small_regular_file_of_one_clean_line(
    path: str, why: str, tmp_path: Path, server: tuple[int, Mailbox], ca_file: str
) -> None:
    port, mailbox = server
    made = {
        "fifo": lambda p: os.mkfifo(p),  # no writer: opening it must not block
        "big": lambda p: p.write_bytes(b"x" * 100_000),
        "nul": lambda p: p.write_bytes(b"pass\0word\n"),
        "tab": lambda p: p.write_bytes(b"pass\tword\n"),
    }
    if path in made:
        file = tmp_path / path
        made[path](file)
        path = str(file)
    with apply_input(tmp_path, port, ca_file, f"{{file: {path}}}") as source:
        line = refused(source, tmp_path, mailbox, env={"SMTP_LEAK_CHECK": TEST_SECRET})
    assert why in line
    assert TEST_SECRET not in line


@pytest.mark.parametrize("name", ["AWS_SECRET_ACCESS_KEY", "HOME", "GITHUB_TOKEN", "smtp_password"])
def test_only_mail_variables_can_hold_the_password(
    name: str, tmp_path: Path, server: tuple[int, Mailbox], ca_file: str
) -> None:
    port, mailbox = server
    with apply_input(tmp_path, port, ca_file, f"{{env: {name}}}") as source:
        line = refused(source, tmp_path, mailbox, env={name: TEST_SECRET})
    assert f"smtp.password.env: '{name}'" in line and "SMTP_PASSWORD" in line


@pytest.mark.parametrize(
    ("name", "provider"),
    [("SMTP_PASSWORD", "custom"), ("EMAIL_HOST_PASSWORD", "custom"), ("POSTMARK_SERVER_TOKEN", "postmark")],
)
def test_mail_variables_remain_usable(name: str, provider: str) -> None:
    doc = {
        "provider": provider,
        "smtp": {"host": "smtp.example.com", "port": 587, "username": "u", "password": {"env": name}},
        "sender": {"address": "a@example.com"},
    }
    assert parse_document(doc, "input").password_source is not None


@pytest.mark.parametrize(
    ("inline", "why"),
    [
        ('"pass\\0word"', "control character"),
        ('"pass\\x85word"', "control character"),
        ('"pass\\nword"', "more than one line"),
        ('"' + "x" * 5000 + '"', "larger than 4096 bytes"),
    ],
)
def test_inline_passwords_get_the_same_checks_as_every_source(
    inline: str, why: str, tmp_path: Path, server: tuple[int, Mailbox], ca_file: str
) -> None:
    port, mailbox = server
    with apply_input(tmp_path, port, ca_file, inline) as source:
        line = refused(source, tmp_path, mailbox)
    assert why in line


def test_the_same_checks_hold_for_a_value_typed_into_the_wizard() -> None:
    from smtpwizard.core.answers import WizardAnswers
    from smtpwizard.core.settings import Secret

    answers = WizardAnswers(host="smtp.example.com", username="u", sender_address="a@example.com")
    answers.password = Secret("pass\0word")
    with pytest.raises(FieldError, match=r"smtp\.password: the password contains a control character"):
        answers.to_document()


def read_until(fd: int, wanted: bytes, timeout: float = 20) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the other side closed
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_stdin_on_a_terminal_asks_without_echo(
    tmp_path: Path, good_tls: ssl.SSLContext, ca_file: str, secret_service: dict[str, str]
) -> None:
    """A real pseudo-terminal as the controlling terminal: a prompt appears, and what is
    typed never comes back to the screen (so never into the scrollback)."""
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (srv, mailbox):
        source = tmp_path / "input.yaml"
        source.write_text(
            f"version: 1\nsmtp:\n  host: 127.0.0.1\n  port: {srv.port}\n  ca_file: {ca_file}\n"
            f"  username: {USERNAME}\n  password: {{stdin: true}}\nsender:\n  address: app@example.com\n"
        )
        config = tmp_path / "conf" / "config.yaml"
        exe = Path(sys.executable).parent / "smtpwizard"
        master, slave = pty.openpty()

        def controlling_terminal() -> None:
            import fcntl
            import termios

            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        run = subprocess.Popen(
            [str(exe), "apply", str(source), "--config", str(config), "--yes"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=secret_service,
            preexec_fn=controlling_terminal,
        )
        os.close(slave)
        try:
            screen = read_until(master, b"password")
            assert b"SMTP password" in screen, screen
            os.write(master, TEST_SECRET.encode() + b"\n")
            screen += read_until(master, b"Wrote ")
            assert run.wait(30) == ExitCode.OK, screen.decode(errors="replace")
            screen += read_until(master, b"\0", timeout=1)
        finally:
            if run.poll() is None:
                run.kill()
            os.close(master)
    text = screen.decode(errors="replace")
    assert "The test passed" in text or "Wrote" in text, text
    assert TEST_SECRET not in text  # not echoed
    assert len(mailbox.auth_attempts) == 1
