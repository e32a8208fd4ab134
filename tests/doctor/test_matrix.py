"""Every app x every mistake it can hold: the doctor reads the app's real-looking file, names the
mistake in the app's own keys (contradictions before any connection), and --fix writes only mail
keys, after which the app's own mail code delivers (tests/apps). Run alone: pytest tests/doctor -q"""

from __future__ import annotations

import difflib
import json
import re
import ssl
import stat
from pathlib import Path

import pytest
import trustme

from smtpwizard.core.doctor import DoctorResult, examine, load, try_fix
from smtpwizard.core.probe import ProbeOptions
from tests.doctor.cases import CASES, DELIVER, MISTAKES, PASSWORD, WRONG_PASSWORD, AppCase, server_for, write_app_file
from tests.servers import USERNAME, smtp_server

FAST = ProbeOptions(banner_timeout_s=1.0)
EXPECTED = {
    "starttls_on_implicit": "banner_timeout",
    "tls_on_starttls": "tls_wrong_version",
    "wrong_password": "auth_rejected",
    "missing_auth": "auth_missing",
    "contradictory_flags": "flags_contradict",
    "mangled_password": "password_mangled",
}
# What --fix can do, per mistake: the fixed settings pass and the change is written.
FIXABLE = {"starttls_on_implicit", "tls_on_starttls", "missing_auth", "contradictory_flags", "mangled_password"}
# Where the app itself cannot take the fix (its limits, read from its source).
NOT_FIXABLE = {
    ("forem", "starttls_on_implicit"): "Forem has no implicit TLS",
    ("sourcegraph", "starttls_on_implicit"): "Sourcegraph has no implicit TLS",
    ("forem", "missing_auth"): "Forem sends mail only with a login",
}
# Files smtpwizard does not edit in place (the change is shown; the user applies it): none left.
SHOWN_ONLY: set[str] = set()


def applies(case: AppCase, mistake: str) -> bool:
    return {
        "tls_on_starttls": bool(case.implicit_tls),
        "contradictory_flags": bool(case.contradiction),
        "mangled_password": bool(case.mangled) or case.app == "django",
    }.get(mistake, True)


MATRIX = [(app, mistake) for app, case in CASES.items() for mistake in MISTAKES if applies(case, mistake)]


def file_for(case: AppCase, mistake: str, port: int, tmp_path: Path) -> tuple[Path, str]:
    """The app's file holding the mistake, and the password the server accepts."""
    if mistake == "tls_on_starttls":
        return write_app_file(tmp_path, case, port, case.implicit_tls), PASSWORD
    if mistake == "contradictory_flags":
        return write_app_file(tmp_path, case, port, case.contradiction), PASSWORD
    if mistake == "mangled_password":
        return write_app_file(tmp_path, case, port, case.mangled, case.mangled_password), case.mangled_password
    if mistake == "wrong_password":
        return write_app_file(tmp_path, case, port, password=WRONG_PASSWORD), PASSWORD
    return write_app_file(tmp_path, case, port), PASSWORD


def assert_no_secret(result: DoctorResult, *secrets: str) -> None:
    shown = json.dumps(result.to_dict(), ensure_ascii=False) + repr(result) + repr(result.imported)
    for secret in secrets:
        assert secret not in shown
        assert json.dumps(secret)[1:-1] not in shown


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line[1:]
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


@pytest.mark.parametrize(("app", "mistake"), MATRIX, ids=[f"{a}-{m}" for a, m in MATRIX])
async def test_the_doctor_names_the_mistake_in_the_apps_words_and_the_fix_lets_the_app_deliver(
    app: str,
    mistake: str,
    good_tls: ssl.SSLContext,
    untrusted_tls: ssl.SSLContext,
    ca_file: str,
    go_clients: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    config_home: Path,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)  # the app's machine trusts the test CA
    case = CASES[app]
    accepted = case.mangled_password if mistake == "mangled_password" else PASSWORD
    with server_for(mistake, good_tls, untrusted_tls, accepted) as (server, mailbox):
        path, accepted = file_for(case, mistake, server.port, tmp_path)
        before = path.read_text(encoding="utf-8")
        imported = load(app, path, {})
        result = await examine(imported, options=FAST)
        diagnosis = result.diagnosis
        assert diagnosis is not None
        if mistake == "untrusted_ca":
            assert diagnosis.code.startswith(("cert_", "app_")), diagnosis.code
        else:
            assert diagnosis.code == EXPECTED[mistake], (diagnosis.code, diagnosis.explanation)
        if mistake in ("contradictory_flags", "mangled_password"):
            assert result.report is None and mailbox.auth_attempts == []  # said before any connection
        if mistake in case.words:
            assert case.words[mistake] in (result.fix or ""), result.fix
        symptom = {("mattermost", "tls_on_starttls"): "first record does not look like a TLS handshake",
                   ("mastodon", "tls_on_starttls"): "wrong version number",
                   ("django", "starttls_on_implicit"): "whatever sends mail hangs"}.get((app, mistake), "")  # fmt: skip
        assert symptom in diagnosis.explanation
        assert_no_secret(result, PASSWORD, WRONG_PASSWORD, accepted)

        fixed = await try_fix(result, write=True, options=FAST)
        assert_no_secret(fixed, PASSWORD, WRONG_PASSWORD, accepted)
        after = path.read_text(encoding="utf-8")
        if (
            mistake not in FIXABLE
            or (app, mistake) in NOT_FIXABLE
            or (app == "django" and mistake == "mangled_password")
        ):
            assert fixed.outcome in ("no_fix", "fix_failed"), fixed.outcome
            assert after == before  # nothing written
            return
        if app in SHOWN_ONLY:
            assert fixed.outcome == "fix_shown" and after == before and fixed.change is not None
            assert fixed.exit_code == diagnosis.exit_code != 0  # the app still fails until the change is made
            assert fixed.change.set_keys or fixed.change.removed_keys
            return
        assert fixed.outcome == "fixed", (fixed.outcome, fixed.fixed_diagnosis)
        assert stat.S_IMODE(path.stat().st_mode) == 0o640  # mode kept
        mail_keys = set(imported.found) | {k for k, _v in fixed.change.export.values} | set(fixed.change.removed_keys)  # type: ignore[union-attr]
        # Ghost's mail.options.auth.user, Sourcegraph's "email.smtp host": the names as the lines hold them
        mail_keys |= {part for key in mail_keys for part in re.split(r"[. ]", key)[2:]}
        for line in changed_lines(before, after):
            if line.endswith("added by smtpwizard") or line.strip() in (
                "}",
                "},",
            ):  # a marker; a brace of a key's object
                continue
            assert any(key in line for key in mail_keys), f"not a mail key: {line!r}"
        again = await examine(load(app, path, {}), options=FAST)  # the fixed file, read back: it works
        assert again.diagnosis is None, again.diagnosis
        if app not in DELIVER:  # Gitea: no client of its own in tests/apps (go-mail is not packaged)
            return
        sent = DELIVER[app](path, ca_file, go_clients, tmp_path)
    assert sent.ok, sent.detail
    assert mailbox.messages, "the app's own client delivered nothing"
    if mistake != "missing_auth":
        assert mailbox.auth_attempts[-1][1] == USERNAME


async def test_a_mastodon_password_that_config_email_yml_cuts_is_named_then_fixed_and_mastodon_delivers(
    good_tls: ssl.SSLContext, ca_file: str, go_clients: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, config_home: Path,
) -> None:  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    password = "dr9 #yaml-comment"  # single-quoted in .env: intact there; ERB pastes it into YAML, where ' #' cuts
    with smtp_server(password=password, starttls_context=good_tls) as (server, mailbox):
        path = write_app_file(tmp_path, CASES["mastodon"], server.port, password=password)
        result = await examine(load("mastodon", path, {}), options=FAST)
        assert result.diagnosis is not None and result.diagnosis.code == "password_mangled"
        assert "config/email.yml pastes it into YAML unquoted" in result.diagnosis.explanation
        assert result.report is None and mailbox.auth_attempts == []
        fixed = await try_fix(result, write=True, options=FAST)
        assert fixed.outcome == "fixed", fixed.fixed_diagnosis
        assert_no_secret(fixed, password)
        sent = DELIVER["mastodon"](path, ca_file, go_clients, tmp_path)
    assert sent.ok, sent.detail
    assert mailbox.messages and mailbox.auth_attempts[-1][1] == USERNAME


@pytest.mark.parametrize("app", ["mastodon", "gitlab", "mattermost"])
async def test_with_the_servers_ca_the_fix_sets_the_apps_ca_file_where_it_has_one(
    app: str, untrusted_tls: ssl.SSLContext, other_ca: trustme.CA, ca_file: str, go_clients: Path,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config_home: Path,
) -> None:  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)  # the system store trusts another CA than the server's
    servers_ca = tmp_path / "relay-ca.pem"
    other_ca.cert_pem.write_to_path(str(servers_ca))
    with smtp_server(password=PASSWORD, starttls_context=untrusted_tls) as (server, mailbox):
        path = write_app_file(tmp_path, CASES[app], server.port)
        before = path.read_text()
        result = await examine(load(app, path, {}), options=FAST, ca_file=str(servers_ca))
        fixed = await try_fix(result, write=True, options=FAST)
        if app == "mattermost":  # no CA-file setting: only the system store
            assert fixed.outcome == "no_fix" and path.read_text() == before
            assert "Mattermost has no ca_file setting, so mattermost.config.json cannot carry this fix." in (
                result.fix or ""
            )
            return
        assert fixed.outcome == "fixed", fixed.fixed_diagnosis
        assert {"mastodon": "SMTP_CA_FILE", "gitlab": "smtp_ca_file"}[app] in (result.fix or "")
        sent = DELIVER[app](path, ca_file, go_clients, tmp_path)
    assert sent.ok, sent.detail
    assert mailbox.messages
