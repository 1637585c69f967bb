"""Feed mail into a tenant's desk: `manage.py ingest_mail --tenant acme --maildir PATH`.

Sources: a Maildir (messages not yet marked seen are read, then marked seen),
an mbox file (every message; already-received Message-IDs are skipped), or an
IMAP mailbox (unseen messages, marked seen after ingesting) configured by
options or IMAP_* environment variables.
"""

import imaplib
import mailbox
import os

from django.core.management.base import CommandError

from helpdesk.tenancy import TenantCommand
from tickets.inbound import ingest_email


class Command(TenantCommand):
    help = "Ingest email from a Maildir, an mbox file or an IMAP mailbox into a tenant's tickets."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--maildir", help="Path of a Maildir.")
        source.add_argument("--mbox", help="Path of an mbox file.")
        source.add_argument("--imap", action="store_true", help="Read the IMAP mailbox.")
        parser.add_argument("--imap-host", default=os.environ.get("IMAP_HOST", ""))
        parser.add_argument("--imap-user", default=os.environ.get("IMAP_USER", ""))
        parser.add_argument("--imap-folder", default=os.environ.get("IMAP_FOLDER", "INBOX"))

    def handle_tenant(self, tenant, *args, **options):
        counts: dict[str, int] = {}
        for raw, done in self._messages(options):
            result = ingest_email(tenant=tenant, raw=raw)
            counts[result.action] = counts.get(result.action, 0) + 1
            if result.action == "rejected":
                self.stderr.write(f"rejected: {result.reason}")
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
            yield from self._imap(options)

    def _imap(self, options):
        host, user = options["imap_host"], options["imap_user"]
        password = os.environ.get("IMAP_PASSWORD", "")
        if not (host and user and password):
            raise CommandError("Set IMAP_HOST, IMAP_USER and IMAP_PASSWORD (or the options).")
        with imaplib.IMAP4_SSL(host) as client:
            client.login(user, password)
            client.select(options["imap_folder"])
            _status, data = client.search(None, "UNSEEN")
            for number in data[0].split():
                _status, parts = client.fetch(number, "(BODY.PEEK[])")
                raw = parts[0][1]
                yield raw, lambda number=number: client.store(number, "+FLAGS", "\\Seen")
