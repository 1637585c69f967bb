"""Service-level rules: a new desk's defaults, which policy applies, editing policies and
calendars in the tenant admin (holiday import included), and tenant isolation."""

from datetime import time

import pytest
from django.urls import reverse

from helpdesk.tenancy import tenant_scope
from sla.models import BusinessCalendar, CalendarDate, SLAPolicy, WorkingHours
from sla.selectors import policy_book
from sla.services import sla_create_defaults
from tests.helpdesk.factories import make_tenant
from tests.sla.factories import add_inline_rows, admin_form_data, at, file, policy, travel
from tickets.models import Priority

MONDAY_10 = at(2026, 11, 30, 10)
POLICY_ADD = reverse("admin:sla_slapolicy_add")

# An SLA policy as an admin fills in the add form: urgent, on the plan each test names.
POLICY_FORM = {
    "plan": "",
    "priority": str(Priority.URGENT),
    "calendar": "",
    # Targets are typed as hours and minutes (sla.fields): 30 min, 1 h, 10 h.
    "first_response_minutes_0": "0",
    "first_response_minutes_1": "30",
    "next_response_minutes_0": "1",
    "next_response_minutes_1": "0",
    "resolution_minutes_0": "10",
    "resolution_minutes_1": "0",
    "warning_percent": "25",
    "warning_max_minutes_0": "1",
    "warning_max_minutes_1": "0",
    "escalate_priority": "on",
    "escalation_agent": "",
}


def _default_calendar(desk) -> BusinessCalendar:
    with desk.scope():
        return BusinessCalendar.objects.get(is_default=True)


def _calendar_url(calendar, action="change") -> str:
    return reverse(f"admin:sla_businesscalendar_{action}", args=[calendar.pk])


def _hours(desk, calendar) -> list[tuple[int, time, time]]:
    with desk.scope():
        return list(
            WorkingHours.objects.filter(calendar=calendar)
            .order_by("weekday", "start")
            .values_list("weekday", "start", "end")
        )


def _policy_count(desk) -> int:
    with desk.scope():
        return SLAPolicy.objects.count()


def _sla_rows(tenant) -> dict[str, list[tuple]]:
    with tenant_scope(tenant):
        return {
            "calendars": list(
                BusinessCalendar.objects.order_by("pk").values_list(
                    "pk", "name", "time_zone", "always_open", "is_default"
                )
            ),
            "hours": list(
                WorkingHours.objects.order_by("pk").values_list(
                    "pk", "calendar__name", "weekday", "start", "end"
                )
            ),
            "dates": list(CalendarDate.objects.order_by("pk").values_list("pk", "date")),
            "policies": list(
                SLAPolicy.objects.order_by("pk").values_list(
                    "pk",
                    "plan__name",
                    "priority",
                    "first_response_minutes",
                    "next_response_minutes",
                    "resolution_minutes",
                    "calendar__name",
                )
            ),
        }


# -- a new desk's defaults ------------------------------------------------------------------


def test_a_new_desk_gets_office_hours_around_the_clock_and_a_policy_per_plan(db):
    tenant = make_tenant(slug="initech", name="Initech", time_zone="Asia/Shanghai")

    rows = _sla_rows(tenant)
    assert [row[1:] for row in rows["calendars"]] == [
        ("Office hours", "Asia/Shanghai", False, True),
        ("Around the clock", "Asia/Shanghai", True, False),
    ]
    assert [row[1:] for row in rows["hours"]] == [
        ("Office hours", weekday, time(9), time(18)) for weekday in range(5)
    ]
    assert rows["dates"] == []
    policies = [row[1:] for row in rows["policies"]]
    assert len(policies) == 4
    assert set(policies) == {
        # plan, priority, first response, next response, resolution (minutes), calendar
        ("Free", None, 48 * 60, 48 * 60, 120 * 60, None),
        ("Pro", None, 24 * 60, 24 * 60, 72 * 60, None),
        ("Pro+", None, 2 * 60, 4 * 60, 48 * 60, "Around the clock"),
        ("Pro+", Priority.URGENT, 1 * 60, 2 * 60, 48 * 60, "Around the clock"),
    }


def test_creating_the_defaults_again_changes_nothing(acme):
    with acme.scope():
        edited = SLAPolicy.objects.get(plan=acme.pro, priority=None)
        edited.first_response_minutes = 600  # an admin's own target survives
        edited.save()
    before = _sla_rows(acme.tenant)

    with acme.scope():
        sla_create_defaults(tenant=acme.tenant)
        sla_create_defaults(tenant=acme.tenant)

    assert _sla_rows(acme.tenant) == before


# -- which policy applies ---------------------------------------------------------------------


def test_the_most_specific_policy_wins(acme):
    with acme.scope():
        SLAPolicy.objects.filter(plan=acme.free).delete()
        urgent_anywhere = SLAPolicy.objects.create(
            tenant=acme.tenant,
            priority=Priority.URGENT,
            first_response_minutes=30,
            next_response_minutes=30,
            resolution_minutes=600,
        )
        desk_default = SLAPolicy.objects.create(
            tenant=acme.tenant,
            first_response_minutes=600,
            next_response_minutes=600,
            resolution_minutes=6000,
        )
        book = policy_book(acme.tenant)
        chosen = {
            (plan, priority): book.policy(plan.pk if plan else None, priority)
            for plan, priority in [
                (acme.pro_plus, Priority.URGENT),
                (acme.pro_plus, Priority.LOW),
                (acme.pro, Priority.URGENT),
                (acme.free, Priority.URGENT),
                (acme.free, Priority.LOW),
                (None, Priority.URGENT),
            ]
        }

    assert chosen == {
        # plan and priority
        (acme.pro_plus, Priority.URGENT): policy(acme, acme.pro_plus, Priority.URGENT),
        # plan alone
        (acme.pro_plus, Priority.LOW): policy(acme, acme.pro_plus),
        # a plan's own policy beats one for the priority on any plan
        (acme.pro, Priority.URGENT): policy(acme, acme.pro),
        # priority alone (Free has no policy of its own now)
        (acme.free, Priority.URGENT): urgent_anywhere,
        # the desk-wide default
        (acme.free, Priority.LOW): desk_default,
        # no organization: served as the lowest plan
        (None, Priority.URGENT): urgent_anywhere,
    }
    ticket = file(acme, MONDAY_10, acme.other_customer, priority=Priority.URGENT, actor=acme.agent)
    assert ticket.sla_policy == urgent_anywhere
    assert ticket.first_response_due_at == at(2026, 11, 30, 10, 30)  # 30 business minutes


# -- editing in the admin -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "row, error",
    [
        # Monday is 9:00-18:00 already.
        ({"weekday": "0", "start": "12:00", "end": "13:00"}, "Working hours overlap on Monday."),
        ({"weekday": "5", "start": "18:00", "end": "09:00"}, "The end must be after the start."),
    ],
    ids=["overlap", "end before start"],
)
def test_invalid_working_hours_are_refused_and_nothing_is_saved(acme, row, error):
    calendar = _default_calendar(acme)
    before = _hours(acme, calendar)
    client = acme.client(acme.admin)

    data = admin_form_data(client.get(_calendar_url(calendar)))
    data["name"] = "Office hours (edited)"
    response = client.post(_calendar_url(calendar), add_inline_rows(data, "hours", row))

    assert response.status_code == 200
    assert error in response.content.decode()
    assert _hours(acme, calendar) == before
    with acme.scope():
        assert BusinessCalendar.objects.get(pk=calendar.pk).name == "Office hours"


def test_split_shift_saved_in_admin_reads_as_two_intervals(acme):
    calendar = _default_calendar(acme)
    client = acme.client(acme.admin)
    # 24 business hours from Mon 11:00 with 9-18: Mon 7 h, Tue 9 h (16), Wed 9-17 (8 h).
    before = file(acme, at(2026, 11, 30, 11))  # also caches Acme's policy book
    assert before.first_response_due_at == at(2026, 12, 2, 17)

    data = admin_form_data(client.get(_calendar_url(calendar)))
    for index in range(5):  # Monday to Friday close for lunch at 12:00 ...
        data[f"hours-{index}-end"] = "12:00"
    afternoons = [{"weekday": str(day), "start": "13:00", "end": "18:00"} for day in range(5)]
    response = client.post(_calendar_url(calendar), add_inline_rows(data, "hours", *afternoons))
    assert response.status_code == 302, response.context["inline_admin_formsets"]

    listing = client.get(reverse("admin:sla_businesscalendar_changelist")).content.decode()
    assert "Mon-Fri 9:00-12:00, 13:00-18:00" in listing
    # ... and the next deadline skips lunch at once. 24 business hours of 8 h days from
    # Mon 11:00: Mon 11-12 and 13-18 (6 h), Tue (14), Wed (22), Thu 9-11 (2 h).
    after = file(acme, at(2026, 11, 30, 11))
    assert after.first_response_due_at == at(2026, 12, 3, 11)


def test_hours_summary_for_the_default_and_the_24x7_calendars(acme):
    with acme.scope():
        office = BusinessCalendar.objects.get(name="Office hours")
        around = BusinessCalendar.objects.get(name="Around the clock")
        assert office.hours_summary == "Mon-Fri 9:00-18:00"
        assert around.hours_summary == "24 hours a day, 7 days a week"


def test_a_second_policy_for_the_same_plan_and_priority_is_a_form_error(acme):
    client = acme.client(acme.admin)
    before = _policy_count(acme)

    # Pro already has its plan-wide policy (blank priority).
    response = client.post(POLICY_ADD, {**POLICY_FORM, "plan": str(acme.pro.pk), "priority": ""})

    assert response.status_code == 200
    assert "A policy for this plan, priority, category and channel exists already; " in (
        response.content.decode()
    )
    assert _policy_count(acme) == before


@pytest.mark.parametrize("plan_name", ["pro", "free"])
def test_two_plan_wide_rows_on_the_plan_page_are_a_form_error(acme, plan_name):
    plan = getattr(acme, plan_name)
    if plan_name == "free":  # no row of its own yet: both new rows are blank-priority
        with acme.scope():
            SLAPolicy.objects.filter(plan=plan).delete()
    before = _policy_count(acme)
    client = acme.client(acme.admin)
    url = reverse("admin:plans_plan_change", args=[plan.pk])
    row = {key: POLICY_FORM[key] for key in POLICY_FORM if key != "plan"} | {"priority": ""}

    data = admin_form_data(client.get(url))
    data = add_inline_rows(data, "sla_policies", *[row] * (1 if plan_name == "pro" else 2))
    response = client.post(url, data)

    assert response.status_code == 200
    assert "Two service levels of this plan have the same priority, category" in (
        response.content.decode()
    )
    assert _policy_count(acme) == before


def test_a_target_of_zero_minutes_is_a_form_error(acme):
    client = acme.client(acme.admin)
    before = _policy_count(acme)

    response = client.post(
        POLICY_ADD,
        {
            **POLICY_FORM,
            "plan": str(acme.free.pk),
            "first_response_minutes_0": "0",
            "first_response_minutes_1": "0",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "first_response_minutes": ["Enter at least 1 minute."]
    }
    assert _policy_count(acme) == before


# -- public holidays ---------------------------------------------------------------------------


def test_importing_chinas_2025_holidays_closes_national_day_and_opens_make_up_days(acme):
    calendar = _default_calendar(acme)
    url = _calendar_url(calendar, "import_holidays")
    with travel(at(2025, 9, 30, 17)):  # Tuesday before National Day
        before = file(acme, at(2025, 9, 30, 17))  # also caches Acme's policy book
        # 24 business hours: Tue 17-18 (1), Wed 1 (10), Thu 2 (19), Fri 3 9-14 (5 h).
        assert before.first_response_due_at == at(2025, 10, 3, 14)

        client = acme.client(acme.admin)
        assert client.get(url).status_code == 200
        response = client.post(url, {"country": "CN", "subdivision": "", "year": "2025"})
        assert response.status_code == 302
        assert response.url == _calendar_url(calendar)

        with acme.scope():
            dates = dict(CalendarDate.objects.filter(calendar=calendar).values_list("date", "kind"))
        national_day = [at(2025, 10, day).date() for day in (1, 2, 3, 6, 7, 8)]  # Mon-Fri ones
        assert {day: dates.get(day) for day in national_day} == dict.fromkeys(
            national_day, CalendarDate.Kind.HOLIDAY
        )
        assert dates[at(2025, 9, 28).date()] == CalendarDate.Kind.WORKDAY  # a Sunday
        assert dates[at(2025, 10, 11).date()] == CalendarDate.Kind.WORKDAY  # a Saturday

        after = file(acme, at(2025, 9, 30, 17))
        # Tue 17-18 (1); Oct 1-8 closed (holidays and a weekend); Thu 9 (10), Fri 10 (19);
        # Sat 11, a make-up day with Monday's hours, 9-14 (5 h).
        assert after.first_response_due_at == at(2025, 10, 11, 14)

        again = client.post(url, {"country": "CN", "subdivision": "", "year": "2025"}, follow=True)
        assert f"0 dates added, {len(dates)} already in the calendar." in again.content.decode()
        with acme.scope():
            assert CalendarDate.objects.filter(calendar=calendar).count() == len(dates)


def test_holiday_import_with_an_unknown_region_is_a_form_error(acme):
    calendar = _default_calendar(acme)
    client = acme.client(acme.admin)

    response = client.post(
        _calendar_url(calendar, "import_holidays"),
        {"country": "DE", "subdivision": "XX", "year": "2025"},
    )

    assert response.status_code == 200
    assert "subdivision" in response.context["form"].errors
    assert "Unknown region for this country" in response.content.decode()
    with acme.scope():
        assert not CalendarDate.objects.exists()


# -- tenant isolation ---------------------------------------------------------------------------


def test_acme_admin_cannot_reach_globex_calendars(acme, globex):
    globex_calendar = _default_calendar(globex)
    with globex.scope():
        globex_calendar.name = "Globex office hours"
        globex_calendar.save()
    client = acme.client(acme.admin)

    change = client.get(_calendar_url(globex_calendar), follow=True)
    assert change.redirect_chain[-1][0] == reverse("admin:index")
    assert "Globex office hours" not in change.content.decode()

    url = _calendar_url(globex_calendar, "import_holidays")
    assert client.get(url).status_code == 404
    response = client.post(url, {"country": "CN", "subdivision": "", "year": "2025"})
    assert response.status_code == 404
    with globex.scope():
        assert not CalendarDate.objects.exists()


def test_policy_form_offers_and_accepts_only_acme_calendars_and_agents(acme, globex):
    client = acme.client(acme.admin)
    form = client.get(POLICY_ADD).context["adminform"].form
    with acme.scope():
        assert set(form.fields["calendar"].queryset) == set(BusinessCalendar.objects.all())
    assert set(form.fields["escalation_agent"].queryset) == {acme.admin, acme.agent}

    before = _policy_count(acme)
    response = client.post(
        POLICY_ADD,
        {
            **POLICY_FORM,
            "plan": str(acme.free.pk),
            "calendar": str(_default_calendar(globex).pk),
            "escalation_agent": str(globex.agent.pk),
        },
    )
    assert response.status_code == 200
    assert set(response.context["adminform"].form.errors) == {"calendar", "escalation_agent"}
    assert _policy_count(acme) == before


def test_globex_policies_never_apply_to_acme_tickets(acme, globex):
    with globex.scope():
        fast = SLAPolicy.objects.get(plan=globex.pro, priority=None)
        fast.first_response_minutes = 5
        fast.save()
        SLAPolicy.objects.create(
            tenant=globex.tenant,
            first_response_minutes=10,
            next_response_minutes=10,
            resolution_minutes=10,
        )

    assert file(globex, MONDAY_10).first_response_due_at == at(2026, 11, 30, 10, 5)
    # Acme's Pro: 24 business hours, Mon 8 h, Tue 9 h, Wed 9-16.
    assert file(acme, MONDAY_10).first_response_due_at == at(2026, 12, 2, 16)

    # An Acme desk without policies does not borrow Globex's desk-wide default.
    with acme.scope():
        SLAPolicy.objects.all().delete()
    bare = file(acme, MONDAY_10)
    assert bare.sla_policy is None
    assert bare.first_response_due_at is None
