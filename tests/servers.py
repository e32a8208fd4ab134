"""Real SMTP servers on 127.0.0.1 for the tests: aiosmtpd with trustme certificates,
plus small scripted servers for behaviour aiosmtpd will not produce (silence, drops).

Each server runs on its own event loop in a background thread, so synchronous tests,
async tests and subprocesses can all talk to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

USERNAME = "wizard@example.com"


@dataclass
class Mailbox:
    """What a server received."""

    messages: list[Envelope] = field(default_factory=list)
    auth_attempts: list[tuple[str, str]] = field(default_factory=list)


class Handler:
    def __init__(self, mailbox: Mailbox, mail_reply: str | None = None, rcpt_reply: str | None = None) -> None:
        self.mailbox = mailbox
        self.mail_reply = mail_reply
        self.rcpt_reply = rcpt_reply

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.mailbox.messages.append(envelope)
        return "250 Message accepted for delivery"


class CramHandler(Handler):
    """Also offers AUTH CRAM-MD5 (aiosmtpd turns auth_CRAM__MD5 into that mechanism)."""

    def __init__(self, mailbox: Mailbox, password: str, **replies: str | None) -> None:
        super().__init__(mailbox, **replies)
        self.password = password

    async def auth_CRAM__MD5(self, server: SMTP, args: list[str]) -> AuthResult:
        import hmac

        challenge = b"<1896.697170952@mx.test>"
        response = await server.challenge_auth(challenge)
        if not isinstance(response, bytes):
            return AuthResult(success=False, handled=False)
        login, _, digest = response.decode().rpartition(" ")
        expected = hmac.new(self.password.encode(), challenge, "md5").hexdigest()
        self.mailbox.auth_attempts.append(("CRAM-MD5", login))
        return AuthResult(success=login == USERNAME and hmac.compare_digest(digest, expected), handled=False)


def make_authenticator(password: str, mailbox: Mailbox) -> Callable[..., AuthResult]:
    def authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login, secret = auth_data.login.decode(), auth_data.password.decode()
            mailbox.auth_attempts.append((mechanism, login))
            return AuthResult(success=login == USERNAME and secret == password, handled=False)
        return AuthResult(success=False, handled=False)

    return authenticate


class ServerThread:
    """An asyncio server on 127.0.0.1, port chosen by the OS, in a thread of its own."""

    def __init__(
        self,
        factory: Callable[[], asyncio.Protocol] | None = None,
        stream_handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        port: int = 0,
    ) -> None:
        self.factory = factory
        self.stream_handler = stream_handler
        self.ssl_context = ssl_context
        self.loop = asyncio.new_event_loop()
        self.port = port
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.AbstractServer | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            if self.factory is not None:
                self._server = await self.loop.create_server(
                    self.factory, "127.0.0.1", self.port, ssl=self.ssl_context, reuse_address=True
                )
            else:
                assert self.stream_handler is not None
                self._server = await asyncio.start_server(
                    self.stream_handler, "127.0.0.1", self.port, ssl=self.ssl_context, reuse_address=True
                )
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def __enter__(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"test server did not start (port {self.port} busy?)")
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            assert self._server is not None
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


@contextlib.contextmanager
def smtp_server(
    *,
    password: str,
    starttls_context: ssl.SSLContext | None = None,
    implicit_context: ssl.SSLContext | None = None,
    require_auth: bool = True,
    auth_require_tls: bool = True,
    mail_reply: str | None = None,
    rcpt_reply: str | None = None,
    port: int = 0,
    cram_md5: bool = False,
    auth_exclude: tuple[str, ...] = (),
) -> Iterator[tuple[ServerThread, Mailbox]]:
    """An aiosmtpd server: STARTTLS when ``starttls_context`` is given, implicit TLS when
    ``implicit_context`` is given, plaintext-only when neither."""
    mailbox = Mailbox()
    handler = (
        CramHandler(mailbox, password, mail_reply=mail_reply, rcpt_reply=rcpt_reply)
        if cram_md5
        else Handler(mailbox, mail_reply, rcpt_reply)
    )

    def factory() -> SMTP:
        return SMTP(
            handler,
            hostname="mx.test",
            tls_context=starttls_context,
            require_starttls=False,
            auth_required=require_auth,
            auth_require_tls=auth_require_tls,
            authenticator=make_authenticator(password, mailbox),
            auth_exclude_mechanism=auth_exclude,  # e.g. ("PLAIN",): a LOGIN-only server
            ident="aiosmtpd test server",
        )

    with ServerThread(factory=factory, ssl_context=implicit_context, port=port) as server:
        yield server, mailbox


Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.contextmanager
def scripted_server(script: Script, ssl_context: ssl.SSLContext | None = None) -> Iterator[ServerThread]:
    """A server that runs ``script`` for every connection (for misbehaviour aiosmtpd lacks)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await script(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, asyncio.CancelledError):
            pass  # cancelled: the server is stopping
        finally:
            writer.close()

    with ServerThread(stream_handler=handle, ssl_context=ssl_context) as server:
        yield server


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept and never say anything (an implicit-TLS port spoken to in plaintext)."""
    await reader.read()


async def drops_during_auth(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A plaintext ESMTP server that hangs up as soon as AUTH is sent."""
    writer.write(b"220 drop.test ESMTP\r\n")
    while line := await reader.readline():
        verb = line.split(b" ", 1)[0].strip().upper()
        if verb == b"EHLO":
            writer.write(b"250-drop.test\r\n250 AUTH PLAIN LOGIN\r\n")
        elif verb == b"AUTH":
            return
        elif verb == b"QUIT":
            writer.write(b"221 bye\r\n")
            return
        else:
            writer.write(b"250 OK\r\n")
        await writer.drain()


@contextlib.contextmanager
def filtered_port() -> Iterator[int]:
    """A listening socket whose accept queue is full: further SYNs are dropped, as by a firewall."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
