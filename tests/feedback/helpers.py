"""Shared steps of the feedback tests: solve a ticket, send its survey, read the email."""

import re
from datetime import timedelta

from django.core import mail
from django.utils import timezone

from feedback.models import CsatSurvey
from feedback.services import csat_send_due
from feedback.tasks import refresh_rollups
from tests.tickets.factories import make_ticket, set_fields
from tickets.models import Status


def solved_ticket(desk, **fields):
    ticket = make_ticket(desk, **fields)
    set_fields(desk, ticket, assignee=desk.agent)
    return set_fields(desk, ticket, status=Status.SOLVED)


def survey_of(desk, ticket) -> CsatSurvey:
    with desk.scope():
        return CsatSurvey.objects.get(ticket=ticket)


def send_due(desk, after=timedelta(hours=1, minutes=1)) -> int:
    """Run the sender as the beat would, once the default delay has passed."""
    with desk.scope():
        return csat_send_due(tenant=desk.tenant, now=timezone.now() + after)


def survey_emails(to: str) -> list:
    return [m for m in mail.outbox if m.to == [to] and "How did we do?" in m.subject]


def links_in(message) -> list[str]:
    return re.findall(r"https?://\S+", message.body)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def refresh_dashboards() -> int:
    """The beat's minutely refresh of the dashboards' rollups (tasks run eagerly here):
    the desks with stale days, each rebuilt."""
    return refresh_rollups()
