from datetime import timedelta

from django.core.management import call_command
from django.db.models import Q
from django.utils import timezone
from django_scopes import scopes_disabled

from feedback.models import CsatSurvey, NpsSurvey
from helpdesk.models import Membership, Tenant, User
from knowledge.models import Article
from phone.models import CallbackRequest, CallLog
from plans.models import Organization, Plan
from routing.models import RoutingRule
from sla.display import sla_badge
from sla.models import SLAOutcome
from success.models import HealthScore, HealthSettings, Renewal, SuccessTask, UsageEvent
from tickets.models import UNSOLVED, Group, Macro, Message, Status, Ticket


def _counts():
    with scopes_disabled():
        return {
            "tenants": Tenant.objects.count(),
            "plans": Plan.objects.count(),
            "organizations": Organization.objects.count(),
            "memberships": Membership.objects.count(),
            "users": User.objects.count(),
            "tickets": Ticket.objects.count(),
            "callbacks": CallbackRequest.objects.count(),
            "calls": CallLog.objects.count(),
            "macros": Macro.objects.count(),
            "articles": Article.objects.count(),
            "groups": Group.objects.count(),
            "routing rules": RoutingRule.objects.count(),
        }


def test_seed_demo_creates_acme_and_is_idempotent(db, capsys):
    call_command("seed_demo")
    first = _counts()
    assert first == {
        "tenants": 1,
        "plans": 3,
        "organizations": 7,
        "memberships": 12,
        "users": 13,
        "tickets": 202,  # 200, and two callback requests (one made, its call logged)
        "callbacks": 2,
        "calls": 1,
        "macros": 4,
        "articles": 43,
        "groups": 2,
        "routing rules": 3,
    }
    with scopes_disabled():
        # The demo's tickets sit in the groups its rules name.
        billing = Ticket.objects.filter(group__name="Billing")
        assert (
            billing.exists()
            and not billing.exclude(
                Q(category__name="Billing")
                | Q(subject__icontains="invoice")
                | Q(messages__body__icontains="invoice")
                | Q(subject__icontains="refund")
                | Q(messages__body__icontains="refund")
            ).exists()
        )
    out = capsys.readouterr().out
    assert "acme.localhost:8000/" in out and "helpdesk-demo" in out

    with scopes_disabled():
        history = (
            UsageEvent.objects.count(),
            HealthScore.objects.count(),
            SuccessTask.objects.count(),
            Renewal.objects.count(),
        )
    call_command("seed_demo")
    assert _counts() == first
    with scopes_disabled():
        assert (
            UsageEvent.objects.count(),
            HealthScore.objects.count(),
            SuccessTask.objects.count(),
            Renewal.objects.count(),
        ) == history

    with scopes_disabled():
        acme = Tenant.objects.get(slug="acme")
        assert acme.name == "Acme Analytics"
        roles = sorted(Membership.objects.filter(tenant=acme).values_list("role", flat=True))
        assert roles.count("agent") == 3 and roles.count("admin") == 1
        by_plan = {
            plan.name: plan.organizations.count() for plan in Plan.objects.filter(tenant=acme)
        }
        # ...and a Pro customer who churned 100 days ago, for the renewal report.
        assert by_plan == {"Free": 2, "Pro": 3, "Pro+": 2}
        # Every demo customer belongs to an organization.
        assert not Membership.objects.filter(role="customer", organization=None).exists()
        # Tickets span every status, with English and Chinese threads and internal notes.
        assert set(Ticket.objects.values_list("status", flat=True)) == set(Status.values)
        assert Message.objects.filter(body__contains="发票").exists()
        assert Message.objects.filter(is_internal=True).exists()
        # New tickets continue the numbering after the demo history (the two callback
        # requests came through the services: #201 and #202).
        assert Ticket.objects.order_by("-number").first().number == 202
        # The history has SLA outcomes to report on, and the queue shows clocks in
        # every state: on track, inside the warning window, overdue and paused.
        assert set(SLAOutcome.objects.values_list("result", flat=True)) == {"met", "breached"}
        now = timezone.now()
        unsolved = Ticket.objects.filter(tenant=acme, status__in=UNSOLVED)
        badges = {sla_badge(ticket, now).state for ticket in unsolved}
        assert {"on-track", "breached", "paused"} <= badges
        # The knowledge base: English and Chinese, some articles for higher plans only.
        articles = Article.objects.filter(tenant=acme)
        assert set(articles.values_list("language", flat=True)) == {"en", "zh-hans"}
        assert articles.filter(visibility="plans").count() >= 4
        # Feedback to look at: rated solved tickets (with comments), NPS answers from
        # the organizations' contacts, and business-time durations for the dashboards.
        rated = CsatSurvey.objects.filter(tenant=acme, rating__isnull=False)
        assert rated.count() > 20 and rated.exclude(comment="").exists()
        assert set(rated.values_list("rating", flat=True)) == {1, 2, 3, 4, 5}
        assert NpsSurvey.objects.filter(tenant=acme, score__isnull=False).count() > 5
        solved = Ticket.objects.filter(tenant=acme, status__in=["solved", "closed"])
        assert not solved.filter(resolution_seconds=None).exists()
        assert not solved.filter(first_response_seconds=None).exists()
        # Customer success: ninety days of usage and payments, a score per organization
        # and day from each contract's start up to yesterday, and every band today.
        events = UsageEvent.objects.filter(tenant=acme)
        assert events.count() > 1000
        assert set(events.values_list("metric", flat=True)) == {
            "login",
            "feature_used",
            "records_created",
            "invoice_paid",
            "invoice_overdue",
        }
        yesterday = timezone.localdate(timezone=acme.tzinfo) - timedelta(days=1)
        scores = HealthScore.objects.filter(tenant=acme)
        for organization in Organization.objects.filter(tenant=acme, churned_on=None):
            days = scores.filter(organization=organization).values_list("day", flat=True)
            first_day = max(organization.contract_start, yesterday - timedelta(days=89))
            assert sorted(days) == [
                first_day + timedelta(days=n) for n in range((yesterday - first_day).days + 1)
            ], organization
        latest = {
            score.organization.name: score.band
            for score in scores.filter(day=yesterday).select_related("organization")
        }
        assert latest["Nimbus Notes"] == "critical"
        assert latest["Orbit Logistics"] == latest["Lumen Health"] == "healthy"
        assert "at_risk" in latest.values()
        assert HealthSettings.objects.get(tenant=acme).daily_through == yesterday
        assert not scores.filter(organization__churned_on__isnull=False).exists()
        # Touchpoints as the daily run made them over the history: the older ones done
        # (the 90-day check-ins with their answers), recent ones open, a health drop for
        # Initech, whose score fell; renewals with a churn and a downgrade.
        tasks = SuccessTask.objects.filter(tenant=acme)
        assert tasks.filter(status="done").exists() and tasks.filter(status="open").exists()
        assert tasks.filter(
            kind="health_drop", organization__name="Initech", status="open"
        ).exists()
        assert not tasks.filter(status="done", answers={}, kind="check_in_90").exists()
        # Each task was created on the morning the replayed daily run made it.
        renewal = tasks.get(kind="renewal", organization__name="Initech")
        assert timezone.localdate(renewal.created_at, acme.tzinfo) < renewal.due_date
        renewals = Renewal.objects.filter(tenant=acme)
        assert set(renewals.values_list("outcome", flat=True)) == {"renewed", "churned"}
        assert any(renewal.is_downgrade for renewal in renewals)


def test_demo_customer_can_log_in(db):
    from django.test import Client

    call_command("seed_demo")
    client = Client(HTTP_HOST="acme.localhost")
    response = client.post(
        "/accounts/login/", {"login": "grace@globex.example", "password": "helpdesk-demo"}
    )
    assert response.status_code == 302
    assert "Globex Corporation is on the Pro+ plan" in client.get("/").content.decode()


def test_the_demos_queue_is_a_desk_mostly_keeping_its_promises_dated_from_today(db):
    """Issue 16: the default queue was 53 tickets 40-56 days overdue. Seeded on any day,
    the unsolved tickets are the current work: a few overdue, most on track."""
    import re
    from datetime import UTC, datetime

    import time_machine

    from helpdesk.tenancy import tenant_scope
    from tickets.selectors import PAGE_SIZE, QueueFilters, queue

    # A Wednesday morning in Shanghai, years from the demo's usual dates.
    with time_machine.travel(datetime(2031, 3, 12, 2, 30, tzinfo=UTC)):
        call_command("seed_demo")
        now = timezone.now()
        with scopes_disabled():
            acme = Tenant.objects.get(slug="acme")
            admin = User.objects.get(email="admin@acme.example")
        with tenant_scope(acme):
            first_page = list(queue(QueueFilters(), agent=admin, member=None)[:PAGE_SIZE])
            unsolved = list(Ticket.objects.filter(status__in=UNSOLVED))
            created = sorted(Ticket.objects.values_list("created_at", flat=True))
        from django.test import Client

        client = Client(HTTP_HOST="acme.localhost")
        client.force_login(admin)
        page = client.get("/agent/").content.decode()

    # Dated from the moment it ran: the last 60 days, nothing in the future.
    assert now - timedelta(days=61) < created[0] and created[-1] <= now
    # Free's 120 business hours to resolve are about three weeks of office hours.
    assert all(ticket.created_at > now - timedelta(days=30) for ticket in unsolved)

    states = [sla_badge(ticket, now).state for ticket in unsolved]
    running = [state for state in states if state in ("breached", "warning", "on-track")]
    overdue, on_track = running.count("breached"), running.count("on-track")
    warning, paused = running.count("warning"), states.count("paused")
    print(f"\n{len(unsolved)} unsolved: {overdue} overdue, {warning} warning, {paused} paused")
    assert len(running) >= 50
    assert 1 <= overdue <= 0.2 * len(running), states
    assert on_track >= 0.6 * len(running), states
    # Overdue by hours, not weeks.
    assert all(t.sla_due_at > now - timedelta(days=1) for t in unsolved if t.sla_due_at)

    # The default queue (soonest due first) opens on those few, then the work on track.
    first_states = [sla_badge(ticket, now).state for ticket in first_page]
    assert first_states[:overdue] == ["breached"] * overdue
    assert first_states.count("on-track") >= PAGE_SIZE // 2
    shown = re.findall(r'class="sla sla-(breached|warning|on-track|paused)"', page)
    assert shown.count("breached") == overdue and shown.count("on-track") >= PAGE_SIZE // 2
