"""The chat's data in tenant `bench`, made once and checked on every run.

- 10 agents (`chatagent<n>@bench.example`) with presence online, capacity 10 each.
- 2,100 customers (`chat<n>@chat.bench.example`) in 21 organizations on the plan that
  offers chat (Pro+).
- Customers 1-100 each have an active chat with one of the agents (10 each: every agent
  is at capacity); customers 101-2,100 each have a queued chat. With every agent at
  capacity, routing offers none of the queued chats to anyone, so the sockets of their
  customers stay open and idle, as a customer's page waiting in the queue does.

Chats are started with `chat.services.chat_start` (a chat ticket with the question as
its first message) and taken with `chat_pick`, as the console does; the agents are away
while they are made, so routing makes no offers meanwhile. People have unusable
passwords: each run gives everyone a fresh session, written in bulk (`sessions`).
Messages a run sent are deleted again (`forget_messages`), so every run starts with the
same chats.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

CUSTOMERS = 2_100
ACTIVE = 100
AGENTS = 10
CAPACITY = 10
ORGANIZATIONS = 21
QUESTION = "Our CSV export stops at 99% (chat {n})"


def customer_email(n: int) -> str:
    return f"chat{n}@chat.bench.example"


def agent_email(n: int) -> str:
    return f"chatagent{n}@bench.example"


@dataclass
class ChatPeople:
    """What the load generator needs: sessions and chat keys, in customer order."""

    agent_ids: list[int] = field(default_factory=list)
    agent_sessions: list[str] = field(default_factory=list)
    # (chat key, customer session, index of the agent in agent_ids); keys as the
    # socket's URL writes them (str(uuid))
    active: list[tuple[str, str, int]] = field(default_factory=list)
    idle: list[tuple[str, str]] = field(default_factory=list)  # (chat key, session)
    note: str = ""  # made by this run / reused


def _people(tenant, log: Callable[[str], None]):
    """The chat agents and customers (with memberships), made when missing."""
    from django.contrib.auth.hashers import make_password

    from helpdesk.models import Membership, Role, User
    from plans.models import Organization, Plan

    plan = Plan.objects.filter(offers_chat=True).order_by("rank").first()
    if plan is None:
        raise SystemExit("the bench tenant has no plan that offers chat")
    organizations = []
    for i in range(1, ORGANIZATIONS + 1):
        organization, _created = Organization.objects.get_or_create(
            tenant=tenant, name=f"Chat bench {i}", defaults={"plan": plan}
        )
        if organization.plan_id != plan.pk:
            organization.plan = plan
            organization.save(update_fields=["plan"])
        organizations.append(organization)
    unusable = make_password(None)
    wanted = [(agent_email(n), Role.AGENT, None, f"Chat Agent {n}") for n in range(1, AGENTS + 1)]
    wanted += [
        (
            customer_email(n),
            Role.CUSTOMER,
            organizations[(n - 1) % ORGANIZATIONS],
            f"Chat Customer {n}",
        )
        for n in range(1, CUSTOMERS + 1)
    ]
    existing = set(
        User.objects.filter(email__in=[email for email, *_ in wanted]).values_list(
            "email", flat=True
        )
    )
    missing = [w for w in wanted if w[0] not in existing]
    if missing:
        log(f"chat: {len(missing):,} people to make")
        users = User.objects.bulk_create(
            [
                User(tenant=tenant, email=email, full_name=name, password=unusable)
                for email, _role, _org, name in missing
            ],
            batch_size=1000,
        )
        Membership.objects.bulk_create(
            [
                Membership(tenant=tenant, user=user, role=role, organization=org)
                for user, (_email, role, org, _name) in zip(users, missing, strict=True)
            ],
            batch_size=1000,
        )
    by_email = {
        m.user.email: m
        for m in Membership.objects.filter(
            user__email__in=[email for email, *_ in wanted]
        ).select_related("user", "organization__plan")
    }
    agents = [by_email[agent_email(n)] for n in range(1, AGENTS + 1)]
    customers = [by_email[customer_email(n)] for n in range(1, CUSTOMERS + 1)]
    return agents, customers, bool(missing)


def ensure_chats(tenant, log: Callable[[str], None]) -> tuple[list, list, list, str]:
    """Agents online at capacity with the 100 active chats, and 2,000 queued chats.

    Returns (agent memberships, active chats, queued chats, a note)."""
    from django.utils import timezone

    from chat import services
    from chat.models import AgentPresence, Availability, Chat, ChatOffer
    from helpdesk.tenancy import tenant_scope

    started = time.monotonic()
    made = 0
    with tenant_scope(tenant):
        agents, customers, new_people = _people(tenant, log)
        agent_ids = [m.user_id for m in agents]
        now = timezone.now()
        # Away while chats are made: routing offers nothing meanwhile.
        for membership in agents:
            AgentPresence.objects.update_or_create(
                tenant=tenant,
                agent=membership.user,
                defaults={"availability": Availability.AWAY, "capacity": CAPACITY},
            )
        ChatOffer.objects.filter(answer=ChatOffer.Answer.PENDING).update(
            answer=ChatOffer.Answer.WITHDRAWN, answered_at=now
        )
        open_chats = {
            chat.customer_id: chat
            for chat in Chat.objects.filter(customer_id__in=[m.user_id for m in customers]).exclude(
                state=Chat.State.ENDED
            )
        }
        load = dict.fromkeys(agent_ids, 0)
        for chat in open_chats.values():
            if chat.state == Chat.State.ACTIVE and chat.agent_id in load:
                load[chat.agent_id] += 1
        by_agent = {m.user_id: m for m in agents}

        def start(n: int, membership):
            nonlocal made
            made += 1
            return services.chat_start(membership=membership, question=QUESTION.format(n=n))

        active, queued = [], []
        for n, membership in enumerate(customers, start=1):
            chat = open_chats.get(membership.user_id)
            wants_active = n <= ACTIVE
            fits = chat is not None and (
                (wants_active and chat.state == Chat.State.ACTIVE and chat.agent_id in load)
                or (not wants_active and chat.state == Chat.State.QUEUED)
            )
            if chat is not None and not fits:
                if chat.state == Chat.State.ACTIVE and chat.agent_id in load:
                    load[chat.agent_id] -= 1
                if not (wants_active and chat.state == Chat.State.QUEUED):
                    services.chat_end(chat=chat, actor=membership.user)
                    chat = None
            if chat is None:
                chat = start(n, membership)
            if wants_active and chat.state != Chat.State.ACTIVE:
                agent_id = min(load, key=lambda a: (load[a], agent_ids.index(a)))
                chat = services.chat_pick(chat=chat, membership=by_agent[agent_id])
                load[agent_id] += 1
            (active if wants_active else queued).append(chat)
            if made and made % 500 == 0:
                log(f"chat: {made:,} chats started")
        if any(n > CAPACITY for n in load.values()):
            raise SystemExit(f"chat agents over capacity: {load}")
        # Online and just seen: the consoles that connect find them live.
        AgentPresence.objects.filter(agent_id__in=agent_ids).update(
            availability=Availability.ONLINE, capacity=CAPACITY, last_seen_at=timezone.now()
        )
        active = list(Chat.objects.filter(pk__in=[c.pk for c in active]).select_related("customer"))
    if made or new_people:
        note = f"made by this run in {time.monotonic() - started:.0f} s, {made:,} chats started"
    else:
        note = "reused, made by an earlier run"
    return agents, active, queued, note


def sessions(users) -> list[str]:
    """A signed-in session for each user, written in one bulk insert: what
    Client.force_login would store, without a request per person."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    store = import_module(settings.SESSION_ENGINE).SessionStore
    expires = timezone.now() + timezone.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    keys, rows = [], []
    for user in users:
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = {
            SESSION_KEY: str(user.pk),
            # The desk's own backend (people belong to one desk).
            BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        rows.append(
            Session(session_key=key, session_data=store().encode(data), expire_date=expires)
        )
        keys.append(key)
    Session.objects.bulk_create(rows, batch_size=1000)
    return keys


def forget_messages(tenant) -> int:
    """Delete the chat lines a run sent (every one carries a client key; the question
    that started each chat does not)."""
    from helpdesk.tenancy import tenant_scope
    from tickets.models import Message

    with tenant_scope(tenant):
        deleted, _by_model = Message.objects.filter(
            ticket__chat__customer__email__endswith="@chat.bench.example",
            client_key__isnull=False,
        ).delete()
    return deleted


def prepare(tenant, log: Callable[[str], None]) -> ChatPeople:
    """The chats as every run starts them, and a session for everyone in them."""
    from chat.models import Chat
    from helpdesk.tenancy import tenant_scope

    forgotten = forget_messages(tenant)
    if forgotten:
        log(f"chat: {forgotten:,} messages of an earlier run deleted")
    agents, active, queued, note = ensure_chats(tenant, log)
    with tenant_scope(tenant):
        agent_users = [m.user for m in agents]
        agent_index = {user.pk: i for i, user in enumerate(agent_users)}
        queued = list(Chat.objects.filter(pk__in=[c.pk for c in queued]).select_related("customer"))
        queued.sort(key=lambda chat: chat.queued_at)
        keys = sessions(
            [*agent_users, *(c.customer for c in active), *(c.customer for c in queued)]
        )
    agent_keys, keys = keys[: len(agent_users)], keys[len(agent_users) :]
    active_keys, idle_keys = keys[: len(active)], keys[len(active) :]
    return ChatPeople(
        agent_ids=[u.pk for u in agent_users],
        agent_sessions=agent_keys,
        active=[
            (str(chat.key), session, agent_index[chat.agent_id])
            for chat, session in zip(active, active_keys, strict=True)
        ],
        idle=[(str(chat.key), session) for chat, session in zip(queued, idle_keys, strict=True)],
        note=note,
    )
