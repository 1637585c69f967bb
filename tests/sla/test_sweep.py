"""The SLA sweep: warnings before a due time, one breach after it, escalation,
exactly once under repeats, concurrency and crashes, and a cost that follows
what is due rather than how many tickets are open."""

import multiprocessing
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from helpdesk.models import OutboundEmail
from sla.models import SLABreach, SLANotice, SLAOutcome, SLAPolicy
from sla.services import sla_notices_deliver, sla_sweep, tenants_with_sla_work
from sla.tasks import sweep
from tests.tickets.factories import make_ticket, refresh, set_fields
from tickets.models import Priority, Status, Ticket, TicketEvent

# Acme's Pro+ plan counts around the clock: a 2 h first response, warned
# min(25% of 2 h, 1 h) = 30 min before it is due.
FILED = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
WARNING_AT = FILED + timedelta(hours=1, minutes=30)
DUE = FILED + timedelta(hours=2)


@pytest.fixture
def pro_plus(acme):
    with acme.scope():
        acme.org.plan = acme.pro_plus
        acme.org.save()
    return acme


def _file(desk, **fields):
    with time_machine.travel(FILED, tick=False):
        return make_ticket(desk, subject="Exports fail", **fields)


def _sweep(desk, at):
    """A beat tick as a worker runs it: the sweep, then the emails it asked for."""
    with time_machine.travel(at, tick=False):
        result = sla_sweep(tenant=desk.tenant)
        sla_notices_deliver(tenant=desk.tenant)
    return result


def _emails(desk, subject_part):
    with desk.scope():
        return list(
            OutboundEmail.objects.filter(subject__contains=subject_part).values_list(
                "to", flat=True
            )
        )


def _sla_events(desk, ticket, action):
    with desk.scope():
        return list(
            TicketEvent.objects.filter(
                ticket=ticket, kind="sla", new_value__startswith=action
            ).values_list("old_value", flat=True)
        )


def test_the_ticket_is_warned_once_inside_its_warning_window(pro_plus):
    ticket = _file(pro_plus)
    assert refresh(pro_plus, ticket).first_response_due_at == DUE

    assert vars(_sweep(pro_plus, WARNING_AT - timedelta(minutes=1))) == {
        "warned": 0,
        "breached": 0,
        "escalated": 0,
    }
    assert vars(_sweep(pro_plus, WARNING_AT)) == {"warned": 1, "breached": 0, "escalated": 0}
    # Unassigned: every agent of the desk hears of it.
    assert sorted(to[0] for to in _emails(pro_plus, "SLA warning")) == sorted(
        [pro_plus.agent.email, pro_plus.admin.email]
    )
    assert _sla_events(pro_plus, ticket, "warned") == ["first_response"]
    # Run again, and again a minute later: nothing new.
    _sweep(pro_plus, WARNING_AT)
    _sweep(pro_plus, WARNING_AT + timedelta(minutes=1))
    assert len(_emails(pro_plus, "SLA warning")) == 2
    assert refresh(pro_plus, ticket).sla_check_at == DUE


def test_an_assigned_ticket_warns_only_its_assignee(pro_plus):
    ticket = _file(pro_plus)
    with time_machine.travel(FILED, tick=False):
        set_fields(pro_plus, ticket, assignee=pro_plus.agent)
    _sweep(pro_plus, WARNING_AT)
    assert _emails(pro_plus, "SLA warning") == [[pro_plus.agent.email]]


def test_a_breach_is_recorded_notified_and_escalated_once(pro_plus):
    ticket = _file(pro_plus, priority=Priority.MEDIUM)
    _sweep(pro_plus, WARNING_AT)
    result = _sweep(pro_plus, DUE + timedelta(seconds=30))
    assert vars(result) == {"warned": 0, "breached": 1, "escalated": 1}

    with pro_plus.scope():
        breach = SLABreach.objects.get()
    assert (breach.ticket_id, breach.metric, breach.due_at) == (ticket.pk, "first_response", DUE)
    ticket = refresh(pro_plus, ticket)
    assert ticket.first_response_breached_at is not None
    # The policy's escalation: one priority step up, recorded in the trail as the system's.
    assert ticket.priority == Priority.HIGH
    with pro_plus.scope():
        raised = TicketEvent.objects.get(ticket=ticket, kind="priority")
    assert raised.actor is None and raised.new_value == "High"
    # Admins hear of the breach (the ticket has no assignee).
    assert _emails(pro_plus, "SLA breached") == [[pro_plus.admin.email]]
    assert _sla_events(pro_plus, ticket, "breached") == ["first_response"]
    # Still overdue in the queue (sla_due_at), but nothing left for the sweep until
    # the resolution clock nears its own due time.
    assert ticket.sla_due_at == DUE
    assert ticket.sla_check_at > DUE

    for later in (DUE + timedelta(minutes=1), DUE + timedelta(minutes=2)):
        assert vars(_sweep(pro_plus, later)) == {"warned": 0, "breached": 0, "escalated": 0}
    with pro_plus.scope():
        assert SLAOutcome.objects.filter(result="breached").count() == 1
    assert len(_emails(pro_plus, "SLA breached")) == 1
    assert refresh(pro_plus, ticket).priority == Priority.HIGH


def test_escalation_assigns_the_policys_agent_when_nobody_has_the_ticket(
    pro_plus, django_capture_on_commit_callbacks
):
    with pro_plus.scope():
        for policy in SLAPolicy.objects.filter(plan=pro_plus.pro_plus):
            policy.escalation_agent = pro_plus.agent
            policy.escalate_priority = False
            policy.save()  # through save(), so the cached policy book is dropped
    ticket = _file(pro_plus, priority=Priority.LOW)
    with django_capture_on_commit_callbacks(execute=True):
        _sweep(pro_plus, DUE + timedelta(seconds=1))
    ticket = refresh(pro_plus, ticket)
    assert ticket.assignee == pro_plus.agent
    assert ticket.priority == Priority.LOW
    # The escalation agent is told of the assignment and of the breach.
    assert [pro_plus.agent.email] in _emails(pro_plus, "Assigned to you")
    assert sorted(to[0] for to in _emails(pro_plus, "SLA breached")) == sorted(
        [pro_plus.agent.email, pro_plus.admin.email]
    )


def test_an_answered_or_paused_ticket_is_neither_warned_nor_breached(pro_plus):
    answered = _file(pro_plus)
    waiting = _file(pro_plus)
    with time_machine.travel(FILED + timedelta(minutes=10), tick=False), pro_plus.scope():
        from tickets.services import ticket_reply

        ticket_reply(ticket=answered, author=pro_plus.agent, body="On it.")
    with time_machine.travel(FILED + timedelta(minutes=10), tick=False):
        set_fields(pro_plus, waiting, status=Status.PENDING)
    result = _sweep(pro_plus, DUE + timedelta(hours=1))
    assert (result.warned, result.breached) == (0, 0)
    with pro_plus.scope():
        assert not SLABreach.objects.exists()
        assert SLAOutcome.objects.get(ticket=answered).result == "met"


def test_the_sweep_touches_only_its_own_tenant(pro_plus, globex):
    _file(pro_plus)
    theirs = _file(globex)
    with time_machine.travel(DUE + timedelta(days=30), tick=False):
        assert tenants_with_sla_work(datetime.now(UTC)) == sorted(
            [pro_plus.tenant.pk, globex.tenant.pk]
        )
        sla_sweep(tenant=pro_plus.tenant)
    with globex.scope():
        assert not SLABreach.objects.exists()
        assert refresh(globex, theirs).priority == Priority.MEDIUM
    with pro_plus.scope():
        assert SLABreach.objects.count() == 2  # first response and resolution


def test_a_sweep_that_dies_midway_loses_nothing(pro_plus, monkeypatch):
    tickets = [_file(pro_plus) for _ in range(3)]
    from sla import services

    real = services._check
    calls = []

    def dies_on_the_second_ticket(*args):
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit("worker killed")
        return real(*args)

    monkeypatch.setattr(services, "_check", dies_on_the_second_ticket)
    with pytest.raises(SystemExit):
        _sweep(pro_plus, DUE + timedelta(seconds=1))
    with pro_plus.scope():
        # The batch's transaction rolled back: no half-recorded breach, nothing to tell.
        assert not SLABreach.objects.exists()
        assert not SLANotice.objects.exists()
        assert set(Ticket.objects.values_list("priority", flat=True)) == {Priority.MEDIUM}
    monkeypatch.setattr(services, "_check", real)
    assert _sweep(pro_plus, DUE + timedelta(seconds=2)).breached == 3
    with pro_plus.scope():
        assert SLABreach.objects.filter(ticket__in=tickets).count() == 3
    assert len(_emails(pro_plus, "SLA breached")) == 3


def test_emails_of_a_worker_that_died_are_written_once_by_the_next(pro_plus, monkeypatch):
    for _ in range(3):
        _file(pro_plus)
    with time_machine.travel(DUE + timedelta(seconds=1), tick=False):
        assert sla_sweep(tenant=pro_plus.tenant).breached == 3
    from tickets import notifications

    real = notifications.sla_breached
    calls = []

    def dies_on_the_second_email(*args):
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit("worker killed")
        return real(*args)

    monkeypatch.setattr(notifications, "sla_breached", dies_on_the_second_email)
    with pytest.raises(SystemExit):
        sla_notices_deliver(tenant=pro_plus.tenant)
    assert _emails(pro_plus, "SLA breached") == []  # rolled back with the notices
    monkeypatch.setattr(notifications, "sla_breached", real)
    # The notices are still there: the next beat tick finds them once they are stale.
    with time_machine.travel(DUE + timedelta(minutes=2), tick=False):
        assert tenants_with_sla_work(datetime.now(UTC)) == [pro_plus.tenant.pk]
    assert sla_notices_deliver(tenant=pro_plus.tenant) == 3
    assert sla_notices_deliver(tenant=pro_plus.tenant) == 0
    assert len(_emails(pro_plus, "SLA breached")) == 3


def _sweep_in_a_child_process(tenant_id, at, results):
    # A forked child must not share the parent's database connection.
    connections.close_all()
    from helpdesk.models import Tenant

    tenant = Tenant.objects.get(pk=tenant_id)
    with time_machine.travel(at, tick=False):
        result = sla_sweep(tenant=tenant)
        sla_notices_deliver(tenant=tenant)
    results.put(vars(result))
    connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_record_one_breach_and_send_one_email(pro_plus):
    tickets = [_file(pro_plus) for _ in range(20)]
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    connections.close_all()
    at = DUE + timedelta(seconds=5)
    sweepers = [
        context.Process(target=_sweep_in_a_child_process, args=(pro_plus.tenant.pk, at, results))
        for _ in range(2)
    ]
    for process in sweepers:
        process.start()
    for process in sweepers:
        process.join(timeout=60)
        assert process.exitcode == 0
    totals = [results.get(timeout=5) for _ in sweepers]
    # Each ticket was claimed by exactly one of them.
    assert sum(t["breached"] for t in totals) == 20
    assert sum(t["escalated"] for t in totals) == 20
    with pro_plus.scope():
        assert SLABreach.objects.filter(ticket__in=tickets).count() == 20
        assert OutboundEmail.objects.filter(subject__contains="SLA breached").count() == 20
        assert set(Ticket.objects.values_list("priority", flat=True)) == {Priority.HIGH}


# -- cost -------------------------------------------------------------------------------


def test_nothing_due_costs_one_query(acme):
    _file(acme)
    with (
        CaptureQueriesContext(connection) as queries,
        time_machine.travel(FILED + timedelta(minutes=5), tick=False),
    ):
        assert sweep() == 0
    assert len(queries) == 1


def test_the_sweep_reads_the_sla_check_index(pro_plus):
    acme = pro_plus
    ticket = _file(acme)
    with acme.scope():
        # Enough open tickets, none due for years, that a scan would be the wrong plan.
        far = FILED + timedelta(days=3650)
        Ticket.objects.bulk_create(
            Ticket(
                tenant=acme.tenant,
                number=10_000 + n,
                subject="Quiet",
                requester=acme.customer,
                sla_check_at=far,
                sla_due_at=far,
            )
            for n in range(5000)
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_ticket")
    now = DUE
    with acme.scope():
        plan = (
            Ticket.objects.filter(sla_check_at__lte=now)
            .order_by("sla_check_at")
            .select_for_update(skip_locked=True, of=("self",))
            .explain()
        )
        assert "ticket_sla_check" in plan, plan
        finder = Ticket.objects.filter(sla_check_at__lte=now).values("tenant_id").explain()
    assert "ticket_sla_check" in finder, finder
    assert refresh(acme, ticket).sla_check_at <= now


# -- with a real worker on the real broker ----------------------------------------------


def _wait_for(predicate, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_real_worker_warns_then_breaches_then_escalates(pro_plus, worker):
    with pro_plus.scope():
        ticket = make_ticket(pro_plus, subject="Live outage", priority=Priority.MEDIUM)
    filed = refresh(pro_plus, ticket).created_at

    def emails(kind):
        return _emails(pro_plus, kind)

    # Past the warning: beat's sweep runs on the worker and warns.
    with time_machine.travel(filed + timedelta(hours=1, minutes=31)):
        sweep.delay()
        assert _wait_for(lambda: len(emails("SLA warning")) == 2)
    # Past the due time: one breach, its emails and the escalation.
    with time_machine.travel(filed + timedelta(hours=2, minutes=1)):
        sweep.delay()
        assert _wait_for(lambda: refresh(pro_plus, ticket).priority == Priority.HIGH)
        sweep.delay()  # a second beat tick finds nothing more to do
        time.sleep(0.5)
    with pro_plus.scope():
        assert SLABreach.objects.filter(ticket=ticket).count() == 1
    assert len(emails("SLA warning")) == 2
    assert emails("SLA breached") == [[pro_plus.admin.email]]

    def all_sent():
        with pro_plus.scope():
            return not OutboundEmail.objects.exclude(status=OutboundEmail.Status.SENT).exists()

    # The worker delivered them too (every outbox row went out).
    assert _wait_for(all_sent)
