"""smtpwizard doctor: read an app's own mail settings, test them as the app will, fix them in place.

import (the app module's ``read_settings``) -> contradictions (said before any connection) ->
the live test speaking as the app's client -> the diagnosis in the app's own keys -> with a fix,
the fixed settings tested -> only then written into the app's file (only the mail keys that
change; in place, with a backup). The password read from the app's file is used for the test
and never stored, shown or logged; diffs and reports mask it.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from smtpwizard.core.apps import IMPORTERS, get_app
from smtpwizard.core.apps.base import Export
from smtpwizard.core.apps.readers import Contradiction, Imported
from smtpwizard.core.diagnose import Diagnosis
from smtpwizard.core.errors import ExportError, FieldError, InputMissing
from smtpwizard.core.exit_codes import ExitCode
from smtpwizard.core.probe import ProbeOptions, ProbeReport, StageCallback
from smtpwizard.core.settings import Config, Secret

MASK = "********"

# fix_tested: --dry-run, the fixed settings pass; fix_shown: they pass, but the file is one
# smtpwizard does not edit (the user applies the diff), so the app is still broken: not exit 0.
Outcome = Literal["works", "contradiction", "failed", "fixed", "fix_tested", "fix_shown", "fix_failed", "no_fix"]


@dataclass(frozen=True)
class AppChange:
    """A settings change as the app's own keys: what --fix writes into the app's file."""

    settings_change: dict[str, Any]
    set_keys: tuple[tuple[str, str], ...]  # (key, value as the app's file writes it); never the password
    removed_keys: tuple[str, ...]
    writes_password: bool  # the password is written again, quoted so the app reads it as written
    diff: str  # unified diff of the app's file, the password masked
    export: Export | None = field(default=None, repr=False, compare=False)  # holds the password when it is written

    def summary(self, file: str) -> str:
        parts = [f"set {key} to {value}" for key, value in self.set_keys]
        parts += [f"remove {key}" for key in self.removed_keys]
        if self.writes_password:
            parts.append("write the password again, quoted so the app reads it as written")
        return f"in {file}: " + ", ".join(parts) if parts else f"nothing to change in {file}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings_change": self.settings_change,
            "set": [{"key": k, "value": v} for k, v in self.set_keys],
            "remove": list(self.removed_keys),
            "writes_password": self.writes_password,
            "diff": self.diff,
        }


@dataclass
class DoctorResult:
    imported: Imported
    diagnosis: Diagnosis | None = None  # a contradiction (before any connection) or the test's diagnosis
    report: ProbeReport | None = None
    fix: str | None = None  # the fix in the app's own keys
    change: AppChange | None = None
    fixed_report: ProbeReport | None = None
    fixed_diagnosis: Diagnosis | None = None
    backup: Path | None = None
    written: bool = False
    adopted: Path | None = None
    notes: list[str] = field(default_factory=list)
    outcome: Outcome = "works"

    @property
    def exit_code(self) -> ExitCode:
        if self.outcome in ("works", "fixed", "fix_tested"):
            return ExitCode.OK
        if self.outcome == "fix_failed" and self.fixed_diagnosis is not None:
            return self.fixed_diagnosis.exit_code
        return self.diagnosis.exit_code if self.diagnosis else ExitCode.SOFTWARE

    def to_dict(self) -> dict[str, Any]:
        """Plain data for --json: the imported settings with the password masked, never the password."""
        imported = self.imported
        smtp = imported.smtp
        return {
            "ok": self.exit_code == ExitCode.OK,
            "exit_code": int(self.exit_code),
            "outcome": self.outcome,
            "app": imported.app,
            "path": str(imported.path),
            "imported": {
                "host": smtp.host,
                "port": smtp.port,
                "security": smtp.security,
                "verify_certificate": smtp.verify_certificate,
                "ca_file": smtp.ca_file,
                "auth": smtp.auth,
                "username": smtp.username,
                "password": MASK if imported.password is not None else None,
                "helo_domain": smtp.helo_domain,
                "sender": imported.config.sender.formatted(),
                "keys": {
                    key: {"line": f.line, "from": f.origin or str(imported.path)} for key, f in imported.found.items()
                },
            },
            "contradictions": [
                {"code": c.code, "keys": list(c.keys), "line": c.line, "problem": c.problem, "fix": c.fix}
                for c in imported.contradictions
            ],
            "report": self.report.to_dict() if self.report else None,
            "diagnosis": self.diagnosis.to_dict() if self.diagnosis else None,
            "fix": self.fix,
            "change": self.change.to_dict() if self.change else None,
            "fixed_report": self.fixed_report.to_dict() if self.fixed_report else None,
            "fixed_diagnosis": self.fixed_diagnosis.to_dict() if self.fixed_diagnosis else None,
            "written": self.written,
            "backup_path": str(self.backup) if self.backup else None,
            "adopted_config": str(self.adopted) if self.adopted else None,
            "notes": self.notes,
        }


# --- import ---------------------------------------------------------------------------------


def load(app_id: str, path: Path | None, environ: Mapping[str, str] | None = None) -> Imported:
    """The app's settings read from ``path`` (or where the app keeps them by default).

    Raises FieldError for an unknown app, InputMissing for a missing file, Unreadable (exit 65,
    one line per value with file, line and key) for values the app's rules cannot read."""
    if app_id not in IMPORTERS:
        raise FieldError("--target", f"'{app_id}' is not a known app", "choose one of: " + ", ".join(IMPORTERS))
    read, default, _fields = IMPORTERS[app_id]
    if path is None:
        if default is None:
            name = get_app(app_id).name
            raise InputMissing(f"{name} has no usual place for its settings; give the path of its file")
        path = Path(default)
    return read(path.expanduser(), os.environ if environ is None else environ)


def contradiction_diagnosis(imported: Imported) -> Diagnosis | None:
    """The settings' contradictions as one diagnosis (the first one's fix), before any connection."""
    found = imported.contradictions
    if not found:
        return None
    first = found[0]
    name = get_app(imported.app).name
    title = (
        f"{name} will not send the password as written"
        if first.code == "password_mangled"
        else f"{name}'s settings contradict each other"
    )
    where = f"{imported.path}:{first.line}" if first.line else str(imported.path)
    return Diagnosis(
        first.code,
        title,
        f"{where}: {first.problem}. smtpwizard did not connect.",
        f"In {imported.path.name}: {first.fix}.",
        ExitCode.DATA_ERROR,
        first.settings_change,
        tuple(f"{imported.path}:{c.line}: {c.problem}; {c.fix}" for c in found[1:]),
    )


# --- the test, as the app will --------------------------------------------------------------


async def examine(
    imported: Imported,
    *,
    test_to: str | None = None,
    options: ProbeOptions | None = None,
    on_stage: StageCallback | None = None,
    ca_file: str | None = None,
) -> DoctorResult:
    """Contradictions first (no connection), else the live test speaking as the app's client.

    With ``ca_file`` (the CA the user trusts for this server), an untrusted certificate's fix is
    to give the app that CA file, in the app's CA-file setting."""
    result = DoctorResult(imported, notes=list(imported.notes))
    contradiction = contradiction_diagnosis(imported)
    if contradiction is not None:
        result.diagnosis, result.outcome = contradiction, "contradiction"
        result.change = propose(imported, contradiction.settings_change or {}, contradiction=_first(imported))
        result.fix = contradiction.fix
        return result
    report, diagnosis = await _test(imported.config, imported.password, test_to, options, on_stage)
    result.report, result.diagnosis = report, diagnosis
    if diagnosis is None:
        return result
    result.outcome = "failed"
    result.diagnosis, result.change, result.fix = _remedy(imported, diagnosis, ca_file)
    return result


def _remedy(imported: Imported, diagnosis: Diagnosis, ca_file: str | None) -> tuple[Diagnosis, AppChange | None, str]:
    """The failed test's diagnosis (its change pointed at ``ca_file`` for an untrusted certificate),
    the change as the app's keys, and the fix in the app's words."""
    if ca_file and diagnosis.code in _UNTRUSTED:
        diagnosis = replace(diagnosis, settings_change={"ca_file": ca_file})
    if diagnosis.code in imported.symptoms:  # what the user saw in the app, tied to the cause
        diagnosis = replace(diagnosis, explanation=f"{diagnosis.explanation} {imported.symptoms[diagnosis.code]}")
    wanted = diagnosis.settings_change or {}
    change = propose(imported, wanted) if wanted else None
    if change is None and wanted.get("security") == "tls":
        # an app without implicit TLS (Forem, Sourcegraph): STARTTLS on its usual port instead
        change = propose(imported, {"port": 587})
    fix = in_app_words(imported, diagnosis, change)
    if change is None and wanted:
        fix += " " + _refusal(imported, wanted)
    missing = [name for name in wanted if name not in imported.fields]
    if missing and change is not None and not (change.set_keys or change.removed_keys):
        app = get_app(imported.app).name
        fix += f" {app} has no {' or '.join(missing)} setting, so {imported.path.name} cannot carry this fix."
    return diagnosis, change, fix


_UNTRUSTED = ("cert_untrusted", "cert_self_signed")


def _refusal(imported: Imported, settings_change: Mapping[str, Any]) -> str:
    """Why the app cannot take the fixed settings, in its export's words."""
    name = get_app(imported.app).name
    try:
        _export(imported, fixed_config(imported, settings_change), imported.password)
    except (ExportError, ValueError) as exc:
        reason = str(exc).removeprefix(f"{name} export: ")
        return f"{name} cannot take that change: {reason}."
    return f"smtpwizard cannot write that change into {imported.path.name}."


async def _test(
    config: Config,
    password: Secret | None,
    test_to: str | None,
    options: ProbeOptions | None,
    on_stage: StageCallback | None,
) -> tuple[ProbeReport, Diagnosis | None]:
    """The live test as the app's client (``config.target`` is the app), as `smtpwizard test` runs it."""
    from smtpwizard.core.apply import live_test

    return await live_test(config, password, test_to=test_to, probe_options=options, on_stage=on_stage)


def _first(imported: Imported) -> Contradiction | None:
    return imported.contradictions[0] if imported.contradictions else None


async def try_fix(
    result: DoctorResult,
    *,
    write: bool,
    test_to: str | None = None,
    options: ProbeOptions | None = None,
    on_stage: StageCallback | None = None,
) -> DoctorResult:
    """Test the fixed settings as the app will; only when that passes (and ``write``), write the
    change into the app's file. Without a change smtpwizard can make, outcome 'no_fix'."""
    imported, change = result.imported, result.change
    if result.diagnosis is None:
        return result
    if change is None or not (change.set_keys or change.removed_keys or change.writes_password):
        result.outcome = "no_fix"
        return result
    config = fixed_config(imported, change.settings_change)
    password = imported.written_password if change.writes_password else imported.password
    report, diagnosis = await _test(config, password, test_to, options, on_stage)
    result.fixed_report, result.fixed_diagnosis = report, diagnosis
    if diagnosis is not None:
        result.outcome = "fix_failed"
        return result
    if not write:
        result.outcome = "fix_tested"
        return result
    if imported.write_kind is None or change.export is None:
        name = get_app(imported.app).name
        result.notes.append(f"smtpwizard cannot edit {name}'s {imported.path.name} in place; make the change by hand.")
        result.outcome = "fix_shown"
        return result
    result.backup = write_change(imported, change)
    result.written, result.outcome = True, "fixed"
    return result


def fixed_config(imported: Imported, settings_change: Mapping[str, Any]) -> Config:
    smtp = imported.smtp.with_changes(**settings_change) if settings_change else imported.smtp
    return replace(imported.config, smtp=smtp)


# --- the change in the app's own words ------------------------------------------------------


def _export(imported: Imported, config: Config, password: Secret | None) -> Export:
    from smtpwizard.core.exporters import export

    return export(imported.app, config, password, fmt=imported.fmt, reveal=True)


def value_as_written(value: object, fmt: str) -> str:
    """A value as the app's file writes it, for the fix's words."""
    if fmt == "json" or value == "":
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if fmt == "env" else json.dumps(value, ensure_ascii=False)


def _same(found: str | None, value: object) -> bool:
    if found is None:
        return False
    if isinstance(value, bool):
        return found.strip().lower() == ("true" if value else "false")
    return found == str(value)


def _flat(values: tuple[tuple[str, object], ...], prefix: str = "") -> list[tuple[str, object]]:
    """Nested values (Sourcegraph's "email.smtp" object) as "email.smtp host" keys, like FIELDS;
    ``prefix`` is dropped (Gitea's GITEA__mailer__ names are the keys of app.ini's [mailer])."""
    flat: list[tuple[str, object]] = []
    for key, value in values:
        key = key.removeprefix(prefix)
        flat += [(f"{key} {k}", v) for k, v in value.items()] if isinstance(value, dict) else [(key, value)]
    return flat


def propose(
    imported: Imported, settings_change: Mapping[str, Any], contradiction: Contradiction | None = None
) -> AppChange | None:
    """The change as the app's keys: the keys whose exported value changes (the password only when it
    must be rewritten), and the keys of the other mode that the file has and must lose; None when
    the app cannot express the fixed settings (its export refuses them)."""
    writes_password = bool(contradiction and contradiction.use_written_password and imported.written_password)
    after_password = imported.written_password if writes_password else imported.password
    try:
        before = _export(imported, imported.config, imported.password)
        after = _export(imported, fixed_config(imported, settings_change), after_password)
    except (ExportError, ValueError):
        return None
    old = dict(_flat(before.values, imported.export_prefix))
    flagged = set(contradiction.keys) if contradiction else set()
    secret_key = imported.fields.get("password")
    changed = [
        (key, value)
        for key, value in _flat(after.values, imported.export_prefix)
        if (key == secret_key and writes_password)
        or (
            key != secret_key
            and (old.get(key) != value or (key in flagged and not _same(_found(imported, key), value)))
        )
    ]
    written_after = {key for key, _value in _flat(after.values, imported.export_prefix)}
    # Keys the file has that the fixed settings must not: the export's unset keys, and keys the
    # settings wrote before but no longer do (the other mode's flag, a login no longer used).
    stale = [key for key in after.unset if key not in before.unset or key in flagged]
    stale += [key for key in old if key not in written_after and key not in after.unset]
    removed = tuple(dict.fromkeys(key for key in stale if key in imported.found))
    # a key the environment or a compose file overrides must be changed there: the file is not what the app uses
    origins = {k: imported.found[k].origin for k, _v in changed if k in imported.found}
    elsewhere = {k: o for k, o in origins.items() if o and not o.startswith(f"{imported.path}:")}
    shown = tuple(
        (
            k,
            value_as_written(v, imported.fmt)
            + (f" in {elsewhere[k]}, which overrides the file" if k in elsewhere else ""),
        )
        for k, v in changed
        if k != secret_key
    )
    writable = (
        not elsewhere
        and imported.write_kind is not None
        and (imported.write_kind == "jsonc" or all(" " not in key for key, _v in changed))
    )
    # the export's text keeps each value quoted for the app's own reader (write-into takes it from there)
    export = Export(after.text, (), tuple(changed), removed) if writable else None
    return AppChange(dict(settings_change), shown, removed, writes_password, _diff(imported, export), export)


def _found(imported: Imported, key: str) -> str | None:
    entry = imported.found.get(key)
    return entry.value if entry is not None else None


def _alternative(imported: Imported, settings_change: Mapping[str, Any]) -> dict[str, Any] | None:
    """Keeping the security mode and moving to its usual port instead (465 for TLS, 587 for STARTTLS)."""
    if set(settings_change) != {"security"}:
        return None
    current = imported.smtp.security
    port = {"tls": 465, "starttls": 587}.get(current)
    if port is None or port == imported.smtp.port:
        return None
    return {"port": port}


# Field names that are also everyday words: named only where the fix uses them as a setting ("auth: none").
_PROSE_WORDS = ("host", "port", "security", "auth")


def in_app_words(imported: Imported, diagnosis: Diagnosis, change: AppChange | None) -> str:
    """The diagnosis' fix naming the app's own keys ("set ConnectionSecurity to "TLS" in config.json,
    or change SMTPPort to "587")."""
    file = imported.path.name
    if change is not None and (change.set_keys or change.removed_keys):
        words = change.summary(file)
        if change.settings_change != (diagnosis.settings_change or {}):  # the app cannot take the diagnosis' own fix
            profile = get_app(imported.app).profile
            return f"{profile.app} has no implicit TLS: use STARTTLS on port 587; {words}."
        alternative = _alternative(imported, diagnosis.settings_change or {})
        other = propose(imported, alternative) if alternative else None
        if other is not None and other.set_keys:
            words += ", or " + ", ".join(f"set {k} to {v}" for k, v in other.set_keys)
        return words[0].upper() + words[1:] + "."
    named = [
        f"{field_name} is {key}"
        for field_name, key in imported.fields.items()
        if re.search(rf"\b{field_name}:" if field_name in _PROSE_WORDS else rf"\b{field_name}\b", diagnosis.fix)
    ]
    if named:
        return f"{diagnosis.fix} In {file}: " + "; ".join(named) + "."
    return diagnosis.fix


# --- the diff and the write -----------------------------------------------------------------


def updated_app_text(imported: Imported, original: str, export: Export) -> str:
    from smtpwizard.core.editors import update_app_yml, update_gitlab_rb, update_ini_section, update_json_paths
    from smtpwizard.core.exporters.write_into import rendered_values, update_dotenv, update_mattermost_json

    kind = imported.write_kind
    if kind == "json":
        return update_mattermost_json(original, dict(export.values))
    if kind == "gitlab_rb":
        return update_gitlab_rb(original, export.values, export.unset)
    if kind == "app_yml":
        return update_app_yml(original, export.values, export.unset)
    if kind == "json_paths":
        return update_json_paths(original, export.values, export.unset)
    if kind == "jsonc":
        return update_json_paths(original, export.values, export.unset, separator=" ")
    if kind == "ini_mailer":
        return update_ini_section(original, "mailer", export.values, export.unset, imported.export_prefix)
    return update_dotenv(original, export.values, export.unset, rendered=rendered_values(export.text))


def _masked(text: str, imported: Imported) -> str:
    secrets = [s.reveal() for s in (imported.password, imported.written_password) if s is not None]
    for secret in sorted(secrets, key=len, reverse=True):
        forms = {secret, json.dumps(secret)[1:-1], secret.replace("\\", "\\\\"), secret.replace("'", "\\'")}
        for form in sorted(forms, key=len, reverse=True):
            if form:
                text = text.replace(form, MASK)
    key = (imported.fields.get("password") or "").split(" ")[-1].split(".")[-1]
    if key:  # the password's line, whatever quoting the file uses
        pattern = rf"^([+\- ].*{re.escape(key)}['\"]?\]?\s*[:=]\s*).+$"
        text = re.sub(pattern, lambda m: m.group(1) + MASK, text, flags=re.M)
    return text


def _diff(imported: Imported, export: Export | None) -> str:
    if export is None or (not export.values and not export.unset):
        return ""
    from smtpwizard.core.apps.readers import read_text

    original = read_text(imported.path)
    try:
        updated = updated_app_text(imported, original, export)
    except ExportError:
        return ""
    lines = difflib.unified_diff(
        original.splitlines(keepends=True),
        updated.splitlines(keepends=True),
        f"{imported.path} (now)",
        f"{imported.path} (fixed)",
    )
    return _masked("".join(lines), imported)


def write_change(imported: Imported, change: AppChange) -> Path | None:
    """Write the change into the app's file in place (owner, group, mode and hard links kept), with
    a backup in smtpwizard's own folder; returns the backup's path."""
    assert change.export is not None
    if imported.write_kind in ("env", "json"):
        from smtpwizard.core.exporters.write_into import write_into

        kind = "json" if imported.write_kind == "json" else "env"
        return write_into(imported.path, change.export, kind, secret_revealed=change.writes_password).backup
    return _write_text(imported, change)


def _write_text(imported: Imported, change: AppChange) -> Path | None:
    """gitlab.rb, app.yml, app.ini and the JSON files: the same write as write-into (under a lock on
    the file; replaced atomically with its owner, group and mode where a rename keeps them, else in
    place), with the doctor's own editor for the file's language."""
    from smtpwizard.core.apps.readers import read_text
    from smtpwizard.core.exporters.write_into import rewrite_locked
    from smtpwizard.core.files import follow_trusted

    assert change.export is not None
    path = follow_trusted(imported.path, "file to fix", "give the real path of the app's file")
    original = read_text(path)
    updated = updated_app_text(imported, original, change.export)
    return rewrite_locked(path, original, updated, private=change.writes_password)


# --- adopt: the fixed (or working) settings as smtpwizard's own config -----------------------


def adopt(result: DoctorResult, config_path: Path, store: Any) -> Path:
    """Write the tested settings as an smtpwizard config and move the password into the keyring.

    Only after a passing test (the original or the fixed one)."""
    from smtpwizard.core.apply import save, verification_from

    imported = result.imported
    report = result.fixed_report if result.fixed_report is not None else result.report
    assert report is not None and report.ok
    settings_change = result.change.settings_change if result.fixed_report is not None and result.change else {}
    config = fixed_config(imported, settings_change)
    writes_password = bool(result.change and result.change.writes_password and result.fixed_report is not None)
    password = imported.written_password if writes_password else imported.password
    _final, path, _backup, _ref = save(config, password, None, store, config_path, verification_from(report))
    result.adopted = path
    return path
