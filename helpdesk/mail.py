"""The local outbox used with DEBUG: mail is kept as .eml files and read at /dev/mail/.

Someone trying the demo can open the acknowledgement, replies and surveys in the
browser and click their links; production sends through SMTP instead.

Each desk's mail goes to a folder of its own (`desk-<id>/`), decided by the tenant
scope the mail is sent in (a request's or a task's); mail sent outside any desk's
scope goes to `platform/`. A desk's host lists and opens only its own folder, so
one desk's password-reset links are never shown on another desk's host.
"""

import email
import email.policy
import re
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

from helpdesk.tenancy import current_tenant

PLATFORM_FOLDER = "platform"
# What the backend names a message: <UTC time>-<8 random hex digits>.
_NAME = re.compile(r"\d{8}T\d{12}-[0-9a-f]{8}")


def outbox_dir() -> Path:
    return Path(settings.DEV_OUTBOX_DIR)


def outbox_folder(tenant) -> Path:
    """The folder of `tenant`'s mail (None: the platform's)."""
    return outbox_dir() / (f"desk-{tenant.pk}" if tenant is not None else PLATFORM_FOLDER)


class DevOutboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        tenant = current_tenant()
        folder = outbox_folder(tenant)
        folder.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            (folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml").write_bytes(
                message.message().as_bytes()
            )
            desk = tenant.slug if tenant is not None else PLATFORM_FOLDER
            print(
                f"[mail] {desk}: to {', '.join(message.to)}: {message.subject}",
                file=sys.stdout,
                flush=True,
            )
        return len(email_messages)


def outbox_messages(tenant, limit: int = 200) -> list[dict]:
    """The newest messages of `tenant`'s folder (None: the platform's)."""
    folder = outbox_folder(tenant)
    if not folder.exists():
        return []
    files = sorted(
        (path for path in folder.glob("*.eml") if _NAME.fullmatch(path.stem)), reverse=True
    )[:limit]
    return [{"name": path.stem, **_summary(_parse(path))} for path in files]


def outbox_message(tenant, name: str) -> dict | None:
    """One message of `tenant`'s folder by name; None for any other name."""
    if not _NAME.fullmatch(name):
        return None
    path = outbox_folder(tenant) / f"{name}.eml"
    if not path.is_file():
        return None
    message = _parse(path)
    html = message.get_body(preferencelist=("html",))
    text = message.get_body(preferencelist=("plain",))
    return {
        "name": name,
        **_summary(message),
        "headers": list(message.items()),
        "html": html.get_content() if html else "",
        "text": text.get_content() if text else "",
    }


def _parse(path: Path):
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def _summary(message) -> dict:
    return {
        "subject": str(message.get("Subject", "")),
        "to": str(message.get("To", "")),
        "from": str(message.get("From", "")),
        "date": str(message.get("Date", "")),
    }
