"""Touchpoints (success/touchpoints.py): each trigger makes one task, whatever the number
of runs, concurrent or not; owners follow the ARR segmentation; health drops read the
daily scores; and the task services complete check-ins and record renewals."""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from plans.models import Organization
from success.models import (
    Band,
    HealthScore,
    HealthSettings,
    Renewal,
    RenewalOutcome,
    SuccessTask,
    SuccessTaskEvent,
    TaskKind,
    TaskStatus,
)
from success.services import (
    TaskError,
    health_compute,
    health_settings,
    renewal_record,
    task_claim,
    task_complete,
    task_save,
)
from success.tasks import compute_health
from success.touchpoints import touchpoints_create
from tests.helpdesk.factories import make_member
from tests.plans.factories import make_organization

START = date(2026, 1, 5)


def contract(desk, org, *, start=START, renewal=None, arr=None, csm=None):
    fields = {"contract_start": start, "renewal_date": renewal}
    if arr is not None:
        fields["arr"] = Decimal(arr)
    if csm is not None:
        fields["success_manager"] = csm
    with desk.scope():
        Organization.objects.filter(pk=org.pk).update(**fields)


def run(desk, today):
    with desk.scope():
        return touchpoints_create(tenant=desk.tenant, today=today)


def tasks(desk, **filters):
    with desk.scope():
        return list(
            SuccessTask.objects.filter(**filters)
            .order_by("due_date", "kind")
            .select_related("organization")
        )


def without_contracts(desk):
    """Only the organizations a test sets up have a contract in the test's years."""
    with desk.scope():
        Organization.objects.update(contract_start=date(2020, 1, 1), renewal_date=None)


@pytest.fixture
def desk(acme):
    without_contracts(acme)
    return acme


def test_a_year_of_daily_runs_makes_each_touchpoint_once_on_its_day(desk):
    renewal = date(2027, 1, 5)
    contract(desk, desk.org, renewal=renewal)
    created_on = {}
    day = START - timedelta(days=3)
    while day <= renewal + timedelta(days=3):
        for kind, count in run(desk, day).created.items():
            assert count == 1
            created_on[kind] = day
        run(desk, day)  # the same day again (the beat runs hourly): nothing new
        day += timedelta(days=1)
    assert created_on == {
        TaskKind.ONBOARDING: START,
        TaskKind.CHECK_IN_30: START + timedelta(days=16),
        TaskKind.CHECK_IN_90: START + timedelta(days=76),
        TaskKind.RENEWAL: renewal - timedelta(days=104),
        TaskKind.CHECK_IN_365: START + timedelta(days=351),
    }
    due = {task.kind: task.due_date for task in tasks(desk)}
    assert due == {
        TaskKind.ONBOARDING: START + timedelta(days=7),
        TaskKind.CHECK_IN_30: START + timedelta(days=30),
        TaskKind.CHECK_IN_90: START + timedelta(days=90),
        TaskKind.RENEWAL: renewal - timedelta(days=90),
        TaskKind.CHECK_IN_365: START + timedelta(days=365),
    }
    assert all(task.trigger_date == START for task in tasks(desk) if task.kind != "renewal")


def test_old_customers_get_no_backlog_but_a_near_renewal_gets_a_task_due_now(desk):
    today = date(2026, 6, 1)
    contract(desk, desk.org, start=date(2024, 6, 1), renewal=today + timedelta(days=200))
    contract(desk, desk.other_org, start=date(2024, 6, 1), renewal=today + timedelta(days=30))
    run(desk, today)
    (task,) = tasks(desk)
    assert (task.organization, task.kind) == (desk.other_org, TaskKind.RENEWAL)
    # Its conversation was due 60 days ago, before the task could exist: due today.
    assert task.due_date == today


def test_a_check_in_missed_while_the_beat_was_down_is_created_late_and_due_at_once(desk):
    contract(desk, desk.org)
    today = START + timedelta(days=35)  # onboarding was due 28 days ago, the check-in 5
    run(desk, today)
    kinds = {task.kind: task.due_date for task in tasks(desk)}
    assert kinds == {TaskKind.ONBOARDING: today, TaskKind.CHECK_IN_30: today}
    # Three days later the onboarding would be over a month late: it is not created.
    without_contracts(desk)
    with desk.scope():
        SuccessTask.objects.all().delete()
    contract(desk, desk.org)
    run(desk, today + timedelta(days=3))
    assert [task.kind for task in tasks(desk)] == [TaskKind.CHECK_IN_30]


def test_owners_follow_the_arr_segmentation(desk):
    csm = make_member(desk.tenant, "cora@acme.example", "agent", full_name="Cora CSM")
    contract(desk, desk.org, arr=150_000, csm=csm)
    contract(desk, desk.other_org, arr=40_000, csm=csm)  # below: the shared pool
    run(desk, START)
    owners = {task.organization: task.owner for task in tasks(desk)}
    assert owners == {desk.org: csm, desk.other_org: None}

    # The threshold is the desk's: lowered, the smaller account's next task is Cora's.
    with desk.scope():
        HealthSettings.objects.update(dedicated_csm_min_arr=Decimal(40_000))
    run(desk, START + timedelta(days=16))
    (check_in,) = tasks(desk, organization=desk.other_org, kind=TaskKind.CHECK_IN_30)
    assert check_in.owner == csm


def test_an_organization_without_a_contract_start_counts_from_the_day_it_was_added(desk):
    with desk.scope():
        org = make_organization(desk.tenant, name="Newcomer Ltd", plan=desk.pro)
        Organization.objects.filter(pk=org.pk).update(contract_start=None)
        added = org.created_at.date()
    run(desk, added)
    (task,) = tasks(desk, organization=org)
    assert (task.kind, task.trigger_date) == (TaskKind.ONBOARDING, added)


# -- health drops --------------------------------------------------------------------


def components(usage, payment=100):
    """Two components with equal weight: the score is their average."""
    return {
        "usage_frequency": {"raw": 0, "score": usage, "weight": 50},
        "payment": {"raw": "current", "score": payment, "weight": 50},
    }


def scored(desk, org, day, score, *, usage=None, payment=100, band=None):
    if band is None:
        band = Band.HEALTHY if score >= 75 else Band.AT_RISK if score >= 60 else Band.CRITICAL
    with desk.scope():
        HealthScore.objects.update_or_create(
            tenant=desk.tenant,
            organization=org,
            day=day,
            defaults={
                "score": score,
                "band": band,
                "stage": "steady",
                "components": components(usage if usage is not None else score, payment),
            },
        )
        health_settings(desk.tenant)
        HealthSettings.objects.update(daily_through=day)


D = date(2026, 5, 20)


def drops(desk):
    return tasks(desk, kind=TaskKind.HEALTH_DROP)


def test_a_fall_of_15_points_in_14_days_makes_one_task_with_its_reasons(desk):
    for n, score in enumerate([82, 84, 80, 78], start=10):  # D-13 .. D-10
        scored(desk, desk.org, D - timedelta(days=23 - n), score)
    scored(desk, desk.org, D - timedelta(days=1), 76)
    run(desk, D)
    assert drops(desk) == []
    # 84 (D-12) -> 69 (D): 15 points, usage fell from 84 to 38 while payment held.
    scored(desk, desk.org, D, 69, usage=38)
    run(desk, D + timedelta(days=1))
    run(desk, D + timedelta(days=1))
    (task,) = drops(desk)
    assert (task.trigger_date, task.due_date) == (D, D + timedelta(days=2))
    assert task.reason["score"] == 69
    assert task.reason["band"] == Band.AT_RISK
    assert task.reason["entered_critical"] is False
    assert (task.reason["from_score"], task.reason["fell_points"]) == (84, 15)
    assert task.reason["from_day"] == (D - timedelta(days=12)).isoformat()
    # usage 84 -> 38 is worth -23 points at weight 50/100.
    assert task.reason["reasons"] == [["usage_frequency", -23.0]]

    # The next day of the same fall is not a new drop.
    scored(desk, desk.org, D + timedelta(days=1), 66)
    run(desk, D + timedelta(days=2))
    assert len(drops(desk)) == 1


def test_entering_the_critical_band_is_a_drop_staying_in_it_is_not(desk):
    scored(desk, desk.other_org, D - timedelta(days=1), 62)
    scored(desk, desk.other_org, D, 58)  # -4 points, but now critical
    run(desk, D)
    (task,) = drops(desk)
    assert task.reason["entered_critical"] is True
    assert task.reason["band"] == Band.CRITICAL
    # Done, and the organization stays critical: no new task.
    with desk.scope():
        SuccessTask.objects.update(status=TaskStatus.DONE)
    scored(desk, desk.other_org, D + timedelta(days=1), 57)
    run(desk, D + timedelta(days=1))
    assert len(drops(desk)) == 1
    # It recovers, then falls into critical again: a new drop.
    scored(desk, desk.other_org, D + timedelta(days=2), 64)
    scored(desk, desk.other_org, D + timedelta(days=3), 55)
    run(desk, D + timedelta(days=3))
    assert [task.trigger_date for task in drops(desk)] == [D, D + timedelta(days=3)]


def test_no_new_drop_task_while_one_is_open(desk):
    scored(desk, desk.org, D - timedelta(days=1), 61)
    scored(desk, desk.org, D, 59)
    run(desk, D)
    scored(desk, desk.org, D + timedelta(days=1), 70)
    scored(desk, desk.org, D + timedelta(days=2), 50)  # critical again, task still open
    run(desk, D + timedelta(days=2))
    assert len(drops(desk)) == 1


def test_days_scored_while_the_touchpoints_did_not_run_are_checked_too(desk):
    scored(desk, desk.org, D - timedelta(days=3), 70)
    scored(desk, desk.org, D - timedelta(days=2), 55)  # the drop
    scored(desk, desk.org, D - timedelta(days=1), 54)
    scored(desk, desk.org, D, 54)
    run(desk, D + timedelta(days=1))
    (task,) = drops(desk)
    assert task.trigger_date == D - timedelta(days=2)


# -- exactly once, concurrently ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_create_each_task_once(acme):
    without_contracts(acme)
    contract(acme, acme.org, renewal=START + timedelta(days=100))
    contract(acme, acme.other_org)
    scored(acme, acme.org, START - timedelta(days=1), 80)
    scored(acme, acme.org, START, 55)
    totals, errors = [], []
    barrier = threading.Barrier(4)

    def one_run():
        try:
            barrier.wait()
            totals.append(run(acme, START).total)
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=one_run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    created = tasks(acme)
    # Onboarding for both, the renewal conversation (due 90 days before), one drop.
    assert sorted((t.organization.name, t.kind) for t in created) == [
        (acme.org.name, TaskKind.HEALTH_DROP),
        (acme.org.name, TaskKind.ONBOARDING),
        (acme.org.name, TaskKind.RENEWAL),
        (acme.other_org.name, TaskKind.ONBOARDING),
    ]
    assert sorted(totals) == [0, 0, 0, 4]


def test_the_hourly_beat_creates_the_touchpoints_of_each_desk_only_in_that_desk(acme, globex):
    for desk in (acme, globex):
        without_contracts(desk)
    today = date.today()
    contract(acme, acme.org, start=today)
    compute_health()  # eager in tests: each desk's task runs in its own scope
    (task,) = tasks(acme)
    assert (task.organization, task.kind) == (acme.org, TaskKind.ONBOARDING)
    assert tasks(globex) == []


# -- task services ------------------------------------------------------------------------


def one_task(desk, kind, org=None, **fields):
    with desk.scope():
        return SuccessTask.objects.create(
            tenant=desk.tenant,
            organization=org or desk.org,
            kind=kind,
            trigger_date=START,
            due_date=START + timedelta(days=90),
            **fields,
        )


def test_the_90_day_check_in_needs_the_three_answers_and_keeps_them(desk):
    task = one_task(desk, TaskKind.CHECK_IN_90, owner=desk.agent)
    with desk.scope(), pytest.raises(ValidationError) as refused:
        task_complete(task=task, user=desk.agent, notes="Call", answers={"problem": "Reports"})
    assert set(refused.value.message_dict) == {"goal", "improve"}
    answers = {
        "problem": "Monthly board reports",
        "goal": "Yes, 2 days saved a month",
        "improve": "Excel export",
    }
    with desk.scope():
        task_complete(task=task, user=desk.agent, notes=" Call on Tuesday ", answers=answers)
        task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert task.answers == answers
    assert task.notes == "Call on Tuesday"
    assert task.completed_by == desk.agent
    with desk.scope(), pytest.raises(TaskError):
        task_complete(task=task, user=desk.agent, notes="", answers=answers)


def test_a_pool_task_is_claimed_once_and_done_by_whoever_did_it(desk):
    task = one_task(desk, TaskKind.ONBOARDING)
    other = make_member(desk.tenant, "olga@acme.example", "agent")
    with desk.scope():
        stale_copy = SuccessTask.objects.get(pk=task.pk)
        task_claim(task=task, user=desk.agent)
        with pytest.raises(TaskError):
            task_claim(task=stale_copy, user=other)
        task.refresh_from_db()
    assert task.owner == desk.agent

    pool = one_task(desk, TaskKind.CHECK_IN_30)
    with desk.scope():
        task_complete(task=pool, user=other, notes="Kick-off held")
        pool.refresh_from_db()
    assert pool.owner == other


def test_a_renewal_with_a_downgrade_moves_the_organization_on_and_closes_the_task(desk):
    renewal = date(2026, 9, 1)
    contract(desk, desk.org, renewal=renewal, arr=120_000)
    with desk.scope():
        task = SuccessTask.objects.create(
            tenant=desk.tenant,
            organization=desk.org,
            kind=TaskKind.RENEWAL,
            trigger_date=renewal,
            due_date=renewal - timedelta(days=90),
        )
        org = Organization.objects.get(pk=desk.org.pk)
        with pytest.raises(TaskError):
            task_complete(task=task, user=desk.agent, notes="")
        renewal_record(
            organization=org,
            outcome=RenewalOutcome.RENEWED,
            user=desk.agent,
            arr_after=Decimal(90_000),
            plan_after=desk.free,
            notes="Fewer seats next year",
        )
        org.refresh_from_db()
        task.refresh_from_db()
        row = Renewal.objects.get()
    assert (org.arr, org.plan, org.renewal_date) == (Decimal(90_000), desk.free, date(2027, 9, 1))
    assert (row.renewal_date, row.arr_before, row.arr_after) == (
        renewal,
        Decimal(120_000),
        Decimal(90_000),
    )
    assert (row.plan_before, row.plan_after, row.task) == (desk.pro, desk.free, task)
    assert row.is_downgrade
    assert (task.status, task.notes, task.owner) == (
        TaskStatus.DONE,
        "Fewer seats next year",
        desk.agent,
    )


def test_a_churn_leaves_no_arr_and_no_renewal_date(desk):
    contract(desk, desk.other_org, renewal=date(2026, 9, 1), arr=8_000)
    with desk.scope():
        org = Organization.objects.get(pk=desk.other_org.pk)
        renewal_record(organization=org, outcome=RenewalOutcome.CHURNED, user=desk.agent)
        org.refresh_from_db()
        row = Renewal.objects.get()
        assert (org.arr, org.renewal_date, org.churned_on) == (Decimal(0), None, date(2026, 9, 1))
        assert (row.outcome, row.arr_before, row.arr_after) == ("churned", 8_000, 0)
        with pytest.raises(ValidationError):  # nothing left to renew
            renewal_record(organization=org, outcome=RenewalOutcome.CHURNED, user=desk.agent)
    # A former customer gets no more touchpoints and no more scores.
    contract(desk, desk.other_org, start=date(2026, 9, 10))
    run(desk, date(2026, 9, 10))
    assert tasks(desk, organization=desk.other_org) == []
    with desk.scope():
        run_ = health_compute(tenant=desk.tenant, day=date(2026, 9, 20))
        assert not HealthScore.objects.filter(organization=desk.other_org).exists()
    assert run_.day == date(2026, 9, 20)


def test_each_action_on_a_task_is_in_its_history_with_who_did_it(desk):
    other = make_member(desk.tenant, "olga@acme.example", "agent", full_name="Olga Ode")
    task = one_task(desk, TaskKind.CHECK_IN_30)
    with desk.scope():
        task_claim(task=task, user=other)
        task_save(task=task, user=other, notes="Left a voicemail")
        task_complete(task=task, user=other, notes="Call held")
        renewal = SuccessTask.objects.create(
            tenant=desk.tenant,
            organization=desk.other_org,
            kind=TaskKind.RENEWAL,
            trigger_date=date(2026, 9, 1),
            due_date=date(2026, 6, 3),
        )
        Organization.objects.filter(pk=desk.other_org.pk).update(renewal_date=date(2026, 9, 1))
        renewal_record(
            organization=desk.other_org,
            outcome=RenewalOutcome.CHURNED,
            user=desk.agent,
            task=renewal,
        )
        trail = [
            (event.task_id, event.actor, event.kind, event.detail_display)
            for event in SuccessTaskEvent.objects.order_by("pk")
        ]
    assert trail == [
        (task.pk, other, "claimed", ""),
        (task.pk, other, "saved", ""),
        (task.pk, other, "completed", ""),
        (renewal.pk, desk.agent, "renewal", "Churned"),
    ]
    # The task page shows it, in order, after the daily run's creation.
    page = desk.client(desk.agent).get(f"/agent/success/tasks/{task.pk}/").content.decode()
    history = page[page.index('id="history"') :]
    lines = [
        "Created by the daily run",
        "Olga Ode took it from the shared pool",
        "Olga Ode saved the notes",
        "Olga Ode completed it",
    ]
    positions = [history.index(line) for line in lines]
    assert positions == sorted(positions)


def test_a_change_in_admin_is_in_the_history(desk):
    task = one_task(desk, TaskKind.ONBOARDING)
    client = desk.client(desk.admin)
    url = f"/admin/success/successtask/{task.pk}/change/"
    response = client.post(
        url,
        {"owner": desk.agent.pk, "due_date": "2026-02-01", "status": "open", "notes": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with desk.scope():
        (event,) = SuccessTaskEvent.objects.all()
    assert (event.actor, event.kind) == (desk.admin, "changed")
    assert event.detail_display == "owner, due"


def test_each_csm_gets_one_email_listing_their_new_tasks_and_only_once(
    desk, mailoutbox, django_capture_on_commit_callbacks
):
    from helpdesk.models import User

    csm = make_member(desk.tenant, "cora@acme.example", "agent", full_name="Cora CSM")
    User.objects.filter(pk=csm.pk).update(preferred_language="zh-hans")
    contract(desk, desk.org, arr=150_000, csm=csm, renewal=START + timedelta(days=100))
    contract(desk, desk.other_org, arr=10_000)  # the pool's: nobody is mailed
    with django_capture_on_commit_callbacks(execute=True):
        run(desk, START)
    (email,) = mailoutbox
    assert email.to == ["cora@acme.example"]
    assert email.subject == "2 个新的客户成功任务"
    text = email.body
    assert "上手引导 · Acme Analytics Customer Co" in text
    assert "续约沟通 · Acme Analytics Customer Co" in text
    with desk.scope():
        onboarding = SuccessTask.objects.get(organization=desk.org, kind=TaskKind.ONBOARDING)
    assert f"/agent/success/tasks/{onboarding.pk}/" in text
    assert "Acme Analytics Other Co" not in text

    # The next run (the beat's next hour) finds nothing new and mails nobody.
    with django_capture_on_commit_callbacks(execute=True):
        run(desk, START)
    assert len(mailoutbox) == 1
