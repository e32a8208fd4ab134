"""Command line: argument parsing, exit codes, headless output (text or --json).

Never imports Textual: only ``smtpwizard`` with no command starts the TUI, through a
lazy import. Core modules are imported inside each command so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, NoReturn, TypeVar, cast

from smtpwizard import __version__
from smtpwizard.core.errors import OutputFailed, WizardError
from smtpwizard.core.exit_codes import ExitCode, exit_code_table

if TYPE_CHECKING:
    from smtpwizard.core.apply import ApplyResult
    from smtpwizard.core.consequences import Consequence
    from smtpwizard.core.diagnose import Diagnosis
    from smtpwizard.core.probe import ProbeReport, StageResult
    from smtpwizard.core.providers import Provider

DESCRIPTION = """\
Set up, test and export outgoing email (SMTP) for self-hosted apps.

Run with no command to start the interactive wizard. For scripts and CI:
  smtpwizard --from-yaml FILE --yes     validate, live-test, store the password in the
                                        OS keyring and write the config (same as 'apply')
  smtpwizard test                       re-test the written config
"""

EPILOG = f"""\
exit codes (sysexits.h):
{exit_code_table()}

The config file defaults to $XDG_CONFIG_HOME/smtpwizard/config.yaml. Passwords are kept
in the OS keyring only; no option takes a password on the command line.
"""


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, quiet: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.quiet = quiet  # -q: a usage error is one line too, without the usage text

    def error(self, message: str) -> NoReturn:
        if not self.quiet:
            self.print_usage(sys.stderr)
        self.exit(ExitCode.USAGE, f"smtpwizard: error: {message}\n")


def _add_output_flags(parser: argparse.ArgumentParser, *, verbose: bool = True) -> None:
    parser.add_argument("--json", action="store_true", help="print one machine-readable JSON report on stdout")
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing on success; on failure one line (what and the fix)"
    )
    if verbose:
        group.add_argument("-v", "--verbose", action="store_true", help="also print the (redacted) SMTP transcript")


def _keep_global_flags(parser: argparse.ArgumentParser, commands: argparse._SubParsersAction[Any]) -> None:
    """A flag given before the command (smtpwizard -q test) is not reset by the command's default."""
    globals_ = {action.dest for action in parser._actions}
    for command in commands.choices.values():
        for action in command._actions:
            if action.dest in globals_ and action.dest != "help":
                action.default = argparse.SUPPRESS


def _add_config_flag(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    parser.add_argument(
        "--config",
        metavar="PATH",
        type=Path,
        # A subcommand's own default would overwrite a top-level --config given before it.
        default=None if top else argparse.SUPPRESS,
        help="config file (default: $XDG_CONFIG_HOME/smtpwizard/config.yaml, i.e. ~/.config/smtpwizard/config.yaml)",
    )


def _add_apply_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", action="store_true", help="accept the consequences of the change without asking")
    parser.add_argument("--dry-run", action="store_true", help="validate and test, but store and write nothing")
    parser.add_argument("--skip-test", action="store_true", help="write without the live test (marked unverified)")
    parser.add_argument("--send-test-to", metavar="ADDR", help="also send a test message to ADDR")


def build_parser(quiet: bool = False) -> argparse.ArgumentParser:
    parser = _Parser(
        quiet=quiet,
        prog="smtpwizard",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"smtpwizard {__version__}")
    parser.add_argument("--from-yaml", metavar="FILE", type=Path, help="headless apply of FILE (see 'apply')")
    _add_config_flag(parser, top=True)
    _add_apply_flags(parser)
    _add_output_flags(parser)
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=functools.partial(_Parser, quiet=quiet)
    )

    apply = commands.add_parser("apply", help="validate, test, store the password and write the config")
    apply.add_argument("file", type=Path, metavar="FILE", help="headless input YAML (see examples/)")
    _add_config_flag(apply)
    _add_apply_flags(apply)
    _add_output_flags(apply)

    test = commands.add_parser("test", help="re-test a written config")
    _add_config_flag(test)
    test.add_argument("--send-test-to", metavar="ADDR", help="also send a test message to ADDR")
    _add_output_flags(test)

    providers = commands.add_parser("providers", help="list the provider presets")
    providers.add_argument("--json", action="store_true", help="print JSON")

    detect = commands.add_parser("detect", help="find the working port and security mode of a host (no login)")
    detect.add_argument(
        "host", nargs="?", help="the SMTP server's host name (default: the config's, its port tried first)"
    )
    detect.add_argument("--port", metavar="N", type=int, help="try this port first (both modes unless the preset says)")
    detect.add_argument(
        "--provider", metavar="ID", help="try this preset's ports (default: the preset of the host, if any)"
    )
    detect.add_argument(
        "--candidate",
        metavar="PORT/MODE",
        action="append",
        help="try exactly these, e.g. 587/starttls 465/tls (repeatable)",
    )
    detect.add_argument("--ca-file", metavar="PATH", help="also trust this CA (PEM)")
    _add_config_flag(detect)
    _add_output_flags(detect, verbose=False)

    export = commands.add_parser("export", help="print (or write into) the chosen app's own mail config")
    export.add_argument(
        "--target",
        metavar="APP",
        help="posthog, forem, sourcegraph, mattermost, selfmx, mastodon, discourse, gitlab, django",
    )
    export.add_argument("--format", metavar="FORMAT", help="one of the target's formats (see --list)")
    export.add_argument("--list", action="store_true", help="list the targets and their formats")
    export.add_argument("--reveal-secret", action="store_true", help="fill in the password from the keyring")
    export.add_argument(
        "--write-into", metavar="PATH", type=Path, help="update an existing .env or Mattermost config.json in place"
    )
    _add_config_flag(export)

    login = commands.add_parser(
        "login",
        help="sign in once for an XOAUTH2 config (smtp.auth: xoauth2); keeps the refresh token in the keyring",
        description="Sign in for the config's oauth: block and keep the refresh token (or, for client_credentials, "
        "the client secret from its source) in the OS keyring. auth_code prints a URL and waits on a loopback "
        "redirect; with --paste, paste the address the browser ends on (for a server over SSH).",
    )
    _add_config_flag(login)
    login.add_argument("--paste", action="store_true", help="auth_code: read the redirect URL from stdin instead")
    login.add_argument(
        "--timeout", metavar="SECONDS", type=float, default=300.0, help="how long to wait for the sign-in (300)"
    )

    bridge = commands.add_parser(
        "bridge",
        help="set up emailproxy as a local relay for apps that send only passwords (XOAUTH2 configs)",
        description="Write emailproxy's configuration (seeded with this config's sign-in), a systemd unit and a "
        "docker compose service into DIR, keep a new local password in the keyring, and write DIR/app.yaml: the "
        "settings the app uses to send through the bridge (test and export it like any config).",
    )
    _add_config_flag(bridge)
    bridge.add_argument("--out", metavar="DIR", type=Path, required=True, help="where to write the files")
    bridge.add_argument("--port", metavar="PORT", type=int, default=1587, help="local port of the bridge (1587)")
    bridge.add_argument("--target", metavar="APP", help="the app that will send through it (default: the config's)")
    bridge.add_argument(
        "--tls-cert",
        metavar="PEM",
        type=Path,
        help="STARTTLS on the local port with this PEM file (certificate and its private key), for apps that send "
        "a password only over TLS, e.g. Go's net/smtp in Mattermost",
    )
    bridge.add_argument("--tls-ca", metavar="PEM", type=Path, help="the CA that signed --tls-cert, for the live test")
    bridge.add_argument("--yes", action="store_true", help="accept the consequences without asking")

    forget = commands.add_parser("forget", help="delete a stored password from the keyring")
    _add_config_flag(forget)
    _add_output_flags(forget, verbose=False)

    _add_doctor_parser(commands)  # smtpwizard doctor (see its block below)
    _add_check_domain_parser(commands)
    _keep_global_flags(parser, commands)
    return parser


# --- output -------------------------------------------------------------------------------


Mode = Literal["text", "verbose", "quiet", "json"]
Kind = Literal["progress", "transcript", "warning", "summary", "error", "report"]

# The output contract, the one place that decides what each mode prints. progress: stages,
# results and the full diagnosis (stdout); transcript: the redacted SMTP dialogue (stdout);
# warning: "warning: ..." (stderr); summary: a failed test's diagnosis as one line, title
# and fix (stderr); error: an error that stopped the command, one line (stderr); report:
# the JSON document (stdout). Quiet prints nothing on success.
PRINTS: dict[Mode, frozenset[Kind]] = {
    "text": frozenset({"progress", "warning", "error"}),
    "verbose": frozenset({"progress", "transcript", "warning", "error"}),
    "quiet": frozenset({"summary", "error"}),
    "json": frozenset({"report", "error"}),
}


class Output:
    """Where text goes, following :data:`PRINTS`: results to stdout, warnings and errors to stderr."""

    def __init__(self, json_mode: bool, quiet: bool, verbose: bool, out: IO[str], err: IO[str]) -> None:
        self.mode: Mode = "json" if json_mode else "quiet" if quiet else "verbose" if verbose else "text"
        self.out = out
        self.err = err

    @property
    def json_mode(self) -> bool:
        return self.mode == "json"

    def shows(self, kind: Kind) -> bool:
        return kind in PRINTS[self.mode]

    def _print(self, kind: Kind, text: str) -> None:
        if self.shows(kind):
            _write(self.err if kind in ("warning", "summary", "error") else self.out, text)

    def line(self, text: str = "") -> None:
        self._print("progress", text)

    def transcript(self, text: str) -> None:
        self._print("transcript", text)

    def warn(self, text: str) -> None:
        self._print("warning", f"warning: {text}")

    def error(self, text: str) -> None:
        self._print("error", f"smtpwizard: error: {text}")

    def failed(self, title: str, fix: str) -> None:
        """A failure that is not an error of the command (a failed test, nothing detected)."""
        self._print("summary", f"smtpwizard: error: {title}. Fix: {fix}")

    def json(self, data: dict[str, Any]) -> None:
        from smtpwizard.core.display import safe_data

        # Plain ASCII (\u escapes) where the stream is not UTF-8: valid JSON in any encoding.
        utf8 = (getattr(self.out, "encoding", None) or "utf-8").lower().replace("-", "") == "utf8"
        self._print("report", json.dumps(safe_data(data), indent=2, ensure_ascii=not utf8))

    def stage(self, result: StageResult) -> None:
        if result.status == "running":
            return
        mark = {"ok": "ok  ", "failed": "FAIL", "skipped": "skip"}[result.status]
        ms = f"{result.elapsed_s * 1000:6.0f} ms" if result.status != "skipped" else "         "
        self.line(f"  {mark} {result.stage.label:<30} {ms}  {result.detail}".rstrip())


def _write(stream: IO[str], text: str) -> None:
    """Every line smtpwizard prints goes through the one safe-display function. A stream that
    cannot take a character gets it backslash-escaped; one that cannot be written at all is a
    local failure (exit 74), never a server's."""
    from smtpwizard.core.display import safe_text
    from smtpwizard.core.errors import OutputFailed

    text = safe_text(text, keep_newlines=True)
    try:
        try:
            print(text, file=stream, flush=True)
        except UnicodeEncodeError:
            encoding = getattr(stream, "encoding", None) or "ascii"
            print(text.encode(encoding, "backslashreplace").decode(encoding), file=stream, flush=True)
    except (OSError, ValueError) as exc:  # closed pipe, full disk, closed file
        raise OutputFailed(f"output: cannot write to {getattr(stream, 'name', 'the output')} ({exc})") from None


def _render_consequences(out: Output, consequences: list[Consequence]) -> None:
    if not consequences:
        return
    out.line("Before you apply these settings:")
    for c in consequences:
        out.line(f"  [{c.severity}] {c.what}")
        out.line(f"      affects: {c.who}")
        out.line(f"      do this: {c.action}")
    out.line()


def _render_diagnosis(out: Output, diagnosis: Diagnosis) -> None:
    out.failed(diagnosis.title, diagnosis.fix)
    out.line()
    out.line(f"Diagnosis: {diagnosis.title}")
    out.line(f"  {diagnosis.explanation}")
    for detail in diagnosis.details:
        out.line(f"    {detail}")
    out.line(f"  Fix: {diagnosis.fix}")
    change = diagnosis.change_summary()
    if change:
        out.line(f"  Change in the file: {change}")


def _render_report(out: Output, report: ProbeReport) -> None:
    if report.transcript:
        out.transcript("")
        out.transcript("Transcript (secrets redacted):")
        for line in report.transcript:
            out.transcript(f"  {line}")


def _error_json(exc: WizardError) -> dict[str, Any]:
    return {"ok": False, "exit_code": int(exc.exit_code), "error": str(exc)}


# --- commands -----------------------------------------------------------------------------


def _config_path(args: argparse.Namespace) -> Path:
    from smtpwizard.core.files import default_config_path

    path: Path | None = args.config
    return path.expanduser() if path is not None else default_config_path()


def _ask(consequences: list[Consequence], out: Output) -> bool:
    if not sys.stdin.isatty() or not out.shows("progress"):  # never ask about consequences it did not show
        return False
    answer = input("Apply these settings? Type 'yes' to continue: ")
    return answer.strip().lower() in ("y", "yes")


def _read_stdin() -> str:
    """The password from standard input; on a terminal, asked for without echo (getpass),
    so it never lands in the scrollback."""
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("SMTP password (not shown): ")
    return sys.stdin.read(16 * 1024)


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl+C: the work stops with the same rollback; exit 143."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def _handle_sigterm() -> Callable[[], None]:
    """Outside the event loop, SIGTERM raises Terminated in the main thread (like Ctrl+C).
    Returns how to put the previous handler back."""
    import signal

    previous = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread (tests calling main())
        return lambda: None

    def restore() -> None:
        with contextlib.suppress(ValueError, TypeError):
            signal.signal(signal.SIGTERM, previous)

    return restore


T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, with Ctrl+C and SIGTERM that always take: the work is cancelled (closing
    any connection, rolling back a half-done save) and KeyboardInterrupt (or Terminated)
    raised. Python 3.11's wait_for can swallow a cancellation that arrives just as its inner
    call completes, so it is repeated until the work has really stopped."""
    import asyncio

    stopped_by: list[int] = []
    result = asyncio.run(_interruptible(coro, stopped_by))
    if stopped_by:
        import signal

        raise Terminated if stopped_by[0] == signal.SIGTERM else KeyboardInterrupt
    return result


async def _interruptible(coro: Coroutine[Any, Any, T], stopped_by: list[int]) -> T:
    import asyncio
    import signal

    loop = asyncio.get_running_loop()
    work = asyncio.ensure_future(coro)
    interrupted = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.getsignal(sig) for sig in signals}

    def stop(sig: int) -> None:
        if not stopped_by:
            stopped_by.append(sig)
        interrupted.set()

    try:
        for sig in signals:
            loop.add_signal_handler(sig, stop, sig)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
        return await work
    waiting = asyncio.ensure_future(interrupted.wait())
    try:
        await asyncio.wait({work, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if not interrupted.is_set():
            return work.result()
        while not work.done():
            work.cancel()
            await asyncio.wait({work}, timeout=0.1)
        if not work.cancelled() and work.exception() is None and _written(work.result()):
            stopped_by.clear()  # the signal came after the config was written: report that truthfully
            return work.result()
        return cast(T, None)
    finally:
        waiting.cancel()
        for sig in signals:
            loop.remove_signal_handler(sig)
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(sig, previous[sig])  # remove_signal_handler leaves SIG_DFL behind


def _written(result: object) -> bool:
    return getattr(result, "outcome", None) == "written"


def cmd_apply(args: argparse.Namespace, file: Path, out: Output) -> int:
    from smtpwizard.core.apply import ApplyOptions, apply, prepare
    from smtpwizard.core.consequences import consequences_for
    from smtpwizard.core.secrets import KeyringStore

    store = KeyringStore()
    document, secret, warnings = prepare(file, store, read_stdin=_read_stdin)
    config = document.config
    for warning in warnings:
        out.warn(warning)
    if not args.dry_run:
        _render_consequences(out, consequences_for(config.target, config.provider, config.oauth))
    smtp = config.smtp
    who = f" as {smtp.username}" if smtp.wants_auth else ""
    out.line(f"Testing {smtp.host} port {smtp.port} ({smtp.security}){who}")
    options = ApplyOptions(yes=args.yes, dry_run=args.dry_run, skip_test=args.skip_test, send_test_to=args.send_test_to)
    config_path = _config_path(args)
    result = _run(
        apply(
            document,
            secret,
            store,
            config_path,
            options,
            warnings=warnings,
            acknowledge=lambda found: _ask(found, out),
            on_stage=out.stage,
        )
    )
    return _finish_apply(result, out, already_shown=len(warnings))


def _finish_apply(result: ApplyResult, out: Output, already_shown: int) -> int:
    from smtpwizard.core.config import config_to_dict

    for warning in result.warnings[already_shown:]:
        out.warn(warning)
    if result.report is not None:
        _render_report(out, result.report)
    if result.diagnosis is not None:
        _render_diagnosis(out, result.diagnosis)
        out.line("Nothing was written and the keyring was not changed.")
    elif result.outcome == "dry_run":
        out.line("Dry run: the test passed; nothing was stored or written.")
    elif result.outcome == "written":
        out.line(
            f"Wrote {result.written_to}" + (f" (previous version kept as {result.backup})" if result.backup else "")
        )
        if result.secret_ref is not None:
            out.line(f"Password stored in the OS keyring ({result.secret_ref.service}/{result.secret_ref.account})")
    if out.json_mode:
        out.json(
            {
                "ok": result.exit_code == ExitCode.OK,
                "outcome": result.outcome,
                "exit_code": int(result.exit_code),
                "config_path": str(result.written_to) if result.written_to else None,
                "backup_path": str(result.backup) if result.backup else None,
                "config": config_to_dict(result.config),
                "warnings": result.warnings,
                "consequences": [c.to_dict() for c in result.consequences],
                "report": result.report.to_dict() if result.report else None,
                "diagnosis": result.diagnosis.to_dict() if result.diagnosis else None,
                "domain_check": _domain_check_json(result.config) if result.report and not result.diagnosis else None,
            }
        )
    return int(result.exit_code)


def cmd_test(args: argparse.Namespace, out: Output) -> int:
    from smtpwizard.core.apply import retest
    from smtpwizard.core.config import read_document_file
    from smtpwizard.core.secrets import KeyringStore

    path = _config_path(args)
    config = read_document_file(path, "config").config
    for warning in config.warnings:
        out.warn(warning)
    out.line(f"Testing {config.smtp.host} port {config.smtp.port} ({config.smtp.security}) from {path}")
    report, diagnosis = _run(retest(config, KeyringStore(), send_test_to=args.send_test_to, on_stage=out.stage))
    _render_report(out, report)
    if diagnosis is not None:
        _render_diagnosis(out, diagnosis)
    else:
        out.line("The test passed.")
    if out.json_mode:
        out.json(
            {
                "ok": diagnosis is None,
                "exit_code": int(diagnosis.exit_code) if diagnosis else 0,
                "config_path": str(path),
                "report": report.to_dict(),
                "diagnosis": diagnosis.to_dict() if diagnosis else None,
                "domain_check": None if diagnosis else _domain_check_json(config),
            }
        )
    return int(diagnosis.exit_code) if diagnosis else 0


def cmd_providers(args: argparse.Namespace, out: Output) -> int:
    from smtpwizard.core.providers import GROUPS, load_providers

    providers = load_providers()
    if args.json:
        out.json(
            {
                "providers": [
                    {
                        "id": p.id,
                        "name": p.name,
                        "group": p.group,
                        "summary": p.summary,
                        "hosts": [{"host": h.host, "region": h.region, "note": h.note} for h in p.hosts],
                        "ports": [{"port": o.port, "security": o.security} for o in p.ports],
                        "recommended": {"port": p.recommended_port, "security": p.recommended_security},
                        "username": {"default": p.username_default, "hint": p.username_hint},
                        "password_hint": p.password_hint,
                        "auth": list(p.auth_mechanisms),
                        "gotchas": list(p.gotchas),
                        "docs": p.docs,
                    }
                    for p in providers
                ]
            }
        )
        return 0
    rows = [_provider_row(p) for p in providers]
    header = ("ID", "NAME", "HOST", "PORT", "SECURITY", "REGION")
    widths = [max(len(row[i]) for row in [*rows, header]) for i in range(len(header) - 1)]

    def line(cells: tuple[str, ...]) -> str:  # every column starts at the same place on every line
        padded = [
            cell.rjust(w) if i == 3 else cell.ljust(w) for i, (cell, w) in enumerate(zip(cells, widths, strict=False))
        ]
        return ("  " + "  ".join([*padded, cells[-1]])).rstrip()

    out.line(line(header))
    for group, title in GROUPS.items():
        out.line(f"{title}:")
        for provider, row in zip(providers, rows, strict=True):
            if provider.group == group:
                out.line(line(row))
        out.line()
    return 0


def _provider_row(p: Provider) -> tuple[str, str, str, str, str, str]:
    """One preset as table cells; the region says which one the host serves and which others exist."""
    regions = [h.region for h in p.hosts if h.region]
    if len(regions) > 4:
        more = len(regions) - 1
        region = f"{regions[0]}, and {more} other region{'s' if more != 1 else ''} (see --json)"
    elif len(regions) > 1:
        region = f"{regions[0]}; also {', '.join(regions[1:])}"
    else:
        region = regions[0] if regions else ""
    host = p.default_host or "(you enter it)"
    return (p.id, p.name, host, str(p.recommended_port), p.recommended_security, region)


def cmd_forget(args: argparse.Namespace, out: Output) -> int:
    from smtpwizard.core.config import read_document_file
    from smtpwizard.core.secrets import KeyringStore

    path = _config_path(args)
    config = read_document_file(path, "config").config
    ref = config.smtp.password
    if ref is None:
        out.line(f"{path} refers to no stored password; nothing to forget.")
        deleted = False
    else:
        deleted = KeyringStore().delete(ref)
        out.line(
            f"Deleted the password {ref.service}/{ref.account} from the keyring."
            if deleted
            else f"The keyring holds no password {ref.service}/{ref.account}; nothing to forget."
        )
        if deleted:
            out.line(f"{path} still points to it: run the wizard or 'smtpwizard apply' to store a new one.")
    if out.json_mode:
        out.json({"ok": True, "deleted": deleted, "config_path": str(path)})
    return 0


def _parse_candidate(text: str) -> tuple[int, str]:
    from smtpwizard.core.errors import FieldError
    from smtpwizard.core.settings import SECURITY_MODES, validate_port

    port_text, _, mode = text.partition("/")
    mode = {"ssl": "tls"}.get(mode.lower(), mode.lower())
    if not port_text.isdigit() or mode not in SECURITY_MODES:
        raise FieldError("--candidate", f"'{text}' is not PORT/MODE", "write e.g. 587/starttls, 465/tls or 25/none")
    return validate_port(int(port_text), "--candidate"), mode


def cmd_detect(args: argparse.Namespace, out: Output) -> int:
    from smtpwizard.core.autodetect import Candidate, Detection, candidates_for, detect
    from smtpwizard.core.errors import FieldError
    from smtpwizard.core.providers import get_provider, provider_for_host
    from smtpwizard.core.settings import validate_hostname, validate_port

    host, port, security, provider_id = args.host, args.port, None, args.provider
    ca_file, verify, helo = args.ca_file, True, None
    if host is None:  # the written config's server, its port (and mode) tried first
        from smtpwizard.core.config import read_document_file

        smtp = (config := read_document_file(_config_path(args), "config").config).smtp
        host, ca_file, verify, helo = smtp.host, ca_file or smtp.ca_file, smtp.verify_certificate, smtp.helo_domain
        if port is None:
            port, security = smtp.port, smtp.security
        provider_id = provider_id or (config.provider if config.provider != "custom" else None)
    host = validate_hostname(host, "HOST")
    if port is not None:
        port = validate_port(port, "--port")
    if args.candidate:
        candidates = [Candidate(*_parse_candidate(c)) for c in args.candidate]  # type: ignore[arg-type]
    else:
        try:
            provider = get_provider(provider_id) if provider_id else provider_for_host(host)
        except KeyError:
            raise FieldError(
                "--provider", f"'{provider_id}' is not a known provider", "run 'smtpwizard providers'"
            ) from None
        candidates = candidates_for(provider, port, security)
    out.line(f"Trying {len(candidates)} port/mode pairs of {host} at once (no login, no mail)...")
    if ca_file is not None:
        from smtpwizard.core.probe import verifying_context

        verifying_context(ca_file, "--ca-file" if args.ca_file else "smtp.ca_file")  # a local fault, told first
    marks = {"works": "ok  ", "fails": "FAIL", "not waited for": "  - ", "probably blocked": "  ? "}

    def on_early(early: Detection) -> None:
        """The answer as soon as it is probably right; the detection goes on confirming it."""
        assert early.best is not None and early.early is not None
        out.line(f"Early answer after {early.early.after_s:.1f} s:")
        for result in early.results:
            out.line(f"  {marks[result.status]} {result.candidate.label:<26} {result.summary()}")
        out.line(f"{early.verdict.headline} (early verdict)")
        out.line(f"  Why early: {early.early.reason()}")
        out.line("Confirming until the normal timeouts run out (Ctrl+C stops here; the answer above stands)...")

    found = _run(
        detect(host, candidates, verify_certificate=verify, ca_file=ca_file, helo_domain=helo, on_early=on_early)
    )
    for result in found.results:
        out.line(f"  {marks[result.status]} {result.candidate.label:<26} {result.summary()}")
    took = f"{found.elapsed_s * 1000:.0f} ms" if found.elapsed_s < 1 else f"{found.elapsed_s:.1f} s"
    verdict = found.verdict
    out.line(f"{verdict.headline} ({took})")
    if found.early is not None:
        out.line(f"  {found.early.outcome()}.")
    if verdict.fix:
        out.line(f"  Fix: {verdict.fix}")
    if verdict.exit_code != ExitCode.OK:
        out.failed(verdict.headline, verdict.fix or "see 'smtpwizard detect' without -q")
    if out.json_mode:
        out.json(
            {
                "host": host,
                "best": None if found.best is None else {"port": found.best.port, "security": found.best.security},
                "verdict": {
                    "state": verdict.state,
                    "headline": verdict.headline,
                    "fix": verdict.fix,
                    "exit_code": int(verdict.exit_code),
                    "port": verdict.candidate.port if verdict.candidate else None,
                    "security": verdict.candidate.security if verdict.candidate else None,
                },
                "elapsed_s": round(found.elapsed_s, 3),
                "early": None if found.early is None else found.early.to_dict(),
                "candidates": [
                    {
                        "port": r.candidate.port,
                        "security": r.candidate.security,
                        "status": r.status,
                        "state": r.state,
                        "summary": r.summary(),
                        "report": r.report.to_dict() if r.report else None,
                    }
                    for r in found.results
                ],
            }
        )
    return int(verdict.exit_code)


def cmd_export(args: argparse.Namespace, out: Output) -> int:
    from smtpwizard.core.config import read_document_file
    from smtpwizard.core.errors import ExportError
    from smtpwizard.core.exporters import export, exporters
    from smtpwizard.core.secrets import KeyringStore

    registry = exporters()
    if args.list:
        for exporter in registry.values():
            formats = ", ".join(
                f"{name}{' (default)' if name == exporter.default_format else ''}{' [write-into]' if name in exporter.write_into else ''}"
                for name in exporter.formats
            )
            out.line(f"  {exporter.id:<12} {exporter.name:<12} {formats}")
            if exporter.caveat:  # e.g. SelfMX reads no SMTP settings at all
                out.line(f"  {'':<12} {exporter.caveat}")
        return 0
    path = _config_path(args)
    config = read_document_file(path, "config").config
    if not args.target:  # the app the config was made for
        if not config.target:
            raise ExportError(
                f"export: --target is missing and {path} records no target; choose one of: " + ", ".join(registry)
            )
        args.target = config.target
        print(
            f"note: exporting for {config.target}, the target recorded in {path} (choose another with --target)",
            file=out.err,
        )
    for warning in config.warnings:  # e.g. certificate checks off: the app will skip them too
        out.warn(warning)
    if config.verified is None or config.verified.status != "passed":
        out.warn(f"{path} was not verified by a live test; run 'smtpwizard test' first")
    secret = None
    if args.reveal_secret and config.smtp.password is not None:
        secret = KeyringStore().get(config.smtp.password)
        if secret is None:
            ref = config.smtp.password
            raise ExportError(
                f"keyring: no password stored for {ref.service}/{ref.account}; run 'smtpwizard apply' again"
            )
    exporter = registry.get(args.target)
    result = export(args.target, config, secret, fmt=args.format, reveal=args.reveal_secret)
    for note in result.notes:
        print(f"note: {note}", file=out.err)
    if args.write_into is None:
        print(result.text, end="", file=out.out)
        return 0
    from smtpwizard.core.exporters.write_into import write_into

    fmt = args.format or (exporter.default_format if exporter else "")
    if exporter is None or fmt not in exporter.write_into:
        raise ExportError(
            f"--write-into: the {args.target} '{fmt}' format cannot be updated in place; "
            "it works for .env formats and Mattermost config.json (print the export and paste it instead)"
        )
    written = write_into(
        args.write_into, result, "json" if fmt == "json" else "env", secret_revealed=secret is not None
    )
    for note in written.notes:
        print(f"note: {note}", file=out.err)
    backup = written.backup
    out.line(
        f"Updated the mail settings in {args.write_into}" + (f" (previous version kept as {backup})" if backup else "")
    )
    return 0


# --- doctor: an app's own settings, tested as the app will, fixed in place -----------------


def _add_doctor_parser(commands: Any) -> None:
    doctor = commands.add_parser(
        "doctor", help="read an app's own mail settings, test them as the app will, and fix them in place"
    )
    doctor.add_argument(
        "path", nargs="?", type=Path, metavar="PATH", help="the app's settings file (default: where the app keeps it)"
    )
    doctor.add_argument("--target", metavar="APP", required=True, help="the app whose file this is, e.g. mastodon")
    doctor.add_argument(
        "--fix", action="store_true", help="after the fixed settings pass the test, write the change into the file"
    )
    doctor.add_argument(
        "--dry-run", action="store_true", default=argparse.SUPPRESS, help="test the fixed settings, write nothing"
    )
    doctor.add_argument(
        "--adopt",
        action="store_true",
        help="also save the working settings as smtpwizard's config (password to the keyring)",
    )
    doctor.add_argument(
        "--env-file",
        metavar="PATH",
        type=Path,
        help="the app's environment from a docker-compose.yml or .env (e.g. Mattermost's MM_EMAILSETTINGS_*) "
        "instead of this shell's",
    )
    doctor.add_argument(
        "--ca-file", metavar="PATH", help="the CA (PEM) to trust for this server: the fix then sets the app's CA file"
    )
    doctor.add_argument("--send-test-to", metavar="ADDR", help="also send a test message to ADDR")
    _add_config_flag(doctor)
    _add_output_flags(doctor)


def cmd_doctor(args: argparse.Namespace, out: Output) -> int:
    from smtpwizard.core.apps import get_app
    from smtpwizard.core.apps.readers import EnvironmentFile, Unreadable, environment_file
    from smtpwizard.core.doctor import examine, load, try_fix
    from smtpwizard.core.settings import validate_email

    try:
        environ = EnvironmentFile(environment_file(args.env_file)) if args.env_file else None
        imported = load(args.target, args.path, environ)
    except Unreadable as exc:
        for problem in exc.problems:  # one line each: file, line, key, problem, fix
            out.error(problem)
        if out.json_mode:
            out.json({"ok": False, "exit_code": int(exc.exit_code), "problems": list(exc.problems)})
        return int(exc.exit_code)
    app = get_app(imported.app)
    dry_run = bool(getattr(args, "dry_run", False))
    store = None
    if args.adopt and not dry_run:
        from smtpwizard.core.secrets import KeyringStore

        store = KeyringStore()
        store.require_usable()  # before any network work: the password must have somewhere to go
    test_to = validate_email(args.send_test_to, "--send-test-to") if args.send_test_to else None
    smtp = imported.smtp
    who = f" as {smtp.username}" if smtp.wants_auth else ""
    out.line(
        f"Read {app.name}'s mail settings from {imported.path}: {smtp.host} port {smtp.port} ({smtp.security}){who}"
    )
    for note in imported.notes:
        out.line(f"  note: {note}")
    if not imported.contradictions:
        out.line(f"Testing as {app.name} will ({app.profile.library})")
    ca_file = str(Path(args.ca_file).expanduser().resolve()) if args.ca_file else None
    result = _run(examine(imported, test_to=test_to, on_stage=out.stage, ca_file=ca_file))
    _render_doctor(out, result)
    if result.diagnosis is not None and (args.fix or dry_run):
        if result.change is not None and (
            result.change.set_keys or result.change.removed_keys or result.change.writes_password
        ):
            out.line(f"Testing the fixed settings as {app.name} will")
        result = _run(try_fix(result, write=args.fix and not dry_run, test_to=test_to, on_stage=out.stage))
        _render_doctor_fix(out, result, app.name)
    if store is not None and result.exit_code == ExitCode.OK and (result.report or result.fixed_report):
        from smtpwizard.core.doctor import adopt

        path = adopt(result, _config_path(args), store)
        out.line(f"Saved the working settings as {path}; the password is in the OS keyring.")
    if out.json_mode:
        out.json(result.to_dict())
    return int(result.exit_code)


def _render_doctor(out: Output, result: Any) -> None:
    if result.report is not None:
        _render_report(out, result.report)  # the transcript with -v
    diagnosis = result.diagnosis
    if diagnosis is None:
        out.line("The settings work as the app will use them.")
        return
    out.line()
    out.line(f"Diagnosis: {diagnosis.title}")
    out.line(f"  {diagnosis.explanation}")
    for detail in diagnosis.details:
        out.line(f"    {detail}")
    out.line(f"  Fix: {result.fix or diagnosis.fix}")  # in the app's own keys
    if result.change is not None and result.change.diff:
        out.line("  Proposed change (password masked):")
        for line in result.change.diff.splitlines():
            out.line(f"    {line}")


def _render_doctor_fix(out: Output, result: Any, name: str) -> None:
    if result.outcome == "no_fix":
        out.line(f"smtpwizard cannot fix this by itself; {name}'s file was not changed.")
    elif result.outcome == "fix_failed":
        out.line(f"The fixed settings fail too; {name}'s file was not changed.")
        if result.fixed_diagnosis is not None:
            _render_diagnosis(out, result.fixed_diagnosis)
    elif result.outcome == "fix_tested":
        out.line("The fixed settings pass the test; nothing was written.")
    elif result.outcome == "fix_shown":
        out.line("The fixed settings pass the test; apply the change above by hand.")
    elif result.outcome == "fixed":
        kept = f" (previous version kept as {result.backup})" if result.backup else ""
        out.line(f"The fixed settings pass the test. Wrote the change into {result.imported.path}{kept}.")
    for note in result.notes:
        out.line(f"  note: {note}")


def cmd_login(args: argparse.Namespace, out: Output) -> int:
    """Interactive once: sign in (auth code + PKCE on a loopback redirect, a pasted redirect URL, or
    a device code) or check a client secret; the refresh token or secret goes to the keyring only."""
    import os

    from smtpwizard.core import oauth
    from smtpwizard.core.config import read_document_file
    from smtpwizard.core.diagnose import oauth_diagnosis
    from smtpwizard.core.errors import FieldError
    from smtpwizard.core.secrets import KeyringStore

    path = _config_path(args)
    document = read_document_file(path, "input")  # a written config or a headless input
    config = document.config
    settings = config.oauth
    if settings is None:
        raise FieldError(
            "oauth", f"{path} has no oauth: block", "login is for smtp.auth: xoauth2 configs (README, 'Modern auth')"
        )
    store = KeyringStore()
    store.require_usable()
    try:
        if settings.flow == "client_credentials":
            secret = None
            if settings.certificate is None:
                source = document.client_secret_source
                if source is not None:
                    secret = oauth.read_client_secret(source, store, os.environ, _read_stdin)
                if secret is None:
                    secret = store.get(oauth.client_secret_ref(config))
                if secret is None:
                    raise FieldError(
                        "oauth.client_secret", "is missing", "give it as {env: NAME}, {file: PATH} or {stdin: true}"
                    )
            tokens = oauth.client_credentials(settings, secret)
            if secret is not None:
                ref = oauth.client_secret_ref(config)
                store.put(ref, secret)
                out.line(f"Client secret stored in the OS keyring ({ref.service}/{ref.account})")
        elif settings.flow == "device_code":
            device = oauth.start_device(settings)
            out.line(f"To sign in, open {device.verification_uri} and enter the code {device.user_code}")
            tokens = oauth.poll_device(settings, device)
        else:
            secret = None
            if document.client_secret_source is not None:  # Google's desktop clients have one
                secret = oauth.read_client_secret(document.client_secret_source, store, os.environ, _read_stdin)
            session = oauth.AuthCodeSession(settings, login_hint=config.smtp.username, client_secret=secret)
            url = session.start()
            out.line("Open this address in a browser and sign in:")
            out.line(f"  {url}")
            if args.paste:
                out.line("Then paste here the address the browser ends on (it starts with http://127.0.0.1):")
                tokens = session.complete(sys.stdin.readline())
            else:
                out.line(f"Waiting for the browser to come back to {session.redirect_uri} ...")
                tokens = session.wait(args.timeout)
            if secret is not None:
                ref = oauth.client_secret_ref(config)
                store.put(ref, secret)
                out.line(f"Client secret stored in the OS keyring ({ref.service}/{ref.account})")
        if settings.flow != "client_credentials" and tokens.refresh_token is None:
            raise oauth.OAuthError("oauth_error", "the provider issued no refresh token (is offline_access allowed?)")
        if tokens.refresh_token is not None and settings.flow != "client_credentials":
            ref = oauth.refresh_token_ref(config)
            oauth.store_refresh_token(store, ref, tokens.refresh_token)
            out.line(f"Refresh token stored in the OS keyring ({ref.service}/{ref.account})")
    except oauth.OAuthError as exc:
        _render_diagnosis(out, oauth_diagnosis(exc.kind, str(exc)))
        return int(exc.exit_code)
    who = tokens.identity or "an unnamed account"
    until = tokens.expires_at.strftime("%Y-%m-%d %H:%M UTC") if tokens.expires_at else "an unknown time"
    out.line(f"Signed in: the access token is for {who}, valid until {until}.")
    if tokens.identity and "@" in tokens.identity and tokens.identity.lower() != (config.smtp.username or "").lower():
        out.warn(f"smtp.username is {config.smtp.username}, but you signed in as {tokens.identity}")
    out.line(f"Next: smtpwizard --from-yaml {path} --yes  (a written config: smtpwizard test --config {path})")
    return 0


def cmd_bridge(args: argparse.Namespace, out: Output) -> int:
    """Hand this config's sign-in to emailproxy and write what the app needs to send through it."""
    import shutil
    from dataclasses import replace

    from smtpwizard.core import oauth
    from smtpwizard.core.bridge import bridge, new_local_password
    from smtpwizard.core.config import dump_config, read_document_file
    from smtpwizard.core.consequences import BRIDGE
    from smtpwizard.core.errors import FieldError, NotAcknowledged, SecretStoreError
    from smtpwizard.core.files import atomic_write, ensure_private_dir
    from smtpwizard.core.secrets import KeyringStore
    from smtpwizard.core.settings import KEYRING_SERVICE, Config, SecretRef, keyring_account, validate_port

    path = _config_path(args)
    config = read_document_file(path, "input").config
    if config.oauth is None:
        raise FieldError(
            "oauth", f"{path} has no oauth: block", "the bridge signs in with OAuth2: see README, 'Modern auth'"
        )
    port = validate_port(args.port, "--port")
    certificate = None
    if args.tls_cert is not None:
        for flag, given in (("--tls-cert", args.tls_cert), ("--tls-ca", args.tls_ca)):
            if given is not None and not given.expanduser().is_file():
                raise FieldError(flag, f"'{given}' does not exist", "give the path of a PEM file")
        pem = str(args.tls_cert.expanduser().resolve())
        certificate = (pem, pem)  # one file holds both; emailproxy loads it with ssl's load_cert_chain
    _render_consequences(out, list(BRIDGE))
    if not args.yes and not _ask(list(BRIDGE), out):
        raise NotAcknowledged("consequences not acknowledged; read them above and run again with --yes to accept them")
    store = KeyringStore()
    store.require_usable()
    refresh = secret = None
    if config.oauth.flow == "client_credentials":
        secret = store.get(oauth.client_secret_ref(config)) if config.oauth.certificate is None else None
    else:
        refresh = store.get(oauth.refresh_token_ref(config))
        if refresh is None:
            raise SecretStoreError("keyring: no refresh token for this config; run 'smtpwizard login' first")
    password = new_local_password()
    directory: Path = args.out.expanduser()
    made = bridge(
        config,
        refresh_token=refresh,
        client_secret=secret,
        local_password=password,
        local_port=port,
        local_certificate=certificate,
        config_path=str(directory.resolve() / "emailproxy.config"),
        executable=shutil.which("emailproxy") or "/usr/local/bin/emailproxy",  # systemd wants an absolute path
    )
    ref = SecretRef(KEYRING_SERVICE, keyring_account(config.profile, config.smtp.username, "127.0.0.1", port))
    ca_file = str(args.tls_ca.expanduser().resolve()) if certificate is not None and args.tls_ca else None
    app = Config(
        smtp=replace(made.app_settings, password=ref, ca_file=ca_file),
        sender=config.sender,
        profile=config.profile,
        target=args.target or config.target,
        provider="custom",
    )
    ensure_private_dir(directory)
    store.put(ref, password)
    atomic_write(directory / "emailproxy.config", made.config_text, keep_backup=False)
    atomic_write(directory / "emailproxy.service", made.systemd_unit, keep_backup=False)
    atomic_write(directory / "compose.yaml", made.compose_service, keep_backup=False)
    atomic_write(directory / "app.yaml", dump_config(app), keep_backup=False)
    if refresh is not None:
        store.delete(oauth.refresh_token_ref(config))  # handed over: it rotates in emailproxy from now on
    out.line(f"Wrote {directory}/emailproxy.config (tokens encrypted with the local password), emailproxy.service,")
    out.line(f"compose.yaml, and app.yaml (the app sends to 127.0.0.1:{port} as {config.smtp.username}).")
    out.line(f"Local password stored in the OS keyring ({ref.service}/{ref.account}).")
    out.line(f"Next: start emailproxy, then: smtpwizard test --config {directory}/app.yaml")
    out.line(f"      and: smtpwizard export --config {directory}/app.yaml --reveal-secret")
    return 0


# --- check-domain: will mail from the sender's domain land in the inbox? --------------------

CHECK_DOMAIN_EXIT = """\
exit codes of check-domain:
    0  the domain is ready for this provider (warnings may remain), or nothing
       wrong was found but DKIM needs --dkim-selector to finish (verdict "incomplete")
   64  wrong command-line usage
   65  ADDRESS (or the config's sender) has no valid domain, or a DNS setting is malformed
   66  no ADDRESS given and no config file to take it from
   75  a DNS look-up failed (SERVFAIL, timeout): no verdict; try again
   78  a record is missing or wrong: the report lists what to add
"""


def _add_check_domain_parser(commands: Any) -> None:
    check = commands.add_parser(
        "check-domain",
        help="check the sender domain's DKIM, SPF, DMARC and MX for the provider (will it land in the inbox?)",
        epilog=CHECK_DOMAIN_EXIT
        + "\nThe DNS server: --dns, else SMTPWIZARD_DNS=IP[:PORT], else the system's resolvers.\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("address", nargs="?", metavar="ADDRESS", help="the sender address (default: the config's)")
    check.add_argument(
        "--provider", metavar="ID", help="the provider that sends (default: the config's, else found from the domain)"
    )
    check.add_argument(
        "--dkim-selector",
        metavar="SELECTOR",
        action="append",
        help="your DKIM selector when the provider gives each domain its own (SES tokens, Postmark, Mailgun); repeatable",
    )
    check.add_argument("--return-path", metavar="DOMAIN", help="your custom MAIL FROM / return-path domain, if set")
    check.add_argument(
        "--dns", metavar="IP[:PORT]", help="ask this DNS server (default: $SMTPWIZARD_DNS or the system's)"
    )
    check.add_argument("--dns-timeout", metavar="SECONDS", type=float, help="per-query timeout (default 1.5)")
    _add_config_flag(check)
    check.add_argument("--json", action="store_true", help="print one machine-readable JSON report on stdout")


def _domain_dns_config(args: argparse.Namespace) -> Any:
    from smtpwizard.core.domain.resolver import DnsConfig

    return DnsConfig.from_env(timeout_s=args.dns_timeout, server=args.dns)


def cmd_check_domain(args: argparse.Namespace, out: Output) -> int:
    from smtpwizard.core.domain.check import DomainCheckOptions, check_domain, dkim_selectors
    from smtpwizard.core.errors import FieldError

    address, provider = args.address, args.provider
    if address is None or provider is None:
        from smtpwizard.core.config import read_document_file

        path = _config_path(args)
        skip = address is not None and not path.exists()  # an address alone needs no config
        config = None if skip else read_document_file(path, "config").config
        address = address or (config.sender.address if config else None)
        provider = provider or (config.provider if config else None)
    if provider is not None and provider != "custom":
        from smtpwizard.core.providers import provider_ids

        if provider not in provider_ids():
            raise FieldError("--provider", f"'{provider}' is not a known provider", "run 'smtpwizard providers'")
    options = DomainCheckOptions(dkim_selectors(args.dkim_selector or ()), args.return_path)
    dns = _domain_dns_config(args)
    proposal = _propose(address, dns, out) if provider is None else None
    if proposal is not None:
        provider = proposal.provider_id
    report = _run(check_domain(address, provider, dns, options))
    _render_domain_report(out, report)
    if out.json_mode:
        out.json(
            {
                "ok": report.exit_code == ExitCode.OK,  # as in every report; "verdict" says ready or incomplete
                **report.to_dict(),
                "proposed_provider": proposal.to_dict() if proposal else None,
            }
        )
    return int(report.exit_code)


def _propose(address: str, dns: Any, out: Output) -> Any:
    """The provider found from the domain (MX, SRV), announced; None when nothing points to one."""
    from smtpwizard.core.domain.check import sender_domain
    from smtpwizard.core.domain.detect import LookupFailed, propose_provider

    sender_domain(address)  # a bad address is reported as such, before any look-up
    try:
        proposal = _run(propose_provider(address, dns))
    except LookupFailed:
        return None  # the check itself reports the failing look-ups
    if proposal is not None:
        out.line(f"Provider from the domain: {proposal.provider_name}. {proposal.reason}")
    return proposal


def _render_domain_report(out: Output, report: Any) -> None:
    marks = {"ok": "ok  ", "info": "note", "warning": "warn", "unchecked": "--  ", "problem": "FIX ", "unknown": "??  "}
    out.line(f"Sender domain {report.domain}, sending through {report.provider_name}:")
    for finding in report.findings:
        out.line(f"  {marks[finding.severity]} {finding.title}")
        if finding.severity != "ok":
            out.line(f"       {finding.explanation}")
            if finding.fix:
                out.line(f"       {finding.fix}")
            for record in finding.records:
                out.line(f"         {record.name}  {record.type}  {record.value}")
    from smtpwizard.core.domain_findings import VERDICTS

    out.line(f"{VERDICTS[report.verdict]} ({report.queries} DNS queries, {report.elapsed_s * 1000:.0f} ms)")


def _domain_check_json(config: Any) -> dict[str, Any] | None:
    """The sender-domain check for apply/test --json, after SMTP passed; never changes their exit code.
    Skipped for documentation domains, which have no DNS to check."""
    import os

    from smtpwizard.core.domain.check import check_domain, is_documentation_domain, sender_domain
    from smtpwizard.core.domain.resolver import DnsConfig

    try:
        domain = sender_domain(config.sender.address)
        if is_documentation_domain(domain):
            return {"skipped": f"{domain} is reserved for documentation (RFC 2606)"}
        report = _run(check_domain(config.sender.address, config.provider, DnsConfig.from_env(os.environ)))
    except WizardError as exc:
        return {"skipped": str(exc)}
    return report.to_dict()


def _run_tui(args: argparse.Namespace) -> int:
    from smtpwizard.ui.app import run_wizard  # the only place textual is pulled in

    return run_wizard(config_path=args.config)


def main(argv: list[str] | None = None, out: IO[str] | None = None, err: IO[str] | None = None) -> int:
    """Entry point of the ``smtpwizard`` command; returns the exit code."""
    words = sys.argv[1:] if argv is None else argv
    parser = build_parser(quiet=any(word in ("-q", "--quiet") for word in words))
    args = parser.parse_args(argv)
    json_mode = bool(getattr(args, "json", False))
    output = Output(
        json_mode,
        bool(getattr(args, "quiet", False)),
        bool(getattr(args, "verbose", False)),
        out or sys.stdout,
        err or sys.stderr,
    )
    headless = args.command is not None or args.from_yaml is not None
    restore_sigterm = _handle_sigterm() if headless else None  # the TUI handles SIGTERM in its own loop
    try:
        if args.command == "apply":
            return cmd_apply(args, args.file, output)
        if args.from_yaml is not None:
            return cmd_apply(args, args.from_yaml, output)
        if args.command == "test":
            return cmd_test(args, output)
        if args.command == "providers":
            return cmd_providers(args, output)
        if args.command == "detect":
            return cmd_detect(args, output)
        if args.command == "export":
            return cmd_export(args, output)
        if args.command == "forget":
            return cmd_forget(args, output)
        if args.command == "doctor":
            return cmd_doctor(args, output)
        if args.command == "login":
            return cmd_login(args, output)
        if args.command == "bridge":
            return cmd_bridge(args, output)
        if args.command == "check-domain":
            return cmd_check_domain(args, output)
        return _run_tui(args)
    except WizardError as exc:
        with contextlib.suppress(OutputFailed):  # the exit code still tells what happened
            output.error(str(exc))
            if json_mode and not isinstance(exc, OutputFailed):
                output.json(_error_json(exc))
        return int(exc.exit_code)
    except Terminated:
        output.error("terminated (SIGTERM); nothing was written")
        return int(ExitCode.TERMINATED)
    except KeyboardInterrupt:
        output.error("interrupted; nothing was written")
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:  # the last resort behind the documented exit code 70
        message = f"internal error ({_where(exc)}); please report it"
        with contextlib.suppress(OutputFailed):
            output.error(message)
            output.json({"ok": False, "exit_code": int(ExitCode.SOFTWARE), "error": message})
        return int(ExitCode.SOFTWARE)
    finally:
        if restore_sigterm is not None:
            restore_sigterm()


def _where(exc: BaseException) -> str:
    """The exception's type and the innermost line that raised it; never its message, which
    could quote a secret."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} at {Path(last.filename).name}:{last.lineno}"


def main_entry() -> NoReturn:
    """Console-script wrapper: exit with main()'s code."""
    raise SystemExit(main())
