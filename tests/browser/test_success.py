"""Customer success in the browser: a CSM opens an at-risk organization from the
workspace, reads why its score dropped, and completes the health-drop task."""

from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from plans.models import Organization
from success.models import HealthSettings, SuccessTask, TaskKind, TaskStatus
from success.services import health_settings
from success.touchpoints import touchpoints_create
from tests.browser.helpers import sign_in
from tests.success.factories import components, health_row

pytestmark = pytest.mark.browser


@pytest.fixture
def acme_live(transactional_db, acme):
    return acme


def _falling_scores(desk, org, today):
    """Fifteen days from 70 down to 52: usage frequency fell most, then feature depth."""
    for n in range(15):
        health_row(
            desk,
            org,
            today - timedelta(days=14 - n),
            70 - round(18 * n / 14),
            parts=components(
                usage_frequency=(20 - n, 100 - 4 * n, 20),
                feature_depth=(6 - n // 5, 100 - 2 * n, 15),
                payment=("current", 100, 10),
            ),
        )


def test_csm_reads_why_the_score_dropped_and_completes_the_task(page, tenant_url, acme_live):
    desk = acme_live
    today = timezone.localdate()
    with desk.scope():
        # A dedicated account (ARR above the desk's 100,000), long past onboarding.
        Organization.objects.filter(pk=desk.org.pk).update(
            success_manager=desk.agent, arr=150_000, contract_start=date(2020, 1, 1)
        )
    _falling_scores(desk, desk.org, today)
    # The daily run finds the drop: 58 five days ago entered the critical band (60 the
    # day before); usage frequency cost 36 points x 20/45, feature depth 18 x 15/45.
    with desk.scope():
        HealthSettings.objects.filter(pk=health_settings(desk.tenant).pk).update(
            daily_through=today
        )
        touchpoints_create(tenant=desk.tenant, today=today)
        task = SuccessTask.objects.get(kind=TaskKind.HEALTH_DROP)
    assert (task.owner, task.trigger_date) == (desk.agent, today - timedelta(days=5))

    page.goto(tenant_url(desk, "/agent/success/"))
    sign_in(page, desk.agent.email)

    # The workspace: the task (due two days after the drop) is overdue, the
    # organization is critical.
    mine = page.get_by_role("region", name="My tasks")
    expect(mine.get_by_role("row", name="Health drop")).to_contain_text("Overdue")
    organizations = page.get_by_role("region", name="My organizations")
    row = organizations.get_by_role("row", name="Acme Analytics Customer Co")
    expect(row).to_contain_text("52 · Critical")
    expect(row.get_by_role("img")).to_have_accessible_name(
        "Last 30 days: 70 on "
        + (today - timedelta(days=14)).strftime("%B %-d")
        + ", 52 on "
        + today.strftime("%B %-d")
        + "; lowest 52, highest 70 (15 scores)."
    )

    page.screenshot(path="test-results/success-workspace.png", full_page=True)

    # The organization page says what moved the score.
    row.get_by_role("link", name="Acme Analytics Customer Co").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Analytics Customer Co")
    health = page.get_by_role("region", name="Health")
    expect(health.get_by_role("img", name="Health score, last 90 days")).to_be_visible()
    why = health.locator(".why")
    expect(why).to_contain_text("52 on " + today.strftime("%B %-d"))
    expect(why.get_by_role("listitem").nth(0)).to_have_text("Usage frequency: −24.9 points")
    expect(why.get_by_role("listitem").nth(1)).to_have_text("Feature depth: −9.3 points")
    expect(page.get_by_role("table", name="Components")).to_contain_text("Payment status")

    page.screenshot(path="test-results/success-organization.png", full_page=True)

    # The health-drop task says the same, and the CSM completes it.
    page.get_by_role("region", name="Tasks").get_by_role("link", name="Health drop").click()
    expect(page.locator(".drop-reason")).to_have_text(
        "Score 58 (Critical), down 12 points from 70 on "
        + (today - timedelta(days=14)).strftime("%B %-d")
        + ", now in the critical band; biggest falls: Usage frequency −16.0 points, "
        "Feature depth −6.0 points."
    )
    page.get_by_label("Notes").fill(
        "Called Carol: the new admin had not been trained.\nBooked a session."
    )
    page.get_by_role("button", name="Complete").click()
    expect(page.get_by_role("status")).to_contain_text("Task completed.")
    expect(page.locator(".page-head .status")).to_have_text("Done")
    expect(page.get_by_role("button", name="Complete")).to_have_count(0)
    expect(page.get_by_label("Notes")).to_have_value(
        "Called Carol: the new admin had not been trained.\nBooked a session."
    )

    with desk.scope():
        task = SuccessTask.objects.get(pk=task.pk)
    assert task.status == TaskStatus.DONE and task.completed_by == desk.agent

    # Back in the workspace, nothing is left to do.
    page.get_by_role("link", name="Success", exact=True).click()
    expect(page.get_by_role("region", name="My tasks")).to_contain_text("No open tasks")
