"""The SLA clocks of a ticket through its life, driven by the real ticket services.

Acme's defaults (sla.services.sla_create_defaults), with the desk in UTC:
- Free: 48 h first and next response, 120 h resolution, office hours Mon-Fri 9-18;
- Pro (Acme's `org`): 24 h / 24 h / 72 h, office hours;
- Pro+: 2 h / 4 h / 48 h around the clock; urgent Pro+ tickets 1 h / 2 h / 48 h.

Every expected instant is worked out by hand in the comment beside it.
"""

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from sla.models import Metric, SLABreach, SLAOutcome, SLAPolicy
from tests.sla.factories import (
    admin_form_data,
    at,
    change,
    file,
    make_customer_on,
    note,
    outcomes,
    policy,
    reopen,
    reply,
    sla_notes,
    travel,
)
from tests.tickets.factories import refresh
from tickets.models import Priority, Status
from tickets.services import ticket_merge, tickets_close_solved

FIRST, NEXT, RESOLUTION = Metric.FIRST_RESPONSE, Metric.NEXT_RESPONSE, Metric.RESOLUTION
MET, BREACHED = SLAOutcome.Result.MET, SLAOutcome.Result.BREACHED

MONDAY_10 = at(2026, 11, 30, 10)
# A Pro+ ticket filed then is due 12:00 (first response) and Wed 2 Dec 10:00 (resolution).
PRO_PLUS_FIRST_DUE = at(2026, 11, 30, 12)
PRO_PLUS_RESOLUTION_DUE = at(2026, 12, 2, 10)


@pytest.fixture
def pro_plus_customer(acme):
    return make_customer_on(acme, acme.pro_plus)


def _sla_columns(ticket) -> dict:
    return {
        "due": ticket.sla_due_at,
        "warn": ticket.sla_warn_at,
        "check": ticket.sla_check_at,
        "paused": ticket.sla_paused_at,
    }


# -- starting -------------------------------------------------------------------------------


def test_pro_ticket_filed_friday_evening_is_due_in_office_hours(acme):
    ticket = file(acme, at(2026, 11, 27, 17))  # Friday 17:00

    # 24 business hours: Fri 17-18 (1 h), Mon 30 (9 h, 10), Tue 1 (9 h, 19), Wed 2 9-14 (5 h).
    assert ticket.first_response_due_at == at(2026, 12, 2, 14)
    # 72 business hours: 1 h Friday, 9 h on each of the 7 days Mon 30 .. Tue 8 (64),
    # then Wed 9 9-17 (8 h).
    assert ticket.resolution_due_at == at(2026, 12, 9, 17)
    assert ticket.next_response_due_at is None
    assert ticket.sla_policy == policy(acme, acme.pro)
    assert _sla_columns(ticket) == {
        "due": at(2026, 12, 2, 14),  # the earlier of the two
        # Warned 1 business hour ahead: 25 % of 24 h is 6 h, capped at 60 minutes.
        "warn": at(2026, 12, 2, 13),
        "check": at(2026, 12, 2, 13),
        "paused": None,
    }
    assert sla_notes(acme, ticket) == [
        (FIRST, "due 2026-12-02T14:00:00+00:00"),
        (RESOLUTION, "due 2026-12-09T17:00:00+00:00"),
    ]


def test_pro_plus_counts_every_hour_and_urgent_gets_its_one_hour_override(acme, pro_plus_customer):
    saturday_night = at(2026, 11, 28, 23, 30)

    medium = file(acme, saturday_night, pro_plus_customer)
    assert medium.sla_policy == policy(acme, acme.pro_plus)
    assert medium.first_response_due_at == at(2026, 11, 29, 1, 30)  # +2 h over midnight
    assert medium.resolution_due_at == at(2026, 11, 30, 23, 30)  # +48 h over the weekend
    # 25 % of 2 h = 30 min (under the 60 min cap).
    assert medium.sla_warn_at == at(2026, 11, 29, 1)

    urgent = file(acme, saturday_night, pro_plus_customer, priority=Priority.URGENT)
    assert urgent.sla_policy == policy(acme, acme.pro_plus, Priority.URGENT)
    assert urgent.first_response_due_at == at(2026, 11, 29, 0, 30)  # +1 h
    assert urgent.resolution_due_at == at(2026, 11, 30, 23, 30)  # +48 h, as the plan's


# -- first and next response ------------------------------------------------------------------


def test_first_public_agent_reply_in_time_meets_first_response(acme, pro_plus_customer):
    ticket = file(acme, MONDAY_10, pro_plus_customer)

    ticket = note(acme, ticket, at(2026, 11, 30, 10, 30))
    # An internal note is no answer to the customer.
    assert ticket.first_agent_reply_at is None
    assert ticket.sla_due_at == PRO_PLUS_FIRST_DUE
    assert outcomes(acme, ticket) == []

    ticket = reply(acme, ticket, acme.agent, at(2026, 11, 30, 11))
    assert outcomes(acme, ticket) == [(FIRST, MET, PRO_PLUS_FIRST_DUE, at(2026, 11, 30, 11))]
    assert ticket.first_agent_reply_at == at(2026, 11, 30, 11)
    assert ticket.first_response_breached_at is None
    assert ticket.status == Status.OPEN
    # Only resolution runs now.
    assert ticket.sla_due_at == PRO_PLUS_RESOLUTION_DUE
    assert (FIRST, "met 2026-11-30T11:00:00+00:00") in sla_notes(acme, ticket)


def test_first_reply_after_due_is_a_breach_recorded_at_reply_time(acme, pro_plus_customer):
    ticket = file(acme, MONDAY_10, pro_plus_customer)

    ticket = reply(acme, ticket, acme.agent, at(2026, 11, 30, 12, 30))  # due 12:00

    assert outcomes(acme, ticket) == [
        (FIRST, BREACHED, PRO_PLUS_FIRST_DUE, at(2026, 11, 30, 12, 30))
    ]
    assert ticket.first_response_breached_at == at(2026, 11, 30, 12, 30)
    with acme.scope():
        assert SLABreach.objects.filter(ticket=ticket).count() == 1
    assert (FIRST, "breached 2026-11-30T12:30:00+00:00") in sla_notes(acme, ticket)
    assert ticket.sla_due_at == PRO_PLUS_RESOLUTION_DUE


def test_customer_reply_after_the_first_response_owes_a_next_response(acme, pro_plus_customer):
    customer = pro_plus_customer
    ticket = file(acme, MONDAY_10, customer)

    # Before anyone answered, a follow-up adds nothing: the first response is still owed.
    ticket = reply(acme, ticket, customer, at(2026, 11, 30, 10, 15))
    assert ticket.next_response_due_at is None

    ticket = reply(acme, ticket, acme.agent, at(2026, 11, 30, 10, 30))
    ticket = reply(acme, ticket, customer, at(2026, 11, 30, 11))
    # Next response: 4 h from the customer's reply, around the clock.
    assert ticket.next_response_due_at == at(2026, 11, 30, 15)
    assert ticket.sla_due_at == at(2026, 11, 30, 15)
    assert (NEXT, "due 2026-11-30T15:00:00+00:00") in sla_notes(acme, ticket)

    # A second message while an answer is owed does not push the due time back.
    ticket = reply(acme, ticket, customer, at(2026, 11, 30, 12))
    assert ticket.next_response_due_at == at(2026, 11, 30, 15)

    ticket = reply(acme, ticket, acme.agent, at(2026, 11, 30, 13))
    assert ticket.next_response_met_at == at(2026, 11, 30, 13)
    assert ticket.next_response_due_at is None
    assert ticket.sla_due_at == PRO_PLUS_RESOLUTION_DUE
    assert outcomes(acme, ticket) == [
        (FIRST, MET, PRO_PLUS_FIRST_DUE, at(2026, 11, 30, 10, 30)),
        (NEXT, MET, at(2026, 11, 30, 15), at(2026, 11, 30, 13)),
    ]


# -- pausing --------------------------------------------------------------------------------


@pytest.mark.parametrize("resumed_by", ["customer reply", "agent sets open"])
def test_pending_pauses_and_resuming_adds_exactly_the_paused_business_time(acme, resumed_by):
    ticket = file(acme, at(2026, 11, 30, 9))  # Pro, Monday 9:00
    # 24 business hours: Mon 9 h, Tue 9 h (18), Wed 9-15 (6 h).
    assert ticket.first_response_due_at == at(2026, 12, 2, 15)
    # 72 business hours = 8 full days: Mon 30 .. Fri 4, Mon 7, Tue 8, Wed 9 until 18:00.
    assert ticket.resolution_due_at == at(2026, 12, 9, 18)

    ticket = change(acme, ticket, at(2026, 11, 30, 10), status=Status.PENDING)
    assert _sla_columns(ticket) == {
        "due": None,
        "warn": None,
        "check": None,  # the sweep has nothing to do while paused
        "paused": at(2026, 11, 30, 10),
    }
    # The promise stays on record while paused.
    assert ticket.first_response_due_at == at(2026, 12, 2, 15)

    resumed = at(2026, 11, 30, 13)  # 3 business hours later
    if resumed_by == "customer reply":
        ticket = reply(acme, ticket, acme.customer, resumed)
    else:
        ticket = change(acme, ticket, resumed, status=Status.OPEN)

    assert ticket.status == Status.OPEN
    # Wed 15:00 + 3 business hours = Wed 18:00.
    assert ticket.first_response_due_at == at(2026, 12, 2, 18)
    # Wed 9 Dec 18:00 is closing time; + 3 business hours = Thu 10 Dec 12:00.
    assert ticket.resolution_due_at == at(2026, 12, 10, 12)
    assert _sla_columns(ticket) == {
        "due": at(2026, 12, 2, 18),
        "warn": at(2026, 12, 2, 17),
        "check": at(2026, 12, 2, 17),
        "paused": None,
    }
    notes = sla_notes(acme, ticket)
    assert ("", "paused 2026-11-30T10:00:00+00:00") in notes
    assert ("", "resumed 2026-11-30T13:00:00+00:00") in notes


def test_a_clock_overdue_when_paused_stays_overdue(acme, pro_plus_customer):
    ticket = file(acme, MONDAY_10, pro_plus_customer)  # first response due 12:00

    ticket = change(acme, ticket, at(2026, 11, 30, 13), status=Status.PENDING)
    ticket = reply(acme, ticket, pro_plus_customer, at(2026, 11, 30, 15))

    # Paused an hour after it was due: resuming gives it no time back.
    assert ticket.first_response_due_at == PRO_PLUS_FIRST_DUE
    assert ticket.sla_due_at == PRO_PLUS_FIRST_DUE
    # The sweep's next look is already due, so it records the breach.
    assert ticket.sla_check_at <= at(2026, 11, 30, 15)
    # Resolution still had time left when paused: it gets the 2 paused hours back.
    assert ticket.resolution_due_at == at(2026, 12, 2, 12)


def test_on_hold_does_not_pause(acme, pro_plus_customer):
    ticket = file(acme, MONDAY_10, pro_plus_customer)
    before = _sla_columns(ticket)

    ticket = change(acme, ticket, at(2026, 11, 30, 10, 30), status=Status.ON_HOLD)
    assert _sla_columns(ticket) == before
    assert before["due"] == PRO_PLUS_FIRST_DUE and before["check"] == at(2026, 11, 30, 11, 30)

    ticket = change(acme, ticket, at(2026, 11, 30, 11, 30), status=Status.OPEN)
    assert ticket.first_response_due_at == PRO_PLUS_FIRST_DUE
    assert ticket.resolution_due_at == PRO_PLUS_RESOLUTION_DUE


# -- solving and reopening ------------------------------------------------------------------


def test_solving_meets_resolution_and_reopening_resumes_with_the_time_left(acme, pro_plus_customer):
    ticket = file(acme, MONDAY_10, pro_plus_customer)
    ticket = reply(acme, ticket, acme.agent, at(2026, 11, 30, 10, 30))

    ticket = change(acme, ticket, at(2026, 11, 30, 11), status=Status.SOLVED)
    assert outcomes(acme, ticket)[-1] == (
        RESOLUTION,
        MET,
        PRO_PLUS_RESOLUTION_DUE,
        at(2026, 11, 30, 11),
    )
    assert ticket.sla_due_at is None and ticket.sla_check_at is None
    assert ticket.resolution_due_at == PRO_PLUS_RESOLUTION_DUE  # still shown on the page

    ticket = reopen(acme, ticket, at(2026, 11, 30, 15))
    # Solved for 4 h: the resolution clock resumes with the 47 h it had left.
    assert ticket.resolution_due_at == at(2026, 12, 2, 14)
    assert ticket.sla_due_at == at(2026, 12, 2, 14)
    assert ticket.sla_paused_at is None

    ticket = change(acme, ticket, at(2026, 11, 30, 16), status=Status.SOLVED)
    resolutions = [row for row in outcomes(acme, ticket) if row[0] == RESOLUTION]
    assert resolutions == [
        (RESOLUTION, MET, PRO_PLUS_RESOLUTION_DUE, at(2026, 11, 30, 11)),
        (RESOLUTION, MET, at(2026, 12, 2, 14), at(2026, 11, 30, 16)),
    ]

    # Closing the solved ticket later ends nothing new: no outcome, no audit line.
    notes = sla_notes(acme, ticket)
    with travel(at(2026, 12, 7, 12)), acme.scope():
        tickets_close_solved(tenant=acme.tenant, older_than=timedelta(days=4))
    ticket = refresh(acme, ticket)
    assert ticket.status == Status.CLOSED
    assert [row for row in outcomes(acme, ticket) if row[0] == RESOLUTION] == resolutions
    assert sla_notes(acme, ticket) == notes
    assert ticket.sla_due_at is None and ticket.sla_check_at is None


def test_solving_late_records_a_resolution_breach(acme, pro_plus_customer):
    ticket = file(acme, MONDAY_10, pro_plus_customer)
    ticket = reply(acme, ticket, acme.agent, at(2026, 11, 30, 10, 30))

    ticket = change(acme, ticket, at(2026, 12, 2, 11), status=Status.SOLVED)  # due Wed 10:00

    assert outcomes(acme, ticket)[-1] == (
        RESOLUTION,
        BREACHED,
        PRO_PLUS_RESOLUTION_DUE,
        at(2026, 12, 2, 11),
    )
    assert ticket.resolution_breached_at == at(2026, 12, 2, 11)


def test_reopened_and_solved_again_outside_office_hours_counts_one_resolution(acme):
    ticket = file(acme, at(2026, 11, 26, 10))  # Pro, Thursday 10:00
    # 72 business hours: Thu 10-18 (8), Fri 27 (17), Mon 30 .. Fri 4 (62), Mon 7 (71),
    # Tue 8 9-10 (1 h).
    assert ticket.resolution_due_at == at(2026, 12, 8, 10)

    ticket = change(acme, ticket, at(2026, 11, 27, 18, 30), status=Status.SOLVED)  # Fri evening
    # The customer writes back on Saturday: reopened, but no office hour has passed,
    # so the due time has not moved.
    ticket = reply(acme, ticket, acme.customer, at(2026, 11, 28, 10))
    assert ticket.status == Status.OPEN
    assert ticket.resolution_due_at == at(2026, 12, 8, 10)

    ticket = change(acme, ticket, at(2026, 11, 29, 12), status=Status.SOLVED)  # Sunday

    # One clock, one due time: the second solved episode is the same promise kept.
    assert [row for row in outcomes(acme, ticket) if row[0] == RESOLUTION] == [
        (RESOLUTION, MET, at(2026, 12, 8, 10), at(2026, 11, 27, 18, 30))
    ]


# -- changes of priority and plan ---------------------------------------------------------------


def test_raising_priority_moves_first_response_by_the_difference_of_targets(
    acme, pro_plus_customer
):
    ticket = file(acme, MONDAY_10, pro_plus_customer)

    ticket = change(acme, ticket, at(2026, 11, 30, 10, 30), priority=Priority.URGENT)
    # Urgent Pro+ promises 1 h instead of 2 h: due 1 h earlier.
    assert ticket.first_response_due_at == at(2026, 11, 30, 11)
    assert ticket.resolution_due_at == PRO_PLUS_RESOLUTION_DUE  # 48 h either way
    assert ticket.sla_policy == policy(acme, acme.pro_plus, Priority.URGENT)
    assert ticket.sla_due_at == at(2026, 11, 30, 11)
    assert (FIRST, "due 2026-11-30T11:00:00+00:00") in sla_notes(acme, ticket)

    ticket = change(acme, ticket, at(2026, 11, 30, 10, 45), priority=Priority.MEDIUM)
    assert ticket.first_response_due_at == PRO_PLUS_FIRST_DUE
    assert ticket.sla_policy == policy(acme, acme.pro_plus)


def test_raising_priority_late_puts_the_due_time_in_the_past(acme, pro_plus_customer):
    ticket = file(acme, MONDAY_10, pro_plus_customer)

    now = at(2026, 11, 30, 11, 30)
    ticket = change(acme, ticket, now, priority=Priority.URGENT)

    # 1 h after filing was 11:00, half an hour ago: overdue, for the sweep to record.
    assert ticket.first_response_due_at == at(2026, 11, 30, 11)
    assert ticket.sla_due_at == at(2026, 11, 30, 11)
    assert ticket.sla_check_at <= now
    assert ticket.first_response_breached_at is None

    ticket = reply(acme, ticket, acme.agent, at(2026, 11, 30, 11, 40))
    assert outcomes(acme, ticket) == [
        (FIRST, BREACHED, at(2026, 11, 30, 11), at(2026, 11, 30, 11, 40))
    ]


def test_a_priority_change_while_paused_counts_from_the_pause(acme, pro_plus_customer):
    ticket = file(acme, MONDAY_10, pro_plus_customer)  # first response due 12:00
    ticket = change(acme, ticket, at(2026, 11, 30, 10, 30), status=Status.PENDING)

    ticket = change(acme, ticket, at(2026, 11, 30, 11), priority=Priority.URGENT)
    # 30 min of the urgent 1 h were used before the pause: due 10:30 + 30 min, still paused.
    assert ticket.first_response_due_at == at(2026, 11, 30, 11)
    assert ticket.sla_due_at is None

    ticket = reply(acme, ticket, pro_plus_customer, at(2026, 11, 30, 12))
    # Resumed at 12:00 with the 30 min left.
    assert ticket.first_response_due_at == at(2026, 11, 30, 12, 30)
    assert ticket.sla_due_at == at(2026, 11, 30, 12, 30)


def test_upgrading_the_plan_moves_open_tickets_and_leaves_solved_ones(acme):
    free_customer = acme.other_customer  # of other_org, on Free
    open_ticket = file(acme, MONDAY_10, free_customer)
    # 48 business hours from Mon 10:00: Mon 8, Tue-Fri 36 (44), Mon 7 9-13 (4 h).
    assert open_ticket.first_response_due_at == at(2026, 12, 7, 13)
    # 120 business hours: Mon 8, then 9 h a day on 12 days to Wed 16 (116), Thu 17 9-13.
    assert open_ticket.resolution_due_at == at(2026, 12, 17, 13)
    solved = file(acme, MONDAY_10, free_customer, subject="Already answered")
    solved = change(acme, solved, at(2026, 11, 30, 10, 15), status=Status.SOLVED)

    with travel(at(2026, 11, 30, 11)):
        client = acme.client(acme.admin)
        url = reverse("admin:plans_organization_change", args=[acme.other_org.pk])
        data = admin_form_data(client.get(url))
        data["plan"] = str(acme.pro_plus.pk)
        response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    open_ticket = refresh(acme, open_ticket)
    assert open_ticket.sla_policy == policy(acme, acme.pro_plus)
    # As if filed on Pro+: 10:00 + 2 h, and 10:00 + 48 h around the clock.
    assert open_ticket.first_response_due_at == PRO_PLUS_FIRST_DUE
    assert open_ticket.resolution_due_at == PRO_PLUS_RESOLUTION_DUE
    assert open_ticket.sla_due_at == PRO_PLUS_FIRST_DUE

    solved = refresh(acme, solved)
    assert solved.sla_policy == policy(acme, acme.free)
    assert solved.resolution_due_at == at(2026, 12, 17, 13)


# -- merging, the queue, desks without policies ---------------------------------------------------


def test_merging_closes_the_source_and_stops_its_clocks(acme):
    source = file(acme, MONDAY_10, subject="Export fails")
    target = file(acme, MONDAY_10, subject="Export fails again")
    assert source.sla_due_at is not None

    with travel(at(2026, 11, 30, 11)), acme.scope():
        ticket_merge(source=source, target=target, actor=acme.agent)

    source = refresh(acme, source)
    assert source.status == Status.CLOSED
    assert _sla_columns(source) == {
        "due": None,
        "warn": None,
        "check": None,
        "paused": at(2026, 11, 30, 11),
    }
    assert refresh(acme, target).sla_due_at == target.sla_due_at


def test_queue_lists_the_ticket_due_soonest_first_and_paused_ones_last(acme, pro_plus_customer):
    paused = file(acme, MONDAY_10, pro_plus_customer, subject="Waiting on logs")
    paused = change(acme, paused, MONDAY_10, status=Status.PENDING)
    # Urgent, but Free: 48 business hours, due Mon 7 Dec 13:00.
    free_urgent = file(
        acme, MONDAY_10, acme.other_customer, priority=Priority.URGENT, actor=acme.agent
    )
    pro = file(acme, MONDAY_10)  # due Wed 2 Dec 16:00 (Mon 8 h, Tue 9 h, Wed 9-16)
    pro_plus = file(acme, MONDAY_10, pro_plus_customer)  # due 12:00 today
    assert pro.sla_due_at == at(2026, 12, 2, 16)
    assert paused.sla_due_at is None

    with travel(at(2026, 11, 30, 10, 5)):
        page = acme.client(acme.agent).get("/agent/").content.decode()

    listed = [int(n) for n in re.findall(r"<td>#(\d+)</td>", page)]
    assert listed == [pro_plus.number, pro.number, free_urgent.number, paused.number]


def test_without_any_policy_tickets_get_no_clocks_and_nothing_fails(acme):
    with acme.scope():
        SLAPolicy.objects.all().delete()

    ticket = file(acme, MONDAY_10)
    assert ticket.sla_policy is None
    assert ticket.first_response_due_at is None and ticket.resolution_due_at is None

    ticket = reply(acme, ticket, acme.customer, at(2026, 11, 30, 10, 10))
    ticket = reply(acme, ticket, acme.agent, at(2026, 11, 30, 10, 20), status=Status.PENDING)
    ticket = reply(acme, ticket, acme.customer, at(2026, 11, 30, 10, 30))
    ticket = change(acme, ticket, at(2026, 11, 30, 10, 40), status=Status.ON_HOLD)
    ticket = change(acme, ticket, at(2026, 11, 30, 10, 50), priority=Priority.URGENT)
    ticket = change(acme, ticket, at(2026, 11, 30, 11), status=Status.SOLVED)
    ticket = reopen(acme, ticket, at(2026, 11, 30, 11, 10))

    assert ticket.status == Status.OPEN
    assert ticket.sla_policy is None
    assert _sla_columns(ticket) == {"due": None, "warn": None, "check": None, "paused": None}
    assert ticket.next_response_due_at is None
    assert outcomes(acme, ticket) == []
    assert sla_notes(acme, ticket) == []


def test_a_policy_edited_in_admin_applies_to_the_next_ticket_at_once(acme):
    with travel(MONDAY_10):
        before = file(acme, MONDAY_10)  # loads and caches Acme's policy book
        # 24 business hours from Mon 10:00: Mon 8 h, Tue 9 h (17), Wed 9-16 (7 h).
        assert before.first_response_due_at == at(2026, 12, 2, 16)

        client = acme.client(acme.admin)
        url = reverse("admin:sla_slapolicy_change", args=[policy(acme, acme.pro).pk])
        data = admin_form_data(client.get(url))
        data["first_response_minutes_0"], data["first_response_minutes_1"] = "1", "0"
        response = client.post(url, data)
        assert response.status_code == 302, response.context["adminform"].form.errors

        after = file(acme, MONDAY_10)

    assert after.first_response_due_at == at(2026, 11, 30, 11)  # 1 business hour
