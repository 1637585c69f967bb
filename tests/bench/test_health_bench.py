"""bench/sections/health.py: its generated data is valid for the current schema and every
organization gets a score; the section reports the run and its target."""

from collections import Counter

from bench.sections import health
from bench.sections.health import HealthScores, data_sizes, scored_day
from helpdesk.tenancy import tenant_scope
from success.models import Component, HealthScore


def test_the_generated_history_scores_every_organization_at_every_stage(db):
    tenant = health.generate(organizations=60, days=90)
    sizes = data_sizes(tenant)
    assert sizes["organizations"] == 60
    assert sizes["events"] > 60 * 90  # logins, records, features and invoices
    assert sizes["tickets"] == 180 and sizes["ratings"] and sizes["answers"]

    section = HealthScores()
    section.measure_in_process(run=None)

    assert len(section.seconds) == health.RUNS
    with tenant_scope(tenant):
        rows = HealthScore.objects.filter(day=scored_day(tenant))
        assert rows.count() == 60
        stages = Counter(rows.values_list("stage", flat=True))
        with_data = Counter(
            name
            for components in rows.values_list("components", flat=True)
            for name, part in components.items()
            if part["score"] is not None
        )
    assert set(stages) == {"onboarding", "steady", "renewal"}
    # Every component is measured for many organizations (CSAT for those with ratings).
    assert set(with_data) == set(Component.values)
    assert min(with_data.values()) > 10, with_data
    assert sum(section.bands.values()) == 60 and len(section.bands) >= 2

    (target,) = section.targets(run=None)
    assert target[0].startswith("Daily health scores for 10,000 organizations")
    section.sizes["organizations"] = 60  # as in the generated data, not the full bench
    lines = section.report(run=None)
    assert "| first (inserts the day) |" in "\n".join(lines)
    assert "60 organizations" in lines[0]
