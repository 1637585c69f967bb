"""What the insights dashboards read, added to a bench desk's tickets (100,000 or more).

- Each ticket's first-response and resolution times in business seconds, in the
  calendar of the SLA policy its plan and priority get (as sla/timers.py stores
  them), and the outcome of its first-response and resolution clocks (met, or
  breached when late or still open past due).
- CSAT: 70% of solved tickets were sent a survey, 30% of all solved rated it
  (mostly 4-5, a few comments); the agent is the assignee.
- NPS: every customer of an organization asked every 90 days for two years, a
  third answering, scores a little better on higher plans.
- Knowledge base: 40 articles, their daily views for 400 days, votes, suggestion
  deflections and searches that found nothing.

Added in the same transaction as the tickets by `generate.generate`, CHUNK tickets
at a time (a million tickets' rows would not all fit in memory at once); bench data
from before the dashboards lacks it and is generated again (`generate.is_complete`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from feedback.models import CsatSurvey, NpsSurvey, SurveyStatus
from helpdesk.models import Membership, Role, Tenant
from helpdesk.tenancy import tenant_scope
from knowledge.models import (
    Article,
    ArticleViewDay,
    ArticleVote,
    Deflection,
    SearchLog,
)
from knowledge.models import Category as KbCategory
from knowledge.models import Section as KbSection
from sla.business_time import add_business_time, business_time_between
from sla.models import Metric, SLAOutcome
from sla.selectors import policy_book
from tickets.models import Ticket

BATCH = 5_000
CHUNK = 50_000  # tickets read, and their durations, outcomes and surveys written, per round
SEED = 6_000
CSAT_SENT = 0.7
CSAT_RATED = 0.3
RATINGS = [1, 2, 3, 4, 5]
RATING_WEIGHTS = [5, 7, 13, 30, 45]
CSAT_COMMENTS = [
    "Quick and friendly, thanks!",
    "Solved on the first try.",
    "Took a while but it works now.",
    "I had to explain the problem three times.",
    "谢谢，问题解决了。",
    "回复太慢了。",
]
NPS_EVERY = timedelta(days=90)
NPS_ANSWERED = 0.35
ARTICLES = 40
VIEW_DAYS = 400
SEARCHES = [f"{word} {thing}" for word in ("export", "sso", "invoice", "api", "webhook",
            "导出", "发票") for thing in ("error", "limit", "timeout", "setup", "csv")]  # fmt: skip


def has_insights(tenant: Tenant) -> bool:
    with tenant_scope(tenant):
        return CsatSurvey.objects.exists()


def fill(tenant: Tenant, rng: random.Random, log: Callable[[str], None]) -> None:
    """Everything above, inside the caller's transaction and the tenant's scope."""
    now = timezone.now()
    book = policy_book(tenant)
    ticket_ids = []
    counts = {"durations": 0, "outcomes": 0, "surveys": 0, "rated": 0}
    last = 0
    while True:
        # In id order: the surveys draw from `rng` ticket after ticket, so which
        # tickets get one follows the order (before chunks, whatever order the scan
        # of every ticket returned).
        tickets = list(
            Ticket.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list(
                "pk",
                "created_at",
                "first_agent_reply_at",
                "solved_at",
                "priority",
                "organization__plan",
                "assignee",
                "requester",
            )[:CHUNK]
        )
        if not tickets:
            break
        last = tickets[-1][0]
        ticket_ids += [t[0] for t in tickets]
        _durations_and_outcomes(tenant, book, tickets, now, counts)
        _csat(tenant, tickets, rng, counts)
    log(
        f"  business durations of {counts['durations']:,} tickets, "
        f"{counts['outcomes']:,} SLA outcomes"
    )
    log(f"  {counts['surveys']:,} CSAT surveys sent, {counts['rated']:,} rated")
    _nps(tenant, rng, now, log)
    _knowledge(tenant, ticket_ids, rng, now, log)


def _durations_and_outcomes(tenant, book, tickets, now, counts) -> None:
    table = connection.ops.quote_name(Ticket._meta.db_table)
    durations, outcomes = [], []
    for pk, created, replied, solved, priority, plan, _assignee, _requester in tickets:
        policy = book.policy(plan, priority)
        schedule = book.schedule(policy)

        def seconds(until, created=created, schedule=schedule):
            return int(business_time_between(created, until, schedule).total_seconds())

        durations.append(
            (pk, seconds(replied) if replied else None, seconds(solved) if solved else None)
        )
        if policy is None:
            continue
        for metric, done in ((Metric.FIRST_RESPONSE, replied), (Metric.RESOLUTION, solved)):
            due = add_business_time(created, policy.target(metric), schedule)
            if done is None and due > now:
                continue  # still running
            met = done is not None and done <= due
            outcomes.append(
                SLAOutcome(
                    tenant=tenant,
                    ticket_id=pk,
                    metric=metric,
                    result=SLAOutcome.Result.MET if met else SLAOutcome.Result.BREACHED,
                    due_at=due,
                    recorded_at=done if met else due,
                )
            )
    with connection.cursor() as cursor:
        for i in range(0, len(durations), BATCH):
            batch = durations[i : i + BATCH]
            values = ", ".join(["(%s, %s::integer, %s::integer)"] * len(batch))
            cursor.execute(
                f"UPDATE {table} AS t SET first_response_seconds = v.fr, "  # noqa: S608 - our table
                f"resolution_seconds = v.res FROM (VALUES {values}) AS v(id, fr, res) "
                "WHERE t.id = v.id",
                [value for row in batch for value in row],
            )
    SLAOutcome.objects.bulk_create(outcomes, batch_size=BATCH, ignore_conflicts=True)
    counts["durations"] += len(durations)
    counts["outcomes"] += len(outcomes)


def _csat(tenant, tickets, rng, counts) -> None:
    surveys = []
    for pk, _created, _replied, solved, _priority, _plan, assignee, requester in tickets:
        if solved is None:
            continue
        draw = rng.random()
        if draw >= CSAT_SENT:
            continue
        sent = solved + timedelta(hours=1)
        rated = draw < CSAT_RATED
        rating = rng.choices(RATINGS, weights=RATING_WEIGHTS)[0] if rated else None
        surveys.append(
            CsatSurvey(
                tenant=tenant,
                ticket_id=pk,
                solved_at=solved,
                recipient_id=requester,
                agent_id=assignee,
                status=SurveyStatus.SENT,
                send_at=sent,
                sent_at=sent,
                rating=rating,
                comment=rng.choice(CSAT_COMMENTS) if rated and rng.random() < 0.2 else "",
                rated_at=sent + timedelta(minutes=rng.randint(5, 60 * 48)) if rated else None,
            )
        )
    CsatSurvey.objects.bulk_create(surveys, batch_size=BATCH)
    counts["surveys"] += len(surveys)
    counts["rated"] += sum(1 for s in surveys if s.rating)


def _nps(tenant, rng, now, log) -> None:
    contacts = list(
        Membership.objects.filter(role=Role.CUSTOMER, organization__isnull=False).values_list(
            "user", "organization", "organization__plan", "organization__plan__rank"
        )
    )
    surveys = []
    for user, organization, plan, rank in contacts:
        sent = now - timedelta(days=730) + timedelta(days=rng.randint(0, 89))
        while sent < now:
            answered = rng.random() < NPS_ANSWERED
            score = min(10, max(0, round(rng.gauss(6.5 + rank, 2.5)))) if answered else None
            surveys.append(
                NpsSurvey(
                    tenant=tenant,
                    recipient_id=user,
                    organization_id=organization,
                    plan_id=plan,
                    sent_at=sent,
                    score=score,
                    responded_at=sent + timedelta(hours=rng.randint(1, 96)) if answered else None,
                )
            )
            sent += NPS_EVERY
    NpsSurvey.objects.bulk_create(surveys, batch_size=BATCH)
    answered = sum(1 for s in surveys if s.score is not None)
    log(f"  {len(surveys):,} NPS surveys, {answered:,} answered")


def _knowledge(tenant, ticket_ids, rng, now, log) -> None:
    category, _ = KbCategory.objects.get_or_create(
        tenant=tenant, slug="help", defaults={"name": "Help"}
    )
    section, _ = KbSection.objects.get_or_create(
        tenant=tenant, category=category, slug="guides", defaults={"name": "Guides"}
    )
    articles = Article.objects.bulk_create(
        [
            Article(
                tenant=tenant,
                section=section,
                title=f"Guide {n}: {rng.choice(SEARCHES)}",
                slug=f"guide-{n}",
                body=f"## Guide {n}\n\nSteps.",
                body_html=f"<h2>Guide {n}</h2><p>Steps.</p>",
                status=Article.Status.PUBLISHED,
            )
            for n in range(1, ARTICLES + 1)
        ]
    )
    today = timezone.localdate(now, tenant.tzinfo)
    views = [
        ArticleViewDay(tenant=tenant, article=article, day=today - timedelta(days=d), views=n)
        for article in articles
        for d in range(VIEW_DAYS)
        if (n := int(rng.expovariate(1 / 12)))
    ]
    ArticleViewDay.objects.bulk_create(views, batch_size=BATCH)
    customers = list(Membership.objects.filter(role=Role.CUSTOMER).values_list("user", flat=True))
    pairs = {(rng.choice(articles).pk, rng.choice(customers)) for _ in range(4_000)}
    ArticleVote.objects.bulk_create(
        [
            ArticleVote(
                tenant=tenant,
                article_id=article,
                user_id=user,
                helpful=rng.random() < 0.7,
                updated_at=now - timedelta(minutes=rng.randint(60, 60 * 24 * VIEW_DAYS)),
            )
            for article, user in pairs
        ],
        batch_size=BATCH,
    )
    Deflection.objects.bulk_create(
        [
            Deflection(
                tenant=tenant,
                article=rng.choice(articles),
                user_id=rng.choice(customers),
                opened_at=now - timedelta(minutes=rng.randint(60, 60 * 24 * VIEW_DAYS)),
                ticket_id=rng.choice(ticket_ids) if rng.random() < 0.3 else None,
            )
            for _ in range(5_000)
        ],
        batch_size=BATCH,
    )
    SearchLog.objects.bulk_create(
        [
            SearchLog(
                tenant=tenant,
                query=(query := rng.choice(SEARCHES)),
                normalized=query,
                created_at=now - timedelta(minutes=rng.randint(60, 60 * 24 * VIEW_DAYS)),
            )
            for _ in range(8_000)
        ],
        batch_size=BATCH,
    )
    log(f"  knowledge base: {len(articles)} articles, {len(views):,} article-days of views")
