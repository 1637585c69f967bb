"""The CSM workspace (success/views/workspace.py): the workspace, the organization page and the
task page, their actions, their query counts, and tenant isolation."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from helpdesk.models import Role
from success.models import (
    Renewal,
    RenewalOutcome,
    SuccessNote,
    SuccessTask,
    TaskKind,
    TaskStatus,
)
from success.services import TaskError, task_claim
from tests.access import assert_asked_to_sign_in
from tests.helpdesk.factories import make_member
from tests.success.factories import (
    at,
    components,
    csat_rating,
    health_row,
    make_task,
    nps_answer,
    ticket_at,
)
from tests.tickets.factories import make_ticket
from tickets.models import Status


def _text(response) -> str:
    """The page's visible text, tags dropped and whitespace squeezed."""
    body = response.content.decode()
    body = body[body.index("<main") : body.index("</main>")]
    body = re.sub(r"<(svg|details)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r"<[^>]+>", " ", body)
    return re.sub(r"\s+", " ", body).replace("&#x27;", "'").replace("&quot;", '"')


def _today():
    return timezone.localdate()


def _manage(desk, org, user):
    with desk.scope():
        org.success_manager = user
        org.save(update_fields=["success_manager"])


def _drop_reason(today):
    return {
        "score": 52,
        "band": "critical",
        "entered_critical": True,
        "fell_points": 18,
        "from_score": 70,
        "from_day": (today - timedelta(days=6)).isoformat(),
        "reasons": [["usage_frequency", -9.5], ["feature_depth", -4.0]],
    }


def _at_risk_history(desk, org, today):
    """Fifteen days from 70 down to 52: usage and depth fell, CSAT rose a little."""
    for n in range(15):
        day = today - timedelta(days=14 - n)
        health_row(
            desk,
            org,
            day,
            70 - round(18 * n / 14),
            parts=components(
                usage_frequency=(20 - n, 100 - 4 * n, 20),
                feature_depth=(6, 100 - 2 * n, 15),
                csat=(80, 60 + n, 10),
                nps=(None, None, 10),
            ),
        )


# -- the workspace -------------------------------------------------------------------------


def test_workspace_lists_my_tasks_the_pool_and_my_organizations(acme):
    today = _today()
    _manage(acme, acme.org, acme.agent)
    _at_risk_history(acme, acme.org, today)
    late = make_task(acme, acme.org, owner=acme.agent, due=today - timedelta(days=2))
    soon = make_task(acme, acme.org, TaskKind.CHECK_IN_30, owner=acme.agent, due=today)
    pooled = make_task(acme, acme.other_org, TaskKind.ONBOARDING, due=today + timedelta(days=3))
    make_task(acme, acme.org, TaskKind.CHECK_IN_90, owner=acme.admin)  # someone else's
    make_task(acme, acme.org, TaskKind.CHECK_IN_365, owner=acme.agent, status=TaskStatus.DONE)

    response = acme.client(acme.agent).get("/agent/success/")

    assert response.status_code == 200
    assert [t.pk for t in response.context["my_tasks"]] == [late.pk, soon.pk]
    assert [t.pk for t in response.context["pool"]] == [pooled.pk]
    page = _text(response)
    mine = page[page.index("My tasks") : page.index("Shared pool")]
    assert "Health drop Acme Analytics Customer Co" in mine
    assert mine.count("Overdue") == 1
    body = response.content.decode()
    assert f'href="/agent/success/tasks/{late.pk}/"' in body
    assert f'action="/agent/success/tasks/{pooled.pk}/claim/"' in body
    assert "365-day check-in" not in mine and "90-day check-in" not in mine

    organizations = page[page.index("My organizations") : page.index("Signals")]
    assert "Acme Analytics Customer Co" in organizations
    assert "52 · Critical" in organizations
    assert "Acme Analytics Other Co" not in organizations  # not mine
    (row,) = response.context["organizations"]
    assert row.open_tasks == 3  # late, soon and the admin's; the done one is not open
    # The sparkline says its numbers to screen readers.
    assert re.search(
        r'<svg class="sparkline" role="img" aria-label="Last 30 days: 70 on [^,"]+, 52 on '
        r'[^;"]+; lowest 52, highest 70 \(15 scores\)\."',
        body,
    )


def test_workspace_is_in_the_agent_nav(acme):
    body = acme.client(acme.agent).get("/agent/").content.decode()
    assert '<a href="/agent/success/">Success</a>' in body
    customer_body = acme.client(acme.customer).get("/").content.decode()
    assert "/agent/success/" not in customer_body


def _grow_workspace(desk, start, count):
    today = _today()
    for n in range(start, start + count):
        org = _org(desk, f"Managed {n}")
        _manage(desk, org, desk.agent)
        health_row(desk, org, today, 60 + n % 30, parts=components(usage_frequency=95))
        health_row(desk, org, today - timedelta(days=1), 65)
        make_task(desk, org, owner=desk.agent)
        make_task(desk, org, TaskKind.ONBOARDING)
        ticket = make_ticket(desk, priority=2)
        with desk.scope():
            ticket.organization = org
            ticket.save(update_fields=["organization"])
        member = make_member(
            desk.tenant, f"promoter{n}@example.com", Role.CUSTOMER, organization=org
        )
        health_row(desk, org, today - timedelta(days=2), 90)
        nps_answer(desk, org, 10, at(today - timedelta(days=3)), recipient=member)


def _org(desk, name, **fields):
    from tests.plans.factories import make_organization

    return make_organization(desk.tenant, name=name, plan=fields.pop("plan", desk.pro), **fields)


def test_workspace_query_count_does_not_grow_with_tasks_and_organizations(
    acme, django_assert_num_queries
):
    _grow_workspace(acme, 0, 2)
    client = acme.client(acme.agent)
    client.get("/agent/success/")
    with CaptureQueriesContext(connection) as small:
        client.get("/agent/success/")
    _grow_workspace(acme, 2, 8)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get("/agent/success/")
    assert len(response.context["organizations"]) == 10
    assert len(response.context["my_tasks"]) == 10
    assert response.context["pool_total"] == 10


# -- claiming ------------------------------------------------------------------------------


def test_claim_takes_a_pool_task_and_a_second_claim_is_refused(acme):
    task = make_task(acme, acme.other_org, TaskKind.ONBOARDING)
    other_agent = make_member(acme.tenant, "ann@acme.example", Role.AGENT, full_name="Ann")

    response = acme.client(acme.agent).post(
        f"/agent/success/tasks/{task.pk}/claim/", {"next": "/agent/success/"}, follow=True
    )
    assert response.redirect_chain == [("/agent/success/", 302)]
    assert "it is in your tasks now" in _text(response)
    assert [t.pk for t in response.context["my_tasks"]] == [task.pk]

    late = acme.client(other_agent).post(f"/agent/success/tasks/{task.pk}/claim/", follow=True)
    assert "Someone else took this task first." in _text(late)
    with acme.scope():
        task.refresh_from_db()
    assert task.owner == acme.agent


def test_claim_race_only_one_wins(acme):
    """Both CSMs loaded the task while it was in the pool; the conditional UPDATE lets
    exactly one have it."""
    task = make_task(acme, acme.other_org, TaskKind.ONBOARDING)
    with acme.scope():
        first, second = SuccessTask.objects.get(pk=task.pk), SuccessTask.objects.get(pk=task.pk)
        task_claim(task=first, user=acme.agent)
        with pytest.raises(TaskError, match="Someone else took this task first"):
            task_claim(task=second, user=acme.admin)
        with pytest.raises(TaskError, match="already yours"):
            task_claim(task=second, user=acme.agent)
        assert SuccessTask.objects.get(pk=task.pk).owner == acme.agent


def test_claim_of_a_closed_task_says_so(acme):
    task = make_task(acme, acme.other_org, status=TaskStatus.CANCELLED)
    response = acme.client(acme.agent).post(f"/agent/success/tasks/{task.pk}/claim/", follow=True)
    assert "This task is already closed." in _text(response)


def test_claim_ignores_an_offsite_next(acme):
    task = make_task(acme, acme.other_org)
    response = acme.client(acme.agent).post(
        f"/agent/success/tasks/{task.pk}/claim/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == f"/agent/success/tasks/{task.pk}/"


# -- the organization page -----------------------------------------------------------------


def test_organization_page_shows_account_health_tickets_feedback_tasks_and_notes(acme):
    today = _today()
    with acme.scope():
        acme.org.arr = Decimal("120000")
        acme.org.renewal_date = today + timedelta(days=80)
        acme.org.save()
    _manage(acme, acme.org, acme.agent)
    _at_risk_history(acme, acme.org, today)
    open_ticket = ticket_at(acme, acme.org, at(today - timedelta(days=3)))
    solved = ticket_at(
        acme,
        acme.org,
        at(today - timedelta(days=20)),
        status=Status.SOLVED,
        solved=at(today - timedelta(days=19)),
    )
    csat_rating(acme, solved, 5, at(today - timedelta(days=19)))
    bad = csat_rating(acme, open_ticket, 2, at(today - timedelta(days=2)))
    with acme.scope():
        bad.comment = "Slow <b>answers</b>\nagain"
        bad.save()
    nps_answer(acme, acme.org, 9, at(today - timedelta(days=10)))
    nps_answer(acme, acme.org, 3, at(today - timedelta(days=200)))  # outside 180 days
    done = make_task(
        acme,
        acme.org,
        TaskKind.CHECK_IN_90,
        status=TaskStatus.DONE,
        notes="Call went well",
        answers={"problem": "Reporting", "goal": "Mostly", "improve": "Exports"},
        completed_at=timezone.now(),
    )
    drop = make_task(acme, acme.org, owner=acme.agent, reason=_drop_reason(today))
    with acme.scope():
        SuccessNote.objects.create(
            tenant=acme.tenant, organization=acme.org, author=acme.agent, body="<i>VIP</i>\nbe nice"
        )

    response = acme.client(acme.agent).get(f"/agent/success/organizations/{acme.org.pk}/")

    assert response.status_code == 200
    page = _text(response)
    assert "Plan Pro" in page and "ARR 120,000 USD" in page
    assert "Success manager Acme Analytics Agent" in page
    assert "52 (Critical), stage: Steady state" in page
    body = response.content.decode()
    assert '<svg class="chart-svg" role="img"' in body
    assert "Health score, last 90 days" in page
    assert 'href="?&amp;csv=health"' in body
    # Components: raw value, score, weight.
    assert "Usage frequency 6 days with a login 44 20" in page
    assert "NPS No data: left out" in page
    # Why it moved since 14 days before, in words, biggest fall first.
    why = page[page.index("Why the score moved") : page.index("Components")]
    assert re.search(r"52 on .+, against 70 on ", why)
    assert why.index("Usage frequency: −") < why.index("Feature depth: −") < why.index("CSAT: +")
    # Tickets link to the agent ticket page.
    assert f'href="/agent/tickets/{open_ticket.number}/"' in body
    tickets = page[page.index("Tickets Open") : page.index("Feedback")]
    assert f"#{open_ticket.number}" in tickets and f"#{solved.number}" in tickets
    # Feedback: CSAT 1 of 2 over 90 days, NPS from the one answer within 180 days.
    assert "50.0% satisfied over the last 90 days (1 of 2 ratings" in page
    assert "NPS 100 over the last 180 days (1 answers: 1 promoters, 0 detractors)" in page
    assert "Slow &lt;b&gt;answers&lt;/b&gt;<br>again" in body  # escaped, line breaks kept
    # Tasks: open first, then done with notes and answers.
    assert page.index("Health drop") < page.index("90-day check-in")
    assert "Score 52 (Critical), down 18 points from 70" in page
    assert "What should we improve? Exports" in page
    assert "Call went well" in page
    assert f'href="/agent/success/tasks/{drop.pk}/"' in body
    assert f'href="/agent/success/tasks/{done.pk}/"' in body
    # Notes, escaped.
    assert "&lt;i&gt;VIP&lt;/i&gt;<br>be nice" in body


def test_organization_page_history_as_csv(acme):
    today = _today()
    health_row(acme, acme.org, today - timedelta(days=1), 66)
    health_row(acme, acme.org, today, 64)
    response = acme.client(acme.agent).get(
        f"/agent/success/organizations/{acme.org.pk}/", {"csv": "health"}
    )
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0] == "Day,Score"
    assert len(lines) == 91
    assert lines[-2:] == [f"{today - timedelta(days=1)},66", f"{today},64"]
    missing = acme.client(acme.agent).get(
        f"/agent/success/organizations/{acme.org.pk}/", {"csv": "nope"}
    )
    assert missing.status_code == 404


def test_organization_page_before_any_score(acme):
    response = acme.client(acme.agent).get(f"/agent/success/organizations/{acme.org.pk}/")
    assert response.status_code == 200
    page = _text(response)
    assert "Not scored yet." in page
    assert "No data in this range." in page


def _grow_organization(desk, org, start, count):
    today = _today()
    for n in range(start, start + count):
        ticket = ticket_at(desk, org, at(today - timedelta(days=n + 1)))
        csat_rating(desk, ticket, 1 + n % 5, at(today - timedelta(days=n + 1)))
        nps_answer(desk, org, n % 11, at(today - timedelta(days=n + 1)))
        make_task(desk, org, owner=desk.agent, reason=_drop_reason(today))
        make_task(desk, org, TaskKind.CHECK_IN_30, status=TaskStatus.DONE, notes=f"n{n}")
        health_row(desk, org, today - timedelta(days=n), 50 + n, parts=components(csat=50 + n))
        with desk.scope():
            SuccessNote.objects.create(
                tenant=desk.tenant, organization=org, author=desk.agent, body=f"Note {n}"
            )


def test_organization_page_query_count_does_not_grow(acme, django_assert_num_queries):
    _grow_organization(acme, acme.org, 0, 2)
    client = acme.client(acme.agent)
    url = f"/agent/success/organizations/{acme.org.pk}/"
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    _grow_organization(acme, acme.org, 2, 12)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert len(response.context["page"].tasks) == 28


def test_a_note_is_added_and_an_empty_one_refused(acme):
    client = acme.client(acme.agent)
    url = f"/agent/success/organizations/{acme.org.pk}/notes/"
    response = client.post(url, {"body": "Asked about SSO <script>x</script>"}, follow=True)
    assert response.redirect_chain == [(f"/agent/success/organizations/{acme.org.pk}/", 302)]
    assert "Note added." in _text(response)
    assert "Asked about SSO &lt;script&gt;x&lt;/script&gt;" in response.content.decode()
    with acme.scope():
        (note,) = SuccessNote.objects.all()
    assert note.author == acme.agent and note.organization == acme.org

    empty = client.post(url, {"body": "   "})
    assert empty.status_code == 400
    assert "This field is required." in _text(empty) or "Write something first." in _text(empty)
    with acme.scope():
        assert SuccessNote.objects.count() == 1


# -- the task page -------------------------------------------------------------------------


def test_health_drop_task_says_why_in_words(acme):
    today = _today()
    task = make_task(acme, acme.org, owner=acme.agent, reason=_drop_reason(today))
    page = _text(acme.client(acme.agent).get(f"/agent/success/tasks/{task.pk}/"))
    assert re.search(
        r"Score 52 \(Critical\), down 18 points from 70 on \w+ \d+, now in the critical "
        r"band; biggest falls: Usage frequency −9.5 points, Feature depth −4.0 points\.",
        page,
    )
    assert "Owner Acme Analytics Agent" in page
    assert "Status Open" in page


def _post(desk, task, user=None, **data):
    return desk.client(user or desk.agent).post(f"/agent/success/tasks/{task.pk}/", data)


def _task(desk, task) -> SuccessTask:
    with desk.scope():
        return SuccessTask.objects.get(pk=task.pk)


def test_save_keeps_the_task_open_and_complete_closes_it(acme):
    task = make_task(acme, acme.org, owner=acme.agent)
    saved = _post(acme, task, action="save", notes="Left a voicemail")
    assert saved.status_code == 302
    task = _task(acme, task)
    assert task.notes == "Left a voicemail" and task.status == TaskStatus.OPEN

    done = _post(acme, task, action="complete", notes="Spoke to the CTO")
    assert done.status_code == 302
    task = _task(acme, task)
    assert task.status == TaskStatus.DONE
    assert task.notes == "Spoke to the CTO" and task.completed_by == acme.agent
    page = _text(acme.client(acme.agent).get(f"/agent/success/tasks/{task.pk}/"))
    assert "This task is closed: only its notes can still be changed." in page
    assert "Complete" not in page.replace("Completed", "")


def test_completing_a_pool_task_makes_it_mine(acme):
    task = make_task(acme, acme.other_org, TaskKind.ONBOARDING)
    assert _post(acme, task, action="complete", notes="Kick-off done").status_code == 302
    task = _task(acme, task)
    assert task.owner == acme.agent and task.status == TaskStatus.DONE


def test_check_in_needs_the_three_answers_and_keeps_what_was_typed(acme):
    task = make_task(acme, acme.org, TaskKind.CHECK_IN_90, owner=acme.agent)
    page = _text(acme.client(acme.agent).get(f"/agent/success/tasks/{task.pk}/"))
    for question in (
        "What problem are you solving with the product?",
        "Have you reached the goal you expected?",
        "What should we improve?",
    ):
        assert question in page

    refused = _post(
        acme,
        task,
        action="complete",
        notes="Good call",
        answer_problem="Month-end reporting",
        answer_goal="",
        answer_improve="  ",
    )
    assert refused.status_code == 400
    body = refused.content.decode()
    assert body.count("Record the customer&#x27;s answer.") == 2
    assert "Month-end reporting</textarea>" in body and "Good call</textarea>" in body
    assert 'id="id_answer_goal" rows="2" aria-invalid="true"' in body
    assert _task(acme, task).status == TaskStatus.OPEN

    # A draft with answers missing is kept.
    assert _post(acme, task, action="save", answer_problem="Reporting").status_code == 302
    assert _task(acme, task).answers == {"problem": "Reporting", "goal": "", "improve": ""}

    done = _post(
        acme,
        task,
        action="complete",
        notes="Good call",
        answer_problem="Reporting",
        answer_goal="Yes, closing books in 2 days",
        answer_improve="Exports",
    )
    assert done.status_code == 302
    task = _task(acme, task)
    assert task.status == TaskStatus.DONE
    assert task.answers == {
        "problem": "Reporting",
        "goal": "Yes, closing books in 2 days",
        "improve": "Exports",
    }
    page = _text(acme.client(acme.agent).get(f"/agent/success/tasks/{task.pk}/"))
    assert "Have you reached the goal you expected? Yes, closing books in 2 days" in page


def test_a_closed_task_keeps_only_its_notes_editable(acme):
    task = make_task(
        acme,
        acme.org,
        TaskKind.CHECK_IN_90,
        owner=acme.agent,
        status=TaskStatus.DONE,
        answers={"problem": "A", "goal": "B", "improve": "C"},
    )
    assert _post(acme, task, action="save", notes="Follow-up sent", answer_problem="X").status_code
    task = _task(acme, task)
    assert task.notes == "Follow-up sent"
    assert task.answers == {"problem": "A", "goal": "B", "improve": "C"}

    again = _post(acme, task, action="complete", notes="again")
    assert again.status_code == 400
    assert "This task is already closed." in _text(again)
    assert _task(acme, task).notes == "Follow-up sent"


def _renewal_task(desk, today):
    with desk.scope():
        desk.org.arr = Decimal("50000")
        desk.org.renewal_date = today + timedelta(days=60)
        desk.org.save()
    return make_task(
        desk, desk.org, TaskKind.RENEWAL, owner=desk.agent, trigger=desk.org.renewal_date
    )


def test_renewal_form_is_prefilled_and_renewed_moves_the_organization_on(acme):
    today = _today()
    task = _renewal_task(acme, today)
    renewal_date = today + timedelta(days=60)
    form = acme.client(acme.agent).get(f"/agent/success/tasks/{task.pk}/").context["form"]
    assert form["arr_after"].value() == Decimal("50000")
    assert form["plan_after"].value() == acme.pro.pk
    assert form["next_renewal_date"].value() == renewal_date.replace(year=renewal_date.year + 1)
    # A renewal conversation is completed by recording its outcome, not by "Complete".
    assert (
        'value="complete"'
        not in acme.client(acme.agent).get(f"/agent/success/tasks/{task.pk}/").content.decode()
    )

    next_date = renewal_date + timedelta(days=365)
    response = _post(
        acme,
        task,
        action="renewal",
        outcome=RenewalOutcome.RENEWED,
        arr_after="64000",
        plan_after=acme.pro_plus.pk,
        next_renewal_date=next_date.isoformat(),
        notes="Upgraded for SSO",
    )
    assert response.status_code == 302
    with acme.scope():
        acme.org.refresh_from_db()
        (renewal,) = Renewal.objects.all()
    assert (acme.org.arr, acme.org.plan, acme.org.renewal_date) == (
        Decimal("64000"),
        acme.pro_plus,
        next_date,
    )
    assert renewal.renewal_date == renewal_date
    assert (renewal.arr_before, renewal.arr_after) == (Decimal("50000"), Decimal("64000"))
    assert (renewal.plan_before, renewal.plan_after) == (acme.pro, acme.pro_plus)
    assert renewal.task_id == task.pk and renewal.recorded_by == acme.agent
    task = _task(acme, task)
    assert task.status == TaskStatus.DONE and task.notes == "Upgraded for SSO"

    # Sent twice (a double click): the second is refused and records nothing more.
    twice = _post(acme, task, action="renewal", outcome=RenewalOutcome.CHURNED)
    assert twice.status_code == 400
    assert "This task is already closed." in _text(twice)
    with acme.scope():
        assert Renewal.objects.count() == 1
        acme.org.refresh_from_db()
    assert acme.org.renewal_date == next_date


def test_churned_leaves_no_arr(acme):
    today = _today()
    task = _renewal_task(acme, today)
    assert _post(acme, task, action="renewal", outcome="churned").status_code == 302
    with acme.scope():
        acme.org.refresh_from_db()
        (renewal,) = Renewal.objects.all()
    assert renewal.outcome == RenewalOutcome.CHURNED and renewal.arr_after == 0
    assert acme.org.arr == 0 and acme.org.renewal_date is None


def test_renewal_errors_are_shown_in_place(acme):
    today = _today()
    task = _renewal_task(acme, today)
    no_outcome = _post(acme, task, action="renewal", notes="Thinking about it")
    assert no_outcome.status_code == 400
    assert "Choose how the renewal ended." in _text(no_outcome)
    assert "Thinking about it</textarea>" in no_outcome.content.decode()

    backwards = _post(
        acme,
        task,
        action="renewal",
        outcome="renewed",
        arr_after="-5",
        plan_after=acme.pro.pk,
        next_renewal_date=today.isoformat(),
    )
    assert backwards.status_code == 400
    assert "Ensure this value is greater than or equal to 0." in _text(backwards)

    too_early = _post(
        acme,
        task,
        action="renewal",
        outcome="renewed",
        arr_after="5000",
        plan_after=acme.pro.pk,
        next_renewal_date=today.isoformat(),
    )
    assert too_early.status_code == 400
    assert "The next renewal date must follow this one." in _text(too_early)
    with acme.scope():
        assert not Renewal.objects.exists()
    assert _task(acme, task).status == TaskStatus.OPEN

    not_a_renewal = make_task(acme, acme.org, owner=acme.agent)
    wrong = _post(acme, not_a_renewal, action="renewal", outcome="churned")
    assert wrong.status_code == 400
    assert "Only a renewal conversation records an outcome." in _text(wrong)


def test_task_page_of_a_pool_task_offers_claim(acme):
    task = make_task(acme, acme.other_org, TaskKind.ONBOARDING)
    client = acme.client(acme.agent)
    body = client.get(f"/agent/success/tasks/{task.pk}/").content.decode()
    assert f'action="/agent/success/tasks/{task.pk}/claim/"' in body
    response = client.post(f"/agent/success/tasks/{task.pk}/claim/", follow=True)
    assert response.redirect_chain == [(f"/agent/success/tasks/{task.pk}/", 302)]
    assert "Owner Acme Analytics Agent" in _text(response)


# -- the ticket page -----------------------------------------------------------------------


def test_ticket_page_shows_the_organizations_health(acme):
    today = _today()
    health_row(acme, acme.org, today - timedelta(days=1), 80)
    health_row(acme, acme.org, today, 58)
    ticket = make_ticket(acme)
    body = acme.client(acme.agent).get(f"/agent/tickets/{ticket.number}/").content.decode()
    assert re.search(
        rf'<a href="/agent/success/organizations/{acme.org.pk}/" class="health '
        r'health-critical">58 · Critical</a>',
        body,
    )
    unscored = make_ticket(acme, acme.other_customer)
    page = _text(acme.client(acme.agent).get(f"/agent/tickets/{unscored.number}/"))
    assert "Health Not scored yet" in page


# -- isolation and roles -------------------------------------------------------------------


def _pages(desk, task, org):
    return [
        ("get", "/agent/success/", {}),
        ("get", f"/agent/success/organizations/{org.pk}/", {}),
        ("get", f"/agent/success/organizations/{org.pk}/?csv=health", {}),
        ("get", f"/agent/success/tasks/{task.pk}/", {}),
        ("post", f"/agent/success/organizations/{org.pk}/notes/", {"body": "Sneaky"}),
        ("post", f"/agent/success/tasks/{task.pk}/claim/", {}),
        ("post", f"/agent/success/tasks/{task.pk}/", {"action": "save", "notes": "Sneaky"}),
        ("post", f"/agent/success/tasks/{task.pk}/", {"action": "complete", "notes": "Sneaky"}),
        ("post", f"/agent/success/tasks/{task.pk}/", {"action": "renewal", "outcome": "churned"}),
    ]


def _untouched(desk, task, org, arr):
    with desk.scope():
        task = SuccessTask.objects.get(pk=task.pk)
        org.refresh_from_db()
        assert task.owner is None and task.status == TaskStatus.OPEN and task.notes == ""
        assert not SuccessNote.objects.exists()
        assert not Renewal.objects.exists()
        assert org.arr == arr and org.renewal_date is not None


@pytest.fixture
def globex_renewal(globex):
    today = _today()
    with globex.scope():
        globex.org.arr = Decimal("70000")
        globex.org.renewal_date = today + timedelta(days=30)
        globex.org.save()
    task = make_task(globex, globex.org, TaskKind.RENEWAL, trigger=globex.org.renewal_date)
    return globex, task


def test_another_tenants_ids_are_not_found(acme, globex_renewal):
    globex, task = globex_renewal
    client = acme.client(acme.agent)
    for method, url, data in _pages(globex, task, globex.org)[1:]:
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, (method, url)
    _untouched(globex, task, globex.org, Decimal("70000"))


def test_another_tenants_agent_and_a_customer_are_refused(acme, globex_renewal):
    globex, task = globex_renewal
    for user, host_desk in ((acme.agent, globex), (globex.customer, globex)):
        client = host_desk.client(user)
        for method, url, data in _pages(globex, task, globex.org):
            response = getattr(client, method)(url, data)
            if user == acme.agent:  # nobody at Globex's host
                assert_asked_to_sign_in(response)
            else:  # Globex's own customer: not staff
                assert response.status_code == 403, (user, method, url)
    _untouched(globex, task, globex.org, Decimal("70000"))


def test_wrong_methods_are_refused(acme):
    task = make_task(acme, acme.org)
    client = acme.client(acme.agent)
    assert client.post("/agent/success/").status_code == 405
    assert client.post(f"/agent/success/organizations/{acme.org.pk}/").status_code == 405
    assert client.get(f"/agent/success/organizations/{acme.org.pk}/notes/").status_code == 405
    assert client.get(f"/agent/success/tasks/{task.pk}/claim/").status_code == 405
    assert client.put(f"/agent/success/tasks/{task.pk}/").status_code == 405


def test_anonymous_visitors_are_sent_to_sign_in(acme):
    response = acme.client().get("/agent/success/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_admins_use_the_workspace_too(acme):
    assert acme.client(acme.admin).get("/agent/success/").status_code == 200


def test_admins_see_the_dedicated_accounts_without_a_success_manager(acme, globex):
    from plans.models import Organization

    with acme.scope():
        Organization.objects.filter(pk=acme.org.pk).update(arr=Decimal(250_000))
        Organization.objects.filter(pk=acme.other_org.pk).update(arr=Decimal(99_999))
    with globex.scope():  # another desk's big account never shows here
        Organization.objects.filter(pk=globex.org.pk).update(arr=Decimal(500_000))
    page = _text(acme.client(acme.admin).get("/agent/success/"))
    section = page[page.index("Dedicated accounts without a success manager") :]
    assert "Acme Analytics Customer Co" in section
    assert "250,000 USD" in section
    assert "Acme Analytics Other Co" not in section  # below the threshold: the pool is right
    assert "Globex" not in section
    # Given a success manager, it leaves the list; agents never see the list.
    _manage(acme, acme.org, acme.agent)
    page = _text(acme.client(acme.admin).get("/agent/success/"))
    assert "Every dedicated account has its success manager." in page
    agent_page = _text(acme.client(acme.agent).get("/agent/success/"))
    assert "Dedicated accounts without a success manager" not in agent_page


def test_admins_see_every_organizations_health_those_at_most_risk_first(acme):
    """An admin who manages no organization oversees them all (an at-risk one managed by
    nobody included), the lowest score first and the unscored last, with their success
    manager; and every owned task with its owner. An agent still sees their own."""
    today = _today()
    _manage(acme, acme.org, acme.agent)
    health_row(acme, acme.org, today, 82)
    health_row(acme, acme.other_org, today, 69)  # at risk, managed by nobody
    unscored = _org(acme, "Newcomer Ltd")
    _org(acme, "Gone Inc", churned_on=today - timedelta(days=3))
    task = make_task(acme, acme.org, TaskKind.CHECK_IN_30, owner=acme.agent)
    make_task(acme, acme.other_org, TaskKind.ONBOARDING)  # the pool's, not an owned task

    response = acme.client(acme.admin).get("/agent/success/")

    rows = response.context["organizations"]
    assert [o.name for o in rows] == [acme.other_org.name, acme.org.name, unscored.name]
    page = _text(response)
    organizations = page[page.index("All organizations") : page.index("Signals")]
    assert "69 · At risk" in organizations and "82 · Healthy" in organizations
    assert "Acme Analytics Agent" in organizations  # the success manager column
    assert "Gone Inc" not in organizations
    assert [t.pk for t in response.context["my_tasks"]] == [task.pk]
    tasks = page[page.index("Open tasks") : page.index("Shared pool")]
    assert "30-day check-in" in tasks and "Acme Analytics Agent" in tasks

    agent_page = acme.client(acme.agent).get("/agent/success/")
    assert [o.name for o in agent_page.context["organizations"]] == [acme.org.name]
    assert "My organizations" in _text(agent_page)
    chinese = acme.client(acme.admin).get("/agent/success/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "全部组织" in _text(chinese) and "风险最高的在前" in _text(chinese)


def test_an_admins_workspace_query_count_does_not_grow_either(acme, django_assert_num_queries):
    _grow_workspace(acme, 0, 2)
    client = acme.client(acme.admin)
    client.get("/agent/success/")
    with CaptureQueriesContext(connection) as small:
        client.get("/agent/success/")
    _grow_workspace(acme, 2, 8)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get("/agent/success/")
    assert len(response.context["organizations"]) == 12  # the ten, and the desk's two
    assert len(response.context["my_tasks"]) == 10
