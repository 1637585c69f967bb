"""A real IMAP server for tests: pymap's in-memory backend, in a thread of its own.

pymap (a dev dependency) implements IMAP4rev1 with STARTTLS; it is started here on
a free port of 127.0.0.1 with one mailbox user, in one of the three ways
`manage.py ingest_mail --imap` connects: implicit TLS ("ssl", as on port 993),
STARTTLS on a plain connection ("starttls"), or plain ("none"). Tests put mail in
the INBOX and read its flags back through imaplib, like any other client.
"""

from __future__ import annotations

import asyncio
import imaplib
import re
import ssl
import subprocess
import threading
from argparse import Namespace
from pathlib import Path

from proxyprotocol.reader import ProxyProtocolReader
from proxyprotocol.version import ProxyProtocolVersion
from pymap.backend.dict import DictBackend
from pymap.imap import IMAPServer
from pysasl.hashing import Cleartext

USER = "support@acme.example"
PASSWORD = "inbox-password"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1 (and its key)."""
    cert, key = folder / "imap-cert.pem", folder / "imap-key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class ImapServer:
    def __init__(self, security: str, cert: Path, key: Path):
        self.security = security
        self.cert, self.key = cert, key
        self.host = "127.0.0.1"
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="imap-server", daemon=True)

    # -- running ------------------------------------------------------------------------

    def start(self) -> ImapServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the IMAP server did not start")
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())
        self._loop.close()

    async def _serve(self) -> None:
        args = Namespace(
            debug=False,
            host=self.host,
            port=0,
            cert=str(self.cert),
            key=str(self.key),
            # STARTTLS is offered (and LOGIN refused before it) only in "starttls" mode;
            # with implicit TLS the connection is encrypted from the first byte.
            tls=self.security == "starttls",
            passlib_cfg=None,
            proxy_protocol=None,
            demo_data=False,
            demo_user=USER,
            demo_password=PASSWORD,
        )
        # As Django's tests use a fast password hasher: pymap's default is 500,000 rounds
        # of PBKDF2 per login.
        backend, config = await DictBackend.init(
            args, invalid_user_sleep=0.0, hash_context=Cleartext()
        )
        config.apply_context()
        handler = ProxyProtocolReader(ProxyProtocolVersion.get()).get_callback(
            IMAPServer(backend.login, config)
        )
        tls = None
        if self.security == "ssl":
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(self.cert, self.key)
        self._stop = asyncio.Event()
        server = await asyncio.start_server(handler, self.host, 0, ssl=tls)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stop.wait()
        server.close()
        # Connections a client left open end with the server.
        connections = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in connections:
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)

    # -- what tests do with the mailbox -------------------------------------------------

    def _client(self) -> imaplib.IMAP4:
        trusted = ssl.create_default_context(cafile=str(self.cert))
        if self.security == "ssl":
            client = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=trusted, timeout=10)
        else:
            client = imaplib.IMAP4(self.host, self.port, timeout=10)
            if self.security == "starttls":
                client.starttls(ssl_context=trusted)
        client.login(USER, PASSWORD)
        client.select("INBOX")
        return client

    def deliver(self, raw: bytes, *, seen: bool = False) -> None:
        with self._client() as client:
            status, _data = client.append("INBOX", "(\\Seen)" if seen else None, None, raw)
            assert status == "OK"

    def flags(self) -> dict[str, set[str]]:
        """Each message's flags, by its Message-ID."""
        found = {}
        with self._client() as client:
            _status, data = client.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            for part in data:
                if not isinstance(part, tuple):
                    continue
                flags = set(re.search(rb"FLAGS \(([^)]*)\)", part[0]).group(1).decode().split())
                message_id = part[1].decode().split(":", 1)[1].strip()
                found[message_id] = flags
        return found

    def mark_unseen(self) -> None:
        with self._client() as client:
            client.store("1:*", "-FLAGS", "(\\Seen)")
