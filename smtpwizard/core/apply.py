"""The headless pipeline: load -> validate -> secret -> consequences -> live test -> store -> write.

Nothing is stored or written unless the live test passed (or was explicitly skipped). The
password goes to the keyring only after the test, and is rolled back if the config cannot
be written, so a config never points to a secret that is not there and a failed run
leaves the old config and keyring entry as they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import stat
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from smtpwizard.core.apps import find_app
from smtpwizard.core.config import (
    MAX_DOCUMENT_BYTES,
    MAX_INFO_CHARS,
    Document,
    EnvSource,
    FileSource,
    InlineSource,
    KeyringSource,
    PasswordSource,
    StdinSource,
    dump_config,
    load_yaml,
    parse_document,
    read_document_file,
)
from smtpwizard.core.consequences import Consequence, consequences_for
from smtpwizard.core.diagnose import Diagnosis, diagnose
from smtpwizard.core.errors import (
    FieldError,
    InputMissing,
    Interrupted,
    NotAcknowledged,
    SecretStoreError,
    WizardError,
    WriteFailed,
    one_line,
)
from smtpwizard.core.exit_codes import ExitCode
from smtpwizard.core.files import atomic_write, locked, secure_config_dir
from smtpwizard.core.probe import ProbeOptions, ProbeReport, StageCallback, run_probe
from smtpwizard.core.secrets import SecretStore
from smtpwizard.core.settings import (
    KEYRING_SERVICE,
    MAX_SECRET_BYTES,
    Config,
    Secret,
    SecretRef,
    Verification,
    keyring_account,
    secret_problem,
    validate_email,
)

Outcome = Literal["written", "dry_run", "failed"]


@dataclass
class ApplyResult:
    outcome: Outcome
    config: Config
    warnings: list[str] = field(default_factory=list)
    consequences: list[Consequence] = field(default_factory=list)
    report: ProbeReport | None = None
    diagnosis: Diagnosis | None = None
    written_to: Path | None = None
    backup: Path | None = None
    secret_ref: SecretRef | None = None

    @property
    def exit_code(self) -> ExitCode:
        if self.diagnosis is not None:
            return self.diagnosis.exit_code
        return ExitCode.OK


def _clean_secret(raw: str, where: str) -> Secret:
    value = raw.rstrip("\r\n")  # files and pipes end in a newline the provider never issued
    if problem := secret_problem(value):
        raise FieldError("smtp.password", f"{where} {problem}", "put only the password there, on one line")
    return Secret(value)


def _pseudo_file_systems() -> set[int]:
    """Devices of /proc and /sys, whose 'regular' files are generated (e.g. /proc/self/environ)."""
    devices = set()
    for root in ("/proc", "/sys"):
        with contextlib.suppress(OSError):
            devices.add(os.stat(root).st_dev)
    return devices


def read_secret_file(path: Path) -> bytes:
    """A password file's bytes: a regular file of at most MAX_SECRET_BYTES (plus a line end),
    never a device, FIFO, socket or /proc or /sys file. Raises InputMissing or FieldError."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)  # a FIFO must not block the open
    except FileNotFoundError:
        raise InputMissing(f"smtp.password: file {path} does not exist; check the path") from None
    except OSError as exc:
        raise InputMissing(f"smtp.password: cannot read {path} ({exc.strerror}); check its permissions") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_dev in _pseudo_file_systems():
            raise FieldError(
                "smtp.password",
                f"file {path} is not a regular file (a device, pipe or /proc entry)",
                "point file: at a file holding only the password, e.g. /run/secrets/smtp",
            )
        limit = MAX_SECRET_BYTES + 2  # room for a trailing CR LF
        data = handle.read(limit + 1)
    if info.st_size > limit or len(data) > limit:
        raise FieldError(
            "smtp.password",
            f"file {path} is larger than {MAX_SECRET_BYTES} bytes",
            "point file: at a file holding only the password",
        )
    return data


def resolve_secret(
    source: PasswordSource | None,
    store: SecretStore,
    *,
    env: Mapping[str, str],
    read_stdin: Callable[[], str],
) -> Secret | None:
    """The password named by a headless input's ``smtp.password``."""
    if source is None:
        return None
    if isinstance(source, InlineSource):
        return _clean_secret(source.secret.reveal(), "the inline password")
    if isinstance(source, EnvSource):
        if source.name not in env:
            raise InputMissing(
                f"smtp.password: environment variable {source.name} is not set; export it before running smtpwizard"
            )
        return _clean_secret(env[source.name], f"environment variable {source.name}")
    if isinstance(source, FileSource):
        path = Path(source.path).expanduser()
        raw = read_secret_file(path)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise FieldError("smtp.password", f"file {path} is not UTF-8 text", "save the password as UTF-8") from None
        return _clean_secret(text, f"file {path}")
    if isinstance(source, StdinSource):
        return _clean_secret(read_stdin(), "standard input")
    assert isinstance(source, KeyringSource)
    secret = store.get(source.ref)
    if secret is None:
        raise SecretStoreError(
            f"smtp.password: the keyring has no entry {source.ref.service}/{source.ref.account}; "
            "give the password another way (env:, file:, stdin:) to store it"
        )
    return secret


@dataclass(frozen=True)
class ApplyOptions:
    yes: bool = False
    dry_run: bool = False
    skip_test: bool = False
    send_test_to: str | None = None
    probe_options: ProbeOptions | None = None


def prepare(
    input_path: Path,
    store: SecretStore,
    *,
    env: Mapping[str, str] | None = None,
    read_stdin: Callable[[], str] = lambda: "",
) -> tuple[Document, Secret | None, list[str]]:
    """Load and validate a headless input and fetch its password. Raises WizardError."""
    document = read_document_file(input_path, "input")
    warnings = list(document.warnings)
    source = document.password_source
    if source is not None and not isinstance(source, KeyringSource):
        store.require_usable()  # fail before any network work if the secret cannot be kept
    secret = resolve_secret(source, store, env=os.environ if env is None else env, read_stdin=read_stdin)
    if isinstance(source, InlineSource):
        warnings.append(
            f"smtp.password: {input_path} holds the password in plain text; it is stored only in the keyring, "
            "but remove it from that file (use env:, file: or stdin:)"
        )
    return document, secret, warnings


async def apply(
    document: Document,
    secret: Secret | None,
    store: SecretStore,
    config_path: Path,
    options: ApplyOptions,
    *,
    warnings: list[str] | None = None,
    acknowledge: Callable[[list[Consequence]], bool] | None = None,
    on_stage: StageCallback | None = None,
) -> ApplyResult:
    """Test the settings and, if the test passes, store the secret and write the config.

    Raises NotAcknowledged when consequences exist and neither ``options.yes`` nor
    ``acknowledge`` accepts them; WizardError subclasses for keyring and write failures.
    """
    config = document.config
    result = ApplyResult("failed", config, list(warnings or document.warnings))
    result.consequences = consequences_for(config.target, config.provider, config.oauth)
    test_to = options.send_test_to
    if test_to is not None:
        test_to = validate_email(test_to, "--send-test-to")

    acknowledged = options.yes or options.dry_run or not result.consequences
    if not acknowledged and (acknowledge is None or not acknowledge(result.consequences)):
        raise NotAcknowledged("consequences not acknowledged; read them above and run again with --yes to accept them")

    if options.skip_test:
        result.warnings.append("--skip-test: the settings were NOT tested; the config is marked unverified")
        verification = Verification(status="skipped", at=_now())
    else:
        report, diagnosis = await live_test(
            config, secret, test_to=test_to, probe_options=options.probe_options, on_stage=on_stage, store=store
        )
        result.report, result.diagnosis = report, diagnosis
        if diagnosis is not None:
            return result
        verification = verification_from(report)

    if options.dry_run:
        result.outcome = "dry_run"
        return result
    saved = await save_off_loop(config, secret, document.password_source, store, config_path, verification)
    result.outcome = "written"
    result.config, result.written_to, result.backup, result.secret_ref = saved
    return result


async def live_test(
    config: Config,
    secret: Secret | None,
    *,
    test_to: str | None = None,
    probe_options: ProbeOptions | None = None,
    on_stage: StageCallback | None = None,
    store: SecretStore | None = None,
) -> tuple[ProbeReport, Diagnosis | None]:
    """Run the live test of ``config`` once, speaking as its target app's mail client when it has
    one; the diagnosis is None when it passed. XOAUTH2 configs get their token from ``store``."""
    app = find_app(config.target)
    profile = app.profile if app else None
    token_source = None
    if config.oauth is not None and store is not None:
        from smtpwizard.core.oauth import token_provider  # only on the OAuth path

        token_source = token_provider(config, store)
    report = await run_probe(
        config.smtp,
        secret,
        sender=config.sender,
        test_to=test_to,
        options=probe_options,
        on_stage=on_stage,
        profile=profile,
        token_source=token_source,
    )
    return report, diagnose(report, config.smtp, config.provider, profile)


def verification_from(report: ProbeReport) -> Verification:
    """What a passed report proves, for the config's ``verified`` section. Text from the
    server is made one safe line (a TAB or NEL in a greeting must not break the next read)."""

    def note(text: str | None) -> str | None:
        return None if text is None else one_line(text, MAX_INFO_CHARS)

    return Verification(
        status="passed",
        at=report.started_at,
        tls_version=note(report.tls.version if report.tls else None),
        auth_mechanism=note(report.auth_used),
        server_banner=note(report.banner),
        test_message_to=report.test_message_to,
    )


def save(
    config: Config,
    secret: Secret | None,
    source: PasswordSource | None,
    store: SecretStore,
    config_path: Path,
    verification: Verification,
    cancel: threading.Event | None = None,
) -> tuple[Config, Path, Path | None, SecretRef | None]:
    """Store the secret and write the config, under the config's lock.

    Returns the written config, its path, the backup path and the keyring reference. The
    written file is read back and validated before it counts as written. If anything fails,
    or ``cancel`` is set (Ctrl+C, SIGTERM) before the write completed, the keyring entry and
    the previous file are restored and the error (Interrupted) raised.
    """
    final, ref = planned(config, secret, source, verification, config_path=config_path)
    text = checked_config_text(final, config_path)

    def stop_if_cancelled() -> None:
        if cancel is not None and cancel.is_set():
            raise Interrupted("interrupted; nothing was written")

    def check(path: Path) -> None:  # a signal during the read-back still undoes the write
        _read_back(path)
        stop_if_cancelled()

    secure_config_dir(config_path.parent)
    with locked(config_path, stop=stop_if_cancelled):
        stop_if_cancelled()
        restore = _store_secret(store, ref, secret, source)
        try:
            stop_if_cancelled()
            backup = atomic_write(config_path, text, check=check, before_replace=stop_if_cancelled)
        except BaseException:
            restore()
            raise
    return final, config_path, backup, ref


def checked_config_text(config: Config, config_path: Path) -> str:
    """The YAML of ``config``, refused (FieldError) unless smtpwizard would read it back as is."""
    text = dump_config(config, config_path)
    size = len(text.encode("utf-8"))
    if size > MAX_DOCUMENT_BYTES:
        raise FieldError(
            str(config_path),
            f"would be {size} bytes, larger than the {MAX_DOCUMENT_BYTES} byte limit",
            "shorten the longest values (username, sender name)",
        )
    again = parse_document(load_yaml(text.encode("utf-8"), str(config_path)), "config").config
    if replace(again, warnings=()) != replace(config, warnings=()):
        raise FieldError(
            str(config_path),
            "would not read back as written (a value holds characters YAML changes)",
            "remove control characters and line breaks from the values",
        )
    return text


def _read_back(path: Path) -> None:
    """Load and validate the file just written; WriteFailed if it does not read back."""
    try:
        read_document_file(path, "config")
    except WizardError as exc:
        raise WriteFailed(f"cannot write {path}: it did not read back ({exc}); the previous file was kept") from None


async def save_off_loop(
    config: Config,
    secret: Secret | None,
    source: PasswordSource | None,
    store: SecretStore,
    config_path: Path,
    verification: Verification,
) -> tuple[Config, Path, Path | None, SecretRef | None]:
    """:func:`save` in a thread, so the event loop (and Ctrl+C/SIGTERM) stays responsive. When
    the awaiting task is cancelled, the save is told to stop, the keyring wait is abandoned,
    and the rollback finishes before the cancellation goes on (a save that had already
    completed is returned instead)."""
    cancel = threading.Event()
    loop = asyncio.get_running_loop()
    work = functools.partial(save, config, secret, source, store, config_path, verification, cancel)
    future = loop.run_in_executor(None, work)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        cancel.set()
        store.abandon()
        while not future.done():  # the rollback is quick; a repeated cancel must not skip it
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({future})
        if future.exception() is None:
            return future.result()  # it was complete before the signal came: say so truthfully
        raise


def planned(
    config: Config,
    secret: Secret | None,
    source: PasswordSource | None,
    verification: Verification,
    *,
    config_path: Path | None = None,
) -> tuple[Config, SecretRef | None]:
    """The config exactly as :func:`save` will write it to ``config_path``, and its keyring reference."""
    ref = _secret_ref(config, secret, source, config_path)
    if config.oauth is not None:
        from smtpwizard.core.oauth import with_keyring_refs

        config = with_keyring_refs(config)  # the refresh token / client secret 'login' stored
    return replace(config, smtp=replace(config.smtp, password=ref), verified=verification), ref


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _secret_ref(
    config: Config, secret: Secret | None, source: PasswordSource | None, config_path: Path | None
) -> SecretRef | None:
    if secret is None:
        return None
    if isinstance(source, KeyringSource):
        return source.ref
    smtp = config.smtp
    where = None if config_path is None else str(config_path)  # one entry per config file
    return SecretRef(KEYRING_SERVICE, keyring_account(config.profile, smtp.username, smtp.host, smtp.port, where))


def _store_secret(
    store: SecretStore, ref: SecretRef | None, secret: Secret | None, source: PasswordSource | None
) -> Callable[[], None]:
    """Store the secret and return how to undo it."""
    if ref is None or secret is None:
        return lambda: None
    previous = store.get(ref)
    if isinstance(source, KeyringSource) and previous == secret:
        return lambda: None  # the tested password is still where the config will point
    # (a keyring entry deleted or changed since the test read it is put back as tested)
    store.put(ref, secret)
    try:
        stored = store.get(ref)
    except BaseException:  # e.g. abandoned on SIGTERM: the entry was changed, so put it back
        restore_secret(store, ref, previous)
        raise
    if stored != secret:
        restore_secret(store, ref, previous)
        raise SecretStoreError(
            f"keyring: {store.backend().name} accepted the password but did not return it; "
            "choose a working backend with PYTHON_KEYRING_BACKEND"
        )
    return lambda: restore_secret(store, ref, previous)


def restore_secret(store: SecretStore, ref: SecretRef, previous: Secret | None) -> None:
    """Put back what the keyring held at ``ref`` before a write (nothing: delete it)."""
    try:
        if previous is None:
            store.delete(ref)
        else:
            store.put(ref, previous)
    except SecretStoreError:
        pass  # the original error is the one worth reporting


async def keyring_get(store: SecretStore, ref: SecretRef) -> Secret | None:
    """``store.get`` off the event loop; a cancellation (Ctrl+C) abandons the keyring wait."""
    future = asyncio.get_running_loop().run_in_executor(None, store.get, ref)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        store.abandon()
        raise


async def retest(
    config: Config,
    store: SecretStore,
    *,
    send_test_to: str | None = None,
    probe_options: ProbeOptions | None = None,
    on_stage: StageCallback | None = None,
) -> tuple[ProbeReport, Diagnosis | None]:
    """Run the live test of a written config, with its password from the keyring."""
    secret = None
    if config.smtp.password is not None:
        secret = await keyring_get(store, config.smtp.password)
        if secret is None:
            ref = config.smtp.password
            raise SecretStoreError(
                f"keyring: no password stored for {ref.service}/{ref.account}; run 'smtpwizard apply' "
                "(or the wizard) again to store it"
            )
    test_to = validate_email(send_test_to, "--send-test-to") if send_test_to else None
    return await live_test(config, secret, test_to=test_to, probe_options=probe_options, on_stage=on_stage, store=store)
