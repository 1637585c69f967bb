"""Feed mail into a tenant's desk: `manage.py ingest_mail --tenant acme --maildir PATH`.

Sources: a Maildir (messages not yet marked seen are read, then marked seen),
an mbox file (every message; already-received Message-IDs are skipped), or an
IMAP mailbox (unseen messages, marked seen after ingesting) configured by
options or IMAP_* environment variables; the password only by IMAP_PASSWORD, so
it never shows in a process list.

IMAP connects with implicit TLS (port 993) by default, or STARTTLS or plain on
port 143 (`--imap-security`); the server's certificate is checked against the
system's CAs (SSL_CERT_FILE names another bundle). A message is read without
marking it (BODY.PEEK) and flagged \\Seen once it is stored: as a ticket or a
reply, ignored, or kept as suspended mail for the desk's admins (mail that cannot
be processed is never read again and again). Only a message the database could
not store at all stays unseen, and the command stops with an error, for the next
run to read it again; a message read twice is ignored by its Message-ID.
"""

import functools
import imaplib
import mailbox
import os
import ssl

from django.core.management.base import CommandError

from helpdesk.tenancy import TenantCommand
from tickets.inbound import STORAGE_UNAVAILABLE, ingest_email
from tickets.models import SuspendedEmail

IMAP_SECURITY = ("ssl", "starttls", "none")
IMAP_PORTS = {"ssl": 993, "starttls": 143, "none": 143}
IMAP_TIMEOUT = 30  # seconds, for connecting and for each command


class Command(TenantCommand):
    help = "Ingest email from a Maildir, an mbox file or an IMAP mailbox into a tenant's tickets."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--maildir", help="Path of a Maildir.")
        source.add_argument("--mbox", help="Path of an mbox file.")
        source.add_argument("--imap", action="store_true", help="Read the IMAP mailbox.")
        parser.add_argument("--imap-host", default=os.environ.get("IMAP_HOST", ""))
        parser.add_argument(
            "--imap-port",
            default=os.environ.get("IMAP_PORT", ""),
            help="Default: 993 with --imap-security ssl, else 143.",
        )
        parser.add_argument(
            "--imap-security",
            default=os.environ.get("IMAP_SECURITY", "ssl"),
            help="ssl (implicit TLS, the default), starttls, or none (a trusted network only).",
        )
        parser.add_argument("--imap-user", default=os.environ.get("IMAP_USER", ""))
        parser.add_argument("--imap-folder", default=os.environ.get("IMAP_FOLDER", "INBOX"))

    def handle_tenant(self, tenant, *args, **options):
        counts: dict[str, int] = {}
        source = next(
            SuspendedEmail.Source(name) for name in ("maildir", "mbox", "imap") if options[name]
        )
        for raw, done in self._messages(options):
            try:
                result = ingest_email(tenant=tenant, raw=raw, source=source)
            except STORAGE_UNAVAILABLE as error:
                # Not marked seen: the next run reads it again.
                raise CommandError(
                    f"A message could not be stored ({error}); it stays unread for the next run."
                ) from None
            counts[result.action] = counts.get(result.action, 0) + 1
            if result.action == "suspended":
                self.stderr.write(f"suspended ({result.reason}): {result.detail}")
            done()
        summary = ", ".join(f"{action} {count}" for action, count in sorted(counts.items()))
        self.stdout.write(f"{tenant.slug}: {summary or 'no new mail'}")

    def _messages(self, options):
        if options["maildir"]:
            box = mailbox.Maildir(options["maildir"], create=False)
            for key, message in list(box.items()):
                if "S" in message.get_flags():
                    continue

                def mark_seen(key=key, message=message):
                    message.set_subdir("cur")
                    message.add_flag("S")
                    box[key] = message

                yield message.as_bytes(), mark_seen
        elif options["mbox"]:
            if not os.path.exists(options["mbox"]):
                raise CommandError(f"No mbox file at {options['mbox']}.")
            for message in mailbox.mbox(options["mbox"], create=False):
                yield message.as_bytes(), lambda: None
        else:
            yield from _imap_messages(**_imap_settings(options))


def _imap_settings(options) -> dict:
    host, user = options["imap_host"], options["imap_user"]
    password = os.environ.get("IMAP_PASSWORD", "")
    if not (host and user and password):
        raise CommandError(
            "Set IMAP_HOST, IMAP_USER and IMAP_PASSWORD (or --imap-host and --imap-user)."
        )
    security = options["imap_security"].strip().lower()
    if security not in IMAP_SECURITY:
        raise CommandError(
            f"IMAP security {options['imap_security']!r} is not one of {', '.join(IMAP_SECURITY)}."
        )
    port = str(options["imap_port"]).strip() or str(IMAP_PORTS[security])
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(f"IMAP port {port!r} is not a port number.")
    return {
        "host": host,
        "port": int(port),
        "security": security,
        "user": user,
        "password": password,
        "folder": options["imap_folder"],
    }


def _said(error: Exception) -> str:
    """What the server or the connection said, as text (imaplib passes the server's bytes)."""
    detail = error.args[0] if len(error.args) == 1 else error
    if isinstance(detail, bytes):
        return detail.decode("utf-8", "replace")
    return str(detail) or error.__class__.__name__


def _imap_connect(host: str, port: int, security: str) -> imaplib.IMAP4:
    tls = ssl.create_default_context()
    if security == "ssl":
        return imaplib.IMAP4_SSL(host, port, ssl_context=tls, timeout=IMAP_TIMEOUT)
    client = imaplib.IMAP4(host, port, timeout=IMAP_TIMEOUT)
    if security == "starttls":
        try:
            client.starttls(ssl_context=tls)
        except BaseException:
            client.shutdown()
            raise
    return client


def _imap_messages(*, host, port, security, user, password, folder):
    """Yield (raw message, mark it seen) for each unseen message of the folder.

    UIDs, not sequence numbers, name the messages: another client expunging mail
    meanwhile renumbers the sequence but never changes a UID. Whatever the server or
    the connection does wrong ends the command with a CommandError saying so.
    """
    server = f"{host}:{port} ({security})"

    def failed(error: Exception) -> CommandError:
        return CommandError(f"The IMAP server {server} failed: {_said(error)}")

    try:
        client = _imap_connect(host, port, security)
    except (OSError, imaplib.IMAP4.error) as error:
        raise CommandError(f"Cannot connect to the IMAP server {server}: {_said(error)}") from None

    def mark_seen(uid: bytes) -> None:
        try:
            status, data = client.uid("STORE", uid, "+FLAGS", "(\\Seen)")
        except (OSError, imaplib.IMAP4.error) as error:
            raise failed(error) from None
        if status != "OK":
            raise failed(Exception(*data))

    with client:
        try:
            client.login(user, password)
        except imaplib.IMAP4.error as error:
            raise CommandError(
                f"The IMAP server {server} refused the login of {user}: {_said(error)}"
            ) from None
        try:
            status, data = client.select(folder)
            if status != "OK":
                raise CommandError(
                    f"No IMAP folder {folder!r} for {user} on {server}: {_said(Exception(*data))}"
                )
            _status, data = client.uid("SEARCH", None, "UNSEEN")
            for uid in data[0].split():
                status, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = next((part[1] for part in parts if isinstance(part, tuple)), None)
                if status != "OK" or raw is None:
                    continue  # expunged by another client meanwhile
                yield raw, functools.partial(mark_seen, uid)
        except (OSError, imaplib.IMAP4.error) as error:
            raise failed(error) from None
