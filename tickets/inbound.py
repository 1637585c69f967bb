"""Email in: one raw RFC 822 message becomes a reply, a new ticket, or suspended mail.

    ingest_email(tenant=..., raw=b"...", source=...) -> InboundResult

Nothing that reaches us is lost: mail that cannot become a ticket or a reply is
kept, raw bytes and all, as `SuspendedEmail` for the desk's admins (see
docs/email.md). In order (a mail over MAX_INBOUND_BYTES is suspended first):

1. A Message-ID the desk already has is ignored: a redelivered mail, or one of
   our own emails coming back. One already suspended is answered as such again.
2. Parse; mail that cannot be read (or has no sender) is suspended.
3. Loop guards: auto-replies, bounces and bulk mail are ignored, so an
   out-of-office answering our acknowledgement cannot start a mail loop.
4. A sender who is not a member of the desk gets one polite reply a day pointing
   to the help center, and the mail is suspended (kept 14 days).
5. Threading: the secret token of our Reply-To address (reply+<token>@...), then
   any Message-ID of a ticket's thread in In-Reply-To/References
   (tickets/email_threads.py), then our thread root; the first of those tickets
   the sender may post into gets the reply, else the mail opens a ticket.
6. What the ticket services refuse (ValidationError) is suspended as rejected;
   any other exception as failed, and logged.

Only a database that cannot store the mail at all raises (OperationalError,
InterfaceError), so the caller makes the sender try again later: the endpoint
answers 503, `ingest_mail` leaves the message unread.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _

from helpdesk.models import Membership, Role, Tenant, User
from helpdesk.services import email_queue_template
from helpdesk.tenancy import tenant_url
from tickets.email_parsing import (
    Envelope,
    ParsedMail,
    UnreadableMail,
    clean_subject,
    parse_email,
    read_envelope,
)
from tickets.email_threads import message_id_known, referenced_ids, tickets_by_message_ids
from tickets.models import Channel, Status, SuspendedEmail, Ticket
from tickets.selectors import tickets_visible_to_customer
from tickets.services import suspended_email_keep, ticket_create, ticket_reply

logger = logging.getLogger(__name__)

MAX_INBOUND_BYTES = 25 * 1024 * 1024
TOKEN_ADDRESS = re.compile(r"reply\+([A-Za-z0-9_-]{16,40})@", re.IGNORECASE)
THREAD_ROOT = re.compile(r"<ticket-([a-z0-9-]+)-(\d+)@[^>]+>", re.IGNORECASE)
# Errors that mean the database cannot store anything right now: the mail is not
# suspended (that would fail too) but handed back for the sender to retry.
STORAGE_UNAVAILABLE = (OperationalError, InterfaceError)
# A merged ticket's mail follows it into the ticket it was merged into.
MAX_MERGE_HOPS = 5


@dataclass(frozen=True)
class InboundResult:
    action: str  # "replied", "created", "ignored", "suspended"
    ticket_number: int | None = None
    # Why it was ignored, or the SuspendedEmail.Reason it was suspended for.
    reason: str = ""
    # What went wrong, for suspended mail.
    detail: str = ""

    def as_json(self) -> dict:
        return {
            "action": self.action,
            "ticket": self.ticket_number,
            "reason": self.reason,
            "detail": self.detail,
        }


class MailProblem(Exception):
    """Why a mail is suspended instead of becoming a ticket or a reply."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = str(reason)  # a Reason member or its value: always the plain code
        self.detail = detail


# -- the pipeline ------------------------------------------------------------------------


def ingest_email(
    *, tenant: Tenant, raw: bytes, source: str = SuspendedEmail.Source.GATEWAY
) -> InboundResult:
    """Turn one raw email into a reply, a ticket or suspended mail (in the tenant's scope)."""
    envelope = read_envelope(raw)
    if envelope.message_id:
        kept = SuspendedEmail.objects.filter(message_id=envelope.message_id[:255]).first()
        if kept is not None:  # delivered again: it is kept already
            return InboundResult("suspended", reason=kept.reason, detail=kept.error)
    try:
        return process_email(tenant=tenant, raw=raw, size=len(raw))
    except MailProblem as problem:
        return _suspend(tenant, raw, envelope, source, problem)


def process_email(*, tenant: Tenant, raw: bytes, size: int) -> InboundResult:
    """Steps 1-6 (see the module's docstring) on a mail of `size` bytes (`raw` holds
    the first MAX_INBOUND_BYTES of it). Raises MailProblem for what it cannot take,
    and the database's errors when it cannot store anything."""
    if size > MAX_INBOUND_BYTES:
        raise MailProblem(
            SuspendedEmail.Reason.TOO_LARGE,
            _("The message is %(size)d bytes; at most %(limit)d are taken.")
            % {"size": size, "limit": MAX_INBOUND_BYTES},
        )
    envelope = read_envelope(raw)
    ignored = _already_here(envelope.message_id)
    if ignored:
        return InboundResult("ignored", reason=ignored)
    try:
        # One savepoint: whatever fails below leaves nothing half-written behind,
        # and the mail can still be suspended in the same transaction.
        with transaction.atomic():
            return _process(tenant, raw)
    except (MailProblem, *STORAGE_UNAVAILABLE):
        raise
    except IntegrityError as error:
        ignored = _already_here(envelope.message_id)
        if ignored:  # the same mail, delivered twice at once, got in first
            return InboundResult("ignored", reason=ignored)
        logger.exception("Inbound email for %s failed", tenant.slug)
        raise MailProblem(SuspendedEmail.Reason.FAILED, _describe(error)) from error
    except Exception as error:
        logger.exception("Inbound email for %s failed", tenant.slug)
        raise MailProblem(SuspendedEmail.Reason.FAILED, _describe(error)) from error


def _already_here(message_id: str) -> str:
    """Why a mail with this Message-ID is not taken again ('' if it is new)."""
    known = message_id_known(message_id)
    if known is None:
        return ""
    return "one of our own emails" if known.sent else "already received"


def _process(tenant: Tenant, raw: bytes) -> InboundResult:
    try:
        mail = parse_email(raw)
    except UnreadableMail as error:
        raise MailProblem(SuspendedEmail.Reason.UNPARSEABLE, str(error)) from error
    if mail.automated:
        logger.info("Ignored automated email from %s (%s)", mail.sender, mail.automated)
        return InboundResult("ignored", reason=mail.automated)
    user = User.objects.filter(email__iexact=mail.sender).first()
    membership = (
        Membership.objects.filter(user=user, is_active=True).select_related("organization").first()
        if user
        else None
    )
    if membership is None:
        raise MailProblem(
            SuspendedEmail.Reason.UNKNOWN_SENDER,
            _("%(sender)s is not a member of this help desk.") % {"sender": mail.sender},
        )
    text, html = mail.text, mail.html
    if mail.refused:
        notice = "\n".join(f"[{reason}]" for reason in mail.refused)
        text = f"{text}\n\n{notice}".strip()
        html = f"{html}<p><em>{escape(' '.join(mail.refused))}</em></p>"
    ticket = _ticket_to_post_into(tenant, mail, membership)
    try:
        if ticket is not None:
            ticket_reply(
                ticket=ticket,
                author=user,
                body=text,
                uploads=mail.uploads,
                channel=Channel.EMAIL,
                body_html=html,
                email_message_id=mail.message_id,
            )
            return InboundResult("replied", ticket.number)
        created = ticket_create(
            tenant=tenant,
            requester=user,
            subject=clean_subject(mail.subject) or text[:80] or "(no subject)",
            body=text,
            channel=Channel.EMAIL,
            uploads=mail.uploads,
            body_html=html,
            email_message_id=mail.message_id,
        )
    except ValidationError as error:
        raise MailProblem(SuspendedEmail.Reason.REJECTED, " ".join(error.messages)) from error
    return InboundResult("created", created.number)


def _suspend(
    tenant: Tenant, raw: bytes, envelope: Envelope, source: str, problem: MailProblem
) -> InboundResult:
    logger.warning(
        "Suspended inbound email for %s from %r (%s): %s",
        tenant.slug,
        envelope.sender,
        problem.reason,
        problem.detail,
    )
    with transaction.atomic():
        kept = suspended_email_keep(
            tenant=tenant,
            raw=raw[:MAX_INBOUND_BYTES],
            size=len(raw),
            sender=envelope.sender,
            subject=envelope.subject,
            message_id=envelope.message_id,
            source=source,
            reason=problem.reason,
            error=problem.detail,
        )
        if problem.reason == SuspendedEmail.Reason.UNKNOWN_SENDER:
            _answer_unknown_sender(tenant, envelope.sender, envelope.subject)
    return InboundResult("suspended", reason=kept.reason, detail=kept.error)


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


# -- threading ---------------------------------------------------------------------------


def _thread_candidates(tenant: Tenant, mail: ParsedMail):
    """The tickets this mail may belong to, most certain first."""
    token = TOKEN_ADDRESS.search(mail.recipients)
    if token:
        ticket = Ticket.objects.filter(reply_token=token.group(1)).first()
        if ticket is not None:
            yield ticket
    message_ids = referenced_ids(mail.in_reply_to, mail.references)
    yield from tickets_by_message_ids(message_ids)
    for slug, number in THREAD_ROOT.findall(" ".join(message_ids)):
        if slug.lower() == tenant.slug:
            ticket = Ticket.objects.filter(number=int(number)).first()
            if ticket is not None:
                yield ticket


def _ticket_to_post_into(tenant: Tenant, mail: ParsedMail, membership: Membership):
    """The first ticket of the mail's thread the sender may post into, or None (a
    new ticket). Knowing a token or a Message-ID is never enough on its own."""
    for ticket in _thread_candidates(tenant, mail):
        for _hop in range(MAX_MERGE_HOPS):
            if ticket.merged_into_id is None:
                break
            ticket = Ticket.objects.get(pk=ticket.merged_into_id)
        if ticket.status != Status.CLOSED and _may_post(ticket, membership):
            return ticket
    return None


def _may_post(ticket: Ticket, membership: Membership) -> bool:
    if membership.has_role(Role.AGENT):
        return True
    return tickets_visible_to_customer(membership).filter(pk=ticket.pk).exists()


def _answer_unknown_sender(tenant: Tenant, sender: str, subject: str) -> None:
    """One polite reply a day per address: support is for registered customers.

    The outbox's dedupe key (unique per desk) makes it once per day in the database
    itself, so intake does not depend on Redis.
    """
    if not sender or "@" not in sender:
        return
    digest = hashlib.sha256(sender.lower().encode()).hexdigest()[:32]
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
        dedupe_key=f"unknown-sender:{timezone.now():%Y-%m-%d}:{digest}",
    )


__all__ = [
    "MAX_INBOUND_BYTES",
    "STORAGE_UNAVAILABLE",
    "InboundResult",
    "MailProblem",
    "ingest_email",
    "process_email",
]
