"""Email in: one raw RFC 822 message becomes a reply, a new ticket, or nothing.

    ingest_email(tenant=..., raw=b"...") -> InboundResult

1. Parse; malformed mail is rejected (logged), never an exception to the caller.
2. Loop guards: auto-replies, bounces and bulk mail are ignored, so an
   out-of-office answering our acknowledgement cannot start a mail loop.
3. A message already ingested (same Message-ID) is ignored: redelivery is safe.
4. Threading: the secret token of our Reply-To address (reply+<token>@...),
   else our thread root in In-Reply-To/References.
5. A registered member adds to the ticket (or, with no thread, opens one);
   an unknown sender gets one polite reply a day pointing to the help center.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape, linebreaks

from helpdesk.models import Membership, Role, Tenant, User
from helpdesk.services import email_queue_template
from helpdesk.tenancy import tenant_url
from tickets.attachments import validate_upload
from tickets.models import Channel, Message, Ticket
from tickets.rendering import sanitize_html
from tickets.selectors import tickets_visible_to_customer
from tickets.services import Upload, ticket_create, ticket_reply

logger = logging.getLogger(__name__)

MAX_INBOUND_BYTES = 25 * 1024 * 1024
TOKEN_ADDRESS = re.compile(r"reply\+([A-Za-z0-9_-]{16,40})@", re.IGNORECASE)
THREAD_ROOT = re.compile(r"<ticket-([a-z0-9-]+)-(\d+)@[^>]+>", re.IGNORECASE)
AUTOMATED_SENDERS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|bounces?)[@+]", re.IGNORECASE)
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


@dataclass(frozen=True)
class InboundResult:
    action: str  # "replied", "created", "ignored", "unknown_sender", "rejected"
    ticket_number: int | None = None
    reason: str = ""


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
        name = part.get_filename() or "attachment"
        payload = part.get_payload(decode=True) or b""
        try:
            content_type = validate_upload(name, len(payload), part.get_content_type())
        except ValidationError as error:
            refused.append(" ".join(error.messages))
            continue
        uploads.append(
            Upload(
                name, SimpleUploadedFile(name, payload, content_type), len(payload), content_type
            )
        )
    return uploads, refused


def _find_ticket(tenant: Tenant, message: EmailMessage) -> Ticket | None:
    recipients = " ".join(
        str(message.get(h, "")) for h in ("To", "Cc", "Delivered-To", "X-Original-To")
    )
    token = TOKEN_ADDRESS.search(recipients)
    if token:
        ticket = Ticket.objects.filter(reply_token=token.group(1)).first()
        if ticket is not None:
            return ticket
    references = " ".join(str(message.get(h, "")) for h in ("In-Reply-To", "References"))
    for slug, number in THREAD_ROOT.findall(references):
        if slug.lower() == tenant.slug:
            ticket = Ticket.objects.filter(number=int(number)).first()
            if ticket is not None:
                return ticket
    return None


def _may_post(ticket: Ticket, membership: Membership) -> bool:
    if membership.has_role(Role.AGENT):
        return True
    return tickets_visible_to_customer(membership).filter(pk=ticket.pk).exists()


def ingest_email(*, tenant: Tenant, raw: bytes) -> InboundResult:
    """Turn one raw email into a reply or a ticket (run inside the tenant's scope)."""
    if len(raw) > MAX_INBOUND_BYTES:
        return InboundResult("rejected", reason="message too large")
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        _sender_name, sender = parseaddr(str(message.get("From", "")))
        subject = str(message.get("Subject", "")).strip()
        message_id = str(message.get("Message-ID", "")).strip()
        text, html = _body(message)
        uploads, refused = _attachments(message)
    except Exception as error:  # malformed MIME: a logged rejection, never a crash
        logger.warning("Rejected malformed inbound email for %s: %s", tenant.slug, error)
        return InboundResult("rejected", reason=f"malformed message: {error}")
    if not sender or "@" not in sender:
        return InboundResult("rejected", reason="no sender address")
    automated = _is_automated(message)
    if automated:
        logger.info("Ignored automated email from %s (%s)", sender, automated)
        return InboundResult("ignored", reason=automated)
    if message_id and Message.objects.filter(email_message_id=message_id[:255]).exists():
        return InboundResult("ignored", reason="already received")
    if refused:
        notice = "\n".join(f"[{reason}]" for reason in refused)
        text = f"{text}\n\n{notice}".strip()
        html = f"{html}<p><em>{escape(' '.join(refused))}</em></p>"

    user = User.objects.filter(email__iexact=sender).first()
    membership = (
        Membership.objects.filter(user=user, is_active=True).select_related("organization").first()
        if user
        else None
    )
    if membership is None:
        _answer_unknown_sender(tenant, sender, subject)
        return InboundResult("unknown_sender", reason=sender)

    ticket = _find_ticket(tenant, message)
    try:
        if ticket is not None and _may_post(ticket, membership) and ticket.status != "closed":
            ticket_reply(
                ticket=ticket,
                author=user,
                body=text,
                uploads=uploads,
                channel=Channel.EMAIL,
                body_html=html,
                email_message_id=message_id,
            )
            return InboundResult("replied", ticket.number)
        created = ticket_create(
            tenant=tenant,
            requester=user,
            subject=_clean_subject(subject) or text[:80] or "(no subject)",
            body=text,
            channel=Channel.EMAIL,
            uploads=uploads,
            body_html=html,
            email_message_id=message_id,
        )
    except ValidationError as error:
        logger.warning("Rejected inbound email from %s: %s", sender, error.messages)
        return InboundResult("rejected", reason=" ".join(error.messages))
    return InboundResult("created", created.number)


def _clean_subject(subject: str) -> str:
    return re.sub(r"^((re|fw|fwd|回复|答复|转发)\s*[:：]\s*)+", "", subject, flags=re.IGNORECASE)[
        :200
    ]


def _answer_unknown_sender(tenant: Tenant, sender: str, subject: str) -> None:
    """One polite reply a day per address: support is for registered customers."""
    if not cache.add(f"inbound-unknown:{tenant.pk}:{sender.lower()}", 1, timeout=24 * 3600):
        return
    email_queue_template(
        tenant=tenant,
        to=[sender],
        template_prefix="tickets/email/unknown_sender",
        context={
            "subject": subject,
            "signup_url": tenant_url(tenant, reverse("account_signup")),
            "login_url": tenant_url(tenant, reverse("account_login")),
        },
        headers={"Auto-Submitted": "auto-replied"},
    )
