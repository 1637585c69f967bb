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
4. Threading: the reply tokens of our Reply-To addresses (reply+<token>@...,
   tickets/reply_tokens.py), then any Message-ID of a ticket's thread in
   In-Reply-To/References (tickets/email_threads.py), then our thread root.
5. Who wrote it (docs/email.md, "Who wrote it"): the From address is only a
   claim. A reply is its sender's public reply when proven: sent to their own
   per-recipient token, or (customers only) with a DMARC pass from our receiving
   server (tickets/email_auth.py). Anything else that reaches a ticket is kept
   there as an internal note marked unverified, for an agent to review.
   A member's mail with no thread opens a ticket; a stranger's (one who has no
   reply token either) gets one polite reply a day and is suspended (14 days);
   a new mail whose DMARC fails is suspended for the admins.
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

from helpdesk.models import Membership, Tenant
from helpdesk.services import email_queue_template
from helpdesk.tenancy import tenant_url
from tickets.email_auth import SenderAuthentication, sender_authentication
from tickets.email_parsing import (
    Envelope,
    ParsedMail,
    UnreadableMail,
    clean_subject,
    parse_email,
    read_envelope,
)
from tickets.email_threads import message_id_known, referenced_ids, tickets_by_message_ids
from tickets.models import Channel, SenderCheck, SenderEvidence, Status, SuspendedEmail, Ticket
from tickets.reply_tokens import reply_tokens_in
from tickets.selectors import member_by_email, tickets_visible_to_customer
from tickets.services import (
    MailOrigin,
    suspended_email_keep,
    ticket_add_unverified_mail,
    ticket_create,
    ticket_reply,
)

logger = logging.getLogger(__name__)

MAX_INBOUND_BYTES = 25 * 1024 * 1024
THREAD_ROOT = re.compile(r"<ticket-([a-z0-9-]+)-(\d+)@[^>]+>", re.IGNORECASE)
# Errors that mean the database cannot store anything right now: the mail is not
# suspended (that would fail too) but handed back for the sender to retry.
STORAGE_UNAVAILABLE = (OperationalError, InterfaceError)
# A merged ticket's mail follows it into the ticket it was merged into.
MAX_MERGE_HOPS = 5


@dataclass(frozen=True)
class InboundResult:
    action: str  # "replied", "created", "unverified" (a note to review), "ignored", "suspended"
    ticket_number: int | None = None
    # Why it was ignored, the SuspendedEmail.Reason it was suspended for, or the
    # SenderEvidence that left it unverified.
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
    member = member_by_email(mail.sender)
    authentication = sender_authentication(mail.authentication_results, sender=mail.sender)
    destination = _destination(tenant, mail, member, authentication)
    if destination is None:
        raise MailProblem(
            SuspendedEmail.Reason.UNKNOWN_SENDER,
            _("%(sender)s is not a member of this help desk.") % {"sender": mail.sender},
        )
    text, html = mail.text, mail.html
    if mail.refused:
        notice = "\n".join(f"[{reason}]" for reason in mail.refused)
        text = f"{text}\n\n{notice}".strip()
        html = f"{html}<p><em>{escape(' '.join(mail.refused))}</em></p>"
    ticket, origin = destination
    content = {
        "body": text,
        "uploads": mail.uploads,
        "body_html": html,
        "email_message_id": mail.message_id,
        "mail_origin": origin,
    }
    try:
        if ticket is not None and not origin.verified:
            ticket_add_unverified_mail(ticket=ticket, **content)
            logger.warning(
                "Unverified mail from %r held on ticket #%s of %s (%s)",
                mail.sender,
                ticket.number,
                tenant.slug,
                origin.evidence,
            )
            return InboundResult("unverified", ticket.number, reason=origin.evidence)
        if ticket is not None:
            ticket_reply(ticket=ticket, author=member.user, channel=Channel.EMAIL, **content)
            return InboundResult("replied", ticket.number)
        if authentication.dmarc_failed:
            raise MailProblem(
                SuspendedEmail.Reason.DMARC_FAIL,
                _("Our mail server found the sender %(sender)s forged (DMARC fail).")
                % {"sender": mail.sender},
            )
        created = ticket_create(
            tenant=tenant,
            requester=member.user,
            subject=clean_subject(mail.subject) or text[:80] or "(no subject)",
            channel=Channel.EMAIL,
            requester_membership=member,
            **content,
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


# -- threading, and who wrote it ------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    """A ticket the mail may belong to, and how it was found."""

    ticket: Ticket
    # A reply token named it (the ticket's own, or one issued to a recipient).
    by_token: bool = False
    # Whom the per-recipient token was issued to (None: found by anything else).
    token_owner_id: int | None = None


def _thread_candidates(tenant: Tenant, mail: ParsedMail, member: Membership | None):
    """The tickets this mail may belong to, most certain first: the sender's own
    reply token before anyone else's, then other tokens, Message-IDs, thread root."""
    tokens = reply_tokens_in(mail.recipients)
    own = member.user_id if member else None
    for match in sorted(tokens, key=lambda match: match.owner_id is None or match.owner_id != own):
        yield _Candidate(match.ticket, by_token=True, token_owner_id=match.owner_id)
    message_ids = referenced_ids(mail.in_reply_to, mail.references)
    for ticket in tickets_by_message_ids(message_ids):
        yield _Candidate(ticket)
    for slug, number in THREAD_ROOT.findall(" ".join(message_ids)):
        if slug.lower() == tenant.slug:
            ticket = Ticket.objects.filter(number=int(number)).first()
            if ticket is not None:
                yield _Candidate(ticket)


def _destination(
    tenant: Tenant,
    mail: ParsedMail,
    member: Membership | None,
    authentication: SenderAuthentication,
) -> tuple[Ticket | None, MailOrigin] | None:
    """Where the mail goes and what is known of its sender: (ticket, origin) for a
    reply or an unverified note, (None, origin) for a new ticket, None for a
    stranger's mail that names no ticket (suspended).

    | the mail                                               | becomes                  |
    |--------------------------------------------------------|--------------------------|
    | to the sender's own token, DMARC not failed            | their public reply       |
    | to someone else's token (a forged agent, a forward)    | unverified note          |
    | to the sender's own token, DMARC fail                  | unverified note          |
    | a customer's, by Message-ID, thread root or a ticket's | public reply with a      |
    |   own (older) token                                    | DMARC pass, else note    |
    | an agent's or admin's without their own token          | unverified note          |
    | a stranger's with any reply token                      | unverified note          |
    | a member's with no thread                              | new ticket (DMARC fail:  |
    |                                                        | suspended)               |
    """

    def origin(check: str, evidence: str) -> MailOrigin:
        return MailOrigin(mail.sender, check, evidence, authentication.as_json())

    def unverified(evidence: str) -> MailOrigin:
        return origin(SenderCheck.UNVERIFIED, evidence)

    for candidate in _thread_candidates(tenant, mail, member):
        ticket = _follow_merges(candidate.ticket)
        if ticket.status == Status.CLOSED:
            continue  # a closed ticket's reply opens a new ticket
        if candidate.token_owner_id is not None:
            if member is None:
                return ticket, unverified(SenderEvidence.STRANGER)
            if candidate.token_owner_id != member.user_id:
                return ticket, unverified(SenderEvidence.OTHERS_TOKEN)
            if authentication.dmarc_failed:
                return ticket, unverified(SenderEvidence.DMARC_FAIL)
            if not _may_post(ticket, member):
                return ticket, unverified(SenderEvidence.NO_ACCESS)
            return ticket, origin(SenderCheck.VERIFIED, SenderEvidence.OWN_TOKEN)
        if member is None:
            if candidate.by_token:
                return ticket, unverified(SenderEvidence.STRANGER)
            continue  # a Message-ID alone does not let a stranger in
        if not _may_post(ticket, member):
            continue  # as it always was: perhaps a later candidate, else a new ticket
        if authentication.dmarc_failed:
            return ticket, unverified(SenderEvidence.DMARC_FAIL)
        if member.is_staff_member or not authentication.dmarc_passed:
            # An agent's public reply by mail needs their own token: every colleague
            # sends from the same domain, so DMARC cannot tell them apart.
            return ticket, unverified(SenderEvidence.NO_TOKEN)
        return ticket, origin(SenderCheck.VERIFIED, SenderEvidence.DMARC_PASS)
    if member is None:
        return None
    if authentication.dmarc_passed:
        return None, origin(SenderCheck.VERIFIED, SenderEvidence.DMARC_PASS)
    # Without a verdict the mail opens a ticket as email always did, marked as not
    # confirmed (the caller suspends one whose DMARC failed).
    return None, origin(SenderCheck.UNCONFIRMED, SenderEvidence.NO_PROOF)


def _follow_merges(ticket: Ticket) -> Ticket:
    """A merged ticket's mail goes to the ticket it was merged into."""
    for _hop in range(MAX_MERGE_HOPS):
        if ticket.merged_into_id is None:
            break
        ticket = Ticket.objects.get(pk=ticket.merged_into_id)
    return ticket


def _may_post(ticket: Ticket, membership: Membership) -> bool:
    if membership.is_staff_member:
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
