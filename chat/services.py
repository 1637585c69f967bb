"""Every write of live chat: one function per action, each in one transaction, its socket
events published after commit (chat/events.py).

A chat is a ticket (channel chat): starting one opens the ticket with the customer's
question as its first message, and each line either side sends is a public message of the
ticket, through tickets.services like any reply, so the SLA clocks, the audit trail,
search and the reports see chats as they see tickets. While the chat is live those
replies send no email: both sides are reading.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from statistics import median

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from chat import events
from chat.domain_events import ChatAccepted, ChatEnded, ChatStarted, ChatTransferred
from chat.models import AgentPresence, Availability, Chat, ChatOffer, ChatSettings
from feedback import services as feedback
from helpdesk import events as domain_events
from helpdesk.models import Membership, Role, Tenant, User
from plans.selectors import plan_for_membership
from sla.models import Metric, SLAOutcome
from sla.selectors import policy_book
from tickets import services as tickets
from tickets.events import TranscriptAsked
from tickets.models import Channel, GroupMember, Message, Status, Ticket
from tickets.selectors import tickets_visible_to_agent

# An agent console says it is alive this often; one not heard from for twice as long is
# not offered chats (it may be gone) and, after the desk's grace, loses its chats.
HEARTBEAT_SECONDS = 15
LIVE_SECONDS = 2 * HEARTBEAT_SECONDS + 10
# The longest chat line; files go up separately.
MAX_MESSAGE_CHARS = 5000
# Recent waits that estimate the next one.
WAIT_SAMPLE = timedelta(days=7)
# Emails of a chat's transcript a customer may ask for in an hour.
TRANSCRIPTS_PER_HOUR = 3


def chat_settings(tenant: Tenant) -> ChatSettings:
    """The desk's chat rules, made with the defaults when first needed."""
    return ChatSettings.objects.get_or_create(tenant=tenant)[0]


# -- who may chat, and when ------------------------------------------------------------------


def plan_offers_chat(membership: Membership | None) -> bool:
    if membership is None or membership.is_staff_member:
        return False
    plan = plan_for_membership(membership)
    return plan is not None and plan.offers_chat


def refusal(membership: Membership | None) -> str | None:
    """Why this person may not start a chat (None: they may)."""
    if membership is None:
        return _("Sign in to chat with us.")
    if membership.is_staff_member:
        return _("Agents answer chats from the agent workspace.")
    if not plan_offers_chat(membership):
        return _("Live chat is not part of your plan. See what higher plans offer.")
    return None


def within_chat_hours(membership: Membership, now=None) -> bool:
    """Is it inside the hours the customer's plan counts its first response in?"""
    plan = plan_for_membership(membership)
    book = policy_book(membership.tenant)
    policy = book.policy(plan.pk if plan else None, None)
    return book.schedule(policy).is_open(now or timezone.now())


def _live_since(now):
    return now - timedelta(seconds=LIVE_SECONDS)


def agents_online(tenant: Tenant, now=None) -> int:
    now = now or timezone.now()
    return AgentPresence.objects.filter(
        availability=Availability.ONLINE, last_seen_at__gte=_live_since(now)
    ).count()


@dataclass(frozen=True)
class Opening:
    """Whether a chat can start now, and if not why (the page says so before typing)."""

    open: bool
    reason: str = ""


def chat_layer_answers() -> bool:
    """Is the Redis the sockets meet through answering? (Asked of the cache, whose breaker
    remembers a recent failure, so an outage costs no wait per page.)"""
    from django.core.cache import cache

    from helpdesk.cache import RedisUnavailable

    try:
        return bool(cache.run_on_redis(lambda client: client.ping()))
    except RedisUnavailable:
        return False


def opening(membership: Membership, now=None) -> Opening:
    """Can a chat start now? If not, the page says why before the customer types, and
    their question becomes an ordinary request instead."""
    now = now or timezone.now()
    if not chat_layer_answers():
        return Opening(False, _("Chat is unavailable right now."))
    if not within_chat_hours(membership, now):
        return Opening(False, _("We are outside our chat hours right now."))
    if not agents_online(membership.tenant, now):
        return Opening(False, _("Nobody is available to chat right now."))
    return Opening(True)


# -- the customer's side -----------------------------------------------------------------------


def open_chat_of(user: User) -> Chat | None:
    return (
        Chat.objects.filter(customer=user)
        .exclude(state=Chat.State.ENDED)
        .select_related("ticket", "agent")
        .first()
    )


@transaction.atomic
def chat_start(*, membership: Membership, question: str, category=None) -> Chat:
    """Queue a chat for the customer (their open one, if they have one) and route it."""
    reason = refusal(membership)
    if reason:
        raise PermissionDenied(reason)
    user = membership.user
    # One chat at a time: the customer's row lock makes two tabs starting at once
    # find each other's chat rather than collide on the unique constraint.
    Membership.objects.select_for_update().filter(pk=membership.pk).first()
    existing = open_chat_of(user)
    if existing is not None:
        return existing
    question = question.strip()
    if not question:
        raise ValidationError({"question": _("Tell us what you need help with.")})
    if len(question) > MAX_MESSAGE_CHARS:
        raise ValidationError(
            {"question": _("Keep it under %(count)s characters.") % {"count": MAX_MESSAGE_CHARS}}
        )
    ticket = tickets.ticket_create(
        tenant=membership.tenant,
        requester=user,
        subject=" ".join(question.split())[:200],
        body=question,
        category=category,
        channel=Channel.CHAT,
        requester_membership=membership,
        notify=False,
    )
    plan = plan_for_membership(membership)
    chat = Chat.objects.create(
        tenant=membership.tenant,
        ticket=ticket,
        customer=user,
        queued_at=ticket.created_at,
        first_reply_due_at=ticket.created_at + timedelta(seconds=plan.chat_first_reply_seconds),
    )
    started = ChatStarted(
        tenant_id=chat.tenant_id, chat_id=chat.pk, ticket_id=ticket.pk, customer_id=user.pk
    )
    domain_events.publish(started, chat=chat)
    route_waiting_chats(membership.tenant)
    _publish_queue(membership.tenant)
    return chat


def leave_message(*, membership: Membership, question: str, category=None) -> Ticket:
    """Nobody to chat with: the question becomes an ordinary request, with the plan's
    first-response promise (and its acknowledgement email)."""
    question = question.strip()
    if not question:
        raise ValidationError({"question": _("Tell us what you need help with.")})
    return tickets.ticket_create(
        tenant=membership.tenant,
        requester=membership.user,
        subject=" ".join(question.split())[:200],
        body=question,
        category=category,
        channel=Channel.WEB,
        requester_membership=membership,
    )


def chat_start_or_leave_message(
    *, membership: Membership, question: str, category=None
) -> Chat | Ticket:
    """A chat when one can start now; else the question filed as a request."""
    if opening(membership).open:
        return chat_start(membership=membership, question=question, category=category)
    return leave_message(membership=membership, question=question, category=category)


@dataclass(frozen=True)
class Wait:
    position: int  # 1: next
    minutes: int | None  # None: no recent chats to tell from


def waiting_position(chat: Chat) -> Wait:
    if chat.state != Chat.State.QUEUED:
        return Wait(0, 0)
    position = (
        Chat.objects.filter(state=Chat.State.QUEUED, queued_at__lt=chat.queued_at).count() + 1
    )
    since = timezone.now() - WAIT_SAMPLE
    waits = [
        (accepted - queued).total_seconds()
        for queued, accepted in Chat.objects.filter(accepted_at__isnull=False, queued_at__gte=since)
        .order_by("-queued_at")
        .values_list("queued_at", "accepted_at")[:200]
    ]
    if not waits:
        return Wait(position, None)
    return Wait(position, max(1, round(median(waits) * position / 60)))


# -- messages, either side -------------------------------------------------------------------


def _lock(chat: Chat) -> Chat:
    return Chat.objects.select_for_update().select_related("ticket").get(pk=chat.pk)


def _may_write(chat: Chat, author: User, membership: Membership | None) -> bool:
    if author.pk == chat.customer_id:
        return True
    return membership is not None and membership.is_staff_member and chat.agent_id == author.pk


@transaction.atomic
def chat_post(
    *,
    chat: Chat,
    author: User,
    membership: Membership | None,
    body: str,
    client_key: uuid.UUID | None = None,
    uploads=(),
) -> Message:
    """A line of the chat, stored before anyone is told of it. Sent again with the same
    `client_key` (the sender never heard our acknowledgement), it is stored once."""
    chat = _lock(chat)  # also orders the chat's message ids as they commit
    if client_key is not None:
        known = Message.objects.filter(ticket_id=chat.ticket_id, client_key=client_key).first()
        if known is not None and known.author_id == author.pk:
            return known
        if known is not None:  # another's line's key: never theirs to be told about
            raise ValidationError(_("This message could not be sent: reload the page."))
    if chat.state == Chat.State.ENDED:
        raise ValidationError(_("This chat has ended."))
    if not _may_write(chat, author, membership):
        raise PermissionDenied(_("Only the agent who took this chat can write in it."))
    if author.pk == chat.customer_id:
        # Read again at every line: a plan changed (or a membership ended) while the
        # chat was open stops it here, not only the next chat.
        reason = refusal(
            Membership.objects.filter(pk=membership.pk if membership else None, is_active=True)
            .select_related("organization__plan")
            .first()
        )
        if reason:
            raise PermissionDenied(reason)
    if len(body) > MAX_MESSAGE_CHARS:
        raise ValidationError(
            _("Keep a message under %(count)s characters.") % {"count": MAX_MESSAGE_CHARS}
        )
    message = tickets.ticket_reply(
        ticket=chat.ticket,
        author=author,
        body=body,
        uploads=uploads,
        channel=Channel.CHAT,
        client_key=client_key,
        notify=False,
    )
    by_agent = author.pk != chat.customer_id
    if by_agent and chat.first_reply_at is None:
        Chat.objects.filter(pk=chat.pk).update(first_reply_at=message.created_at)
        _first_reply_outcome(chat, message.created_at, replied=True)
    # A line written without files has none: no query to find out.
    line = message_json(message, chat, attachments=None if uploads else ())
    payload = {"type": "message", "chat": chat.key.hex, "message": line}
    events.publish(events.chat_group(chat), payload)
    if chat.agent_id:
        events.publish(events.agent_group(chat.tenant_id, chat.agent_id), payload)
    return message


@transaction.atomic
def chat_note(*, chat: Chat, author: User, body: str) -> Message:
    """An internal note on the chat's ticket: agents only, never to the customer."""
    message = tickets.ticket_add_note(ticket=chat.ticket, author=author, body=body)
    if chat.agent_id:
        events.publish(
            events.agent_group(chat.tenant_id, chat.agent_id),
            {
                "type": "message",
                "chat": chat.key.hex,
                "message": message_json(message, chat, attachments=()),
            },
        )
    return message


def chat_read(*, chat: Chat, reader: User, up_to: int) -> None:
    """The reader has seen every message up to `up_to`: the other side's ticks."""
    side = "customer" if reader.pk == chat.customer_id else "agent"
    field = f"{side}_read_id"
    updated = Chat.objects.filter(pk=chat.pk, **{f"{field}__lt": up_to}).update(**{field: up_to})
    if updated:
        payload = {"type": "read", "chat": chat.key.hex, "side": side, "up_to": up_to}
        events.publish(events.chat_group(chat), payload)
        if chat.agent_id:
            events.publish(events.agent_group(chat.tenant_id, chat.agent_id), payload)


def messages_after(chat: Chat, after: int, *, for_staff: bool) -> list[Message]:
    """What a reconnecting side missed: the chat's messages after the last id it saw
    (ids of one chat commit in order: chat_post holds the chat's row lock)."""
    found = (
        Message.objects.filter(ticket_id=chat.ticket_id, pk__gt=after)
        .select_related("author")
        .prefetch_related("attachments")
        .order_by("pk")
    )
    if not for_staff:
        found = found.filter(is_internal=False)
    return list(found)


def message_json(message: Message, chat: Chat, *, attachments=None) -> dict:
    """A message as both sides' sockets show it. `attachments`: the message's files when
    the caller knows them (None: asked of the database)."""
    from django.urls import reverse

    if attachments is None:
        attachments = message.attachments.all()

    side = "customer" if message.author_id == chat.customer_id else "agent"
    return {
        "id": message.pk,
        "from": "note" if message.is_internal else side,
        "author": message.author.first_name or message.author.display_name
        if message.author
        else "",
        "html": message.body_html,
        "at": message.created_at.isoformat(),
        "client_key": message.client_key.hex if message.client_key else None,
        "files": [
            {
                "name": attachment.name,
                "url": reverse("attachment_download", args=[attachment.key]),
            }
            for attachment in attachments
        ],
    }


def chat_json(chat: Chat) -> dict:
    """The chat's state, as both sides' sockets show it."""
    agent = chat.agent
    data = {
        "type": "state",
        "chat": chat.key.hex,
        "state": chat.state,
        "subject": chat.ticket.subject,
        "number": chat.ticket.number,
        "agent": (agent.first_name or agent.display_name) if agent else "",
        "customer_read_id": chat.customer_read_id,
        "agent_read_id": chat.agent_read_id,
        "can_rate": rating_open(chat) is not None,
    }
    if chat.state == Chat.State.QUEUED:
        wait = waiting_position(chat)
        data.update(position=wait.position, minutes=wait.minutes)
    return data


def _publish_state(chat: Chat) -> None:
    payload = chat_json(chat)
    events.publish(events.chat_group(chat), payload)
    if chat.agent_id:
        events.publish(events.agent_group(chat.tenant_id, chat.agent_id), payload)


# -- ending ---------------------------------------------------------------------------------------


@transaction.atomic
def chat_end(*, chat: Chat, actor: User) -> Chat:
    """End the chat (either side). A chat an agent answered is solved; one the customer
    left before any agent replied stays open as a request to answer."""
    chat = _lock(chat)
    if chat.state == Chat.State.ENDED:
        return chat
    now = timezone.now()
    agent_id = chat.agent_id
    ChatOffer.objects.filter(chat=chat, answer=ChatOffer.Answer.PENDING).update(
        answer=ChatOffer.Answer.WITHDRAWN, answered_at=now
    )
    chat.state = Chat.State.ENDED
    chat.ended_at = now
    chat.save(update_fields=["state", "ended_at"])
    if agent_id:
        AgentPresence.objects.filter(agent_id=agent_id).update(idle_since=now)
    ticket = None
    if chat.first_reply_at is None:
        # Left unanswered: a breach once past its target; before it, an abandoned chat.
        _first_reply_outcome(chat, now, replied=False)
    elif chat.agent is not None:
        ticket = Ticket.objects.get(pk=chat.ticket_id)
        if ticket.status not in (Status.SOLVED, Status.CLOSED):
            ticket = tickets.ticket_update(ticket=ticket, actor=chat.agent, status=Status.SOLVED)
    ended = ChatEnded(
        tenant_id=chat.tenant_id,
        chat_id=chat.pk,
        ticket_id=chat.ticket_id,
        actor_id=actor.pk if actor else None,
        answered=ticket is not None,
    )
    # feedback/subscribers.py asks the satisfaction question there and then.
    domain_events.publish(ended, chat=chat, ticket=ticket)
    _publish_state(chat)
    _publish_queue(chat.tenant)
    route_waiting_chats(chat.tenant)
    return chat


def _first_reply_outcome(chat: Chat, at, *, replied: bool) -> None:
    """The chat's first-reply clock as an SLA outcome, once (the outcome's unique
    constraint): met by a reply in time; breached by a late reply, or by no reply once
    its time passed (the sweep, or the chat's end). An unanswered chat ended before its
    time is abandoned, and no outcome."""
    due = chat.first_reply_due_at
    if due is None or (not replied and at <= due):
        return
    SLAOutcome.objects.get_or_create(
        tenant_id=chat.tenant_id,
        ticket_id=chat.ticket_id,
        metric=Metric.CHAT_FIRST_REPLY,
        due_at=due,
        defaults={
            "result": SLAOutcome.Result.MET
            if replied and at <= due
            else SLAOutcome.Result.BREACHED,
            "recorded_at": at,
        },
    )


def record_missed_first_replies(tenant: Tenant, now=None) -> int:
    """Chats still waiting for a first reply past their target: breached, now."""
    now = now or timezone.now()
    late = Chat.objects.filter(
        state__in=[Chat.State.QUEUED, Chat.State.ACTIVE],
        first_reply_at__isnull=True,
        first_reply_due_at__lt=now,
    ).exclude(
        ticket__sla_outcomes__metric=Metric.CHAT_FIRST_REPLY,
    )
    found = 0
    for chat in late:
        _first_reply_outcome(chat, now, replied=False)
        found += 1
    return found


# -- agents --------------------------------------------------------------------------------------


def _presence(agent: User, tenant: Tenant) -> AgentPresence:
    presence, _created = AgentPresence.objects.get_or_create(tenant=tenant, agent=agent)
    return presence


def _require_staff(membership: Membership | None) -> None:
    if membership is None or not membership.is_staff_member:
        raise PermissionDenied


@transaction.atomic
def presence_set(*, membership: Membership, availability: str) -> AgentPresence:
    _require_staff(membership)
    if availability not in Availability.values:
        raise ValidationError(_("Choose online, away or offline."))
    presence = _presence(membership.user, membership.tenant)
    now = timezone.now()
    presence.availability = availability
    presence.last_seen_at = now
    if availability == Availability.ONLINE:
        presence.idle_since = min(presence.idle_since, now)
    presence.save()
    if availability != Availability.ONLINE:
        # Offers waiting for this agent go to someone else now.
        ChatOffer.objects.filter(agent=membership.user, answer=ChatOffer.Answer.PENDING).update(
            answer=ChatOffer.Answer.DECLINED, answered_at=now
        )
    _publish_team(membership.tenant)
    route_waiting_chats(membership.tenant)
    return presence


def presence_seen(*, membership: Membership) -> bool:
    """The console is alive. True when this brings an online agent back after silence
    (routing may then offer them chats)."""
    now = timezone.now()
    presence = _presence(membership.user, membership.tenant)
    was_live = presence.last_seen_at is not None and presence.last_seen_at >= _live_since(now)
    AgentPresence.objects.filter(pk=presence.pk).update(last_seen_at=now)
    return presence.availability == Availability.ONLINE and not was_live


@transaction.atomic
def offer_accept(*, chat: Chat, membership: Membership) -> Chat:
    _require_staff(membership)
    chat = _lock(chat)
    agent = membership.user
    now = timezone.now()
    if chat.state == Chat.State.ACTIVE and chat.agent_id == agent.pk:
        return chat
    offer = ChatOffer.objects.filter(
        chat=chat, agent=agent, answer=ChatOffer.Answer.PENDING
    ).first()
    if chat.state != Chat.State.QUEUED or offer is None:
        raise ValidationError(_("This chat is no longer yours to take."))
    offer.answer, offer.answered_at = ChatOffer.Answer.ACCEPTED, now
    offer.save(update_fields=["answer", "answered_at"])
    _take(chat, agent, now)
    return chat


@transaction.atomic
def chat_pick(*, chat: Chat, membership: Membership) -> Chat:
    """An agent takes a waiting chat from the queue themselves."""
    _require_staff(membership)
    chat = _lock(chat)
    if chat.state != Chat.State.QUEUED:
        raise ValidationError(_("This chat is no longer waiting."))
    if not tickets_visible_to_agent(membership).filter(pk=chat.ticket_id).exists():
        raise ValidationError(_("This chat is for another group's agents."))
    now = timezone.now()
    ChatOffer.objects.filter(chat=chat, answer=ChatOffer.Answer.PENDING).update(
        answer=ChatOffer.Answer.WITHDRAWN, answered_at=now
    )
    _take(chat, membership.user, now)
    return chat


def _take(chat: Chat, agent: User, now) -> None:
    chat.state = Chat.State.ACTIVE
    chat.agent = agent
    chat.accepted_at = chat.accepted_at or now
    chat.save(update_fields=["state", "agent", "accepted_at"])
    ticket = Ticket.objects.get(pk=chat.ticket_id)
    if ticket.assignee_id != agent.pk:
        tickets.ticket_update(ticket=ticket, actor=agent, assignee=agent)
    accepted = ChatAccepted(
        tenant_id=chat.tenant_id, chat_id=chat.pk, ticket_id=chat.ticket_id, agent_id=agent.pk
    )
    domain_events.publish(accepted, chat=chat)
    _publish_state(chat)
    _publish_queue(chat.tenant)


@transaction.atomic
def offer_decline(*, chat: Chat, membership: Membership) -> None:
    _require_staff(membership)
    ChatOffer.objects.filter(
        chat=chat, agent=membership.user, answer=ChatOffer.Answer.PENDING
    ).update(answer=ChatOffer.Answer.DECLINED, answered_at=timezone.now())
    route_waiting_chats(chat.tenant)


@transaction.atomic
def chat_transfer(*, chat: Chat, membership: Membership, to: User) -> Chat:
    """Hand the chat to a colleague of the same desk, who sees it at once."""
    _require_staff(membership)
    chat = _lock(chat)
    if chat.state != Chat.State.ACTIVE or chat.agent_id != membership.user.pk:
        raise ValidationError(_("Only the agent in this chat can transfer it."))
    target = Membership.objects.filter(
        user=to, is_active=True, role__in=[Role.AGENT, Role.ADMIN]
    ).first()
    if target is None or to.pk == membership.user.pk:
        raise ValidationError(_("Choose another agent of this desk."))
    previous = chat.agent_id
    chat.agent = to
    chat.save(update_fields=["agent"])
    tickets.ticket_update(ticket=chat.ticket, actor=membership.user, assignee=to)
    transferred = ChatTransferred(
        tenant_id=chat.tenant_id,
        chat_id=chat.pk,
        ticket_id=chat.ticket_id,
        from_agent_id=previous,
        to_agent_id=to.pk,
        actor_id=membership.user.pk,
    )
    domain_events.publish(transferred, chat=chat)
    events.publish(
        events.agent_group(chat.tenant_id, previous),
        {"type": "gone", "chat": chat.key.hex},
    )
    _publish_state(chat)
    return chat


# -- routing ---------------------------------------------------------------------------------------


def _route_lock(tenant: Tenant) -> None:
    """One routing at a time per desk (a transaction-scoped advisory lock)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [0x43484154, tenant.pk])


@transaction.atomic
def route_waiting_chats(tenant: Tenant, now=None) -> list[ChatOffer]:
    """Offer each waiting chat with no offer out to the online agent with spare capacity
    and the fewest chats (ties: idle longest), skipping agents who already let it pass
    while others have not had it. Offers not answered in time expire here first."""
    now = now or timezone.now()
    _route_lock(tenant)
    rules = chat_settings(tenant)
    expired = list(
        ChatOffer.objects.filter(
            answer=ChatOffer.Answer.PENDING, expires_at__lte=now
        ).select_related("chat")
    )
    if expired:
        ChatOffer.objects.filter(pk__in=[o.pk for o in expired]).update(
            answer=ChatOffer.Answer.EXPIRED, answered_at=now
        )
        for offer in expired:
            events.publish(
                events.agent_group(tenant.pk, offer.agent_id),
                {"type": "offer_gone", "chat": offer.chat.key.hex},
            )
    waiting = list(
        Chat.objects.filter(state=Chat.State.QUEUED)
        .exclude(offers__answer=ChatOffer.Answer.PENDING)
        .select_related("ticket", "customer")
        .order_by("queued_at")
    )
    if not waiting:
        return []
    agents = list(
        AgentPresence.objects.filter(
            availability=Availability.ONLINE, last_seen_at__gte=_live_since(now)
        ).select_related("agent")
    )
    active = dict(
        Chat.objects.filter(state=Chat.State.ACTIVE)
        .values("agent")
        .annotate(n=Count("pk"))
        .values_list("agent", "n")
    )
    pending = dict(
        ChatOffer.objects.filter(answer=ChatOffer.Answer.PENDING)
        .values("agent")
        .annotate(n=Count("pk"))
        .values_list("agent", "n")
    )
    load = {p.agent_id: active.get(p.agent_id, 0) + pending.get(p.agent_id, 0) for p in agents}
    passed = _agents_who_passed([chat.pk for chat in waiting])
    teams = _group_agents({chat.ticket.group_id for chat in waiting} - {None})
    made = []
    for chat in waiting:
        # A chat routed to a group (routing/) is offered to that group's agents; a group
        # nobody is in yet does not strand it.
        team = teams.get(chat.ticket.group_id)
        spare = [
            p
            for p in agents
            if load[p.agent_id] < (p.capacity or rules.capacity)
            and (not team or p.agent_id in team)
        ]
        fresh = [p for p in spare if p.agent_id not in passed.get(chat.pk, set())]
        choice = min(fresh or spare, key=lambda p: (load[p.agent_id], p.idle_since), default=None)
        if choice is None:
            break  # nobody has room: the rest wait in the queue
        offer = ChatOffer.objects.create(
            tenant=tenant,
            chat=chat,
            agent=choice.agent,
            offered_at=now,
            expires_at=now + timedelta(seconds=rules.offer_seconds),
        )
        load[choice.agent_id] += 1
        made.append(offer)
        events.publish(
            events.agent_group(tenant.pk, choice.agent_id),
            {
                "type": "offer",
                "chat": chat.key.hex,
                "subject": chat.ticket.subject,
                "customer": chat.customer.display_name,
                "expires_at": offer.expires_at.isoformat(),
                "seconds": rules.offer_seconds,
            },
        )
    return made


def _group_agents(group_ids: set[int]) -> dict[int, set[int]]:
    """The agents of each of these groups (one query, none without groups)."""
    if not group_ids:
        return {}
    teams: dict[int, set[int]] = {}
    for group_id, agent_id in GroupMember.objects.filter(group_id__in=group_ids).values_list(
        "group_id", "agent_id"
    ):
        teams.setdefault(group_id, set()).add(agent_id)
    return teams


def _agents_who_passed(chat_ids: list[int]) -> dict[int, set[int]]:
    passed: dict[int, set[int]] = {}
    for chat_id, agent_id in ChatOffer.objects.filter(
        chat_id__in=chat_ids,
        answer__in=[ChatOffer.Answer.EXPIRED, ChatOffer.Answer.DECLINED],
    ).values_list("chat_id", "agent_id"):
        passed.setdefault(chat_id, set()).add(agent_id)
    return passed


@transaction.atomic
def requeue_chats_of_gone_agents(tenant: Tenant, now=None) -> list[Chat]:
    """Chats of agents whose console has been silent longer than the desk's grace go
    back to the queue, first in line (their queued time is kept)."""
    now = now or timezone.now()
    rules = chat_settings(tenant)
    silent_since = now - timedelta(seconds=rules.grace_seconds)
    gone = AgentPresence.objects.filter(
        Q(last_seen_at__lt=silent_since) | Q(last_seen_at__isnull=True)
    ).values_list("agent_id", flat=True)
    chats = list(
        Chat.objects.select_for_update(skip_locked=True).filter(
            state=Chat.State.ACTIVE, agent_id__in=list(gone)
        )
    )
    for chat in chats:
        previous = chat.agent_id
        chat.state = Chat.State.QUEUED
        chat.agent = None
        chat.save(update_fields=["state", "agent"])
        events.publish(
            events.agent_group(tenant.pk, previous), {"type": "gone", "chat": chat.key.hex}
        )
        _publish_state(chat)
    return chats


def sweep(tenant: Tenant) -> None:
    """What the clock does (chat.tasks.sweep, every few seconds): chats of vanished agents
    back to the queue, unanswered offers to the next agent, first replies missed."""
    requeue_chats_of_gone_agents(tenant)
    route_waiting_chats(tenant)
    record_missed_first_replies(tenant)


# -- what consoles show ------------------------------------------------------------------------


def team_json(tenant: Tenant) -> dict:
    now = timezone.now()
    live = _live_since(now)
    people = []
    for presence in AgentPresence.objects.select_related("agent").order_by("agent__full_name"):
        availability = presence.availability
        if availability != Availability.OFFLINE and (
            presence.last_seen_at is None or presence.last_seen_at < live
        ):
            availability = Availability.OFFLINE
        people.append(
            {
                "id": presence.agent_id,
                "name": presence.agent.display_name,
                "availability": availability,
            }
        )
    return {"type": "team", "agents": people}


def chat_for_staff(
    key, member: Membership | None, *, related: tuple[str, ...] = ("ticket", "agent")
) -> Chat | None:
    """The chat with this key if this member of the staff may work it, else None (the
    console's every action and the agent's chat pages find chats here). A desk may keep
    agents to their groups: then its ticket must be visible to them, or the chat offered
    to them (a chat of no group, or of a group nobody is in, is offered to anyone)."""
    offered = ChatOffer.objects.filter(
        agent_id=member.user_id if member else None, answer=ChatOffer.Answer.PENDING
    ).values("chat")
    return (
        Chat.objects.filter(Q(ticket__in=tickets_visible_to_agent(member)) | Q(pk__in=offered))
        .filter(key=key)
        .select_related(*related)
        .first()
    )


def queue_json(tenant: Tenant, member: Membership | None) -> dict:
    """The waiting chats `member` may see (a desk may keep agents to their groups)."""
    waiting = Chat.objects.filter(
        state=Chat.State.QUEUED, ticket__in=tickets_visible_to_agent(member)
    ).select_related("ticket", "customer")
    return {
        "type": "queue",
        "waiting": [
            {
                "chat": chat.key.hex,
                "subject": chat.ticket.subject,
                "customer": chat.customer.display_name,
                "queued_at": chat.queued_at.isoformat(),
            }
            for chat in waiting.order_by("queued_at")[:50]
        ],
    }


def _publish_queue(tenant: Tenant) -> None:
    """Consoles ask for the queue again (queue_json) when told it changed."""
    events.publish(events.desk_group(tenant.pk), {"type": "queue_changed"})


def _publish_team(tenant: Tenant) -> None:
    events.publish(events.desk_group(tenant.pk), {"type": "team_changed"})


def rating_open(chat: Chat):
    """The chat's satisfaction question, asked at its end and not answered yet (or None)."""
    from feedback.models import CsatSurvey, SurveyStatus

    if chat.state != Chat.State.ENDED:
        return None
    return (
        CsatSurvey.objects.filter(
            ticket_id=chat.ticket_id, status=SurveyStatus.SENT, rating__isnull=True
        )
        .order_by("-solved_at")
        .first()
    )


@transaction.atomic
def chat_rate(*, chat: Chat, customer: User, rating: int):
    """The one-click rating at the end of a chat, recorded like a ticket's CSAT answer."""
    if chat.customer_id != customer.pk:
        raise PermissionDenied
    survey = rating_open(chat)
    if survey is None:
        raise ValidationError(_("This chat has no question to answer."))
    return feedback.csat_answer(survey=survey, rating=rating)


def transcripts_used_up() -> str:
    return _(
        "The transcript was sent to you %(count)d times in the last hour: look for it in "
        "your inbox, or ask again later."
    ) % {"count": TRANSCRIPTS_PER_HOUR}


@transaction.atomic
def transcript_send(*, chat: Chat) -> None:
    """Email the customer the chat's public lines (sent by a worker after commit), at
    most TRANSCRIPTS_PER_HOUR times an hour: each is a mail from the desk's sender."""
    key = f"chat-transcripts:{chat.tenant_id}:{chat.pk}"
    cache.add(key, 0, timeout=3600)
    if cache.incr(key) > TRANSCRIPTS_PER_HOUR:
        raise ValidationError(transcripts_used_up())
    asked = TranscriptAsked(tenant_id=chat.tenant_id, ticket_id=chat.ticket_id)
    domain_events.publish(asked, ticket=chat.ticket)
