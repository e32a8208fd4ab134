# Copyright: smtpwizard contributors
# MIT License (see the repository's LICENSE)
"""What the collection's modules run on the managed host, on top of smtpwizard's core.

A thin adapter over ``smtpwizard.core.doctor`` (import an app's settings, test as the app,
write into the app's file): the doctor fixes a diagnosis, while a playbook states the settings
it wants; here those wanted settings become the change the doctor's writer applies. Nothing
here keeps a secret anywhere but the app's own file: no keyring on servers.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

# The apps the modules accept (their DOCUMENTATION lists the same choices; a test compares this
# list with smtpwizard's registry).
APPS = ["posthog", "forem", "sourcegraph", "mattermost", "selfmx", "gitea", "authentik", "ghost", "mastodon"]
APPS += ["discourse", "gitlab", "django"]

try:
    from smtpwizard.core import doctor
    from smtpwizard.core.apply import live_test
    from smtpwizard.core.apps import get_app
    from smtpwizard.core.apps.base import Export
    from smtpwizard.core.apps.readers import EnvironmentFile, Imported, environment_file
    from smtpwizard.core.errors import ExportError, WizardError
    from smtpwizard.core.exporters import export
    from smtpwizard.core.providers import get_provider
    from smtpwizard.core.settings import (
        Config,
        Secret,
        Sender,
        SmtpSettings,
        is_loopback,
        secret_problem,
        validate_email,
        validate_hostname,
        validate_port,
        validate_timeout,
    )
except ImportError:
    HAS_SMTPWIZARD = False
    IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_SMTPWIZARD = True
    IMPORT_ERROR = None

MASK = "********"
NEW_MASK = "******** (new password)"  # the diff still shows that the password changes, never what to
SMTP_FIELDS = ("host", "port", "security", "verify_certificate", "ca_file", "auth", "username", "timeout_s")


class TaskFailed(Exception):
    """The task fails with one line (never holding the password) and these result keys."""

    def __init__(self, msg: str, **result: Any) -> None:
        super().__init__(msg)
        self.msg = one_line(msg)
        self.result = result


def one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Wanted:
    """The settings a task asks for; None: keep what the app's file has."""

    app: str
    path: str | None = None
    env_file: str | None = None
    provider: str | None = None
    host: str | None = None
    port: int | None = None
    security: str | None = None
    verify_certificate: bool | None = None
    ca_file: str | None = None
    auth: str | None = None
    username: str | None = None
    password: str | None = None
    timeout_s: float | None = None
    sender: str | None = None
    sender_name: str | None = None
    reply_to: str | None = None
    send_test_to: str | None = None


def load(app: str, path: str | None, env_file: str | None) -> Imported:
    """The app's settings as the app reads them. The module's own environment is not the app's, so
    only ``env_file`` (a compose file or .env the app gets) adds environment overrides."""
    environ: dict[str, str] = EnvironmentFile(environment_file(Path(env_file))) if env_file else {}
    try:
        return doctor.load(app, Path(path) if path else None, environ)
    except WizardError as exc:
        raise TaskFailed(str(exc), exit_code=int(exc.exit_code)) from None


NO_MAIL_KEYS = "holds none of the app's mail settings"  # the doctor refuses such a file (readers.build)


def load_or_blank(wanted: Wanted) -> Imported:
    """The app's settings, or for a file that holds none of its mail keys yet (a fresh gitlab.rb
    with every smtp line commented out, a .env without EMAIL_*), the app's keys as all new: found
    by reading the app's own export back with the app's reader, in a scratch file of the same name."""
    try:
        return load(wanted.app, wanted.path, wanted.env_file)
    except TaskFailed as failure:
        if NO_MAIL_KEYS not in failure.msg or not wanted.path:
            raise
        if not (wanted.host and wanted.sender):
            raise TaskFailed(
                f"{failure.msg.split(':')[0]}: has no mail settings yet; give host and sender (and port, security, "
                "username, password) to write them"
            ) from None
        return _blank(wanted, Path(wanted.path))


def _blank(wanted: Wanted, path: Path) -> Imported:
    import tempfile

    app = get_app(wanted.app)
    smtp = SmtpSettings(host=wanted.host or "localhost", port=wanted.port or 587, username=wanted.username)
    config = Config(smtp=smtp, sender=Sender(wanted.sender or "postmaster@localhost"), target=app.id)
    for fmt in dict.fromkeys((app.default_format, *app.formats)):
        try:
            text = export(app.id, config, Secret("scratch-not-a-password"), fmt=fmt, reveal=True).text
        except ExportError:
            continue
        with tempfile.TemporaryDirectory() as scratch:
            probe = Path(scratch) / path.name
            probe.write_text(text, encoding="utf-8")
            try:
                read = doctor.load(app.id, probe, {})
            except WizardError:
                continue
        if read.fmt == fmt:
            return replace(read, path=path, found={}, password=None, written_password=None, contradictions=())
    raise TaskFailed(
        f"{path}: holds none of {app.name}'s mail settings and smtpwizard cannot add them; add them by hand"
    )


def validated(wanted: Wanted) -> Wanted:
    """The task's options checked like smtpwizard's own input: one line naming the option, the
    problem and the fix (WizardError), never echoing the password."""
    checked: dict[str, Any] = {}
    if wanted.host is not None:
        checked["host"] = validate_hostname(wanted.host, "host")
    if wanted.port is not None:
        checked["port"] = validate_port(wanted.port, "port")
    if wanted.timeout_s is not None:
        checked["timeout_s"] = validate_timeout(wanted.timeout_s, "timeout")
    for name in ("sender", "reply_to", "send_test_to"):
        if getattr(wanted, name):
            checked[name] = validate_email(getattr(wanted, name), name)
    if wanted.password is not None and (problem := secret_problem(wanted.password)):
        raise TaskFailed(f"password: the password {problem}; give it on one line, as the provider issued it")
    return replace(wanted, **checked)


def wanted_config(imported: Imported, wanted: Wanted) -> tuple[Config, Secret | None]:
    """The app's current settings with what the task asks for laid over them (a provider preset
    first, then each option given), and the password the app will send."""
    smtp = imported.smtp
    changes: dict[str, Any] = {}
    if wanted.provider:
        try:
            preset = get_provider(wanted.provider)
        except KeyError:
            raise TaskFailed(
                f"provider: '{wanted.provider}' is not a provider preset; see 'smtpwizard providers'"
            ) from None
        changes.update(port=preset.recommended_port, security=preset.recommended_security)
        if preset.default_host:
            changes["host"] = preset.default_host
        if preset.username_default:
            changes["username"] = preset.username_default
    changes.update({name: getattr(wanted, name) for name in SMTP_FIELDS if getattr(wanted, name) is not None})
    if wanted.provider and wanted.port is not None and wanted.security is None:
        changes["security"] = get_provider(wanted.provider).security_for_port(wanted.port) or changes["security"]
    password = Secret(wanted.password) if wanted.password is not None else imported.password
    if wanted.auth is None and password is not None and (changes.get("username") or smtp.username):
        changes["auth"] = "auto" if smtp.auth == "none" else smtp.auth  # a file without a password read as none
    smtp = smtp.with_changes(**changes)
    smtp = smtp.with_changes(allow_insecure_auth=is_loopback(smtp.host))  # as the doctor's import decides
    sender = imported.config.sender
    sender = Sender(
        wanted.sender or sender.address,
        wanted.sender_name if wanted.sender_name is not None else sender.name,
        wanted.reply_to if wanted.reply_to is not None else sender.reply_to,
    )
    return replace(imported.config, smtp=smtp, sender=sender), password if smtp.wants_auth else None


@dataclass(frozen=True)
class Plan:
    """What writing the wanted settings changes in the app's file."""

    change: doctor.AppChange
    before: str  # the file now, every secret masked
    after: str  # the file once written, every secret masked
    notes: tuple[str, ...]

    @property
    def changes_file(self) -> bool:
        return bool(self.change.set_keys or self.change.removed_keys or self.change.writes_password)


def _flat(values: tuple[tuple[str, object], ...], prefix: str) -> dict[str, object]:
    """Export values keyed as the doctor keys the file (nested objects as "a b", prefix dropped)."""
    flat: dict[str, object] = {}
    for key, value in values:
        key = key.removeprefix(prefix)
        if isinstance(value, dict):
            flat.update({f"{key} {k}": v for k, v in value.items()})
        else:
            flat[key] = value
    return flat


def plan(imported: Imported, config: Config, password: Secret | None) -> Plan:
    """The wanted settings as the app's own keys: those whose exported value differs from what the
    file holds now, and keys the file has that the wanted settings must lose. Raises TaskFailed when
    the app cannot express them (its export refuses, in one line)."""
    try:
        before = export(imported.app, imported.config, imported.password, fmt=imported.fmt, reveal=True)
        after = export(imported.app, config, password, fmt=imported.fmt, reveal=True)
    except ExportError as exc:
        raise TaskFailed(str(exc), exit_code=int(exc.exit_code)) from None
    old, new = _flat(before.values, imported.export_prefix), _flat(after.values, imported.export_prefix)
    if not imported.found:  # a file without the app's mail keys yet: every key is new
        old = {}
    secret_key = imported.fields.get("password")
    fill_only = {key.removeprefix(imported.export_prefix) for key in after.fill_only}
    has_value = {key for key, found in imported.found.items() if found.value}
    changed = [
        (key, value)
        for key, value in new.items()
        if old.get(key) != value and not (key in fill_only and key in has_value)
    ]
    stale = [key for key in after.unset if key not in before.unset]
    stale += [key for key in old if key not in new and key not in after.unset]
    removed = tuple(dict.fromkeys(key for key in stale if key in imported.found))
    overridden = [
        (key, imported.found[key].origin) for key, _v in changed if key in imported.found and imported.found[key].origin
    ]
    if overridden:  # the file's value would change, but the app keeps reading the environment's
        key, origin = overridden[0]
        raise TaskFailed(
            f"{key} is set in {origin}, which overrides {imported.path.name}; change or remove it there, "
            f"then run again ({imported.path.name} was not changed)"
        )
    writes_password = any(key == secret_key for key, _value in changed)
    shown = tuple((key, doctor.value_as_written(value, imported.fmt)) for key, value in changed if key != secret_key)
    if imported.write_kind is None or not (imported.write_kind == "jsonc" or all(" " not in k for k, _v in changed)):
        raise TaskFailed(f"smtpwizard cannot edit {imported.path.name} in place; apply the settings by hand")
    change_export = Export(after.text, (), tuple(changed), removed)
    change = doctor.AppChange({}, shown, removed, writes_password, "", change_export)
    from smtpwizard.core.apps.readers import read_text

    original = read_text(imported.path)
    updated = doctor.updated_app_text(imported, original, change_export) if changed or removed else original
    secrets = [s for s in (imported.password, imported.written_password, password) if s is not None]
    after_mask = NEW_MASK if writes_password else MASK
    before_text, after_text = masked(original, secrets, secret_key), masked(updated, secrets, secret_key, after_mask)
    return Plan(change, before_text, after_text, after.notes)


def summary(change: doctor.AppChange, file: str) -> str:
    """The change in the app's keys, the password named, never shown."""
    parts = [f"set {key} to {value}" for key, value in change.set_keys]
    parts += [f"remove {key}" for key in change.removed_keys]
    if change.writes_password:
        parts.append("set the new password")
    return f"in {file}: " + ", ".join(parts)


def masked(text: str, secrets: list[Secret], secret_key: str | None, mask: str = MASK) -> str:
    """``text`` with every password replaced by the mask: as written in any of the quotings the
    apps' files use, and the whole value of the line of the app's password key."""
    for secret in sorted((s.reveal() for s in secrets), key=len, reverse=True):
        forms = {
            secret,
            json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1],
            secret.replace("\\", "\\\\"),
            secret.replace("\\", "\\\\").replace("'", "\\'"),
            secret.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$"),
        }
        for form in sorted(forms, key=len, reverse=True):
            if form:
                text = text.replace(form, mask)
    key = (secret_key or "").split(" ")[-1].split(".")[-1]
    if key:  # the password's own line, whatever quoting the file uses
        pattern = rf"^(\s*(?:export\s+)?[\"']?[\w\[\]'\"]*{re.escape(key)}['\"]?\]?\s*[:=]\s*)\S.*$"
        text = re.sub(pattern, lambda m: m.group(1) + mask, text, flags=re.M)
    return text


def diagnosis_data(diagnosis: Any, fix: str | None = None) -> dict[str, Any]:
    data = diagnosis.to_dict()
    if fix:
        data["fix"] = fix
    return data


def test_summary(report: Any, elapsed: float) -> dict[str, Any]:
    """What the live test proved, without the transcript (the task result stays short)."""
    return {
        "ok": report.ok,
        "host": report.host,
        "port": report.port,
        "security": report.security,
        "stages": [{"stage": r.stage.value, "status": r.status} for r in report.stages],
        "tls_version": report.tls.version if report.tls else None,
        "auth_mechanism": report.auth_used,
        "elapsed_s": round(elapsed, 3),
    }


def shown_settings(config: Config, password: Secret | None) -> dict[str, Any]:
    smtp = config.smtp
    return {
        "host": smtp.host,
        "port": smtp.port,
        "security": smtp.security,
        "verify_certificate": smtp.verify_certificate,
        "ca_file": smtp.ca_file,
        "auth": smtp.auth,
        "username": smtp.username if smtp.wants_auth else None,
        "password": MASK if password is not None else None,
        "sender": config.sender.formatted(),
    }


def converge(wanted: Wanted, *, check_mode: bool) -> dict[str, Any]:
    """smtp_settings: import, lay the wanted settings over, test from this host as the app's client,
    write only the changed mail keys (not in check mode). Raises TaskFailed."""
    try:
        wanted = validated(wanted)
    except WizardError as exc:
        raise TaskFailed(str(exc), exit_code=int(exc.exit_code)) from None
    imported = load_or_blank(wanted)
    config, password = wanted_config(imported, wanted)
    planned = plan(imported, config, password)
    name = get_app(imported.app).name
    started = time.monotonic()
    report, diagnosis = asyncio.run(live_test(config, password, test_to=wanted.send_test_to))
    test = test_summary(report, time.monotonic() - started)
    result: dict[str, Any] = {
        "app": imported.app,
        "path": str(imported.path),
        "settings": shown_settings(config, password),
        "test": test,
        "keys_changed": [key for key, _v in planned.change.set_keys]
        + (["(password)"] if planned.change.writes_password else []),
        "keys_removed": list(planned.change.removed_keys),
        "diff": {"before": planned.before, "after": planned.after, "before_header": str(imported.path),
                 "after_header": str(imported.path)},
    }  # fmt: skip
    if diagnosis is not None:
        where = f"{config.smtp.host} port {config.smtp.port}"
        raise TaskFailed(
            f"{name} cannot send through {where} from this host: {diagnosis.title}. {diagnosis.fix} "
            f"{imported.path.name} was not changed.",
            diagnosis=diagnosis_data(diagnosis),
            **result,
        )
    result["changed"] = planned.changes_file
    result["notes"] = list(planned.notes)
    result["warnings"] = []
    if not planned.changes_file:
        result["msg"] = f"{name}'s mail settings in {imported.path} already work from this host; nothing to change."
    elif check_mode:
        result["msg"] = (
            f"{name}'s settings pass the test from this host; {summary(planned.change, imported.path.name)} would be written."
        )
    else:
        try:
            backup = doctor.write_change(imported, planned.change)
        except WizardError as exc:
            raise TaskFailed(str(exc), exit_code=int(exc.exit_code), **result) from None
        result["backup_path"] = str(backup) if backup else None
        result["msg"] = (
            f"{name}'s settings pass the test from this host; wrote {summary(planned.change, imported.path.name)}."
        )
    return result


def check(
    app: str, path: str | None, env_file: str | None, ca_file: str | None, send_test_to: str | None
) -> dict[str, Any]:
    """smtp_check: the doctor on the app's current settings, as data. Raises TaskFailed with the
    one-line diagnosis when mail would not work."""
    imported = load(app, path, env_file)
    started = time.monotonic()
    result = asyncio.run(doctor.examine(imported, test_to=send_test_to, ca_file=ca_file))
    elapsed = time.monotonic() - started
    data = result.to_dict()
    name = get_app(imported.app).name
    out: dict[str, Any] = {
        "app": imported.app,
        "path": str(imported.path),
        "outcome": result.outcome,
        "settings": data["imported"],
        "contradictions": data["contradictions"],
        "test": test_summary(result.report, elapsed) if result.report else None,
        "diagnosis": diagnosis_data(result.diagnosis, result.fix) if result.diagnosis else None,
        "proposed_change": data["change"],
        "changed": False,
        "notes": list(result.notes),
        "warnings": [],
    }
    if result.diagnosis is not None:
        change = result.change.summary(imported.path.name) if result.change and result.change.set_keys else None
        tail = f" Proposed: {change}." if change else ""
        raise TaskFailed(
            f"{name} ({imported.path}) would not send mail: {result.diagnosis.title}. {result.fix}{tail}",
            exit_code=int(result.exit_code),
            **out,
        )
    out["msg"] = f"{name}'s mail settings in {imported.path} work from this host, as {name} will use them."
    return out
