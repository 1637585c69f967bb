"""What people see of service levels: the public service-levels page, the promise
in the help center, the queue's badges, and the admins' SLA report."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from helpdesk.models import Role
from sla.models import SLAOutcome
from tests.access import assert_asked_to_sign_in
from tests.helpdesk.factories import make_member
from tests.tickets.factories import category, make_ticket, refresh, set_fields
from tickets.models import Priority, Status

PRO_PROMISE = "24 business hours (Mon-Fri 9:00-18:00, UTC)"


# -- the service-levels page ------------------------------------------------------------


def test_anyone_can_compare_every_plans_promises_and_channels(acme):
    page = acme.client().get("/service-levels/").content.decode()
    for name in ("Free", "Pro", "Pro+"):
        assert f">{name}<" in page
    assert "48 business hours (Mon-Fri 9:00-18:00, UTC)" in page
    assert PRO_PROMISE in page
    assert "2 hours, around the clock" in page
    assert "Urgent: 1 hour" in page  # Pro+'s override for urgent tickets
    assert "Sign in" in page and 'class="current"' not in page


def test_a_customer_sees_their_plan_marked_and_what_upgrading_gives(acme):
    page = acme.client(acme.customer).get("/service-levels/").content.decode()
    assert '<th scope="col" class="current">Pro<div class="small">your plan</div></th>' in page
    assert "Ask us about Pro+" in page


def test_the_top_plan_gets_no_upgrade_pitch(acme):
    with acme.scope():
        acme.org.plan = acme.pro_plus
        acme.org.save()
    page = acme.client(acme.customer).get("/service-levels/").content.decode()
    assert "Ask us about" not in page and "Upgrade to" not in page


def test_the_page_shows_only_this_desks_plans(acme, globex):
    with globex.scope():
        globex.pro.name = "Globex Gold"
        globex.pro.save()
    assert "Globex Gold" not in acme.client().get("/service-levels/").content.decode()
    assert "Globex Gold" in globex.client().get("/service-levels/").content.decode()


def test_the_promise_follows_an_edited_policy_at_once(acme):
    from sla.models import SLAPolicy

    with acme.scope():
        policy = SLAPolicy.objects.get(plan=acme.pro, priority=None)
        policy.first_response_minutes = 8 * 60
        policy.save()
    page = acme.client(acme.customer).get("/").content.decode()
    assert "first reply within 8 business hours (Mon-Fri 9:00-18:00, UTC)." in page


# -- the queue's badges -----------------------------------------------------------------


def test_queue_badges_say_on_track_overdue_and_paused(acme):
    with time_machine.travel(datetime(2026, 11, 23, 9, 0, tzinfo=UTC), tick=False):
        # Pro, 24 business hours of 9-18: Mon 9 h + Tue 9 h + Wed 6 h -> Wed 25 Nov 15:00.
        late = make_ticket(acme, subject="Late one")
        waiting = make_ticket(acme, subject="Waiting one")
        set_fields(acme, waiting, status=Status.PENDING)
    with time_machine.travel(datetime(2026, 11, 24, 9, 0, tzinfo=UTC), tick=False):
        fresh = make_ticket(acme, subject="Fresh one")  # due Thu 26 Nov 15:00
    with time_machine.travel(datetime(2026, 11, 25, 17, 30, tzinfo=UTC), tick=False):
        response = acme.client(acme.agent).get("/agent/")
    rows = [t.number for t in response.context["tickets"]]
    # Soonest due first; the paused ticket (no running clock) last.
    assert rows == [late.number, fresh.number, waiting.number]
    page = response.content.decode()
    assert '<span class="sla sla-breached"' in page and ">overdue 2h 30m<" in page
    assert '<span class="sla sla-on-track"' in page and ">21h 30m<" in page
    assert '<span class="sla sla-paused"' in page and ">paused<" in page
    due = refresh(acme, fresh).sla_due_at
    assert f'data-due="{due.isoformat()}"' in page


# -- the SLA report ---------------------------------------------------------------------


NOVEMBER = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


def _outcome(desk, ticket, metric, result, due=NOVEMBER):
    with desk.scope():
        SLAOutcome.objects.create(
            tenant=desk.tenant, ticket=ticket, metric=metric, result=result, due_at=due
        )


@pytest.fixture
def history(acme, globex):
    """Hand-made outcomes; the expected figures below are counted by hand from them."""
    billing = category(acme, "Billing")
    technical = category(acme, "Technical issue")
    t1 = make_ticket(acme, priority=Priority.HIGH, category=billing)  # Pro
    set_fields(acme, t1, assignee=acme.agent)
    t2 = make_ticket(acme, acme.other_customer, priority=Priority.LOW, category=technical)  # Free
    t3 = make_ticket(acme, priority=Priority.HIGH, category=billing)  # Pro
    set_fields(acme, t3, assignee=acme.admin)
    _outcome(acme, t1, "first_response", "met")
    _outcome(acme, t1, "resolution", "breached")
    _outcome(acme, t2, "first_response", "breached")
    _outcome(acme, t3, "first_response", "met")
    _outcome(acme, t3, "next_response", "met")
    _outcome(acme, t2, "resolution", "met", due=datetime(2026, 10, 1, tzinfo=UTC))  # before
    # Another desk's misses never count at Acme.
    g = make_ticket(globex)
    _outcome(globex, g, "first_response", "breached")
    _outcome(globex, g, "resolution", "breached")
    return t1, t2, t3


def _report(desk, user, **params):
    query = {"start": "2026-11-01", "end": "2026-11-30", **params}
    return desk.client(user).get("/agent/reports/sla/", query)


def _cells(row):
    return {metric: (cell.met, cell.breached, cell.percent) for metric, cell in row.cells.items()}


def test_attainment_by_plan_is_counted_in_the_database(acme, history):
    response = _report(acme, acme.admin, by="plan")
    assert response.status_code == 200
    rows = {row.label: _cells(row) for row in response.context["rows"]}
    assert rows == {
        "Free": {
            "first_response": (0, 1, 0.0),
            "next_response": (0, 0, None),
            "resolution": (0, 0, None),
            "chat_first_reply": (0, 0, None),
        },
        "Pro": {
            "first_response": (2, 0, 100.0),
            "next_response": (1, 0, 100.0),
            "resolution": (0, 1, 0.0),
            "chat_first_reply": (0, 0, None),
        },
    }
    assert _cells(response.context["overall"]) == {
        "first_response": (2, 1, 66.7),
        "next_response": (1, 0, 100.0),
        "resolution": (0, 1, 0.0),
        "chat_first_reply": (0, 0, None),  # no chats in this history
    }


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("priority", {"High": (2, 0), "Low": (0, 1)}),
        ("category", {"Billing": (2, 0), "Technical issue": (0, 1)}),
        (
            "agent",
            {"agent@acme.example": (1, 0), "admin@acme.example": (1, 0), "Unassigned": (0, 1)},
        ),
    ],
)
def test_attainment_by_priority_category_and_agent(acme, history, by, expected):
    rows = _report(acme, acme.admin, by=by).context["rows"]
    first_response = {row.label: row.cells["first_response"] for row in rows}
    assert {label: (c.met, c.breached) for label, c in first_response.items()} == expected


def test_the_breaches_of_the_range_are_listed_with_their_tickets(acme, history):
    t1, t2, _t3 = history
    response = _report(acme, acme.admin)
    listed = [(b.ticket_id, b.metric) for b in response.context["breaches"]]
    assert sorted(listed) == sorted([(t1.pk, "resolution"), (t2.pk, "first_response")])
    assert f'href="/agent/tickets/{t1.number}/"' in response.content.decode()


def test_the_report_downloads_as_csv(acme, history):
    response = _report(acme, acme.admin, by="plan", format="csv")
    assert response["Content-Type"].startswith("text/csv")
    assert "sla-plan-2026-11-01-2026-11-30.csv" in response["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert lines[0][:4] == [
        "Plan",
        "First response met",
        "First response breached",
        "First response %",
    ]
    assert lines[0][-3:] == [
        "Chat first reply met",
        "Chat first reply breached",
        "Chat first reply %",
    ]
    assert lines[1] == [
        "All tickets", "2", "1", "66.7", "1", "0", "100.0", "0", "1", "0.0", "0", "0", "",
    ]  # fmt: skip
    assert lines[2] == ["Free", "0", "1", "0.0", "0", "0", "", "0", "0", "", "0", "0", ""]


def test_a_bad_range_is_a_form_error_not_a_crash(acme):
    response = _report(acme, acme.admin, start="2026-12-01", end="2026-11-01")
    assert response.status_code == 400
    assert "The end date must not be before the start date." in response.content.decode()
    assert _report(acme, acme.admin, start="yesterday").status_code == 400


def test_only_the_desks_admins_see_the_report(acme, globex):
    assert _report(acme, acme.agent).status_code == 403
    assert _report(acme, acme.customer).status_code == 403
    assert _report(acme, None).status_code == 302
    # Globex's admins are nobody at Acme.
    assert_asked_to_sign_in(_report(acme, globex.admin))
    outsider = make_member(globex.tenant, "boss@globex.example", Role.ADMIN)
    assert_asked_to_sign_in(_report(acme, outsider))


def test_the_report_counts_nothing_of_another_desk(acme, globex, history):
    overall = _report(acme, acme.admin).context["overall"]
    assert overall.cells["first_response"].breached == 1
    theirs = _report(globex, globex.admin).context["overall"]
    assert _cells(theirs) == {
        "first_response": (0, 1, 0.0),
        "next_response": (0, 0, None),
        "resolution": (0, 1, 0.0),
        "chat_first_reply": (0, 0, None),
    }


def test_recent_history_is_reported_from_real_ticket_events(
    acme, django_capture_on_commit_callbacks
):
    """From services to the report: a reply in time and one too late."""
    from tickets.services import ticket_reply

    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
    with time_machine.travel(start, tick=False):
        quick = make_ticket(acme, subject="Quick")
        slow = make_ticket(acme, subject="Slow")
    with time_machine.travel(start + timedelta(hours=2), tick=False), acme.scope():
        ticket_reply(ticket=quick, author=acme.agent, body="Here you go.")
    with time_machine.travel(start + timedelta(days=4), tick=False), acme.scope():
        ticket_reply(ticket=slow, author=acme.agent, body="Sorry for the wait.")
    overall = _report(acme, acme.admin).context["overall"]
    assert _cells(overall)["first_response"] == (1, 1, 50.0)


# -- the ticket page's SLA panel ----------------------------------------------------------


def test_the_ticket_page_shows_every_clock_and_its_history(acme):
    from tickets.services import ticket_reply

    monday = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    with time_machine.travel(monday, tick=False):
        ticket = make_ticket(acme, subject="Clocks")
    with time_machine.travel(monday + timedelta(hours=1), tick=False), acme.scope():
        ticket_reply(ticket=ticket, author=acme.agent, body="Looking.", status=Status.PENDING)
    with time_machine.travel(monday + timedelta(hours=2), tick=False):
        page = acme.client(acme.agent).get(f"/agent/tickets/{ticket.number}/").content.decode()
    panel = page[
        page.index('id="sla-heading"') : page.index("</section>", page.index("sla-heading"))
    ]
    assert (
        'First response</dt><dd><span class="sla-state sla-state-on-track">met 11/23/2026 10 a.m.'
        in panel
    )
    assert 'Next response</dt><dd><span class="sla-state sla-state-none">not running' in panel
    assert (
        'Resolution</dt><dd><span class="sla-state sla-state-paused">'
        "paused since 11/23/2026 10 a.m." in panel
    )
    # The audit trail tells the story in words.
    assert "First response: due 11/25/2026 3 p.m." in page
    assert "First response: met at 11/23/2026 10 a.m." in page
    assert "clocks paused" in page
