"""The local outbox used with DEBUG: mail is kept as .eml files and read at /dev/mail/.

Someone trying the demo can open the acknowledgement, replies and surveys in the
browser and click their links; production sends through SMTP instead.
"""

import email
import email.policy
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend


def outbox_dir() -> Path:
    return Path(settings.DEV_OUTBOX_DIR)


class DevOutboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        folder = outbox_dir()
        folder.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            (folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml").write_bytes(
                message.message().as_bytes()
            )
            print(
                f"[mail] to {', '.join(message.to)}: {message.subject}", file=sys.stdout, flush=True
            )
        return len(email_messages)


def outbox_messages(limit: int = 200) -> list[dict]:
    folder = outbox_dir()
    if not folder.exists():
        return []
    files = sorted(folder.glob("*.eml"), reverse=True)[:limit]
    return [{"name": path.stem, **_summary(_parse(path))} for path in files]


def outbox_message(name: str) -> dict | None:
    path = outbox_dir() / f"{name}.eml"
    if not path.name[:-4].replace("-", "").isalnum() or not path.exists():
        return None
    message = _parse(path)
    html = message.get_body(preferencelist=("html",))
    text = message.get_body(preferencelist=("plain",))
    return {
        "name": name,
        **_summary(message),
        "headers": list(message.items()),
        # Links open in a new tab: the app's pages refuse to be framed.
        "html": '<base target="_blank">' + html.get_content() if html else "",
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
