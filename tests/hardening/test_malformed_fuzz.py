"""Property-based: any headless input file, however broken, gives a documented exit code and
at most one clean error line, never a traceback, and leaves the existing config and keyring
exactly as they were. The whole CLI runs; the network is loopback only (a guard refuses to
resolve any other name, which the live test then reports as a DNS failure)."""

from __future__ import annotations

import contextlib
import io
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smtpwizard.cli import main
from smtpwizard.core.exit_codes import ExitCode
from tests.conftest import TEST_SECRET, MemoryKeyring, using_keyring

EXISTING = "# the config that works today\nversion: 1\n"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
CLEAN_ERROR_CODES = {ExitCode.DATA_ERROR, ExitCode.NO_INPUT, ExitCode.CONFIG}
ALLOWED_CODES = set(ExitCode) - {ExitCode.OK, ExitCode.SOFTWARE, ExitCode.INTERRUPTED}

BASE: dict[str, Any] = {
    "version": 1,
    "profile": "fuzz",
    "target": "posthog",
    "provider": "custom",
    "smtp": {
        "host": "127.0.0.1",
        "port": 1,  # closed: a valid document fails its live test at once, and writes nothing
        "security": "starttls",
        "username": "me@example.com",
        "password": {"env": "FUZZ_PASSWORD"},
        "timeout_s": 5,
    },
    "sender": {"address": "app@example.com", "name": "App"},
}
FIELDS = [
    "version", "profile", "target", "provider", "smtp", "sender", "verified", "bogus",
    "smtp.host", "smtp.port", "smtp.security", "smtp.auth", "smtp.username", "smtp.password",
    "smtp.password.env", "smtp.password.file", "smtp.password.keyring", "smtp.password.stdin",
    "smtp.verify_certificate", "smtp.ca_file", "smtp.timeout_s", "smtp.helo_domain",
    "smtp.allow_insecure_auth", "smtp.extra_key", "sender.address", "sender.name", "sender.reply_to",
]  # fmt: skip
DELETE = object()
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["starttls", "tls", "none", "auto", "plain", "login", "localhost", "::1", "a@b", "587", "yes"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def mutate(doc: dict[str, Any], path: str, value: object) -> None:
    *parents, last = path.split(".")
    node: Any = doc
    for key in parents:
        if not isinstance(node, dict):
            return
        node = node.setdefault(key, {}) if isinstance(node.get(key, {}), dict) else node[key]
    if isinstance(node, dict):
        if value is DELETE:
            node.pop(last, None)
        else:
            node[last] = value


@contextlib.contextmanager
def sandbox() -> Iterator[tuple[Path, MemoryKeyring]]:
    """A config directory with an existing config, a keyring with one entry, a loopback-only
    resolver and an empty stdin; all undone afterwards."""
    real_getaddrinfo = socket.getaddrinfo

    def loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in LOOPBACK:
            raise socket.gaierror(socket.EAI_NONAME, "loopback only in tests")
        return real_getaddrinfo(host, *args, **kwargs)

    backend = MemoryKeyring()
    backend.entries[("smtpwizard", "existing")] = "kept"
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp, using_keyring(backend):
        mp.setattr(socket, "getaddrinfo", loopback_only)
        mp.setattr(sys, "stdin", io.StringIO(""))
        mp.setenv("FUZZ_PASSWORD", TEST_SECRET)
        folder = Path(tmp)
        (folder / "config.yaml").write_text(EXISTING)
        yield folder, backend


def check(content: bytes) -> None:
    with sandbox() as (folder, backend):
        source = folder / "input.yaml"
        source.write_bytes(content)
        out, err = io.StringIO(), io.StringIO()
        code = main(["--from-yaml", str(source), "--config", str(folder / "config.yaml"), "--yes"], out=out, err=err)
        text = out.getvalue() + err.getvalue()
        assert code in ALLOWED_CODES, text
        assert "Traceback" not in text
        if code in CLEAN_ERROR_CODES:
            lines = err.getvalue().splitlines()
            assert len(lines) == 1 and lines[0].startswith("smtpwizard: error: "), lines
        assert (folder / "config.yaml").read_text() == EXISTING
        assert sorted(p.name for p in folder.iterdir()) == ["config.yaml", "input.yaml"]
        assert backend.entries == {("smtpwizard", "existing"): "kept"}
        assert TEST_SECRET not in text


FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(mutations=st.lists(st.tuples(st.sampled_from(FIELDS), values | st.just(DELETE)), min_size=1, max_size=4))
def test_any_mutated_input_document(mutations: list[tuple[str, object]]) -> None:
    doc = yaml.safe_load(yaml.safe_dump(BASE))
    for path, value in mutations:
        mutate(doc, path, value)
    check(yaml.safe_dump(doc, allow_unicode=True).encode())


@FUZZ
@given(data=st.binary(max_size=3000))
def test_any_bytes(data: bytes) -> None:
    check(data)


@FUZZ
@given(prefix=st.text(max_size=200), suffix=st.text(max_size=200))
def test_any_text_around_a_valid_document(prefix: str, suffix: str) -> None:
    check((prefix + yaml.safe_dump(BASE) + suffix).encode("utf-8", "surrogatepass"))
