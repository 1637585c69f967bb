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
