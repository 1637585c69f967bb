"""Reading raw mail: strictly for ingest, as best we can for suspended mail.

`parse_email` gives ingest everything it needs, or raises UnreadableMail; the
`readable_*` functions never raise, for the admin's page of a suspended mail and
for turning one into a ticket: unknown charsets fall back to UTF-8 with
replacement characters, and HTML is reduced to text, never rendered.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, fields, replace
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import parseaddr

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.html import escape, linebreaks
from django.utils.translation import gettext as _

from helpdesk.input_guard import storable
from helpdesk.uploads import check_upload
from tickets.rendering import sanitize_html
from tickets.services import Upload

AUTOMATED_SENDERS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|bounces?)[@+]", re.IGNORECASE)
# Header names shown on a suspended mail's page (a hostile mail may have thousands).
MAX_HEADERS_SHOWN = 200
# Lines where a mail client starts quoting the message being answered.
QUOTE_STARTS = [
    re.compile(r"^On .{5,200} wrote:\s*$"),
    re.compile(r"^在.{2,200}写道[:：]\s*$"),
    re.compile(r"^-{2,}\s*Original Message\s*-{2,}", re.IGNORECASE),
    re.compile(r"^-{2,}\s*原始邮件\s*-{2,}"),
    re.compile(r"^From: .+", re.IGNORECASE),
    re.compile(r"^发件人[:：]"),
    re.compile(r"^Reply above this line", re.IGNORECASE),
    re.compile(r"^请在此行上方回复"),
    re.compile(r"^_{10,}$"),
]


class UnreadableMail(Exception):
    """The mail cannot be parsed (malformed MIME), or names no sender."""


@dataclass(frozen=True)
class Envelope:
    """What can be read of a mail's headers, whatever state its body is in."""

    sender: str
    subject: str
    message_id: str


@dataclass(frozen=True)
class ParsedMail:
    sender: str
    subject: str
    message_id: str
    text: str
    html: str
    uploads: list[Upload]
    refused: list[str]
    automated: str
    recipients: str
    in_reply_to: str
    references: str
    # Every Authentication-Results header, from the top (the last added) down:
    # tickets/email_auth.py believes only our own server's.
    authentication_results: tuple[str, ...] = ()


def read_envelope(raw: bytes) -> Envelope:
    """Sender, subject and Message-ID as far as they can be read; never raises."""
    try:
        # The headers only: a 25 MB mail's body is not parsed to read its envelope.
        message = BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
    except Exception:
        return Envelope("", "", "")
    sender = parseaddr(_header_text(message, "From"))[1]
    return Envelope(
        sender=storable(sender[:320]),
        subject=storable(_header_text(message, "Subject")[:255]),
        message_id=storable(_header_text(message, "Message-ID")[:255]),
    )


def _header_text(message: EmailMessage, name: str) -> str:
    """A header as one line of text: decoded where possible, else as it was written."""
    try:
        value = str(message.get(name, "") or "")
    except Exception:
        value = next(
            (str(v) for k, v in message.raw_items() if k.lower() == name.lower()),
            "",
        )
        value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return " ".join(value.split())


def parse_email(raw: bytes) -> ParsedMail:
    """Everything ingest needs of a mail; UnreadableMail if it cannot be read."""
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        sender = parseaddr(str(message.get("From", "")))[1]
        text, html = _body(message)
        uploads, refused = _attachments(message)
        mail = ParsedMail(
            sender=sender,
            subject=str(message.get("Subject", "")).strip(),
            message_id=str(message.get("Message-ID", "")).strip(),
            text=text,
            html=html,
            uploads=uploads,
            refused=refused,
            automated=_is_automated(message),
            recipients=" ".join(
                str(message.get(h, "")) for h in ("To", "Cc", "Delivered-To", "X-Original-To")
            ),
            in_reply_to=str(message.get("In-Reply-To", "")),
            references=str(message.get("References", "")),
            authentication_results=tuple(
                str(value) for value in message.get_all("Authentication-Results", [])
            ),
        )
    except Exception as error:  # malformed MIME: whatever Python's parser raises
        raise UnreadableMail(storable(f"{type(error).__name__}: {error}"[:2000])) from error
    # Mail is not refused for a NUL or a lone surrogate (its raw bytes are kept as they
    # came): what is read of it is made storable instead.
    mail = replace(
        mail,
        **{f.name: storable(getattr(mail, f.name)) for f in fields(mail) if f.type == "str"},
    )
    sender = mail.sender
    if not sender or "@" not in sender:
        raise UnreadableMail(_("The mail has no sender address."))
    return mail


def _is_automated(message: EmailMessage) -> str:
    """Why this message was sent by a machine, or '' if a person sent it."""
    auto_submitted = (message.get("Auto-Submitted") or "no").strip().lower()
    if auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = (message.get("Precedence") or "").strip().lower()
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        return f"Precedence: {precedence}"
    for header in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress", "List-Id"):
        if message.get(header) and header != "X-Auto-Response-Suppress":
            return header
    if (message.get("Return-Path") or "").strip() == "<>":
        return "empty Return-Path (a bounce)"
    sender = parseaddr(str(message.get("From", "")))[1]
    if AUTOMATED_SENDERS.match(sender):
        return f"automated sender {sender}"
    if message.get_content_type() == "multipart/report":
        return "delivery report"
    return ""


def strip_quoted(text: str) -> str:
    """The new part of a reply: everything above the quoted history."""
    kept = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if any(pattern.match(line.strip()) for pattern in QUOTE_STARTS):
            break
        kept.append(line)
    while kept and (not kept[-1].strip() or kept[-1].lstrip().startswith(">")):
        kept.pop()
    return "\n".join(kept).strip()


def _body(message: EmailMessage) -> tuple[str, str]:
    """(plain text, safe HTML) of the new part of the message."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return "", ""
    content = part.get_content()
    if part.get_content_type() == "text/html":
        # No plain part: reduce the HTML to text, then quote-strip that text.
        text = re.sub(r"\n{3,}", "\n\n", sanitize_html_to_text(content))
    else:
        text = content
    text = strip_quoted(text)
    return text, linebreaks(escape(text))


def sanitize_html_to_text(html: str) -> str:
    html = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</tr>", "\n", html)
    return re.sub(r"[ \t]+", " ", re.sub(r"<[^>]+>", "", sanitize_html(html))).strip()


def _attachments(message: EmailMessage) -> tuple[list[Upload], list[str]]:
    uploads, refused = [], []
    for part in message.iter_attachments():
        name = storable(part.get_filename() or "attachment")
        payload = part.get_payload(decode=True) or b""
        try:
            content_type = check_upload(
                name=name,
                size=len(payload),
                declared_type=part.get_content_type(),
                content=payload,
            )
        except ValidationError as error:
            refused.append(" ".join(error.messages))
            continue
        uploads.append(
            Upload(
                name, SimpleUploadedFile(name, payload, content_type), len(payload), content_type
            )
        )
    return uploads, refused


# -- as best we can: suspended mail ------------------------------------------------------


def readable_text(raw: bytes) -> str:
    """The mail's text as best it can be decoded, never raising and never HTML: the
    admin's preview of suspended mail, and the body of a ticket made from it.

    Unknown or lying charsets fall back to UTF-8 with replacement characters; a
    mail with no text part that decodes gives the bytes after its headers.
    """
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        plain = html = ""
        for part in message.walk():
            if part.is_multipart() or part.get_content_disposition() == "attachment":
                continue
            content_type = part.get_content_type()
            if content_type not in ("text/plain", "text/html"):
                continue
            text = _decode(part.get_payload(decode=True) or b"", part.get_content_charset())
            if content_type == "text/plain" and not plain.strip():
                plain = text
            elif content_type == "text/html" and not html.strip():
                html = text
        if plain.strip():
            return plain.strip()
        if html.strip():
            return sanitize_html_to_text(html)
    except Exception:  # noqa: S110 - the fallback below reads the bytes themselves
        pass
    normalized = raw.replace(b"\r\n", b"\n")
    _headers, separator, body = normalized.partition(b"\n\n")
    return _decode(body if separator else normalized, None).strip()


def readable_headers(raw: bytes) -> list[tuple[str, str]]:
    """Every header of the mail as (name, text), decoded where possible; never raises."""
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        names = list(dict.fromkeys(name for name, _value in message.raw_items()))
    except Exception:
        return []
    headers = []
    for name in names[:MAX_HEADERS_SHOWN]:
        try:
            values = [str(value) for value in message.get_all(name, [])]
        except Exception:
            values = [_header_text(message, name)]
        headers.extend((name, " ".join(value.split())[:2000]) for value in values)
    return headers


def readable_attachments(raw: bytes) -> tuple[list[Upload], list[str]]:
    """The attachments that can be read and pass validation, and notes on the others."""
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        return _attachments(message)
    except Exception as error:
        return [], [_("The attachments could not be read (%(error)s).") % {"error": error}]


def _decode(payload: bytes, charset: str | None) -> str:
    try:
        return payload.decode(charset or "utf-8")
    except (LookupError, UnicodeDecodeError):
        return payload.decode("utf-8", "replace")


def clean_subject(subject: str) -> str:
    return re.sub(r"^((re|fw|fwd|回复|答复|转发)\s*[:：]\s*)+", "", subject, flags=re.IGNORECASE)[
        :200
    ]
