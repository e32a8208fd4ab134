"""Symlinks and open folders (issue 11, item 7): run as root with --config in a folder others
can write, a symlink planted by another user must not make smtpwizard overwrite, back up or
create its target; the lock is never opened through a symlink; a group/world-writable config
folder is tightened to 0700 when it is ours and refused when it is not. The planted links
belong to uid 65534 (nobody), set with os.lchown, so these tests need root."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from smtpwizard.cli import main
from smtpwizard.core.exit_codes import ExitCode

NOBODY = 65534
PRECIOUS = "root:x:0:0:root:/root:/bin/sh\n"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="planting another user's symlink needs root")


def apply(tmp_path: Path, config: Path) -> tuple[int, str]:
    source = tmp_path / "input.yaml"
    source.write_text(
        "version: 1\nsmtp:\n  host: 127.0.0.1\n  port: 2525\n  security: starttls\nsender:\n  address: a@example.com\n"
    )
    out, err = io.StringIO(), io.StringIO()
    code = main(["apply", str(source), "--config", str(config), "--yes", "--skip-test"], out=out, err=err)
    return code, out.getvalue() + err.getvalue()


@pytest.fixture
def system_file(tmp_path: Path) -> Path:
    """A file only root should change (standing in for /etc/passwd)."""
    folder = tmp_path / "etc"
    folder.mkdir(mode=0o755)
    target = folder / "passwd"
    target.write_text(PRECIOUS)
    return target


def plant(link: Path, target: Path, uid: int = NOBODY) -> None:
    link.symlink_to(target)
    os.lchown(link, uid, uid)


def assert_untouched(system_file: Path) -> None:
    assert system_file.read_text() == PRECIOUS
    assert sorted(p.name for p in system_file.parent.iterdir()) == ["passwd"]  # no .bak, no temp, no lock


def test_a_link_planted_in_a_sticky_shared_folder_is_refused(tmp_path: Path, system_file: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # noqa: S103 - like /tmp, on purpose
    plant(shared / "config.yaml", system_file)
    code, output = apply(tmp_path, shared / "config.yaml")
    assert code == ExitCode.CANT_CREATE, output
    assert "other users can write in that folder" in output or "owned by another user" in output
    assert_untouched(system_file)
    assert [p.name for p in shared.iterdir()] == ["config.yaml"]  # no lock, temp or backup created there


@pytest.mark.parametrize("which", ["config.yaml", "config.yaml.bak"])
def test_another_users_link_as_the_config_or_its_backup_is_refused(
    which: str, tmp_path: Path, system_file: Path
) -> None:
    folder = tmp_path / "conf"
    folder.mkdir(mode=0o700)
    if which != "config.yaml":
        (folder / "config.yaml").write_text("# today's config\nversion: 1\n")
    plant(folder / which, system_file)
    code, output = apply(tmp_path, folder / "config.yaml")
    assert code == ExitCode.CANT_CREATE, output
    assert f"{folder / which}: the " in output and "symbolic link owned by another user (uid 65534)" in output
    assert_untouched(system_file)
    assert (folder / which).is_symlink()


def test_the_lock_is_never_opened_through_a_symlink(tmp_path: Path, system_file: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir(mode=0o700)
    created_through_the_link = system_file.parent / "shadow"
    (folder / ".config.yaml.lock").symlink_to(created_through_the_link)  # even one of our own
    code, output = apply(tmp_path, folder / "config.yaml")
    assert code == ExitCode.CANT_CREATE, output
    assert "lock file" in output and "symbolic link" in output
    assert not created_through_the_link.exists()
    assert not (folder / "config.yaml").exists()


def test_a_config_folder_that_is_another_users_link_is_refused(tmp_path: Path, system_file: Path) -> None:
    plant(tmp_path / "conf", system_file.parent)
    code, output = apply(tmp_path, tmp_path / "conf" / "passwd")
    assert code == ExitCode.CANT_CREATE, output
    assert "symbolic link owned by another user" in output
    assert_untouched(system_file)


def test_our_own_world_writable_folder_is_tightened_to_0700(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    os.chmod(folder, 0o777)  # noqa: S103 - the open folder under test
    code, output = apply(tmp_path, folder / "config.yaml")
    assert code == ExitCode.OK, output
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_another_users_writable_folder_is_refused_with_a_message(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    os.chown(folder, NOBODY, NOBODY)
    os.chmod(folder, 0o777)  # noqa: S103 - the open folder under test
    code, output = apply(tmp_path, folder / "config.yaml")
    assert code == ExitCode.CANT_CREATE, output
    assert "other users can write in that folder (mode 0777, owner uid 65534)" in output
    assert list(folder.iterdir()) == []
