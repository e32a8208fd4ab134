"""Faults while writing and in the keyring: afterwards the config is the old one or the new
one, whole, 0600; the backup is intact; the keyring never lacks the secret a config names;
every failure is one clear line with its documented exit code."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import ssl
import stat
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from smtpwizard.cli import main
from smtpwizard.core import files
from smtpwizard.core.exit_codes import ExitCode
from smtpwizard.core.settings import keyring_account
from tests.conftest import TEST_SECRET, MemoryKeyring, using_keyring
from tests.servers import USERNAME, smtp_server

OLD_CONFIG = "# the config that works today\nversion: 1\n"
OLD_BACKUP = "# the backup of the day before\nversion: 1\n"


def input_file(tmp_path: Path, port: int, ca_file: str, password: str = "{env: SMTP_PASSWORD}") -> Path:
    source = tmp_path / "input.yaml"
    source.write_text(
        f"version: 1\nprofile: prod\nprovider: custom\nsmtp:\n  host: 127.0.0.1\n  port: {port}\n"
        f"  security: starttls\n  ca_file: {ca_file}\n  username: {USERNAME}\n  password: {password}\n"
        "sender:\n  address: app@example.com\n"
    )
    return source


@pytest.fixture
def server(good_tls: ssl.SSLContext) -> Iterator[int]:
    with smtp_server(password=TEST_SECRET, starttls_context=good_tls) as (srv, _):
        yield srv.port


@pytest.fixture
def env_input(tmp_path: Path, server: int, ca_file: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An input file whose password comes from $SMTP_PASSWORD, set to the test secret."""
    monkeypatch.setenv("SMTP_PASSWORD", TEST_SECRET)
    return input_file(tmp_path, server, ca_file)


@pytest.fixture
def existing(tmp_path: Path) -> Path:
    """A config directory with a working config and its backup, as a second apply finds it."""
    folder = tmp_path / "conf"
    folder.mkdir(mode=0o700)
    (folder / "config.yaml").write_text(OLD_CONFIG)
    (folder / "config.yaml.bak").write_text(OLD_BACKUP)
    for name in ("config.yaml", "config.yaml.bak"):
        os.chmod(folder / name, 0o600)
    return folder / "config.yaml"


def run_apply(source: Path, config: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["apply", str(source), "--config", str(config), "--yes"], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def assert_old_or_new_whole(config: Path) -> str:
    """The config is exactly the old file or a complete new one; 0600; the backup intact; no
    temp files left. Returns which."""
    text = config.read_text()
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    backup = config.with_name("config.yaml.bak")
    assert backup.read_text() in (OLD_BACKUP, OLD_CONFIG)
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert not list(config.parent.glob(".*.tmp")), "a temp file was left behind"
    if text == OLD_CONFIG:
        return "old"
    doc = yaml.safe_load(text)
    assert doc["verified"]["status"] == "passed" and "keyring" in doc["smtp"]["password"]
    assert backup.read_text() == OLD_CONFIG
    return "new"


# Each write step that can fail, and the errno it fails with: (what, errno, which call fails).
FAULT_POINTS = [
    ("mkstemp", errno.ENOSPC, 1),  # the backup's temp file cannot be created
    ("mkstemp", errno.ENOSPC, 2),  # the config's temp file cannot be created
    ("fsync", errno.ENOSPC, 1),  # the backup's data does not reach the disk
    ("fsync", errno.EIO, 2),  # the config's data does not reach the disk
    ("fchmod", errno.EPERM, 1),
    ("replace", errno.EACCES, 1),  # the backup cannot be renamed into place
    ("replace", errno.EROFS, 2),  # the config cannot be renamed into place
    ("replace", errno.ENOSPC, 2),
]


@contextlib.contextmanager
def failing(name: str, err: int, nth: int) -> Iterator[list[int]]:
    """Make the ``nth`` call of os.<name> (or tempfile.mkstemp) inside files.py fail with ``err``."""
    module = files.tempfile if name == "mkstemp" else files.os
    real: Callable[..., object] = getattr(module, name)
    calls = [0]

    def fake(*args: object, **kwargs: object) -> object:
        calls[0] += 1
        if calls[0] == nth:
            raise OSError(err, os.strerror(err))
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(module, name, fake)
        yield calls


@pytest.mark.parametrize(
    ("name", "err", "nth"), FAULT_POINTS, ids=[f"{n}-{errno.errorcode[e]}-{i}" for n, e, i in FAULT_POINTS]
)
def test_a_fault_at_any_write_step_keeps_the_old_config_and_the_old_password(
    env_input: Path, existing: Path, server: int, memory_keyring: MemoryKeyring, name: str, err: int, nth: int
) -> None:
    account = keyring_account("prod", USERNAME, "127.0.0.1", server, str(existing))
    memory_keyring.entries[("smtpwizard", account)] = "the password of yesterday"
    with failing(name, err, nth) as calls:
        code, out, error = run_apply(env_input, existing)
    assert calls[0] >= nth, "the fault was not reached"
    assert code == ExitCode.CANT_CREATE, out + error
    lines = error.splitlines()
    assert len(lines) == 1 and str(existing) in lines[0] and "; " in lines[0], lines
    assert assert_old_or_new_whole(existing) == "old"
    assert memory_keyring.entries[("smtpwizard", account)] == "the password of yesterday"  # rolled back
    assert TEST_SECRET not in out + error


@pytest.mark.parametrize("kind", ["directory", "under_a_file", "not_writable"])
def test_config_path_that_cannot_be_written_is_one_clear_error(
    tmp_path: Path, env_input: Path, memory_keyring: MemoryKeyring, kind: str
) -> None:
    with unwritable(tmp_path, kind) as config:
        code, out, error = run_apply(env_input, config)
    assert code == ExitCode.CANT_CREATE, out + error
    lines = error.splitlines()
    assert len(lines) == 1 and lines[0].startswith("smtpwizard: error: cannot "), lines
    assert memory_keyring.entries == {}  # the stored password was rolled back
    assert TEST_SECRET not in out + error


@contextlib.contextmanager
def unwritable(tmp_path: Path, kind: str) -> Iterator[Path]:
    if kind == "directory":
        (tmp_path / "config.yaml").mkdir()
        yield tmp_path / "config.yaml"
    elif kind == "under_a_file":
        (tmp_path / "plain-file").write_text("x")
        yield tmp_path / "plain-file" / "config.yaml"
    else:
        with read_only_dir(tmp_path) as folder:
            yield folder / "config.yaml"


@contextlib.contextmanager
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A real place this process cannot write: a read-only tmpfs where mounting is allowed,
    else a 0500 directory (not root), else sysfs (root without mount rights)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode == 0:
        try:
            yield folder
        finally:
            subprocess.run(["umount", str(folder)], check=True)
    elif os.geteuid() != 0:
        os.chmod(folder, 0o500)
        try:
            yield folder
        finally:
            os.chmod(folder, 0o700)
    else:
        yield Path("/sys/smtpwizard-cannot-exist")


def test_a_full_disk_is_named_as_such(env_input: Path, existing: Path, memory_keyring: MemoryKeyring) -> None:
    with failing("fsync", errno.ENOSPC, 2):
        code, _, error = run_apply(env_input, existing)
    assert code == ExitCode.CANT_CREATE
    assert "the disk is full; free some space and run again" in error


KILLED_BEFORE_RENAME = textwrap.dedent(
    """
    import os, signal, sys
    import keyring
    sys.path.insert(0, sys.argv[1])
    from tests.conftest import MemoryKeyring
    from smtpwizard.core import files
    from smtpwizard.cli import main

    keyring.set_keyring(MemoryKeyring())
    real_replace = os.replace

    def replace(src, dst):
        if str(dst).endswith("config.yaml"):
            os.kill(os.getpid(), signal.SIGKILL)  # the temp file is written and synced: die now
        return real_replace(src, dst)

    files.os.replace = replace
    sys.exit(main(["apply", sys.argv[2], "--config", sys.argv[3], "--yes"]))
    """
)


def test_killed_between_temp_file_and_rename_leaves_the_old_config_and_the_next_run_cleans_up(
    env_input: Path, existing: Path, memory_keyring: MemoryKeyring
) -> None:
    source = env_input
    root = str(Path(__file__).resolve().parents[2])
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_BEFORE_RENAME, root, str(source), str(existing)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SMTP_PASSWORD": TEST_SECRET},
    )
    assert killed.returncode == -9, killed.stderr
    assert existing.read_text() == OLD_CONFIG and stat.S_IMODE(existing.stat().st_mode) == 0o600
    assert existing.with_name("config.yaml.bak").read_text() == OLD_CONFIG  # the backup was made, whole
    leftovers = list(existing.parent.glob(".config.yaml.*.tmp"))
    assert len(leftovers) == 1 and stat.S_IMODE(leftovers[0].stat().st_mode) == 0o600  # private even so

    code, out, error = run_apply(source, existing)  # the next run
    assert code == ExitCode.OK, out + error
    assert assert_old_or_new_whole(existing) == "new"  # and the leftover is gone


def test_two_applies_of_the_same_profile_at_once_end_whole(
    tmp_path: Path, existing: Path, server: int, ca_file: str, secret_service: dict[str, str]
) -> None:
    """Two real processes, a real keyring: the second waits for the first's lock."""
    source = input_file(tmp_path, server, ca_file, password="{stdin: true}")
    exe = Path(sys.executable).parent / "smtpwizard"
    runs = [
        subprocess.Popen(
            [str(exe), "apply", str(source), "--config", str(existing), "--yes"],
            env=secret_service,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [run.communicate(TEST_SECRET + "\n", timeout=60) for run in runs]
    codes = [run.returncode for run in runs]
    for (out, err), code in zip(results, codes, strict=True):
        assert code in (ExitCode.OK, ExitCode.CONFIG), out + err
        if code == ExitCode.CONFIG:
            assert "another smtpwizard run is writing this config" in err
        assert TEST_SECRET not in out + err
    assert ExitCode.OK in codes
    config = yaml.safe_load(existing.read_text())
    assert config["verified"]["status"] == "passed"
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600
    backup = existing.with_name("config.yaml.bak").read_text()
    assert backup == OLD_CONFIG or yaml.safe_load(backup)["verified"]["status"] == "passed"  # whole either way
    assert not list(existing.parent.glob(".*.tmp"))


# --- keyring faults -----------------------------------------------------------------------


class RaisingKeyring(MemoryKeyring):
    """A backend that fails the way D-Bus backends do: with exception types of their own."""

    def __init__(self, fail_on: str) -> None:
        super().__init__()
        self.fail_on = fail_on

    def get_password(self, service: str, username: str) -> str | None:
        if self.fail_on == "get":
            raise RuntimeError(f"org.freedesktop.DBus.Error.NoReply while reading {TEST_SECRET}")
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.fail_on == "set":
            raise ConnectionResetError(f"the bus went away while storing {password}")
        super().set_password(service, username, password)


@pytest.mark.parametrize("fail_on", ["get", "set"])
def test_a_keyring_backend_that_raises_is_a_clear_error_and_nothing_is_written(
    env_input: Path, existing: Path, fail_on: str
) -> None:
    with using_keyring(RaisingKeyring(fail_on)):
        code, out, error = run_apply(env_input, existing)
    assert code == ExitCode.CONFIG, out + error
    lines = error.splitlines()
    assert len(lines) == 1 and lines[0].startswith("smtpwizard: error: keyring: could not "), lines
    assert "RaisingKeyring" in lines[0]  # names the backend
    assert TEST_SECRET not in out + error  # the backend's own message is not repeated
    assert existing.read_text() == OLD_CONFIG


class ForgetfulKeyring(MemoryKeyring):
    """Another program deletes the entry right after smtpwizard first reads it."""

    reads = 0

    def get_password(self, service: str, username: str) -> str | None:
        value = super().get_password(service, username)
        self.reads += 1
        if self.reads == 1:
            self.entries.pop((service, username), None)
        return value


def test_an_entry_deleted_between_test_and_write_is_put_back_before_the_config_names_it(
    tmp_path: Path, existing: Path, server: int, ca_file: str
) -> None:
    backend = ForgetfulKeyring()
    account = f"prod/{USERNAME}@127.0.0.1:{server}"
    backend.entries[("smtpwizard", account)] = TEST_SECRET
    source = input_file(tmp_path, server, ca_file, password=f"{{keyring: {{account: '{account}'}}}}")
    with using_keyring(backend):
        code, out, error = run_apply(source, existing)
    assert code == ExitCode.OK, out + error
    ref = yaml.safe_load(existing.read_text())["smtp"]["password"]["keyring"]
    assert backend.entries[(ref["service"], ref["account"])] == TEST_SECRET  # the config's secret exists


def test_retest_with_the_entry_gone_says_how_to_store_it_again(
    env_input: Path, existing: Path, memory_keyring: MemoryKeyring
) -> None:
    assert run_apply(env_input, existing)[0] == ExitCode.OK
    memory_keyring.entries.clear()  # deleted behind smtpwizard's back
    out, err = io.StringIO(), io.StringIO()
    code = main(["test", "--config", str(existing)], out=out, err=err)
    assert code in (ExitCode.CONFIG, ExitCode.NO_INPUT), out.getvalue() + err.getvalue()
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and "no password stored for smtpwizard/prod/" in lines[0], lines
    assert "run 'smtpwizard apply' (or the wizard) again to store it" in lines[0]
