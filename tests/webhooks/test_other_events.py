"""SLA, satisfaction, merge and live chat events, published on the real event bus as
their services publish them, reach the endpoints that chose them with their data."""

from datetime import timedelta

import pytest
from django.utils import timezone

from chat.domain_events import ChatEnded
from feedback.events import CsatRated
from feedback.models import CsatSurvey
from helpdesk import events
from sla.events import SlaBreached
from tests.tickets.factories import make_ticket
from tests.webhooks.factories import deliveries, make_endpoint
from tickets.services import ticket_merge

pytestmark = pytest.mark.django_db


def test_sla_csat_chat_and_merge_events_carry_their_data(
    acme, receiver, django_capture_on_commit_callbacks
):
    chosen = ["sla.breached", "csat.rated", "chat.ended", "ticket.merged"]
    make_endpoint(acme, receiver.url("/json"), events=chosen)
    make_endpoint(acme, receiver.url("/slack"), events=chosen, format="slack")
    ticket = make_ticket(acme, subject="Slow dashboard")
    other = make_ticket(acme, subject="Slow dashboard again")
    due = timezone.now() - timedelta(minutes=5)
    with acme.scope():
        survey = CsatSurvey.objects.create(
            tenant=acme.tenant,
            ticket=ticket,
            solved_at=timezone.now(),
            recipient=acme.customer,
            send_at=timezone.now(),
            rating=2,
            comment="Took too long",
        )
    with django_capture_on_commit_callbacks(execute=True), acme.scope():
        events.publish(
            SlaBreached(
                tenant_id=acme.tenant.pk,
                ticket_id=ticket.pk,
                metric="first_response",
                due_at=due.isoformat(),
            ),
            ticket=ticket,
            people_cache={},
        )
        events.publish(
            CsatRated(tenant_id=acme.tenant.pk, ticket_id=ticket.pk, survey_id=survey.pk, rating=2),
            survey=survey,
        )
        events.publish(
            ChatEnded(
                tenant_id=acme.tenant.pk,
                chat_id=1,
                ticket_id=ticket.pk,
                actor_id=None,
                answered=False,
            )
        )  # no live objects: the ticket is read from the database
        ticket_merge(source=other, target=ticket, actor=acme.agent)

    json_bodies = {
        r.json()["type"]: r.json()["data"] for r in receiver.requests if r.path == "/json"
    }
    assert json_bodies["sla.breached"]["sla"]["metric"] == "first_response"
    assert json_bodies["sla.breached"]["sla"]["due_at"].endswith("Z")
    assert json_bodies["csat.rated"]["rating"] == {"score": 2, "comment": "Took too long"}
    assert json_bodies["chat.ended"]["chat"] == {"answered": False}
    assert json_bodies["chat.ended"]["ticket"]["subject"] == "Slow dashboard"
    merged = json_bodies["ticket.merged"]
    assert merged["ticket"]["number"] == other.number
    assert merged["into_ticket"]["number"] == ticket.number

    texts = sorted(r.json()["text"] for r in receiver.requests if r.path == "/slack")
    assert any(
        t.startswith(f"SLA missed: the first response of #{ticket.number} was due") for t in texts
    )
    assert any(t.startswith(f"#{ticket.number} was rated “Unsatisfied” by ") for t in texts)
    assert any(t.startswith(f"Live chat #{ticket.number} ended: Slow dashboard") for t in texts)
    assert any(
        t.startswith(f"Ticket #{other.number} was merged into #{ticket.number}") for t in texts
    )
    assert len(deliveries(acme)) == 8
