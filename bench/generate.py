"""The benchmark's data: a desk, `bench`, with 100,000 tickets and 300,000 messages,
and what the insights dashboards read (bench/generate_insights.py); with
`bench.run --tickets N`, a second desk of N tickets beside it (`bench-1m` for
1,000,000), generated the same way: three messages a ticket, the same people and
organizations, the same seed (the `bench` desk is what it always was).

Written directly, people with bulk_create and tickets, messages and events with COPY
(`copy_rows`), CHUNK tickets at a time, inside one transaction and the tenant's
scope: a run that fails leaves nothing behind. Bodies are rendered once per distinct
text, users get an unusable password (nobody logs in with one; the benchmark opens
sessions directly), and the numbers continue from the ticket sequence.

Called by bench/run.py with Django set up on the bench database.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from itertools import accumulate

from django.contrib.auth.hashers import make_password
from django.db import connection, connections, router, transaction
from django.utils import timezone

from bench import generate_insights
from bench.common import TICKETS, desk_slug
from feedback import rollups
from helpdesk.models import Membership, Role, Tenant, User
from helpdesk.services import tenant_create
from helpdesk.tenancy import tenant_scope
from plans.models import Organization, OrganizationDomain, Plan
from tickets.demo import NOTE_EN, NOTE_ZH, SCENARIOS_EN, SCENARIOS_ZH, seed_macros
from tickets.models import (
    Category,
    Channel,
    Message,
    Priority,
    Status,
    Ticket,
    TicketEvent,
    TicketSequence,
)
from tickets.rendering import render_markdown
from tickets.search import reindex

MESSAGES_PER_TICKET = 3
MESSAGES = TICKETS * MESSAGES_PER_TICKET
STAFF = 6  # one admin and five agents
ORGANIZATIONS = 200
CUSTOMERS = 2_000
CUSTOMERS_WITHOUT_ORGANIZATION = 100
CHUNK = 5_000  # tickets built and written per round (their messages and events with them)
BATCH = 2_000  # rows per INSERT
SEED = 100_000
# The mean time between the messages of a thread (the first answer included).
REPLY_GAP = timedelta(hours=6)

FIRST_NAMES = [
    "Ada", "Ben", "Chen", "Dana", "Emil", "Fatima", "Gus", "Hana", "Ivan", "Jia",
    "Kofi", "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tara",
    "Uma", "Victor", "Wei", "Ximena", "Yusuf", "Zoe", "Li", "Mei", "Tomás", "Ingrid",
]  # fmt: skip
LAST_NAMES = [
    "Adams", "Baker", "Costa", "Diaz", "Evans", "Fischer", "Garcia", "Huang", "Ito",
    "Jensen", "Kim", "Lopez", "Müller", "Nakamura", "Okafor", "Patel", "Rossi", "Silva",
    "Tanaka", "Wang", "Zhang", "Novak", "Haddad", "Larsen", "Moreau", "Singh",
]  # fmt: skip
ORG_WORDS = [
    "Acorn", "Beacon", "Cedar", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Iris",
    "Juniper", "Kestrel", "Lumen", "Maple", "Nimbus", "Orbit", "Pioneer", "Quartz",
    "Riverside", "Summit", "Tidal", "Umbra", "Vertex", "Willow", "Zenith",
]  # fmt: skip
ORG_KINDS = ["Labs", "Logistics", "Health", "Foods", "Media", "Systems", "Bank", "Studio", "Works"]
TAGS = ["vip", "bug", "onboarding", "billing", "follow-up", "api", "sso", "export"]
FOLLOW_UPS_EN = [
    "Thanks, I'll try that and report back.",
    "Still happening after the change, see the **new** timestamps below:\n\n- 09:12\n- 09:47",
    "Could you check again? Our team is blocked on this.",
]
FOLLOW_UPS_ZH = ["谢谢，我试一下再回复。", "改了之后还是一样，麻烦再看看。"]
AGENT_FOLLOW_UPS = [
    "I've reproduced it and passed it to engineering; I'll update you here.",
    "Could you send the exact error message and the time it happened?",
]

# Status weights: most history is closed; about 12% of tickets are unsolved.
STATUS_WEIGHTS = {
    Status.CLOSED: 80,
    Status.SOLVED: 8,
    Status.NEW: 2,
    Status.OPEN: 5,
    Status.PENDING: 3,
    Status.ON_HOLD: 2,
}


def bench_tenant(tickets: int = TICKETS) -> Tenant | None:
    return Tenant.objects.filter(slug=desk_slug(tickets)).first()


def data_sizes(tenant: Tenant, tickets: int = TICKETS) -> dict[str, int]:
    """Counts of the generated data (tickets numbered past `tickets` are the API's, not ours)."""
    with tenant_scope(tenant):
        return {
            "tickets": Ticket.objects.filter(number__lte=tickets).count(),
            "messages": Message.objects.filter(ticket__number__lte=tickets).count(),
            "events": TicketEvent.objects.filter(ticket__number__lte=tickets).count(),
            "organizations": Organization.objects.count(),
            "customers": Membership.objects.filter(role=Role.CUSTOMER).count(),
            "staff": Membership.objects.filter(role__in=[Role.AGENT, Role.ADMIN]).count(),
        }


def is_complete(tenant: Tenant | None, tickets: int = TICKETS) -> bool:
    """All generated, the dashboards' data included: data from before the dashboards
    (whose threads were spread over up to two years, so nearly every ticket was solved
    in the last weeks) is generated again. Runs add a few notes (the search section's
    rare word), so there may be more messages than generated."""
    if tenant is None:
        return False
    sizes = data_sizes(tenant, tickets)
    complete = sizes["tickets"] == tickets and sizes["messages"] >= tickets * MESSAGES_PER_TICKET
    return complete and generate_insights.has_insights(tenant)


def _message_counts(rng: random.Random, tickets: int) -> list[int]:
    """Messages per ticket: 1 to 8, averaging exactly MESSAGES_PER_TICKET."""
    counts = [rng.choice([1, 2, 2, 3, 3, 4, 4, 5]) for _ in range(tickets)]
    difference = tickets * MESSAGES_PER_TICKET - sum(counts)
    step = 1 if difference > 0 else -1
    while difference:
        i = rng.randrange(tickets)
        if 1 <= counts[i] + step <= 8:
            counts[i] += step
            difference -= step
    return counts


def _people(tenant: Tenant, rng: random.Random, log: Callable[[str], None]):
    unusable = make_password(None)  # hashed once: PBKDF2 per user would take minutes
    now = timezone.now()

    def name() -> str:
        return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"

    staff_users = User.objects.bulk_create(
        [
            User(
                tenant=tenant,
                email=f"agent{i}@bench.example",
                full_name=name(),
                password=unusable,
                date_joined=now,
            )
            for i in range(1, STAFF + 1)
        ]
    )
    Membership.objects.bulk_create(
        [
            Membership(tenant=tenant, user=user, role=Role.ADMIN if i == 0 else Role.AGENT)
            for i, user in enumerate(staff_users)
        ]
    )

    plans = list(Plan.objects.order_by("rank"))  # Free, Pro, Pro+
    organizations = []
    for i in range(ORGANIZATIONS):
        plan = rng.choices(plans, weights=[50, 30, 20])[0]
        start = (now - timedelta(days=rng.randint(30, 900))).date()
        organizations.append(
            Organization(
                tenant=tenant,
                name=f"{ORG_WORDS[i % len(ORG_WORDS)]} {ORG_KINDS[i // len(ORG_WORDS)]} {i + 1}",
                plan=plan,
                arr=Decimal(plan.monthly_price * 12 * rng.randint(1, 40)),
                contract_start=start,
                renewal_date=start + timedelta(days=365 * rng.randint(1, 3)),
                success_manager=rng.choice(staff_users) if plan.rank else None,
            )
        )
    organizations = Organization.objects.bulk_create(organizations)
    OrganizationDomain.objects.bulk_create(
        [
            OrganizationDomain(tenant=tenant, organization=org, domain=f"org{i + 1}.example")
            for i, org in enumerate(organizations)
        ]
    )

    customer_orgs = []
    users = []
    for i in range(CUSTOMERS):
        org = None if i < CUSTOMERS_WITHOUT_ORGANIZATION else organizations[i % ORGANIZATIONS]
        domain = f"org{organizations.index(org) + 1}.example" if org else "mail.example"
        users.append(
            User(
                tenant=tenant,
                email=f"customer{i + 1}@{domain}",
                full_name=name(),
                password=unusable,
                date_joined=now,
                preferred_language="zh-hans" if rng.random() < 0.15 else "",
            )
        )
        customer_orgs.append(org)
    users = User.objects.bulk_create(users, batch_size=BATCH)
    Membership.objects.bulk_create(
        [
            Membership(
                tenant=tenant,
                user=user,
                role=Role.CUSTOMER,
                organization=org,
                is_org_manager=bool(org) and i % 10 == 0,
            )
            for i, (user, org) in enumerate(zip(users, customer_orgs, strict=True))
        ],
        batch_size=BATCH,
    )
    log(f"  {len(staff_users)} staff, {len(organizations)} organizations, {len(users)} customers")
    return staff_users, list(zip(users, customer_orgs, strict=True))


def copy_rows(model, rows: list) -> None:
    """Write model instances with COPY: a fraction of bulk_create's time (building the
    INSERT statements took most of it). Their ids are drawn from the table's sequence
    first, in order, as bulk_create would number them, so rows that point at them
    (messages at their ticket) can follow."""
    if not rows:
        return
    table = model._meta.db_table
    fields = model._meta.concrete_fields
    db = connections[router.db_for_write(model)]  # not the proxy: asked for every value
    with db.cursor() as cursor:
        if rows[0].pk is None:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, len(rows)],
            )
            for row, (pk,) in zip(rows, cursor.fetchall(), strict=True):
                row.pk = pk
        columns = ", ".join(db.ops.quote_name(field.column) for field in fields)
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    [field.get_db_prep_save(getattr(row, field.attname), db) for field in fields]
                )


def _tickets(tenant, rng, staff, customers, log, tickets: int) -> None:
    now = timezone.now()
    categories = {c.name: c for c in Category.objects.all()}
    html: dict[str, str] = {}

    def rendered(body: str) -> str:
        if body not in html:
            html[body] = render_markdown(body)
        return html[body]

    counts = _message_counts(rng, tickets)
    statuses = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())
    channels = [Channel.WEB] * 6 + [Channel.EMAIL] * 3 + [Channel.API]
    written = 0
    for first in range(1, tickets + 1, CHUNK):
        numbers = range(first, min(first + CHUNK, tickets + 1))
        rows, threads = [], []
        for number in numbers:
            customer, org = rng.choice(customers)
            chinese = customer.preferred_language == "zh-hans" or rng.random() < 0.1
            category, subject, ask, answer, thanks = rng.choice(
                SCENARIOS_ZH if chinese else SCENARIOS_EN
            )
            status = rng.choices(statuses, weights=weights)[0]
            if status in (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD):
                age = timedelta(minutes=rng.randint(10, 60 * 24 * 60))
            elif status == Status.SOLVED:
                age = timedelta(minutes=rng.randint(60 * 24, 60 * 24 * 4))
            else:
                age = timedelta(minutes=rng.randint(60 * 24 * 5, 60 * 24 * 730))
            created = now - age
            priority = rng.choices(
                [Priority.HIGH, Priority.MEDIUM, Priority.LOW], weights=[20, 55, 25]
            )[0]
            if org is not None and org.plan.allows_urgent and rng.random() < 0.25:
                priority = Priority.URGENT
            agent = rng.choice(staff)
            assigned = status != Status.NEW or rng.random() < 0.3
            n_messages = counts[number - 1]
            answered = n_messages > 1
            # The thread: customer, agent, customer...; replies hours apart (exponential
            # gaps), squeezed into the ticket's age when it is younger than that.
            span = max(age.total_seconds() - 60, 60)
            gaps = [rng.expovariate(1 / REPLY_GAP.total_seconds()) for _ in range(n_messages - 1)]
            squeeze = min(1.0, span * 0.9 / sum(gaps)) if gaps else 1.0
            offsets = list(accumulate(gap * squeeze for gap in gaps))
            thread = [(customer, ask, created, False)]
            for k, offset in enumerate(offsets, start=1):
                at = created + timedelta(seconds=offset)
                if k % 2:  # agent
                    if k > 1 and rng.random() < 0.15:
                        thread.append((agent, NOTE_ZH if chinese else NOTE_EN, at, True))
                    else:
                        thread.append(
                            (agent, answer if k == 1 else rng.choice(AGENT_FOLLOW_UPS), at, False)
                        )
                else:
                    done = status in (Status.SOLVED, Status.CLOSED) and k == n_messages - 1
                    text = (
                        thanks if done else rng.choice(FOLLOW_UPS_ZH if chinese else FOLLOW_UPS_EN)
                    )
                    thread.append((customer, text, at, False))
            done = status in (Status.SOLVED, Status.CLOSED)
            last = thread[-1][2]
            solved_at = last + timedelta(minutes=rng.randint(5, 600)) if done else None
            if solved_at and solved_at > now:
                solved_at = now
            channel = rng.choice(channels)
            rows.append(
                Ticket(
                    tenant=tenant,
                    number=number,
                    subject=subject,
                    requester=customer,
                    organization=org,
                    category=categories[category],
                    priority=priority,
                    status=status,
                    channel=channel,
                    assignee=agent if assigned else None,
                    tags=rng.sample(TAGS, rng.choice([0, 0, 1, 1, 2])),
                    created_at=created,
                    updated_at=solved_at or last,
                    first_agent_reply_at=thread[1][2] if answered else None,
                    solved_at=solved_at,
                    closed_at=solved_at + timedelta(days=4) if status == Status.CLOSED else None,
                )
            )
            threads.append((thread, agent if assigned else None, customer, channel))
        copy_rows(Ticket, rows)

        messages, events = [], []
        kind = TicketEvent.Kind
        for ticket, (thread, assignee, customer, channel) in zip(rows, threads, strict=True):
            for author, body, at, internal in thread:
                messages.append(
                    Message(
                        tenant=tenant,
                        ticket=ticket,
                        author=author,
                        body=body,
                        body_html=rendered(body),
                        is_internal=internal,
                        channel=channel if author == customer else Channel.WEB,
                        created_at=at,
                    )
                )
            history = [(customer, kind.CREATED, "", Channel(channel).label, ticket.created_at)]
            if assignee is not None:
                at = ticket.first_agent_reply_at or ticket.created_at
                history.append((assignee, kind.ASSIGNEE, "", assignee.display_name, at))
            if ticket.solved_at:
                history.append(
                    (assignee, kind.STATUS, Status.OPEN, Status.SOLVED, ticket.solved_at)
                )
            for actor, event_kind, old, new, at in history:
                events.append(
                    TicketEvent(
                        tenant=tenant,
                        ticket=ticket,
                        actor=actor,
                        kind=event_kind,
                        old_value=str(old),
                        new_value=str(new),
                        created_at=at,
                    )
                )
        copy_rows(Message, messages)
        copy_rows(TicketEvent, events)
        written += len(rows)
        if written % 25_000 == 0 or written == tickets:
            log(f"  {written:,} tickets written")
    TicketSequence.objects.update_or_create(tenant=tenant, defaults={"last_number": tickets})


def generate(log: Callable[[str], None] = print, *, tickets: int = TICKETS) -> Tenant:
    """Create the desk of `tickets` tickets and its data (the caller makes sure it is not
    there yet). Every desk starts from the same seed: the same people, organizations and
    kinds of tickets, only more of them."""
    started = time.monotonic()
    rng = random.Random(SEED)  # noqa: S311 - benchmark content, not secrets
    name = "Bench Analytics" if tickets == TICKETS else f"Bench Analytics, {tickets:,} tickets"
    with transaction.atomic():
        tenant = tenant_create(slug=desk_slug(tickets), name=name)
        with tenant_scope(tenant):
            seed_macros(tenant)
            staff, customers = _people(tenant, rng, log)
            _tickets(tenant, rng, staff, customers, log, tickets)
            # Statistics of what this transaction wrote (ANALYZE counts its own rows):
            # without them the new desk looks empty to the planner, which then reads all
            # its tickets for every batch of "the next ones by id" (the surveys' below,
            # tickets/search.py reindex's): half an hour at a million tickets.
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {Ticket._meta.db_table}, {Message._meta.db_table}")
            generate_insights.fill(tenant, random.Random(generate_insights.SEED), log)  # noqa: S311
            log("  search documents (tickets/search.py)")
            reindex(tenant_id=tenant.pk)
            log("  dashboard rollups (feedback/rollups.py)")
            rollups.rebuild_desk(tenant)
    log(f"  written in {time.monotonic() - started:.0f} s; VACUUM ANALYZE...")
    with connection.cursor() as cursor:
        # Inside a caller's transaction (a test's) VACUUM cannot run; ANALYZE can.
        cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE")
    log(f"  done in {time.monotonic() - started:.0f} s")
    return tenant
