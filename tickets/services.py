"""Every write to tickets: one function per action, each in one transaction with its
audit rows and the domain events it publishes (tickets/events.py), which notifications,
surveys and the rest subscribe to (docs/events.md)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk import events
from helpdesk.models import Membership, Role, Tenant, User
from helpdesk.queries import unique_match
from helpdesk.uploads import check_upload
from sla import timers as sla_clocks
from sla.selectors import policy_book
from tickets.email_threads import message_id_known, received_message_id_record
from tickets.events import (
    AgentReplied,
    CustomerReplied,
    MailHeld,
    NoteAdded,
    TicketChanged,
    TicketCreated,
    TicketMerged,
    TicketReopened,
    TicketSolved,
)
from tickets.models import (
    SUSPENDED_FROM_STRANGERS_KEPT,
    UNSOLVED,
    Attachment,
    Category,
    Channel,
    Group,
    Macro,
    Message,
    Priority,
    SenderCheck,
    SenderEvidence,
    Status,
    SuspendedEmail,
    Ticket,
    TicketEvent,
    TicketSequence,
)
from tickets.rendering import (
    fill_placeholders,
    render_markdown,
    sanitize_html,
    ticket_placeholders,
)
from tickets.search import search_add_message, search_index
from tickets.selectors import customer_may_see, member_by_email

logger = logging.getLogger(__name__)

# A new desk's categories, named in English and Chinese (admins rename or add to them).
DEFAULT_CATEGORIES = [
    ("Getting started", "入门使用"),
    ("Technical issue", "技术问题"),
    ("Billing", "账单"),
    ("Account", "账户"),
    ("Feature request", "功能建议"),
]


@dataclass(frozen=True)
class Upload:
    """A file to attach, from a form, the API or an email."""

    name: str
    content: UploadedFile
    size: int
    content_type: str | None = None

    @classmethod
    def from_uploaded(cls, uploaded: UploadedFile) -> Upload:
        return cls(uploaded.name, uploaded, uploaded.size, uploaded.content_type)


@dataclass(frozen=True)
class MailOrigin:
    """Who a message that came by email says it is from, and what proves it
    (decided by tickets/inbound.py, stored on the message)."""

    sender: str  # the From address
    check: str  # SenderCheck
    evidence: str  # SenderEvidence
    authentication: dict = field(default_factory=dict)  # our server's verdict

    @property
    def verified(self) -> bool:
        return self.check == SenderCheck.VERIFIED


def category_create_defaults(*, tenant: Tenant) -> None:
    for position, (name, name_zh_hans) in enumerate(DEFAULT_CATEGORIES):
        Category.objects.get_or_create(
            tenant=tenant, name=name, defaults={"name_zh_hans": name_zh_hans, "position": position}
        )


def _next_number(tenant: Tenant) -> int:
    # One statement locks the tenant's row and hands out the number (the ORM has no
    # UPDATE ... RETURNING). The lock, held until commit, serializes numbering within a
    # tenant only; other tenants never wait.
    table = connection.ops.quote_name(TicketSequence._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_number = last_number + 1 "  # noqa: S608 - our table name
            "WHERE tenant_id = %s RETURNING last_number",
            [tenant.pk],
        )
        row = cursor.fetchone()
    if row is None:  # the tenant's first ticket
        TicketSequence.objects.get_or_create(tenant=tenant)
        return _next_number(tenant)
    return row[0]


# The rule (rules/) whose actions are running, if any, as (kind, name): every audit row
# written meanwhile says so, "by trigger Escalate VIP".
_acting_rule: ContextVar[tuple[str, str] | None] = ContextVar("acting_rule", default=None)


@contextmanager
def changes_by_rule(kind: str, name: str) -> Iterator[None]:
    """Attribute the audit rows of the changes made inside to the rule `name`."""
    token = _acting_rule.set((kind, name[:100]))
    try:
        yield
    finally:
        _acting_rule.reset(token)


def _event(
    ticket: Ticket, actor: User | None, kind: str, old: object = "", new: object = ""
) -> TicketEvent:
    rule_kind, rule_name = _acting_rule.get() or ("", "")
    return TicketEvent(
        tenant_id=ticket.tenant_id,
        ticket=ticket,
        actor=actor,
        kind=kind,
        old_value=str(old)[:255],
        new_value=str(new)[:255],
        rule_kind=rule_kind,
        rule_name=rule_name,
    )


def ticket_record_rule(*, ticket: Ticket, kind: str, name: str) -> TicketEvent:
    """The audit row of a rule firing on a ticket; its changes follow, attributed."""
    with changes_by_rule(kind, name):
        return _record(ticket, None, TicketEvent.Kind.RULE, new=name)


def _record(ticket: Ticket, actor: User | None, kind: str, old: object = "", new: object = ""):
    event = _event(ticket, actor, kind, old, new)
    event.save()
    return event


def _is_staff(user: User | None) -> bool:
    """Is `user` an agent or admin of the tenant in scope?"""
    if user is None:
        return False
    return (
        user.is_superuser
        or Membership.objects.filter(
            user=user, role__in=[Role.AGENT, Role.ADMIN], is_active=True
        ).exists()
    )


def _active_membership(user: User) -> Membership | None:
    """The user's active membership in the tenant in scope, with organization and plan."""
    return unique_match(
        Membership.objects.filter(user=user, is_active=True).select_related("organization__plan")
    )


def _attach(ticket: Ticket, message: Message, uploads: Sequence[Upload]) -> list[Attachment]:
    from django.conf import settings

    if len(uploads) > settings.ATTACHMENTS_PER_MESSAGE:
        raise ValidationError(
            _("Attach at most %(count)d files to one message.")
            % {"count": settings.ATTACHMENTS_PER_MESSAGE}
        )
    attachments = []
    for upload in uploads:
        content_type = check_upload(
            name=upload.name,
            size=upload.size,
            declared_type=upload.content_type,
            content=upload.content,
        )
        attachment = Attachment(
            tenant_id=ticket.tenant_id,
            ticket=ticket,
            message=message,
            name=upload.name[:255],
            size=upload.size,
            content_type=content_type,
        )
        attachment.file.save(upload.name, upload.content, save=False)
        attachment.save()
        attachments.append(attachment)
    return attachments


def _add_message(
    ticket: Ticket,
    *,
    author: User | None,
    body: str,
    is_internal: bool,
    channel: str,
    uploads: Sequence[Upload] = (),
    body_html: str | None = None,
    email_message_id: str = "",
    mail_origin: MailOrigin | None = None,
    client_key: uuid.UUID | None = None,
    searchable_now: bool = True,
) -> Message:
    """Store a message of `ticket`; its words join the ticket's search document at once
    (a new ticket's first message is indexed with the ticket, `searchable_now=False`)."""
    if not body.strip() and not uploads:
        raise ValidationError({"body": _("Write a message or attach a file.")})
    origin = (
        {
            "email_from": mail_origin.sender[:320],
            "sender_check": mail_origin.check,
            "sender_evidence": mail_origin.evidence,
            "email_authentication": mail_origin.authentication,
        }
        if mail_origin is not None
        else {}
    )
    message = Message.objects.create(
        tenant_id=ticket.tenant_id,
        ticket=ticket,
        author=author,
        body=body,
        # HTML from another channel (email) is sanitized like rendered Markdown.
        body_html=sanitize_html(body_html) if body_html is not None else render_markdown(body),
        is_internal=is_internal,
        channel=channel,
        email_message_id=email_message_id[:255],
        # Unverified mail waits for an agent's review, at a URL of its own.
        review_key=uuid.uuid4()
        if mail_origin is not None and mail_origin.check == SenderCheck.UNVERIFIED
        else None,
        client_key=client_key,
        **origin,
    )
    # In the message's transaction: a reply naming this mail threads here, and a
    # second delivery of it cannot add a second message (the id is unique per desk).
    received_message_id_record(ticket=ticket, message_id=email_message_id)
    _attach(ticket, message, uploads)
    if searchable_now:
        search_add_message(ticket.pk, body)
    return message


def _validate_priority_for(organization, priority: int, *, by_staff: bool) -> None:
    """Urgent is reserved to plans that allow it, when customers choose it themselves."""
    if by_staff or priority != Priority.URGENT:
        return
    from plans.models import Plan

    plan = organization.plan if organization else Plan.objects.order_by("rank").first()
    if plan is None or not plan.allows_urgent:
        raise ValidationError(
            {"priority": _("Urgent priority is part of higher plans; choose High instead.")}
        )


@transaction.atomic
def ticket_create(
    *,
    tenant: Tenant,
    requester: User,
    subject: str,
    body: str,
    category: Category | None = None,
    priority: int = Priority.MEDIUM,
    channel: str = Channel.WEB,
    uploads: Sequence[Upload] = (),
    actor: User | None = None,
    body_html: str | None = None,
    email_message_id: str = "",
    tags: Iterable[str] = (),
    requester_membership: Membership | None = None,
    mail_origin: MailOrigin | None = None,
    notify: bool = True,
    author: User | None = None,
    assignee: User | None = None,
) -> Ticket:
    """Open a ticket for `requester` (filed by them, or by `actor` on their behalf).

    A caller that already holds the requester's active membership here (the API has
    the caller's) passes it as `requester_membership` and saves looking it up. Mail
    passes what it knows of its sender as `mail_origin` (never an unverified one:
    that is a note on a ticket, see ticket_add_unverified_mail). A live chat opens its
    ticket without emails (`notify=False`): the customer is on the line.

    An agent who opens a ticket for a customer (a call, a conversation elsewhere) is
    its `author`: the requester is the customer, the description is the agent's and
    public, as in Zendesk. The customer is emailed that description instead of the
    acknowledgement, and no first reply is owed (sla.timers.start).
    """
    if mail_origin is not None and mail_origin.check == SenderCheck.UNVERIFIED:
        raise ValueError("Unverified mail opens no ticket.")
    actor = actor or requester
    author = author or requester
    opened_by_desk = author != requester
    if opened_by_desk and not _is_staff(author):
        raise PermissionDenied
    if assignee is not None and not _is_staff(assignee):
        raise ValidationError({"assignee": _("Tickets can only be assigned to agents.")})
    membership = requester_membership or _active_membership(requester)
    if membership is None or not membership.is_active:
        raise ValidationError(_("The requester is not a member of this help desk."))
    if membership.user_id != requester.pk or membership.tenant_id != tenant.pk:
        raise ValueError("requester_membership is not the requester's membership here.")
    if actor == requester:
        by_staff = actor.is_superuser or membership.is_staff_member
    else:
        by_staff = _is_staff(actor)
    organization = membership.organization
    _validate_priority_for(organization, priority, by_staff=by_staff)
    if not subject.strip():
        raise ValidationError({"subject": _("Give the request a subject.")})
    # Read before the number is taken: the tenant's numbering is locked from then
    # until commit, so other creations wait through whatever comes after.
    policies = policy_book(tenant)
    now = timezone.now()
    ticket = Ticket(
        tenant=tenant,
        number=_next_number(tenant),
        subject=subject.strip()[:200],
        requester=requester,
        organization=organization,
        category=category,
        priority=priority,
        channel=channel,
        tags=_clean_tags(tags),
        assignee=assignee,
        created_at=now,
        updated_at=now,
    )
    sla_clocks.start(ticket, policies, now, answered=opened_by_desk)
    ticket.save(force_insert=True)
    message = _add_message(
        ticket,
        author=author,
        body=body,
        is_internal=False,
        channel=channel,
        uploads=uploads,
        body_html=body_html,
        email_message_id=email_message_id,
        mail_origin=mail_origin,
        searchable_now=False,
    )
    search_index(ticket, bodies=[body])
    # The creation and the clocks it started: one insert for the audit trail.
    _outcomes, clock_events = sla_clocks.take_records(ticket)
    TicketEvent.objects.bulk_create(
        [
            _event(ticket, actor, TicketEvent.Kind.CREATED, new=ticket.get_channel_display()),
            *(
                [_event(ticket, actor, TicketEvent.Kind.ASSIGNEE, "", assignee.display_name)]
                if assignee is not None
                else []
            ),
            *clock_events,
        ]
    )
    created = TicketCreated(
        tenant_id=tenant.pk,
        ticket_id=ticket.pk,
        message_id=message.pk,
        actor_id=actor.pk,
        by_desk=opened_by_desk,
        notify=notify,
        assignee_id=assignee.pk if assignee else None,
    )
    events.publish(created, ticket=ticket, message=message)
    return ticket


# The channels an agent may say a ticket they open came through.
CHANNELS_AGENTS_OPEN = (Channel.PHONE, Channel.EMAIL, Channel.WEB)


@transaction.atomic
def ticket_open_for_customer(
    *,
    tenant: Tenant,
    actor: User,
    subject: str,
    body: str,
    channel: str = Channel.PHONE,
    priority: int = Priority.MEDIUM,
    category: Category | None = None,
    assignee: User | None = None,
    requester: User | None = None,
    new_customer_email: str = "",
    new_customer_name: str = "",
    new_customer_organization=None,
) -> Ticket:
    """An agent opens a ticket for a customer from the agent workspace (a call, a
    conversation elsewhere): `requester`, a customer of this desk, or a new customer
    added by email (in `new_customer_organization`, invited to set a password).

    The requester is the customer and the description is the agent's, public, as
    in Zendesk (see ticket_create). The ticket's organization is the customer's own:
    an agent cannot file it under another one.
    """
    from helpdesk.services import member_invite

    if not _is_staff(actor):
        raise PermissionDenied
    if channel not in CHANNELS_AGENTS_OPEN:
        raise ValidationError({"channel": _("Choose phone, email or web.")})
    if requester is None:
        if not new_customer_email.strip():
            raise ValidationError(
                {"requester": _("Choose the customer, or give a new customer's email address.")}
            )
        if User.objects.filter(email__iexact=new_customer_email.strip()).exists():
            raise ValidationError(
                {
                    "new_email": _(
                        "Someone of this help desk already signs in with this address: "
                        "search for them and choose them."
                    )
                }
            )
        requester = member_invite(
            tenant=tenant,
            email=new_customer_email,
            role=Role.CUSTOMER,
            organization=new_customer_organization,
            full_name=new_customer_name.strip(),
            invited_by=actor,
        ).user
    membership = _active_membership(requester)
    if membership is None or membership.role != Role.CUSTOMER:
        raise ValidationError({"requester": _("Choose a customer of this help desk.")})
    return ticket_create(
        tenant=tenant,
        requester=requester,
        subject=subject,
        body=body,
        category=category,
        priority=priority,
        channel=channel,
        actor=actor,
        author=actor,
        assignee=assignee,
        requester_membership=membership,
    )


def clean_tag(tag: str) -> str:
    """'Needs Reply ' -> 'needs-reply': how tags are stored and searched."""
    return "-".join(tag.strip().lower().split())[:50]


def _clean_tags(tags: Iterable[str]) -> list[str]:
    cleaned = []
    for tag in map(clean_tag, tags):
        if tag and tag not in cleaned:
            cleaned.append(tag)
    return cleaned


@transaction.atomic
def ticket_reply(
    *,
    ticket: Ticket,
    author: User,
    body: str,
    uploads: Sequence[Upload] = (),
    channel: str = Channel.WEB,
    status: str | None = None,
    body_html: str | None = None,
    email_message_id: str = "",
    mail_origin: MailOrigin | None = None,
    client_key: uuid.UUID | None = None,
    notify: bool = True,
) -> Message:
    """A public reply. An agent's reply answers the customer (and may set the status
    it is submitted as); a customer's reply reopens a solved ticket. A line of a live
    chat (`notify=False`) sends no email: both sides are reading.

    A reply by mail (`mail_origin`) is public only once its sender is verified, and
    an agent's only by their own reply token: a DMARC pass proves the domain, and
    an agent's domain is shared with every colleague.
    """
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.status == Status.CLOSED:
        raise ValidationError(_("This ticket is closed; open a new request instead."))
    by_staff = _is_staff(author)
    if mail_origin is not None and not (
        mail_origin.verified and (not by_staff or mail_origin.evidence == SenderEvidence.OWN_TOKEN)
    ):
        raise ValueError("Mail from an unproven sender is not a public reply.")
    message = _add_message(
        ticket,
        author=author,
        body=body,
        is_internal=False,
        channel=channel,
        uploads=uploads,
        body_html=body_html,
        email_message_id=email_message_id,
        mail_origin=mail_origin,
        client_key=client_key,
    )
    now = timezone.now()
    if by_staff:
        sla_clocks.agent_replied(ticket, policy_book(ticket.tenant_id), now)
        new_status = status or (Status.OPEN if ticket.status == Status.NEW else ticket.status)
        if new_status != ticket.status:
            _set_status(ticket, new_status, author)
        _publish_reply(AgentReplied, ticket, message, author, notify=notify)
    else:
        _customer_replied(ticket, author, message, now, notify=notify)
    ticket.updated_at = now
    _save(ticket, author)
    return message


def _customer_replied(
    ticket: Ticket, author: User, message: Message, now, *, notify: bool = True
) -> None:
    """A customer's public reply: a solved ticket reopens, a pending one opens, the
    next-response clock starts and the agents hear of it (ticket locked by the caller)."""
    if ticket.status == Status.SOLVED:
        _record(ticket, author, TicketEvent.Kind.REOPENED, Status.SOLVED, Status.OPEN)
        _set_status(ticket, Status.OPEN, author, record=False)
    elif ticket.status == Status.PENDING:
        _set_status(ticket, Status.OPEN, author)
    sla_clocks.customer_replied(ticket, policy_book(ticket.tenant_id), now)
    _publish_reply(CustomerReplied, ticket, message, author, notify=notify)


def _publish_reply(
    event_class: type[AgentReplied | CustomerReplied],
    ticket: Ticket,
    message: Message,
    author: User,
    *,
    notify: bool,
) -> None:
    replied = event_class(
        tenant_id=ticket.tenant_id,
        ticket_id=ticket.pk,
        message_id=message.pk,
        actor_id=author.pk,
        notify=notify,
    )
    events.publish(replied, ticket=ticket, message=message)


@transaction.atomic
def ticket_add_note(
    *, ticket: Ticket, author: User, body: str, uploads: Sequence[Upload] = ()
) -> Message:
    """An internal note: agents only, never shown or sent to the customer."""
    if not _is_staff(author):
        raise PermissionDenied
    message = _add_message(
        ticket, author=author, body=body, is_internal=True, channel=Channel.WEB, uploads=uploads
    )
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now())
    noted = NoteAdded(
        tenant_id=ticket.tenant_id, ticket_id=ticket.pk, message_id=message.pk, actor_id=author.pk
    )
    events.publish(noted, ticket=ticket, message=message)
    return message


@transaction.atomic
def ticket_add_desk_note(*, ticket: Ticket, body: str) -> Message:
    """An internal note written by the desk itself (a rule's), with no author."""
    message = _add_message(ticket, author=None, body=body, is_internal=True, channel=Channel.WEB)
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now())
    noted = NoteAdded(
        tenant_id=ticket.tenant_id, ticket_id=ticket.pk, message_id=message.pk, actor_id=None
    )
    events.publish(noted, ticket=ticket, message=message)
    return message


# -- mail whose sender could not be confirmed: held for an agent's review ------------------


@transaction.atomic
def ticket_add_unverified_mail(
    *,
    ticket: Ticket,
    mail_origin: MailOrigin,
    body: str,
    uploads: Sequence[Upload] = (),
    body_html: str | None = None,
    email_message_id: str = "",
) -> Message:
    """Mail whose sender could not be confirmed (a forged agent, a forwarded token, no
    token and no DMARC pass ...): an internal note with no author, for an agent to
    review. It is never public, never emailed to the customer and never a response
    for the SLA; the ticket's agents are told it waits."""
    if mail_origin.check != SenderCheck.UNVERIFIED:
        raise ValueError("Only unverified mail is held for review.")
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.status == Status.CLOSED:
        raise ValidationError(_("This ticket is closed; open a new request instead."))
    message = _add_message(
        ticket,
        author=None,
        body=body,
        is_internal=True,
        channel=Channel.EMAIL,
        uploads=uploads,
        body_html=body_html,
        email_message_id=email_message_id,
        mail_origin=mail_origin,
    )
    _record(
        ticket, None, TicketEvent.Kind.UNVERIFIED_MAIL, mail_origin.evidence, mail_origin.sender
    )
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now())
    held = MailHeld(tenant_id=ticket.tenant_id, ticket_id=ticket.pk, message_id=message.pk)
    events.publish(held, ticket=ticket, message=message)
    return message


def _lock_unverified_mail(message: Message, actor: User) -> Message:
    """The mail, locked until commit: of two agents deciding at once, the second
    finds it reviewed."""
    if not _is_staff(actor):
        raise PermissionDenied
    locked = Message.objects.select_for_update().filter(pk=message.pk).first()
    if locked is None or locked.sender_check != SenderCheck.UNVERIFIED:
        raise ValidationError(_("This message is not unverified mail."))
    if locked.reviewed_at is not None:
        raise ValidationError(_("This mail has already been reviewed."))
    return locked


@transaction.atomic
def unverified_mail_publish(*, message: Message, actor: User) -> Message:
    """An agent confirmed that unverified mail is its sender's (e.g. they called the
    customer): it becomes that customer's public reply, as if it had just arrived.

    Only as the customer its From names, and only if they may see the ticket: the
    agent never chooses the author, so mail claiming to be a colleague's cannot be
    published as theirs.
    """
    ticket = Ticket.objects.select_for_update().get(pk=message.ticket_id)
    message = _lock_unverified_mail(message, actor)
    if ticket.status == Status.CLOSED:
        raise ValidationError(_("This ticket is closed; open a new request instead."))
    membership = member_by_email(message.email_from)
    if not customer_may_see(membership, ticket):
        raise ValidationError(
            _("Only mail from a customer who can see this ticket can be published as their reply.")
        )
    author = membership.user
    now = timezone.now()
    message.is_internal = False
    message.author = author
    message.reviewed_at, message.reviewed_by = now, actor
    message.save(update_fields=["is_internal", "author", "reviewed_at", "reviewed_by"])
    _record(ticket, actor, TicketEvent.Kind.MAIL_PUBLISHED, new=message.email_from)
    _customer_replied(ticket, author, message, now)
    ticket.updated_at = now
    _save(ticket, actor)
    return message


@transaction.atomic
def unverified_mail_keep(*, message: Message, actor: User) -> Message:
    """An agent looked at unverified mail and leaves it an internal note."""
    message = _lock_unverified_mail(message, actor)
    message.reviewed_at, message.reviewed_by = timezone.now(), actor
    message.save(update_fields=["reviewed_at", "reviewed_by"])
    _record(message.ticket, actor, TicketEvent.Kind.MAIL_KEPT, new=message.email_from)
    return message


def _save(ticket: Ticket, actor: User | None) -> None:
    """Save a changed ticket and what its SLA clocks did meanwhile."""
    ticket.save()
    sla_clocks.record(ticket, actor)


def _set_status(
    ticket: Ticket,
    status: str,
    actor: User | None,
    *,
    record: bool = True,
    assign_solver: bool = True,
) -> None:
    old = ticket.status
    if old == status:
        return
    now = timezone.now()
    ticket.status = status
    ticket.status_changed_at = now
    sla_clocks.status_changed(ticket, policy_book(ticket.tenant_id), status, now, old=old)
    if status == Status.SOLVED:
        ticket.solved_at = now
    elif status == Status.CLOSED:
        ticket.closed_at = now
        ticket.solved_at = ticket.solved_at or now
    else:
        ticket.solved_at = None
    if record:
        _record(ticket, actor, TicketEvent.Kind.STATUS, old, status)
    changes = {"status": {"old": old, "new": status}}
    if status == Status.SOLVED and assign_solver:
        changes.update(_assign_the_solver(ticket, actor))
    _publish_changes(ticket, actor, changes)
    actor_id = actor.pk if actor else None
    if status == Status.SOLVED:
        solved = TicketSolved(
            tenant_id=ticket.tenant_id,
            ticket_id=ticket.pk,
            actor_id=actor_id,
            solved_at=now.isoformat(),
        )
        events.publish(solved, ticket=ticket, actor=actor, now=now)
    elif old == Status.SOLVED and status != Status.CLOSED:
        reopened = TicketReopened(
            tenant_id=ticket.tenant_id, ticket_id=ticket.pk, actor_id=actor_id
        )
        events.publish(reopened, ticket=ticket, actor=actor)


def _publish_changes(ticket: Ticket, actor: User | None, changes: dict) -> None:
    """One TicketChanged for fields changed together, `{field: {"old", "new"}}`."""
    if changes:
        changed = TicketChanged(
            tenant_id=ticket.tenant_id,
            ticket_id=ticket.pk,
            actor_id=actor.pk if actor else None,
            changes=changes,
        )
        events.publish(changed, ticket=ticket, actor=actor)


def _assign_the_solver(ticket: Ticket, actor: User | None) -> dict:
    """An unassigned ticket that an agent solves becomes theirs, as in the widely used
    helpdesks: its CSAT answer, the reports by agent and a reopening then find who
    solved it. A customer marking their own request solved assigns nobody."""
    if ticket.assignee_id is not None or actor is None or not _is_staff(actor):
        return {}
    _record(ticket, actor, TicketEvent.Kind.ASSIGNEE, "", actor.display_name)
    ticket.assignee = actor
    return {"assignee": {"old": None, "new": actor.pk}}


@transaction.atomic
def ticket_update(
    *,
    ticket: Ticket,
    actor: User | None,
    status: str | None = None,
    priority: int | None = None,
    category: Category | type[...] | None = ...,
    assignee: User | type[...] | None = ...,
    tags: Iterable[str] | None = None,
    group: Group | type[...] | None = ...,
) -> Ticket:
    """Change fields of a ticket; one audit row per field that actually changed.

    `category`, `assignee` and `group` use `...` for "leave alone", so None can clear
    them. `actor` None is the desk itself (routing).
    """
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    # Forms send the assignee unchanged with every change; a changed one (another agent,
    # or nobody) wins over the solver becoming the assignee.
    reassigned = assignee is not ... and assignee != ticket.assignee
    if status is not None and status != ticket.status:
        if ticket.status == Status.CLOSED:
            raise ValidationError(_("A closed ticket cannot change status."))
        _set_status(ticket, status, actor, assign_solver=not reassigned)
    changes = {}
    if priority is not None and priority != ticket.priority:
        changes["priority"] = {"old": ticket.priority, "new": priority}
        _record(
            ticket,
            actor,
            TicketEvent.Kind.PRIORITY,
            Priority(ticket.priority).label,
            Priority(priority).label,
        )
        ticket.priority = priority
        sla_clocks.retarget(ticket, policy_book(ticket.tenant_id), timezone.now())
    if category is not ... and category != ticket.category:
        changes["category"] = {
            "old": ticket.category_id,
            "new": category.pk if category else None,
        }
        _record(ticket, actor, TicketEvent.Kind.CATEGORY, ticket.category or "", category or "")
        ticket.category = category
        # Policies may name categories: the clocks follow the new kind of request's targets.
        sla_clocks.retarget(ticket, policy_book(ticket.tenant_id), timezone.now())
    if group is not ... and (group.pk if group else None) != ticket.group_id:
        changes["group"] = {"old": ticket.group_id, "new": group.pk if group else None}
        _record(ticket, actor, TicketEvent.Kind.GROUP, ticket.group or "", group or "")
        ticket.group = group
    if reassigned:
        if assignee is not None and not _is_staff(assignee):
            raise ValidationError({"assignee": _("Tickets can only be assigned to agents.")})
        _record(
            ticket,
            actor,
            TicketEvent.Kind.ASSIGNEE,
            ticket.assignee.display_name if ticket.assignee else "",
            assignee.display_name if assignee else "",
        )
        changes["assignee"] = {"old": ticket.assignee_id, "new": assignee.pk if assignee else None}
        ticket.assignee = assignee
    if tags is not None:
        cleaned = _clean_tags(tags)
        if cleaned != ticket.tags:
            _record(ticket, actor, TicketEvent.Kind.TAGS, " ".join(ticket.tags), " ".join(cleaned))
            changes["tags"] = {"old": list(ticket.tags), "new": cleaned}
            ticket.tags = cleaned
    _publish_changes(ticket, actor, changes)
    ticket.updated_at = timezone.now()
    _save(ticket, actor)
    if "tags" in changes:
        search_index(ticket)  # tags are words of the search
    return ticket


def ticket_solve(*, ticket: Ticket, actor: User) -> Ticket:
    return ticket_update(ticket=ticket, actor=actor, status=Status.SOLVED)


def ticket_reopen(*, ticket: Ticket, actor: User) -> Ticket:
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if ticket.status != Status.SOLVED:
            raise ValidationError(_("Only a solved ticket can be reopened."))
        _record(ticket, actor, TicketEvent.Kind.REOPENED, Status.SOLVED, Status.OPEN)
        _set_status(ticket, Status.OPEN, actor, record=False)
        ticket.updated_at = timezone.now()
        _save(ticket, actor)
    return ticket


@transaction.atomic
def ticket_bulk_update(
    *,
    tickets: Sequence[Ticket],
    actor: User,
    status: str | None = None,
    assignee: User | type[...] | None = ...,
) -> int:
    """Apply one change to many tickets, all or nothing, each with its audit rows."""
    for ticket in tickets:
        ticket_update(ticket=ticket, actor=actor, status=status, assignee=assignee)
    return len(tickets)


@transaction.atomic
def ticket_merge(*, source: Ticket, target: Ticket, actor: User) -> Ticket:
    """Fold `source` into `target`: its messages and attachments move, it is closed."""
    if source.pk == target.pk:
        raise ValidationError(_("A ticket cannot be merged into itself."))
    source, target = (
        Ticket.objects.select_for_update().get(pk=source.pk),
        Ticket.objects.select_for_update().get(pk=target.pk),
    )
    if source.status == Status.CLOSED or target.status == Status.CLOSED:
        raise ValidationError(_("Closed tickets cannot be merged."))
    Message.objects.filter(ticket=source).update(ticket=target)
    Attachment.objects.filter(ticket=source).update(ticket=target)
    # The calls logged on it (phone/) join the thread they belong to.
    source.calls.update(ticket=target)
    _add_message(
        source,
        author=actor,
        body=_("Merged into #%(number)d.") % {"number": target.number},
        is_internal=True,
        channel=Channel.WEB,
    )
    _record(source, actor, TicketEvent.Kind.MERGED, f"#{source.number}", f"#{target.number}")
    _record(target, actor, TicketEvent.Kind.MERGED, f"#{source.number}", f"#{target.number}")
    source.merged_into = target
    _set_status(source, Status.CLOSED, actor)
    merged = TicketMerged(
        tenant_id=source.tenant_id,
        ticket_id=source.pk,
        into_ticket_id=target.pk,
        actor_id=actor.pk,
    )
    events.publish(merged, ticket=source, into=target)
    source.updated_at = target.updated_at = timezone.now()
    _save(source, actor)
    _save(target, actor)
    # The messages moved: each ticket is found by the words it now holds.
    search_index(source)
    search_index(target)
    return target


def macro_render(*, macro: Macro, ticket: Ticket, agent: User) -> str:
    return fill_placeholders(macro.body, ticket_placeholders(ticket, agent))


@transaction.atomic
def ticket_apply_macro(*, ticket: Ticket, macro: Macro, actor: User, body: str | None = None):
    """Reply with a macro (its text, possibly edited) and apply its field changes."""
    message = ticket_reply(
        ticket=ticket,
        author=actor,
        body=body if body is not None else macro_render(macro=macro, ticket=ticket, agent=actor),
        status=macro.set_status or None,
    )
    ticket = Ticket.objects.get(pk=ticket.pk)
    _record(ticket, actor, TicketEvent.Kind.MACRO, new=macro.name)
    if macro.set_priority:
        ticket_update(ticket=ticket, actor=actor, priority=macro.set_priority)
    return message


@transaction.atomic
def tickets_follow_plan(*, organization, actor: User | None) -> int:
    """The organization moved to another plan: its open tickets' clocks follow
    the new plan's targets (see sla.timers.retarget)."""
    book = policy_book(organization.tenant_id)
    now = timezone.now()
    moved = 0
    for ticket in Ticket.objects.select_for_update().filter(
        organization=organization, status__in=UNSOLVED
    ):
        ticket.organization = organization
        sla_clocks.retarget(ticket, book, now)
        _save(ticket, actor)
        moved += 1
    return moved


def tickets_close_solved(*, tenant: Tenant, older_than: timedelta) -> int:
    """Close tickets solved longer ago than `older_than` (customer replies then open
    a new ticket). Each ticket is closed in its own short transaction."""
    cutoff = timezone.now() - older_than
    closed = 0
    for pk in Ticket.objects.filter(status=Status.SOLVED, solved_at__lt=cutoff).values_list(
        "pk", flat=True
    )[:1000]:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=pk)
            # Re-checked under the lock: a reply may have reopened it meanwhile.
            if ticket.status != Status.SOLVED or ticket.solved_at >= cutoff:
                continue
            _set_status(ticket, Status.CLOSED, None)
            ticket.updated_at = timezone.now()
            _save(ticket, None)
            closed += 1
    return closed


# -- suspended mail: what email in could not take, kept for the desk's admins --------------


def _require_desk_admin(actor: User) -> None:
    if not Membership.objects.filter(user=actor, role=Role.ADMIN, is_active=True).exists():
        raise PermissionDenied(_("Only the desk's admins handle suspended mail."))


def _sender_is_member(sender: str) -> bool:
    return (
        bool(sender)
        and Membership.objects.filter(user__email__iexact=sender, is_active=True).exists()
    )


def suspended_email_keep(
    *,
    tenant: Tenant,
    raw: bytes,
    size: int,
    sender: str,
    subject: str,
    message_id: str,
    source: str,
    reason: str,
    error: str,
) -> SuspendedEmail:
    """Keep a mail email in could not take. A member's mail waits until an admin
    handles it; anyone else's expires after SUSPENDED_FROM_STRANGERS_KEPT.

    The same mail (by Message-ID) is kept once: a gateway's redelivery, even one
    racing the first, finds the row already there.
    """
    now = timezone.now()
    suspended = SuspendedEmail(
        tenant=tenant,
        raw=raw,
        size=size,
        sender=sender,
        subject=subject,
        message_id=message_id[:255],
        source=source,
        reason=reason,
        error=error,
        received_at=now,
        expires_at=None if _sender_is_member(sender) else now + SUSPENDED_FROM_STRANGERS_KEPT,
    )
    try:
        with transaction.atomic():
            suspended.save(force_insert=True)
    except IntegrityError:
        if not message_id:
            raise
        return SuspendedEmail.objects.get(message_id=message_id[:255])
    return suspended


def _lock_suspended(suspended: SuspendedEmail) -> SuspendedEmail:
    """The row, locked until commit: of two admins acting on it at once, the second
    finds it handled instead of making a second ticket."""
    locked = SuspendedEmail.objects.select_for_update().filter(pk=suspended.pk).first()
    if locked is None:
        raise ValidationError(_("This mail has already been handled."))
    return locked


@transaction.atomic
def suspended_email_retry(*, suspended: SuspendedEmail, actor: User):
    """Run a suspended mail through email in again, e.g. after its sender was added
    as a member or a fix was deployed. Returns the InboundResult: a reply, a ticket
    or ignored (it had reached the desk meanwhile) removes it from suspended mail;
    suspended again keeps it with the new reason and error."""
    from tickets import inbound

    _require_desk_admin(actor)
    locked = _lock_suspended(suspended)
    try:
        result = inbound.process_email(
            tenant=locked.tenant, raw=bytes(locked.raw), size=locked.size
        )
    except inbound.MailProblem as problem:
        locked.reason, locked.error = problem.reason, problem.detail
        locked.retried_at = timezone.now()
        if _sender_is_member(locked.sender):
            locked.expires_at = None  # a member's mail is kept until handled
        locked.save(update_fields=["reason", "error", "retried_at", "expires_at"])
        logger.info("Suspended mail %s retried by user %s: %s", locked.pk, actor.pk, problem)
        return inbound.InboundResult("suspended", reason=problem.reason, detail=problem.detail)
    pk = locked.pk
    locked.delete()
    logger.info("Suspended mail %s retried by user %s: %s", pk, actor.pk, result.action)
    return result


@transaction.atomic
def suspended_email_to_ticket(
    *, suspended: SuspendedEmail, requester: User, actor: User, subject: str = ""
) -> Ticket:
    """Open a ticket for `requester` (a member of the desk) from a suspended mail:
    its text as best it can be decoded, the attachments that pass validation."""
    from django.conf import settings
    from django.utils.html import escape, linebreaks

    from tickets import email_parsing

    _require_desk_admin(actor)
    locked = _lock_suspended(suspended)
    known = message_id_known(locked.message_id)
    if known is not None:
        raise ValidationError(
            _("This mail already reached ticket #%(number)d.") % {"number": known.ticket.number}
        )
    raw = bytes(locked.raw)
    text = email_parsing.readable_text(raw)[:100_000] or _(
        "(The mail had no text that could be read.)"
    )
    uploads, refused = email_parsing.readable_attachments(raw)
    limit = settings.ATTACHMENTS_PER_MESSAGE
    if len(uploads) > limit:
        refused.append(
            _("%(count)d more attachments were left out.") % {"count": len(uploads) - limit}
        )
        uploads = uploads[:limit]
    if refused:
        text += "\n\n" + "\n".join(f"[{note}]" for note in refused)
    ticket = ticket_create(
        tenant=locked.tenant,
        requester=requester,
        subject=subject.strip() or email_parsing.clean_subject(locked.subject) or _("(no subject)"),
        body=text,
        channel=Channel.EMAIL,
        uploads=uploads,
        actor=actor,
        body_html=linebreaks(escape(text)),
        email_message_id=locked.message_id,
    )
    pk = locked.pk
    locked.delete()
    logger.info("Suspended mail %s became ticket #%s by user %s", pk, ticket.number, actor.pk)
    return ticket


@transaction.atomic
def suspended_email_delete(*, suspended: SuspendedEmail, actor: User) -> None:
    _require_desk_admin(actor)
    deleted, _rows = SuspendedEmail.objects.filter(pk=suspended.pk).delete()
    if deleted:
        logger.info("Suspended mail %s deleted by user %s", suspended.pk, actor.pk)


def suspended_emails_purge(*, now=None) -> int:
    """Delete the desk's suspended mail past its expiry (strangers' mail, 14 days on)."""
    deleted, _rows = SuspendedEmail.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted


__all__ = [
    "DEFAULT_CATEGORIES",
    "UNSOLVED",
    "MailOrigin",
    "Upload",
    "category_create_defaults",
    "clean_tag",
    "macro_render",
    "suspended_email_delete",
    "suspended_email_keep",
    "suspended_email_retry",
    "suspended_email_to_ticket",
    "suspended_emails_purge",
    "ticket_add_note",
    "ticket_add_unverified_mail",
    "ticket_apply_macro",
    "ticket_bulk_update",
    "ticket_create",
    "ticket_merge",
    "ticket_open_for_customer",
    "ticket_reopen",
    "ticket_reply",
    "ticket_solve",
    "ticket_update",
    "tickets_close_solved",
    "tickets_follow_plan",
    "unverified_mail_keep",
    "unverified_mail_publish",
]
