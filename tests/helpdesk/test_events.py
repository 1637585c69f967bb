"""Domain events (helpdesk/events.py): a ticket service says what happened, inside its
transaction; subscribers run in that transaction, after commit, or in a worker, and a
subscriber that fails neither undoes the change nor stops its neighbours."""

import pytest
from django.core import mail
from django.db import transaction

from helpdesk import events
from helpdesk.models import OutboxJob
from helpdesk.outbox import outbox_run
from tests.tickets.factories import make_ticket
from tickets.events import AgentReplied, TicketChanged, TicketCreated, TicketSolved
from tickets.models import Ticket
from tickets.services import ticket_reply, ticket_update

pytestmark = pytest.mark.django_db(transaction=True)

heard: list[tuple[str, object]] = []
failing = {"left": 0}


@pytest.fixture(autouse=True)
def subscribers():
    """The app's own subscribers, plus whatever a test adds, removed after it."""
    saved = {
        name: {phase: list(fs) for phase, fs in p.items()}
        for name, p in events._subscribers.items()
    }
    heard.clear()
    failing["left"] = 0
    yield
    events._subscribers.clear()
    for name, phases in saved.items():
        for phase, functions in phases.items():
            events._subscribers[name][phase] = functions


def count_tickets(event):
    """A worker subscriber reads the desk in scope: its own rows, no other desk's."""
    heard.append(("count", (event.tenant_id, Ticket.objects.count())))


def flaky(event):
    if failing["left"]:
        failing["left"] -= 1
        Ticket.objects.filter(pk=event.ticket_id).update(subject="half done")
        raise RuntimeError("the webhook's receiver is down")
    heard.append(("flaky", event.ticket_id))


def steady(event):
    heard.append(("steady", event.ticket_id))


def test_an_event_stored_for_a_worker_reads_back_the_same():
    created = TicketCreated(tenant_id=1, ticket_id=2, message_id=3, actor_id=None, by_desk=True)
    stored = created.payload()
    assert "live" not in stored
    assert events.event_named("ticket.created")(**stored) == created


def test_worker_subscribers_run_after_commit_in_the_events_desk(acme, globex):
    events.subscribe(TicketCreated)(count_tickets)
    make_ticket(globex)
    heard.clear()
    with transaction.atomic():
        ticket = make_ticket(acme)
        assert heard == []  # nothing runs before the commit
    assert heard == [("count", (acme.tenant.pk, 1))]
    with acme.scope():
        assert Ticket.objects.get(pk=ticket.pk)
        assert not OutboxJob.objects.exists()


def test_a_rolled_back_change_tells_nobody(acme):
    events.subscribe(TicketCreated)(steady)
    events.subscribe(TicketCreated, phase=events.ON_COMMIT)(count_tickets)
    with pytest.raises(RuntimeError), transaction.atomic():
        make_ticket(acme)
        raise RuntimeError("the request failed after all")
    assert heard == []
    with acme.scope():
        assert not OutboxJob.objects.exists()


def test_a_failing_worker_subscriber_keeps_the_change_and_is_retried_alone(acme):
    events.subscribe(TicketCreated)(flaky)
    events.subscribe(TicketCreated)(steady)
    failing["left"] = 1
    mail.outbox.clear()
    ticket = make_ticket(acme, subject="Exports fail")
    # The ticket stands, its emails went out, its neighbour ran; the failure's own write
    # was undone with it.
    with acme.scope():
        assert Ticket.objects.get(pk=ticket.pk).subject == "Exports fail"
    assert ("steady", ticket.pk) in heard
    assert any("Exports fail" in m.subject for m in mail.outbox)
    # Its retry (a job of its own, woken at once) ran it; nobody ran twice.
    assert heard.count(("flaky", ticket.pk)) == 1
    assert heard.count(("steady", ticket.pk)) == 1
    with acme.scope():
        assert not OutboxJob.objects.exists()


def test_a_subscriber_failing_again_backs_off_and_runs_when_it_can(acme):
    events.subscribe(TicketCreated)(flaky)
    failing["left"] = 2
    ticket = make_ticket(acme)
    # Failed among the ticket's subscribers, then alone in its retry: the outbox backs
    # off, and only its job waits.
    with acme.scope():
        job = OutboxJob.objects.get()
        assert job.attempts == 1 and "receiver is down" in job.last_error
        assert job.payload["only"] == ["tests.helpdesk.test_events.flaky"]
    assert heard == []
    with acme.scope():
        assert outbox_run(job_id=job.pk) is True  # what the sweep does once it is due
    assert heard == [("flaky", ticket.pk)]
    with acme.scope():
        assert not OutboxJob.objects.exists()


def test_in_transaction_subscribers_see_the_live_objects_and_fail_with_the_change(acme):
    def plan_with_the_solve(event):
        heard.append(("solved", event.live["ticket"].status))
        if failing["left"]:
            raise RuntimeError("cannot plan it")

    events.subscribe(TicketSolved, phase=events.IN_TRANSACTION)(plan_with_the_solve)
    ticket = make_ticket(acme)
    with acme.scope():
        ticket_update(ticket=ticket, actor=acme.agent, status="solved")
        assert heard == [("solved", "solved")]
        failing["left"] = 1
        ticket_update(ticket=ticket, actor=acme.agent, status="open")
        with pytest.raises(RuntimeError):
            ticket_update(ticket=ticket, actor=acme.agent, status="solved")
        assert Ticket.objects.get(pk=ticket.pk).status == "open"


def test_after_commit_subscribers_errors_are_logged_not_raised(acme, caplog):
    def breaks(event):
        raise RuntimeError("cache is gone")

    events.subscribe(TicketCreated, phase=events.ON_COMMIT)(breaks)
    ticket = make_ticket(acme)
    with acme.scope():
        assert Ticket.objects.filter(pk=ticket.pk).exists()
    assert "breaks" in caplog.text and "cache is gone" in caplog.text


def test_a_change_of_fields_says_what_changed_in_stored_values(acme):
    seen = []
    events.subscribe(TicketChanged, phase=events.IN_TRANSACTION)(seen.append)
    ticket = make_ticket(acme)
    with acme.scope():
        ticket_update(ticket=ticket, actor=acme.agent, priority=1, tags=["billing"])
        ticket_update(ticket=ticket, actor=acme.agent, status="solved")
    assert [e.changes for e in seen] == [
        {"priority": {"old": 3, "new": 1}, "tags": {"old": [], "new": ["billing"]}},
        # Solved unassigned by an agent: it becomes theirs.
        {
            "status": {"old": "new", "new": "solved"},
            "assignee": {"old": None, "new": acme.agent.pk},
        },
    ]
    assert {e.actor_id for e in seen} == {acme.agent.pk}


def test_an_event_nobody_wants_stores_no_row(acme):
    """A live chat's line (notify=False) emails nobody: no job is stored for it."""
    ticket = make_ticket(acme)
    with acme.scope():
        OutboxJob.objects.all().delete()
        with transaction.atomic():
            ticket_reply(ticket=ticket, author=acme.agent, body="Looking now", notify=False)
            assert not OutboxJob.objects.exists()
            ticket_reply(ticket=ticket, author=acme.agent, body="Fixed")
            assert OutboxJob.objects.get().payload["event"] == AgentReplied.name
