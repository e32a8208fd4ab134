"""The live test: resolve, connect, greeting, EHLO, STARTTLS/TLS, certificate, AUTH,
optional test message, QUIT. Every stage is timed; a failure stops the test and is
recorded as a :class:`Failure` for :mod:`smtpwizard.core.diagnose`.

Rules kept here: STARTTLS is required when asked for (never a silent plaintext
fallback); credentials never cross an unencrypted connection unless the settings allow
it; AUTH is attempted at most once per test.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import email.policy
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from enum import StrEnum
from typing import Any, Literal

import aiosmtplib
from aiosmtplib import errors as smtp_errors
from aiosmtplib.protocol import SMTPProtocol
from aiosmtplib.response import SMTPResponse

from smtpwizard.core.apps.base import LOCALHOST_NAMES, ClientProfile
from smtpwizard.core.display import safe_text
from smtpwizard.core.errors import FieldError, InputMissing, one_line
from smtpwizard.core.settings import Secret, Sender, SmtpSettings, wire_address


class Stage(StrEnum):
    RESOLVE = "resolve"
    CONNECT = "connect"
    TLS = "tls"
    BANNER = "banner"
    EHLO = "ehlo"
    STARTTLS = "starttls"
    EHLO_TLS = "ehlo_tls"
    AUTH = "auth"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"
    QUIT = "quit"

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]


STAGE_LABELS: dict[Stage, str] = {
    Stage.RESOLVE: "Resolve host name",
    Stage.CONNECT: "Connect",
    Stage.TLS: "TLS handshake and certificate",
    Stage.BANNER: "Server greeting",
    Stage.EHLO: "EHLO",
    Stage.STARTTLS: "STARTTLS",
    Stage.EHLO_TLS: "EHLO over TLS",
    Stage.AUTH: "Log in (AUTH)",
    Stage.MAIL: "Sender (MAIL FROM)",
    Stage.RCPT: "Recipient (RCPT TO)",
    Stage.DATA: "Test message (DATA)",
    Stage.QUIT: "Quit",
}

Status = Literal["running", "ok", "failed", "skipped"]

# What went wrong, in a closed vocabulary the diagnosis catalog is keyed on.
FailureKind = Literal[
    "dns",
    "refused",
    "connect_timeout",
    "unreachable",
    "banner_timeout",
    "banner_rejected",
    "tls_wrong_version",
    "tls_handshake",
    "tls_timeout",
    "cert_untrusted",
    "cert_self_signed",
    "cert_hostname",
    "cert_expired",
    "cert_not_yet_valid",
    "ehlo_rejected",
    "starttls_missing",
    "starttls_refused",
    "insecure_auth",
    "auth_missing",
    "auth_no_common_mechanism",
    "auth_rejected",
    "sender_refused",
    "recipient_refused",
    "data_refused",
    "smtputf8_missing",
    "ehlo_unsupported",
    "tls_outdated",
    "tls_client_certificate",
    "disconnected",
    "timeout",
    "protocol",
    # The app the test speaks as (its ClientProfile) would fail where smtpwizard's own client could not.
    "app_no_implicit_tls",
    "app_charset",
    "app_plaintext_login",
    "app_no_mechanism",
    "app_no_xoauth2",
    # XOAUTH2: no access token could be obtained (core/oauth.py says why; the catalog keys on these).
    "oauth_not_signed_in",
    "oauth_invalid_grant",
    "oauth_consent_required",
    "oauth_scope_missing",
    "oauth_invalid_client",
    "oauth_wrong_tenant",
    "oauth_blocked_by_policy",
    "oauth_denied",
    "oauth_device_expired",
    "oauth_timeout",
    "oauth_unreachable",
    "oauth_keyring",
    "oauth_error",
]
TokenFailureKind = FailureKind


@dataclass(frozen=True)
class BearerToken:
    """An OAuth access token for XOAUTH2, with whose it is and until when (for the report)."""

    token: Secret
    identity: str | None
    expires_at: datetime | None


@dataclass(frozen=True)
class TokenFailure:
    kind: TokenFailureKind
    message: str


TokenSource = Callable[[], "BearerToken | TokenFailure"]  # blocking (HTTP): run in a thread


@dataclass(frozen=True)
class ProbeOptions:
    """Timeouts of the stages that have an answer sooner than the overall timeout."""

    resolve_timeout_s: float = 5.0
    connect_timeout_s: float = 3.0
    banner_timeout_s: float = 3.0


@dataclass
class StageResult:
    stage: Stage
    status: Status
    elapsed_s: float = 0.0
    detail: str = ""
    handshake_s: float | None = None  # connect: the winning attempt's own TCP handshake (about one round trip)


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    issuer: str
    not_before: str
    not_after: str
    sans: tuple[str, ...] = ()


@dataclass(frozen=True)
class TlsInfo:
    version: str
    cipher: str
    certificate: CertificateInfo | None
    verified: bool


@dataclass(frozen=True)
class Failure:
    stage: Stage
    kind: FailureKind
    message: str
    code: int | None = None
    certificate: CertificateInfo | None = None


@dataclass
class ProbeReport:
    host: str
    port: int
    security: str
    stages: list[StageResult] = field(default_factory=list)
    failure: Failure | None = None
    address: str | None = None
    banner: str | None = None
    capabilities: dict[str, str] = field(default_factory=dict)
    auth_offered: tuple[str, ...] = ()
    helo_only: bool = False  # EHLO was unknown: greeted with HELO, so no extensions at all
    auth_used: str | None = None
    tls: TlsInfo | None = None
    test_message_to: str | None = None
    message_id: str | None = None
    transcript: list[str] = field(default_factory=list)
    started_at: str = ""
    elapsed_s: float = 0.0
    token_identity: str | None = None  # XOAUTH2: whose token was sent
    token_expires_at: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None and bool(self.stages)

    def stage(self, stage: Stage) -> StageResult | None:
        for result in self.stages:
            if result.stage == stage:
                return result
        return None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``; holds no secret (the transcript is redacted)."""
        failure = None
        if self.failure is not None:
            failure = {
                "stage": self.failure.stage.value,
                "kind": self.failure.kind,
                "code": self.failure.code,
                "message": self.failure.message,
            }
        tls = None
        if self.tls is not None:
            cert = self.tls.certificate
            tls = {
                "version": self.tls.version,
                "cipher": self.tls.cipher,
                "verified": self.tls.verified,
                "certificate": None if cert is None else cert.__dict__ | {"sans": list(cert.sans)},
            }
        return {
            "ok": self.ok,
            "host": self.host,
            "port": self.port,
            "security": self.security,
            "address": self.address,
            "started_at": self.started_at,
            "elapsed_s": round(self.elapsed_s, 3),
            "stages": [
                {"stage": r.stage.value, "status": r.status, "elapsed_s": round(r.elapsed_s, 3), "detail": r.detail}
                for r in self.stages
            ],
            "failure": failure,
            "banner": self.banner,
            "capabilities": self.capabilities,
            "auth_offered": list(self.auth_offered),
            "helo_only": self.helo_only,
            "auth_used": self.auth_used,
            "tls": tls,
            "test_message_to": self.test_message_to,
            "message_id": self.message_id,
            "transcript": self.transcript,
            "oauth": None
            if self.token_identity is None and self.token_expires_at is None
            else {"identity": self.token_identity, "expires_at": self.token_expires_at},
        }


StageCallback = Callable[[StageResult], None]

INVALID_REPLY = -1  # aiosmtplib's code for a line that is not an SMTP reply
# OpenSSL's reasons when the versions do not meet (the server's alert, or this side's refusal).
OUTDATED_TLS_REASONS = frozenset(
    {"TLSV1_ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL", "NO_PROTOCOLS_AVAILABLE", "VERSION_TOO_LOW"}
)
CLIENT_CERTIFICATE_REASONS = frozenset({"TLSV13_ALERT_CERTIFICATE_REQUIRED", "PEER_DID_NOT_RETURN_A_CERTIFICATE"})
TLS_CERTIFICATE_REQUEST = 13  # HandshakeType certificate_request (RFC 8446 4)
EHLO_UNKNOWN = (500, 502)  # "command unrecognized" / "not implemented": an old server that wants HELO
MAX_DETAIL = 300  # characters of server text kept in a stage detail or failure message
MAX_SANS = 20  # names kept from a certificate's subjectAltName (a hostile one may carry thousands)
CONNECTION_ATTEMPT_DELAY_S = 0.25  # RFC 8305 5: the recommended delay before the next address is tried

# Preference of `auth: auto`. Over TLS, PLAIN with an initial response: one round trip, and
# TLS already protects it (CRAM-MD5 is historic: MD5, plaintext storage on the server). Without
# TLS (only with allow_insecure_auth), CRAM-MD5 first: it never sends the password itself.
AUTH_PREFERENCE_TLS = ("PLAIN", "LOGIN", "CRAM-MD5")
AUTH_PREFERENCE_PLAIN = ("CRAM-MD5", "PLAIN", "LOGIN")


class _Client(aiosmtplib.SMTP):
    """aiosmtplib's client, keeping its last protocol after a failed connect, so a greeting
    that began but never finished can be told from silence."""

    last_protocol: object = None

    @property
    def protocol(self) -> SMTPProtocol | None:
        return self._strict_protocol

    @protocol.setter
    def protocol(self, value: SMTPProtocol | None) -> None:
        if value is not None:
            _reject_mixed_codes(value)
        self._strict_protocol = value

    def close(self) -> None:
        if self.protocol is not None:
            self.last_protocol = self.protocol
        super().close()


def _reject_mixed_codes(protocol: SMTPProtocol) -> None:
    """Make ``protocol`` refuse a multi-line reply whose lines carry different codes.

    aiosmtplib keeps only the last line's code, so ``535-no`` then ``235 ok`` would count as
    logged in. RFC 5321 4.2.1: every line of a reply carries the same code. (Wraps a private
    parser of aiosmtplib 5; the reply is checked before it is parsed.)
    """
    parse = protocol._read_response_from_buffer

    def checked() -> SMTPResponse | None:
        codes = _complete_reply_codes(bytes(protocol._buffer))
        if len(set(codes)) > 1:
            del protocol._buffer[:]
            first, last = (code.decode("ascii", "replace") for code in (codes[0], codes[-1]))
            raise smtp_errors.SMTPResponseException(
                INVALID_REPLY, f"the lines of one reply carry different codes ({first} then {last})"
            )
        return parse()

    setattr(protocol, "_read_response_from_buffer", checked)  # noqa: B010 - an instance, not the class


def _complete_reply_codes(buffer: bytes) -> list[bytes]:
    """The code of each line of the first complete reply in ``buffer`` ([] if none is complete)."""
    codes = []
    for line in buffer.split(b"\n")[:-1]:  # the part after the last line end is not a line yet
        codes.append(line[:3])
        if line[3:4] != b"-":
            return codes
    return []


class _Stop(Exception):
    """Internal: a stage failed; the report already holds the failure."""


class _CallbackFailed(Exception):
    """Internal: the stage callback raised; carried past the stages' handlers, then re-raised."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class _Probe:
    def __init__(
        self,
        settings: SmtpSettings,
        password: Secret | None,
        sender: Sender | None,
        test_to: str | None,
        options: ProbeOptions,
        on_stage: StageCallback | None,
        profile: ClientProfile | None = None,
        token_source: TokenSource | None = None,
    ) -> None:
        self.token_source = token_source  # XOAUTH2: fetches the access token at AUTH
        self.profile = profile  # with a profile, the test connects as that app's mail client does
        self.settings = settings
        self.password = password
        self.sender = sender
        self.test_to = test_to
        self.options = options
        self.on_stage = on_stage
        self.report = ProbeReport(host=settings.host, port=settings.port, security=settings.security)
        self.deadline = 0.0
        self.smtp: _Client | None = None
        self.sock: socket.socket | None = None
        self._secrets: list[str] = []
        if password is not None:
            self._secrets = _secret_forms(settings.username or "", password.reveal())

    # --- bookkeeping ----------------------------------------------------------------

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def budget(self, stage_limit: float | None = None) -> float:
        left = self.remaining()
        if left <= 0:
            raise TimeoutError
        return min(left, stage_limit) if stage_limit else left

    def redact(self, text: str) -> str:
        """Server text made safe to show: secrets masked, then through the one safe-display function."""
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "********")
        return safe_text(text)

    def log(self, direction: str, text: str) -> None:
        for line in text.splitlines() or [""]:
            self.report.transcript.append(f"{direction}: {self.redact(line)}")

    def log_reply(self, reply: aiosmtplib.SMTPResponse) -> None:
        lines = reply.message.splitlines() or [""]
        for i, line in enumerate(lines):
            sep = " " if i == len(lines) - 1 else "-"
            self.log("S", f"{reply.code}{sep}{line}")

    def begin(self, stage: Stage) -> StageResult:
        result = StageResult(stage, "running")
        self.report.stages.append(result)
        self.notify(result)
        return result

    def notify(self, result: StageResult) -> None:
        """Tell the front end; its failure (e.g. stdout cannot be written) is its own, never the server's."""
        if self.on_stage is None:
            return
        try:
            self.on_stage(result)
        except Exception as exc:
            raise _CallbackFailed(exc) from exc

    def end(self, result: StageResult, started: float, status: Status, detail: str = "") -> None:
        result.status = status
        result.elapsed_s = time.monotonic() - started
        result.detail = self.redact(" / ".join(detail.split("\n")))  # a multi-line reply on one line
        self.notify(result)

    def skip(self, stage: Stage, detail: str) -> None:
        result = StageResult(stage, "skipped", 0.0, detail)
        self.report.stages.append(result)
        self.notify(result)

    def fail(
        self,
        result: StageResult,
        started: float,
        kind: FailureKind,
        message: str,
        code: int | None = None,
        certificate: CertificateInfo | None = None,
    ) -> _Stop:
        message = self.redact(" ".join(message.split()))
        if len(message) > MAX_DETAIL:
            message = message[:MAX_DETAIL] + f"... ({len(message)} characters)"
        self.end(result, started, "failed", message)
        self.report.failure = Failure(result.stage, kind, message, code, certificate)
        return _Stop()

    # --- the stages ------------------------------------------------------------------

    async def run(self) -> ProbeReport:
        started = time.monotonic()
        self.deadline = started + self.settings.timeout_s
        self.report.started_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.settings.security != "none":
            self.tls_context()  # an unusable ca_file is the user's to fix: raised before any network work
        try:
            await self.stages()
            self.close()
            await self.explain_tls_hang_up()
        except _CallbackFailed as failed:
            raise failed.error from None
        finally:
            self.close()
            self.report.elapsed_s = time.monotonic() - started
        return self.report

    async def stages(self) -> None:
        try:
            self._app_can_connect()
            addresses = await self.resolve()
            await self.connect(addresses)
            await self.greet()
            if self.settings.security == "starttls" or self._app_upgrades_anyway():
                await self.starttls()
            elif self.settings.security == "none":
                self.skip(Stage.STARTTLS, "security is none: the connection stays unencrypted")
            await self.authenticate()
            if self.sender is not None:
                await self.envelope()
            await self.quit()
        except _Stop:
            pass
        except (smtp_errors.SMTPException, OSError, EOFError, ValueError) as exc:
            self._unforeseen(exc)  # server behaviour no stage expected: a diagnosis, never a traceback

    def _unforeseen(self, exc: BaseException) -> None:
        running = [r for r in self.report.stages if r.status == "running"]
        result = running[-1] if running else self.begin(Stage.CONNECT)
        label = result.stage.label
        started = time.monotonic() - result.elapsed_s
        kind: FailureKind
        if isinstance(exc, smtp_errors.SMTPServerDisconnected | ConnectionError | EOFError):
            kind, message = "disconnected", f"the server closed the connection during {label}"
        elif isinstance(exc, smtp_errors.SMTPTimeoutError | TimeoutError):
            kind, message = "timeout", f"no answer during {label} before the timeout"
        elif isinstance(exc, ssl.SSLError):
            kind, message = "tls_handshake", f"TLS failed: {exc.reason or exc}"
        elif isinstance(exc, smtp_errors.SMTPResponseException):
            kind, message = "protocol", f"the server's reply is not valid SMTP: {exc.message}"
        else:
            kind, message = "protocol", f"the server's reply could not be understood ({type(exc).__name__}: {exc})"
        self.fail(result, started, kind, message)

    async def resolve(self) -> list[tuple[Any, ...]]:
        result = self.begin(Stage.RESOLVE)
        t0 = time.monotonic()
        try:
            infos = await asyncio.wait_for(
                resolve_abandonable(self.settings.host, self.settings.port),
                self.budget(self.options.resolve_timeout_s),
            )
        except socket.gaierror as exc:
            raise self.fail(result, t0, "dns", f"{self.settings.host}: {exc.strerror}") from None
        except TimeoutError:
            raise self.fail(result, t0, "dns", f"no DNS answer for {self.settings.host} in time") from None
        shown = sorted({str(info[4][0]) for info in infos})
        self.end(result, t0, "ok", ", ".join(shown[:4]))
        return list(infos)

    async def connect(self, infos: list[tuple[Any, ...]]) -> None:
        """Happy Eyeballs v2 (RFC 8305): the families interleaved, a new attempt every 250 ms
        (at once when one fails) while the earlier ones keep going; the first to connect wins."""
        result = self.begin(Stage.CONNECT)
        t0 = time.monotonic()
        attempts: dict[asyncio.Task[socket.socket], tuple[Any, ...]] = {}
        started_at: dict[asyncio.Task[socket.socket], float] = {}
        failures: dict[asyncio.Task[socket.socket], tuple[FailureKind, str]] = {}
        winner: asyncio.Task[socket.socket] | None = None
        queue = interleave_families(infos)
        won_at = t0
        try:
            while winner is None and (queue or len(failures) < len(attempts)):
                if queue:
                    info = queue.pop(0)
                    task = asyncio.create_task(self._attempt(info))
                    attempts[task], started_at[task] = info, time.monotonic()
                pending = [t for t in attempts if t not in failures]  # a finished one is taken at once
                delay = CONNECTION_ATTEMPT_DELAY_S if queue else None
                finished, _ = await asyncio.wait(pending, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
                won_at = time.monotonic()
                for task in sorted(finished, key=started_at.__getitem__):
                    failure = self._attempt_failure(task, attempts[task])
                    if failure is not None:
                        failures[task] = failure
                    elif winner is None:
                        winner = task
                        self.sock = task.result()  # owned from here on: close() releases it even if cancelled
        finally:
            for task in attempts:
                if task is not winner:
                    task.cancel()
                    task.add_done_callback(_close_if_connected)
            await asyncio.gather(*(t for t in attempts if t is not winner), return_exceptions=True)
        if winner is None:
            kind, message = list(failures.values())[-1] if failures else ("unreachable", "no address to connect to")
            if len(failures) > 1:
                message = "; ".join(m for _k, m in failures.values())
            raise self.fail(result, t0, kind, message)
        address = str(attempts[winner][4][0])
        self.report.address = address
        result.handshake_s = won_at - started_at[winner]
        others = [m for _k, m in failures.values()] + [
            f"{info[4][0]}: no answer within {(won_at - started_at[t]) * 1000:.0f} ms, abandoned"
            for t, info in attempts.items()
            if t is not winner and t not in failures
        ]
        tried = f" (first to connect of {len(attempts)} tried; {'; '.join(others)})" if others else ""
        self.end(result, t0, "ok", f"{address} port {self.settings.port}{tried}")

    async def _attempt(self, info: tuple[Any, ...]) -> socket.socket:
        """One TCP handshake, with the connect timeout of its own (the overall timeout caps it)."""
        family, type_, proto, _canon, sockaddr = info
        sock = socket.socket(family, type_, proto)
        sock.setblocking(False)
        try:
            loop = asyncio.get_running_loop()
            await asyncio.wait_for(loop.sock_connect(sock, sockaddr), self.budget(self.options.connect_timeout_s))
        except BaseException:
            sock.close()
            raise
        return sock

    def _attempt_failure(
        self, task: asyncio.Task[socket.socket], info: tuple[Any, ...]
    ) -> tuple[FailureKind, str] | None:
        """How a finished attempt failed (kind, message), or None if it connected."""
        address, port = str(info[4][0]), self.settings.port
        exc = task.exception()
        if exc is None:
            return None
        if isinstance(exc, ConnectionRefusedError):
            return "refused", f"{address} port {port} refused the connection"
        if isinstance(exc, TimeoutError):
            timeout = self.options.connect_timeout_s
            return "connect_timeout", f"no answer from {address} port {port} within {timeout:g} s"
        if isinstance(exc, OSError):
            return "unreachable", f"{address}: {exc.strerror or exc}"
        raise exc

    @property
    def verifies(self) -> bool:
        """An app without a switch for certificate checks verifies whatever the settings say."""
        return self.settings.verify_certificate or (self.profile is not None and self.profile.verify_switch is None)

    def tls_context(self) -> ssl.SSLContext:
        if not self.verifies:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        # An app without a CA-file setting trusts only the system store (and SSL_CERT_FILE).
        app_reads_ca_file = self.profile is None or self.profile.ca_file_setting is not None
        return verifying_context(self.settings.ca_file if app_reads_ca_file else None, "smtp.ca_file")

    async def greet(self) -> None:
        implicit = self.settings.security == "tls"
        assert self.sock is not None
        self.smtp = _Client(
            hostname=self.settings.host,  # with sock=, used only for SNI and certificate checks
            use_tls=implicit,
            start_tls=False,
            tls_context=self.tls_context() if implicit else None,
            local_hostname=self.settings.helo_domain or "localhost",
            timeout=self.settings.timeout_s,
            sock=self.sock,
        )
        self.sock = None  # aiosmtplib owns it now
        tls_result = self.begin(Stage.TLS) if implicit else None
        banner_result = None if implicit else self.begin(Stage.BANNER)
        t0 = time.monotonic()
        limit = self.options.banner_timeout_s + (self.options.connect_timeout_s if implicit else 0)
        try:
            reply = await self.smtp.connect(timeout=self.budget(limit))
        except smtp_errors.SMTPConnectTimeoutError:
            if implicit and self.smtp.transport is None:
                assert tls_result is not None
                raise self.fail(
                    tls_result,
                    t0,
                    "tls_timeout",
                    f"the TLS handshake did not complete within {limit:g} s",
                ) from None
            stage_result = banner_result or self._tls_done_then_banner(tls_result, t0)
            partial = self._unread()
            if partial:  # it said something, just not a whole greeting: not a TLS/plaintext mix-up
                raise self.fail(
                    stage_result,
                    t0,
                    "protocol",
                    f"the server began a greeting but did not finish it within {limit:g} s: {partial!r}",
                ) from None
            raise self.fail(
                stage_result,
                t0,
                "banner_timeout",
                f"connected, but the server sent no greeting within {self.options.banner_timeout_s:g} s",
            ) from None
        except smtp_errors.SMTPConnectResponseError as exc:
            stage_result = banner_result or self._tls_done_then_banner(tls_result, t0)
            self.log("S", f"{exc.code} {exc.message}")
            raise self.fail(stage_result, t0, "banner_rejected", exc.message, exc.code) from None
        except smtp_errors.SMTPConnectError as exc:
            cause = exc.__cause__
            if implicit and isinstance(cause, ssl.SSLError):
                assert tls_result is not None
                raise await self._tls_failure(tls_result, t0, cause) from None
            stage_result = banner_result or self._tls_done_then_banner(tls_result, t0)
            raise self.fail(
                stage_result, t0, "disconnected", "the server closed the connection before greeting"
            ) from None
        except TimeoutError:
            current = banner_result or tls_result
            assert current is not None
            raise self.fail(current, t0, "timeout", "the overall timeout ran out") from None
        if implicit:
            assert tls_result is not None
            self._record_tls(tls_result, t0)
            banner_result = self.begin(Stage.BANNER)
        assert banner_result is not None
        self.report.banner = self.redact(reply.message.splitlines()[0])[:MAX_DETAIL] if reply.message else ""
        self.log_reply(reply)
        self.end(banner_result, t0, "ok", self.report.banner)
        await self.ehlo(Stage.EHLO_TLS if implicit else Stage.EHLO)

    def _unread(self) -> str:
        """What the server sent that aiosmtplib has not parsed into a reply yet (if it says)."""
        protocol = self.smtp and (self.smtp.protocol or self.smtp.last_protocol)
        buffer = getattr(protocol, "_buffer", None)
        return bytes(buffer[:80]).decode("utf-8", "replace") if buffer else ""

    def _tls_done_then_banner(self, tls_result: StageResult | None, t0: float) -> StageResult:
        """After implicit TLS, a greeting problem belongs to the banner stage."""
        if tls_result is not None:
            self._record_tls(tls_result, t0)
        return self.begin(Stage.BANNER)

    def _record_tls(self, result: StageResult, t0: float) -> None:
        assert self.smtp is not None
        ssl_object = self.smtp.get_transport_info("ssl_object")
        if ssl_object is None:
            self.end(result, t0, "ok", "")
            return
        cert = _certificate_from_ssl(ssl_object)
        cipher = ssl_object.cipher()
        info = TlsInfo(
            version=ssl_object.version() or "",
            cipher=cipher[0] if cipher else "",
            certificate=cert,
            verified=self.verifies,
        )
        self.report.tls = info
        detail = f"{info.version}, {info.cipher}"
        if cert is not None:
            detail += f"; certificate for {cert.subject}, valid until {cert.not_after}"
        if not self.verifies:
            detail += "; certificate NOT verified (verify_certificate: false)"
        self.end(result, t0, "ok", detail)

    async def _tls_failure(self, result: StageResult, t0: float, exc: ssl.SSLError) -> _Stop:
        if isinstance(exc, ssl.SSLCertVerificationError):
            kind = _cert_failure_kind(exc)
            cert = await self._fetch_certificate()
            return self.fail(result, t0, kind, exc.verify_message or str(exc), certificate=cert)
        reason = (exc.reason or "").upper()
        if reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST"):
            return self.fail(result, t0, "tls_wrong_version", f"TLS handshake failed: {exc.reason}")
        if reason in OUTDATED_TLS_REASONS:
            return self.fail(result, t0, "tls_outdated", f"TLS handshake failed: {exc.reason}")
        if reason in CLIENT_CERTIFICATE_REASONS:
            return self.fail(result, t0, "tls_client_certificate", f"TLS handshake failed: {exc.reason}")
        return self.fail(result, t0, "tls_handshake", f"TLS handshake failed: {exc.reason or exc}")

    async def explain_tls_hang_up(self) -> None:
        """A server that drops the connection in or right after the TLS handshake says nothing
        about why (asyncio-based servers send no alert). Ask with a second, diagnostic handshake
        (no verification, no credentials, old versions allowed) whether it only speaks an
        outdated TLS version or wants a client certificate."""
        failure = self.report.failure
        if failure is None or failure.kind not in ("disconnected", "tls_handshake"):
            return
        after_tls = {Stage.TLS, Stage.STARTTLS, Stage.EHLO_TLS} | (
            {Stage.BANNER} if self.settings.security == "tls" else set()
        )
        if failure.stage not in after_tls or self.report.address is None or self.remaining() <= 0.2:
            return
        try:
            offer = await asyncio.wait_for(
                tls_offer(self.settings, self.report.address, self.options),
                min(self.remaining(), self.options.connect_timeout_s + self.options.banner_timeout_s),
            )
        except (OSError, TimeoutError, smtp_errors.SMTPException):
            return
        kind: FailureKind
        if offer.asked_for_certificate:
            kind, message = "tls_client_certificate", "the server asked for a client certificate, then hung up"
        elif offer.version in ("TLSv1", "TLSv1.1"):
            kind, message = "tls_outdated", f"a diagnostic handshake got {offer.version}, the newest the server offers"
        else:
            return
        self.report.failure = Failure(failure.stage, kind, message)

    async def ehlo(self, stage: Stage) -> None:
        assert self.smtp is not None
        result = self.begin(stage)
        t0 = time.monotonic()
        helo_name = self.settings.helo_domain or "localhost"
        self.log("C", f"EHLO {helo_name}")
        try:
            reply = await self.smtp.ehlo(timeout=self.budget())
        except smtp_errors.SMTPHeloError as exc:
            self.log("S", f"{exc.code} {exc.message}")
            if exc.code in EHLO_UNKNOWN and stage == Stage.EHLO:
                await self._helo(result, t0, exc)
                return
            raise self.fail(result, t0, "ehlo_rejected", exc.message, exc.code) from None
        except (smtp_errors.SMTPServerDisconnected, ConnectionError):
            raise self.fail(result, t0, "disconnected", "the server closed the connection after EHLO") from None
        except (smtp_errors.SMTPTimeoutError, TimeoutError):
            raise self.fail(result, t0, "timeout", "no answer to EHLO before the timeout") from None
        except smtp_errors.SMTPResponseException as exc:
            raise self.fail(
                result, t0, "protocol", f"unexpected reply to EHLO: {exc.code} {exc.message}", exc.code
            ) from None
        self.log_reply(reply)
        self.report.capabilities = {safe_text(k): safe_text(v) for k, v in self.smtp.esmtp_extensions.items()}
        self.report.auth_offered = tuple(safe_text(m.upper()) for m in self.smtp.server_auth_methods)
        names = sorted(k.upper() for k in self.smtp.esmtp_extensions)
        self.end(result, t0, "ok", ", ".join(names) if names else "no extensions")

    async def _helo(self, result: StageResult, t0: float, refusal: smtp_errors.SMTPHeloError) -> None:
        """EHLO is unknown to the server: greet with HELO (RFC 5321 4.1.1.1), which offers no extensions."""
        assert self.smtp is not None
        self.log("C", f"HELO {self.settings.helo_domain or 'localhost'}")
        try:
            reply = await self.smtp.helo(timeout=self.budget())
        except smtp_errors.SMTPHeloError as exc:
            self.log("S", f"{exc.code} {exc.message}")
            raise self.fail(result, t0, "ehlo_rejected", exc.message, exc.code) from None
        except (smtp_errors.SMTPServerDisconnected, ConnectionError):
            raise self.fail(result, t0, "disconnected", "the server closed the connection after HELO") from None
        except (smtp_errors.SMTPTimeoutError, TimeoutError):
            raise self.fail(result, t0, "timeout", "no answer to HELO before the timeout") from None
        self.log_reply(reply)
        self.report.helo_only = True
        self.end(
            result, t0, "ok", f"EHLO unknown ({refusal.code}); HELO accepted: no extensions, so no STARTTLS or AUTH"
        )

    def _fail_helo_only(self, result: StageResult, t0: float, missing: str) -> _Stop:
        return self.fail(
            result,
            t0,
            "ehlo_unsupported",
            f"the server answered EHLO with 'unknown command' and took only HELO, which offers no {missing}",
        )

    async def starttls(self) -> None:
        assert self.smtp is not None
        result = self.begin(Stage.STARTTLS)
        t0 = time.monotonic()
        if self.report.helo_only:
            raise self._fail_helo_only(result, t0, "STARTTLS")
        if not self.smtp.supports_extension("starttls"):
            raise self.fail(
                result,
                t0,
                "starttls_missing",
                "the server does not offer STARTTLS; the test stops rather than continue unencrypted",
            )
        self.log("C", "STARTTLS")
        tls_result: StageResult | None = None
        try:
            # aiosmtplib sends STARTTLS and does the handshake in one call; split the timing.
            reply = await self.smtp.starttls(tls_context=self.tls_context(), timeout=self.budget())
        except smtp_errors.SMTPResponseException as exc:
            if exc.code == INVALID_REPLY:
                raise self.fail(result, t0, "protocol", f"the reply to STARTTLS is not SMTP: {exc.message}") from None
            self.log("S", f"{exc.code} {exc.message}")
            raise self.fail(result, t0, "starttls_refused", exc.message, exc.code) from None
        except ssl.SSLError as exc:
            self.end(result, t0, "ok", "220 ready to start TLS")
            tls_result = self.begin(Stage.TLS)
            raise await self._tls_failure(tls_result, time.monotonic(), exc) from None
        except (smtp_errors.SMTPServerDisconnected, ConnectionError) as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, ssl.SSLError):
                self.end(result, t0, "ok", "220 ready to start TLS")
                tls_result = self.begin(Stage.TLS)
                raise await self._tls_failure(tls_result, time.monotonic(), cause) from None
            raise self.fail(result, t0, "disconnected", "the server closed the connection during STARTTLS") from None
        except (smtp_errors.SMTPTimeoutError, TimeoutError):
            raise self.fail(result, t0, "tls_timeout", "STARTTLS did not complete before the timeout") from None
        except smtp_errors.SMTPException as exc:
            raise self.fail(result, t0, "protocol", str(exc)) from None
        self.log_reply(reply)
        self.end(result, t0, "ok", f"{reply.code} {reply.message}")
        tls_result = self.begin(Stage.TLS)
        self._record_tls(tls_result, time.monotonic())
        await self.ehlo(Stage.EHLO_TLS)

    def _choose_mechanism(self, encrypted: bool) -> str | None:
        offered = self.report.auth_offered
        if self.profile is not None:
            return self._app_mechanism(encrypted)
        if self.settings.auth == "xoauth2":
            return "XOAUTH2" if "XOAUTH2" in offered else None
        if self.settings.auth != "auto":
            wanted = self.settings.auth.upper()
            return wanted if wanted in offered else None
        preference = AUTH_PREFERENCE_TLS if encrypted else AUTH_PREFERENCE_PLAIN
        return next((m for m in preference if m in offered), None)

    async def authenticate(self) -> None:
        assert self.smtp is not None
        if not self.settings.wants_auth:
            self.skip(Stage.AUTH, "no username set: the server must accept mail without login")
            return
        result = self.begin(Stage.AUTH)
        t0 = time.monotonic()
        encrypted = self.smtp.get_transport_info("sslcontext") is not None
        if not encrypted and self.profile is not None and self.profile.plaintext_login == "never":
            raise self.fail(
                result,
                t0,
                "app_plaintext_login",
                f"{self.profile.app} never sends a login over an unencrypted connection",
            )
        if not encrypted and not self.settings.allow_insecure_auth:
            raise self.fail(
                result,
                t0,
                "insecure_auth",
                "the connection is not encrypted, so the password was not sent",
            )
        if self.report.helo_only:
            raise self._fail_helo_only(result, t0, "AUTH")
        if not self.report.auth_offered:
            raise self.fail(result, t0, "auth_missing", "the server does not offer AUTH on this connection")
        mechanism = self._choose_mechanism(encrypted)
        self._app_can_log_in(result, t0, mechanism, encrypted)
        if mechanism is None:
            wanted = "PLAIN, LOGIN or CRAM-MD5" if self.settings.auth == "auto" else self.settings.auth.upper()
            raise self.fail(
                result,
                t0,
                "auth_no_common_mechanism",
                f"the server offers {', '.join(self.report.auth_offered)}; smtpwizard needs {wanted}",
            )
        username = self.settings.username or ""
        if mechanism == "XOAUTH2":
            await self._xoauth2(result, t0, username)
            return
        password = self.password.reveal() if self.password else ""
        self.log("C", f"AUTH {mechanism} ********")
        method = {
            "PLAIN": self.smtp.auth_plain,
            "LOGIN": self.smtp.auth_login,
            "CRAM-MD5": self.smtp.auth_crammd5,
        }[mechanism]
        try:
            reply = await method(username, password, timeout=self.budget())
        except smtp_errors.SMTPAuthenticationError as exc:
            self.log("S", f"{exc.code} {exc.message}")
            if not 400 <= exc.code < 600:  # e.g. 250: neither 235 nor a refusal; the password may be right
                raise self.fail(
                    result, t0, "protocol", f"the server answered AUTH with {exc.code}, not 235 (accepted) or a refusal"
                ) from None
            raise self.fail(result, t0, "auth_rejected", exc.message, exc.code) from None
        except (smtp_errors.SMTPServerDisconnected, ConnectionError):
            raise self.fail(result, t0, "disconnected", "the server closed the connection during login") from None
        except (smtp_errors.SMTPTimeoutError, TimeoutError):
            raise self.fail(result, t0, "timeout", "no answer to AUTH before the timeout") from None
        except smtp_errors.SMTPResponseException as exc:
            if exc.code == INVALID_REPLY:  # not a refusal: the password may well be right
                raise self.fail(result, t0, "protocol", f"the reply to AUTH is not SMTP: {exc.message}") from None
            self.log("S", f"{exc.code} {exc.message}")
            raise self.fail(result, t0, "auth_rejected", exc.message, exc.code) from None
        self.log_reply(reply)
        self.report.auth_used = mechanism
        self.end(result, t0, "ok", f"{mechanism} accepted")

    async def _xoauth2(self, result: StageResult, t0: float, username: str) -> None:
        """Get a fresh access token, then AUTH XOAUTH2 once (a rejected token is never retried)."""
        if self.token_source is None:
            raise self.fail(result, t0, "oauth_not_signed_in", "no access token source for XOAUTH2")
        got = await asyncio.wait_for(asyncio.to_thread(self.token_source), timeout=self.budget())
        if isinstance(got, TokenFailure):
            raise self.fail(result, t0, got.kind, got.message)
        token = got.token.reveal()
        self._secrets = sorted({*self._secrets, *_token_forms(username, token)}, key=len, reverse=True)
        self.report.token_identity = got.identity
        if got.expires_at is not None:
            self.report.token_expires_at = got.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert self.smtp is not None
        self.log("C", "AUTH XOAUTH2 ********")
        try:
            reply = await self.smtp.auth_xoauth2(username, token, timeout=self.budget())
        except smtp_errors.SMTPAuthenticationError as exc:
            self.log("S", f"{exc.code} {exc.message}")
            raise self.fail(result, t0, "auth_rejected", exc.message, exc.code) from None
        except (smtp_errors.SMTPServerDisconnected, ConnectionError):
            raise self.fail(result, t0, "disconnected", "the server closed the connection during login") from None
        except (smtp_errors.SMTPTimeoutError, TimeoutError):
            raise self.fail(result, t0, "timeout", "no answer to AUTH before the timeout") from None
        except smtp_errors.SMTPResponseException as exc:
            self.log("S", f"{exc.code} {exc.message}")
            raise self.fail(result, t0, "auth_rejected", exc.message, exc.code) from None
        self.log_reply(reply)
        self.report.auth_used = "XOAUTH2"
        who = f" for {got.identity}" if got.identity else ""
        until = f", valid until {self.report.token_expires_at}" if self.report.token_expires_at else ""
        self.end(result, t0, "ok", f"XOAUTH2 accepted (token{who}{until})")

    # --- the app's own client rules (only with a ClientProfile) -------------------------

    def _app_can_connect(self) -> None:
        if self.profile is None or self.settings.security != "tls" or self.profile.implicit_tls:
            return
        result = self.begin(Stage.CONNECT)
        raise self.fail(
            result, time.monotonic(), "app_no_implicit_tls", f"{self.profile.app} has no implicit TLS (security: tls)"
        )

    def _app_upgrades_anyway(self) -> bool:
        """Whether the app upgrades to STARTTLS although the settings say none (it does when offered)."""
        assert self.smtp is not None
        if self.profile is None or self.profile.starttls != "whenever-offered" or self.settings.security != "none":
            return False
        return self.smtp.supports_extension("starttls")

    def _app_mechanism(self, encrypted: bool) -> str | None:
        """The mechanism the app would send: its first choice the server offers, or the configured one."""
        assert self.profile is not None
        offered = self.report.auth_offered
        usable = self.profile.auth_mechanisms
        if self.settings.auth == "xoauth2":  # never fall back to a password the config does not have
            return "XOAUTH2" if "XOAUTH2" in usable and "XOAUTH2" in offered else None
        if self.profile.auth_choice == "preference":
            return next((m for m in usable if m in offered), None)
        if self.settings.auth != "auto":
            wanted = self.settings.auth.upper()
            return wanted if wanted in usable and wanted in offered else None
        preference = AUTH_PREFERENCE_TLS if encrypted else AUTH_PREFERENCE_PLAIN
        return next((m for m in preference if m in usable and m in offered), None)

    def _app_can_log_in(self, result: StageResult, t0: float, mechanism: str | None, encrypted: bool) -> None:
        """Stop before AUTH where the app itself could not log in."""
        profile = self.profile
        if profile is None:
            return
        app = profile.app
        if self.settings.auth == "xoauth2" and "XOAUTH2" not in profile.auth_mechanisms:
            raise self.fail(result, t0, "app_no_xoauth2", f"{app} cannot log in with XOAUTH2; it sends only a password")
        if mechanism is None:
            offered = ", ".join(self.report.auth_offered)
            raise self.fail(
                result,
                t0,
                "app_no_mechanism",
                f"the server offers {offered}; {app} can send {', '.join(profile.auth_mechanisms)}",
            )
        login = (self.settings.username or "") + (self.password.reveal() if self.password else "")
        if profile.charset == "ascii" and not login.isascii():
            raise self.fail(
                result,
                t0,
                "app_charset",
                f"{app} can send only ASCII in AUTH; the username or password holds other characters",
            )
        # Go's PlainAuth checks the server name it was given: only these names get a plain-text login.
        localhost_only = profile.plaintext_login == "localhost-names" and mechanism == "PLAIN"
        if not encrypted and localhost_only and self.settings.host not in LOCALHOST_NAMES:
            raise self.fail(
                result,
                t0,
                "app_plaintext_login",
                f"{app} sends a PLAIN login without encryption only to localhost, 127.0.0.1 or ::1",
            )

    async def envelope(self) -> None:
        assert self.smtp is not None and self.sender is not None
        addresses = [self.sender.address] + ([self.test_to] if self.test_to else [])
        if self.test_to and self.sender.reply_to:
            addresses.append(self.sender.reply_to)
        utf8 = any(not a.rpartition("@")[0].isascii() for a in addresses)
        if utf8 and not self.smtp.supports_extension("smtputf8"):
            # Raw UTF-8 in MAIL FROM is only allowed with SMTPUTF8; refusing here is the user's
            # address meeting this server's limits, not a server fault.
            result = self.begin(Stage.MAIL)
            wide = next(a for a in addresses if not a.rpartition("@")[0].isascii())
            raise self.fail(
                result, time.monotonic(), "smtputf8_missing", f"{wide} has non-ASCII characters before the @"
            )
        suffix = " SMTPUTF8" if utf8 else ""
        await self._command(Stage.MAIL, "sender_refused", f"MAIL FROM:<{wire_address(self.sender.address)}>{suffix}")
        if self.test_to is None:  # QUIT ends the open transaction; no RSET round trip needed
            self.skip(Stage.RCPT, "no test recipient given")
            self.skip(Stage.DATA, "no test recipient given")
            return
        self.report.test_message_to = self.test_to
        await self._command(Stage.RCPT, "recipient_refused", f"RCPT TO:<{wire_address(self.test_to)}>")
        result = self.begin(Stage.DATA)
        t0 = time.monotonic()
        message, message_id = _test_message(self.sender, self.test_to, self.settings, utf8=utf8)
        self.log("C", "DATA")
        try:
            reply = await self.smtp.data(message, timeout=self.budget())
        except smtp_errors.SMTPDataError as exc:
            self.log("S", f"{exc.code} {exc.message}")
            kind: FailureKind = "data_refused"
            raise self.fail(result, t0, kind, exc.message, exc.code) from None
        except (smtp_errors.SMTPServerDisconnected, ConnectionError):
            raise self.fail(result, t0, "disconnected", "the server closed the connection during DATA") from None
        except (smtp_errors.SMTPTimeoutError, TimeoutError):
            raise self.fail(result, t0, "timeout", "no answer to DATA before the timeout") from None
        self.log("C", f"<message {message_id}>")
        self.log_reply(reply)
        self.report.message_id = message_id
        self.end(result, t0, "ok", f"accepted: {reply.message}")

    async def _command(self, stage: Stage, kind: FailureKind, command: str) -> None:
        assert self.smtp is not None
        result = self.begin(stage)
        t0 = time.monotonic()
        self.log("C", command)
        verb = command.split(":")[0]
        try:
            reply = await self.smtp.execute_command(command.encode("utf-8"), timeout=self.budget())
        except (smtp_errors.SMTPServerDisconnected, ConnectionError):
            raise self.fail(result, t0, "disconnected", f"the server closed the connection after {verb}") from None
        except (smtp_errors.SMTPTimeoutError, TimeoutError):
            raise self.fail(result, t0, "timeout", f"no answer to {verb} before the timeout") from None
        self.log_reply(reply)
        if not 200 <= reply.code < 300:
            raise self.fail(result, t0, kind, reply.message, reply.code)
        self.end(result, t0, "ok", f"{reply.code} {reply.message}")

    async def quit(self) -> None:
        """Send QUIT and close: its answer changes nothing, so it costs no round trip."""
        assert self.smtp is not None
        result = self.begin(Stage.QUIT)
        t0 = time.monotonic()
        self.log("C", "QUIT")
        transport = self.smtp.transport
        if isinstance(transport, asyncio.WriteTransport) and not transport.is_closing():
            transport.write(b"QUIT\r\n")
        self.end(result, t0, "ok", "sent; connection closed")

    def close(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    async def _fetch_certificate(self) -> CertificateInfo | None:
        """Fetch the server certificate without verifying it, only to show it in a diagnosis."""
        if self.remaining() <= 0.2:
            return None
        try:
            return await asyncio.wait_for(
                fetch_certificate(self.settings, self.report.address or self.settings.host, self.options),
                min(self.remaining(), self.options.connect_timeout_s + self.options.banner_timeout_s),
            )
        except (OSError, TimeoutError, smtp_errors.SMTPException, ssl.SSLError):
            return None


def verifying_context(ca_file: str | None, field_path: str) -> ssl.SSLContext:
    """A TLS context that verifies against the system CAs, plus ``ca_file`` when given.

    Raises InputMissing (exit 66) when the file does not exist and FieldError (exit 65) when
    it cannot be read or holds no PEM certificate: local faults, never the server's.
    """
    try:
        return ssl.create_default_context(cafile=ca_file)
    except FileNotFoundError:
        raise InputMissing(
            f"{field_path}: '{one_line(str(ca_file))}' does not exist; give the path of a PEM file with your CA"
        ) from None
    except ssl.SSLError:
        raise FieldError(
            field_path, f"'{ca_file}' holds no PEM certificate", "give a PEM file (-----BEGIN CERTIFICATE-----)"
        ) from None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise FieldError(
            field_path, f"'{ca_file}' cannot be read ({reason})", "check the path and its permissions"
        ) from None


async def resolve_abandonable(host: str, port: int) -> list[tuple[Any, ...]]:
    """getaddrinfo in a daemon thread of its own, so a stalled resolver can be walked away from.

    loop.getaddrinfo uses the default executor, whose threads asyncio.run and the interpreter
    join at exit: a resolver stuck for 25 s would hold the exit (and Ctrl+C) that long after
    the diagnosis was shown. A daemon thread is left behind instead.
    """
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[list[tuple[Any, ...]]] = loop.create_future()

    def deliver(result: list[tuple[Any, ...]] | None, error: BaseException | None) -> None:
        if answer.done():  # timed out or cancelled meanwhile
            return
        if error is not None:
            answer.set_exception(error)
        else:
            answer.set_result(result or [])

    def work() -> None:
        try:
            result, error = list(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)), None
        except Exception as exc:  # handed to the waiting task as it is
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting any more
            loop.call_soon_threadsafe(deliver, result, error)

    threading.Thread(target=work, name=f"smtpwizard-resolve-{host}", daemon=True).start()
    return await answer


async def fetch_certificate(settings: SmtpSettings, address: str, options: ProbeOptions) -> CertificateInfo | None:
    """Connect (STARTTLS or implicit TLS) with verification off and return the peer certificate.

    Sends no credentials and no mail.
    """
    context = _unverified_context()
    smtp = _unverified_client(settings, address, options, context)
    try:
        await _open_tls(smtp, settings, context)
        ssl_object = smtp.get_transport_info("ssl_object")
        return None if ssl_object is None else _certificate_from_ssl(ssl_object)
    finally:
        smtp.close()


def _unverified_context() -> ssl.SSLContext:
    """A TLS context that checks nothing: for the diagnostic connections only, which send no
    credentials and no mail and are never used to go on."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _unverified_client(
    settings: SmtpSettings, address: str, options: ProbeOptions, context: ssl.SSLContext
) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=address,
        port=settings.port,
        use_tls=settings.security == "tls",
        start_tls=False,
        tls_context=context,
        local_hostname=settings.helo_domain or "localhost",
        timeout=options.banner_timeout_s + options.connect_timeout_s,
    )


async def _open_tls(smtp: aiosmtplib.SMTP, settings: SmtpSettings, context: ssl.SSLContext) -> None:
    """Connect, and for STARTTLS settings upgrade (implicit TLS is up once connected)."""
    await smtp.connect()
    if settings.security != "tls":
        await smtp.ehlo()
        await smtp.starttls(tls_context=context, server_hostname=settings.host)


def interleave_families(infos: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The addresses with their families alternating, the first address's family first (RFC 8305 4)."""
    by_family: dict[int, list[tuple[Any, ...]]] = {}
    for info in infos:
        by_family.setdefault(info[0], []).append(info)
    queues = list(by_family.values())
    ordered = []
    while any(queues):
        ordered += [queue.pop(0) for queue in queues if queue]
    return ordered


def _close_if_connected(task: asyncio.Task[socket.socket]) -> None:
    """A losing attempt that connected anyway (it finished as it was cancelled) is closed."""
    if not task.cancelled() and task.exception() is None:
        task.result().close()


@dataclass(frozen=True)
class TlsOffer:
    """What a diagnostic handshake learnt: the version agreed (None if none) and whether the
    server sent a CertificateRequest."""

    version: str | None
    asked_for_certificate: bool


async def tls_offer(settings: SmtpSettings, address: str, options: ProbeOptions) -> TlsOffer:
    """A diagnostic handshake (STARTTLS or implicit TLS as the settings say) that accepts any
    version and certificate, and records the handshake messages the server sends. Sends no
    credentials and no mail; only used to explain a failure, never to go on."""
    context = _unverified_context()
    with contextlib.suppress(ssl.SSLError):
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # old servers use old ciphers too
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    asked = False

    def watch(
        _conn: object, direction: str, _version: object, content_type: object, msg_type: object, _data: object
    ) -> None:
        nonlocal asked
        if direction == "read" and int(content_type) == 22 and int(msg_type) == TLS_CERTIFICATE_REQUEST:  # type: ignore[call-overload]
            asked = True

    if hasattr(context, "_msg_callback"):  # CPython's (private) TLS message hook; without it only the version is learnt
        context._msg_callback = watch
    smtp = _unverified_client(settings, address, options, context)
    version = None
    try:
        await _open_tls(smtp, settings, context)
        await smtp.noop()  # TLS 1.3: a missing client certificate is refused after the handshake
        ssl_object = smtp.get_transport_info("ssl_object")
        version = ssl_object.version() if ssl_object is not None else None
    except (OSError, smtp_errors.SMTPException):
        pass
    finally:
        smtp.close()
    return TlsOffer(version, asked)


def _secret_forms(username: str, password: str) -> list[str]:
    """The password and the encodings in which it could show up on the wire."""
    forms = {password}
    for raw in (password, f"\0{username}\0{password}", f"{username}\0{password}"):
        forms.add(base64.b64encode(raw.encode("utf-8")).decode("ascii"))
    return sorted((f for f in forms if len(f) >= 3), key=len, reverse=True)


def _token_forms(username: str, token: str) -> list[str]:
    """An access token and its XOAUTH2 encoding, as they could show up in server text."""
    sasl = f"user={username}\x01auth=Bearer {token}\x01\x01"
    return [token, base64.b64encode(sasl.encode("utf-8")).decode("ascii")]


def _cert_failure_kind(exc: ssl.SSLCertVerificationError) -> FailureKind:
    code = exc.verify_code
    message = (exc.verify_message or "").lower()
    if code == 62 or "hostname mismatch" in message or "ip address mismatch" in message:
        return "cert_hostname"
    if code == 10 or "expired" in message:
        return "cert_expired"
    if code == 9 or "not yet valid" in message:
        return "cert_not_yet_valid"
    if code in (18, 19) or "self-signed" in message or "self signed" in message:
        return "cert_self_signed"
    return "cert_untrusted"


def _name(parts: Any) -> str:
    flat = {key: value for rdn in parts for key, value in rdn}
    for key in ("commonName", "organizationName"):
        if key in flat:
            return str(flat[key])
    return ", ".join(f"{k}={v}" for k, v in flat.items())


def _certificate_from_ssl(ssl_object: ssl.SSLObject) -> CertificateInfo | None:
    peer = ssl_object.getpeercert()
    if peer:
        return _certificate_info(
            _name(peer.get("subject", ())),
            _name(peer.get("issuer", ())),
            str(peer.get("notBefore", "")),
            str(peer.get("notAfter", "")),
            tuple(str(entry[1]) for entry in peer.get("subjectAltName", ())),
        )
    der = ssl_object.getpeercert(binary_form=True)
    return None if der is None else _decode_der(der)


def _decode_der(der: bytes) -> CertificateInfo | None:
    """Decode a certificate that was not verified (so Python's ssl will not show it)."""
    try:
        from cryptography import x509
        from cryptography.x509.oid import NameOID
    except ImportError:  # pragma: no cover - cryptography comes with keyring on Linux
        return None

    def name(value: x509.Name) -> str:
        for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
            attrs = value.get_attributes_for_oid(oid)
            if attrs:
                return str(attrs[0].value)
        return value.rfc4514_string()

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return None
    try:
        san_ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        sans = tuple(str(v) for v in san_ext.value.get_values_for_type(x509.DNSName)) + tuple(
            str(v) for v in san_ext.value.get_values_for_type(x509.IPAddress)
        )
    except x509.ExtensionNotFound:
        sans = ()
    fmt = "%b %d %H:%M:%S %Y GMT"
    return _certificate_info(
        name(cert.subject),
        name(cert.issuer),
        cert.not_valid_before_utc.strftime(fmt),
        cert.not_valid_after_utc.strftime(fmt),
        sans,
    )


def _certificate_info(
    subject: str, issuer: str, not_before: str, not_after: str, sans: tuple[str, ...]
) -> CertificateInfo:
    """Every field is the certificate owner's text (anyone can mint one): made safe here, once."""
    return CertificateInfo(
        subject=safe_text(subject)[:MAX_DETAIL],
        issuer=safe_text(issuer)[:MAX_DETAIL],
        not_before=safe_text(not_before),
        not_after=safe_text(not_after),
        sans=tuple(safe_text(san)[:MAX_DETAIL] for san in sans[:MAX_SANS]),
    )


def _header_address(address: str, name: str = "") -> Address:
    # username/domain rather than addr_spec: parsing a UTF-8 local part raises even under SMTPUTF8
    local, _, domain = wire_address(address).rpartition("@")
    return Address(display_name=name, username=local, domain=domain)


def _test_message(sender: Sender, to: str, settings: SmtpSettings, *, utf8: bool = False) -> tuple[bytes, str]:
    """The test message; with ``utf8`` (SMTPUTF8 in use) headers carry UTF-8 as it is."""
    domain = wire_address(sender.address).rpartition("@")[2] or "localhost"
    message_id = make_msgid(idstring="smtpwizard", domain=domain)
    msg = EmailMessage(policy=email.policy.SMTPUTF8 if utf8 else email.policy.SMTP)
    msg["From"] = _header_address(sender.address, sender.name or "")
    msg["To"] = _header_address(to)
    if sender.reply_to:
        msg["Reply-To"] = _header_address(sender.reply_to)
    msg["Subject"] = "smtpwizard test message"
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = message_id
    msg.set_content(
        "This is a test message sent by smtpwizard.\n\n"
        f"Server: {settings.host} port {settings.port} ({settings.security})\n"
        f"From: {sender.address}\n\n"
        "If it reached you, the settings work. If it landed in spam, check the SPF and DKIM\n"
        "records of the sender's domain at your provider.\n",
        cte="8bit" if utf8 else "quoted-printable",  # 8-bit body text only where SMTPUTF8 allows it
    )
    return msg.as_bytes(), message_id


async def run_probe(
    settings: SmtpSettings,
    password: Secret | None,
    *,
    sender: Sender | None = None,
    test_to: str | None = None,
    options: ProbeOptions | None = None,
    on_stage: StageCallback | None = None,
    profile: ClientProfile | None = None,
    token_source: TokenSource | None = None,
) -> ProbeReport:
    """Run the live test once and return its report; never raises for server behaviour.

    With ``profile`` the test connects as that app's mail client does (its STARTTLS policy,
    certificate rules, AUTH choice, charset and plain-text login rule), so a pass means the app
    passes too. Cancelling the task closes the connection. AUTH is attempted at most once.
    Raises FieldError or InputMissing for a ca_file that cannot be used (a local fault).
    """
    probe = _Probe(settings, password, sender, test_to, options or ProbeOptions(), on_stage, profile, token_source)
    return await probe.run()
