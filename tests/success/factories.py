"""Building customer-success data for tests: events through the service, and the other
apps' rows (tickets, SLA outcomes, survey answers) at chosen times."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from feedback.models import CsatSurvey, NpsSurvey, SurveyStatus
from sla.models import SLAOutcome
from success.models import HealthScore
from success.services import NewEvent, events_record
from tests.tickets.factories import make_ticket
from tickets.models import Ticket

_ids = itertools.count(1)


def at(day: date, hour: int = 12) -> datetime:
    """A moment of `day` in UTC (the test desks' time zone)."""
    return datetime.combine(day, time(hour), tzinfo=UTC)


def event(org, metric, when, *, value=1, feature="", event_id=None) -> NewEvent:
    return NewEvent(
        organization_id=org.pk,
        metric=metric,
        occurred_at=when,
        event_id=event_id or f"evt-{next(_ids)}",
        value=Decimal(value),
        feature=feature,
    )


def record(desk, *events, now=None):
    with desk.scope():
        return events_record(tenant=desk.tenant, events=list(events), now=now)


def ticket_at(desk, org, created: datetime, *, requester=None, status=None, solved=None):
    """A ticket of `org` filed at `created` (and given a status afterwards, directly, so
    no SLA outcome is recorded on the way)."""
    ticket = make_ticket(desk, requester=requester)
    with desk.scope():
        fields = {"created_at": created, "organization": org}
        if status is not None:
            fields.update(status=status, solved_at=solved)
        Ticket.objects.filter(pk=ticket.pk).update(**fields)
        ticket.refresh_from_db()
    return ticket


def sla_outcome(desk, ticket, due: datetime, *, breached: bool, metric="first_response"):
    with desk.scope():
        return SLAOutcome.objects.create(
            tenant=desk.tenant,
            ticket=ticket,
            metric=metric,
            result=SLAOutcome.Result.BREACHED if breached else SLAOutcome.Result.MET,
            due_at=due,
        )


def csat_rating(desk, ticket, rating: int, rated: datetime):
    with desk.scope():
        return CsatSurvey.objects.create(
            tenant=desk.tenant,
            ticket=ticket,
            solved_at=rated - timedelta(hours=2),
            recipient=desk.customer,
            status=SurveyStatus.SENT,
            send_at=rated - timedelta(hours=1),
            sent_at=rated - timedelta(hours=1),
            rating=rating,
            rated_at=rated,
        )


def nps_answer(desk, org, score: int, responded: datetime, recipient=None):
    with desk.scope():
        return NpsSurvey.objects.create(
            tenant=desk.tenant,
            recipient=recipient or desk.customer,
            organization=org,
            sent_at=responded - timedelta(hours=1),
            score=score,
            responded_at=responded,
        )


def scores(desk, org=None) -> list[HealthScore]:
    with desk.scope():
        rows = HealthScore.objects.order_by("organization_id", "day")
        if org is not None:
            rows = rows.filter(organization=org)
        return list(rows)


def components(**scores) -> dict:
    """A score's components: {component: {"raw", "score", "weight"}} from
    `usage_frequency=(raw, score, weight)`, or just a score (raw = score, weight 10)."""
    parts = {}
    for name, value in scores.items():
        raw, score, weight = value if isinstance(value, tuple) else (value, value, 10)
        parts[name] = {"raw": raw, "score": score, "weight": weight}
    return parts


def health_row(desk, org, day: date, score: int, band=None, *, parts=None, stage=None):
    """A stored daily score, as health_compute would leave it (band from the default
    thresholds unless given)."""
    from success.models import Band, Stage

    if band is None:
        band = Band.HEALTHY if score >= 75 else Band.AT_RISK if score >= 60 else Band.CRITICAL
    with desk.scope():
        return HealthScore.objects.create(
            tenant=desk.tenant,
            organization=org,
            day=day,
            score=score,
            band=band,
            stage=stage or Stage.STEADY,
            components=parts or {},
        )


def make_task(desk, org, kind=None, *, owner=None, due=None, trigger=None, **fields):
    from django.utils import timezone

    from success.models import SuccessTask, TaskKind

    today = timezone.localdate()
    with desk.scope():
        return SuccessTask.objects.create(
            tenant=desk.tenant,
            organization=org,
            owner=owner,
            kind=kind or TaskKind.HEALTH_DROP,
            trigger_date=trigger or today - timedelta(days=next(_ids)),
            due_date=due or today,
            **fields,
        )
