"""Triggers recording which desk-days' dashboard rollups are stale (feedback/rollups.py):
writes of tickets, SLA outcomes, CSAT ratings, organizations' plans and desks.

Statement-level, with transition tables: a bulk write of thousands of tickets appends
one row per desk-day it touches, and a write that changes nothing a dashboard counts
(a ticket's updated_at, say) appends nothing. The rows are appended in the writing
transaction, so a rolled-back write leaves none and a committed one always has its
row: the worker rebuilding them is the only thing that may lag, never be wrong.
"""

from django.db import migrations

# A ticket's moments that a day's figures count.
MOMENTS = "ARRAY[{0}.created_at, {0}.solved_at, {0}.first_agent_reply_at]"
# What the figures count a ticket by (its plan is its organization's).
DIMENSIONS = "({0}.organization_id, {0}.category_id, {0}.priority, {0}.channel, {0}.assignee_id)"
MEASURES = "({0}.first_response_seconds, {0}.resolution_seconds)"

MARK = """
INSERT INTO feedback_rollupstale (tenant_id, day)
SELECT DISTINCT marked.tenant_id, (moment AT TIME ZONE desk.time_zone)::date
FROM ({marked}) AS marked
JOIN helpdesk_tenant desk ON desk.id = marked.tenant_id,
unnest(marked.moments) AS moment
WHERE moment IS NOT NULL;
"""


def mark(marked: str) -> str:
    """SQL appending the stale days of `marked` (rows of tenant_id and moments[])."""
    return MARK.format(marked=marked)


def watch(table: str, name: str, moments: str, changed: str) -> str:
    """A trigger function marking the days of `table`'s rows added, removed (their
    `moments`, an SQL array over the row) or `changed` (a query over new_rows n and
    old_rows o), and its three statement triggers."""
    added = f"SELECT tenant_id, {moments.format('r')} AS moments FROM new_rows r"
    removed = f"SELECT tenant_id, {moments.format('r')} AS moments FROM old_rows r"
    function = f"feedback_rollups_stale_{name}"
    return f"""
CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN {mark(added)}
    ELSIF TG_OP = 'DELETE' THEN {mark(removed)}
    ELSE {mark(changed)}
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER {function}_insert AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER {function}_update AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER {function}_delete AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
"""


def unwatch(table: str, name: str) -> str:
    function = f"feedback_rollups_stale_{name}"
    return (
        "".join(
            f"DROP TRIGGER IF EXISTS {function}_{event} ON {table};\n"
            for event in ("insert", "update", "delete")
        )
        + f"DROP FUNCTION IF EXISTS {function}();\n"
    )


TICKET_CHANGED = f"""
    SELECT n.tenant_id, {MOMENTS.format("o")} || {MOMENTS.format("n")} AS moments
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE ({MOMENTS.format("o")}, {DIMENSIONS.format("o")}, {MEASURES.format("o")})
        IS DISTINCT FROM ({MOMENTS.format("n")}, {DIMENSIONS.format("n")}, {MEASURES.format("n")})
    UNION ALL
    -- its SLA outcomes and ratings are counted by the ticket's dimensions too
    SELECT n.tenant_id, array_agg(outcome.due_at)
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    JOIN sla_slaoutcome outcome ON outcome.ticket_id = n.id
    WHERE {DIMENSIONS.format("o")} IS DISTINCT FROM {DIMENSIONS.format("n")}
    GROUP BY n.id, n.tenant_id
    UNION ALL
    SELECT n.tenant_id, array_agg(survey.rated_at)
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    JOIN feedback_csatsurvey survey ON survey.ticket_id = n.id
    WHERE {DIMENSIONS.format("o")} IS DISTINCT FROM {DIMENSIONS.format("n")}
    GROUP BY n.id, n.tenant_id
"""
TICKETS = watch("tickets_ticket", "tickets", MOMENTS, TICKET_CHANGED)

OUTCOME_CHANGED = """
    SELECT n.tenant_id, ARRAY[o.due_at, n.due_at] AS moments
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE (o.due_at, o.metric, o.result, o.ticket_id)
        IS DISTINCT FROM (n.due_at, n.metric, n.result, n.ticket_id)
"""

OUTCOMES = watch("sla_slaoutcome", "outcomes", "ARRAY[{0}.due_at]", OUTCOME_CHANGED)

SURVEY_CHANGED = """
    SELECT n.tenant_id, ARRAY[o.rated_at, n.rated_at] AS moments
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE (o.rated_at, o.rating, o.agent_id, o.ticket_id)
        IS DISTINCT FROM (n.rated_at, n.rating, n.agent_id, n.ticket_id)
"""

SURVEYS = watch("feedback_csatsurvey", "surveys", "ARRAY[{0}.rated_at]", SURVEY_CHANGED)

# An organization moving to another plan moves its tickets' figures between plans.
PLAN_CHANGED = f"""
    SELECT t.tenant_id, {MOMENTS.format("t")} AS moments
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    JOIN tickets_ticket t ON t.organization_id = n.id AND t.tenant_id = n.tenant_id
    WHERE o.plan_id IS DISTINCT FROM n.plan_id
    UNION ALL
    SELECT t.tenant_id, ARRAY[outcome.due_at]
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    JOIN tickets_ticket t ON t.organization_id = n.id AND t.tenant_id = n.tenant_id
    JOIN sla_slaoutcome outcome ON outcome.ticket_id = t.id
    WHERE o.plan_id IS DISTINCT FROM n.plan_id
    UNION ALL
    SELECT t.tenant_id, ARRAY[survey.rated_at]
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    JOIN tickets_ticket t ON t.organization_id = n.id AND t.tenant_id = n.tenant_id
    JOIN feedback_csatsurvey survey ON survey.ticket_id = t.id
    WHERE o.plan_id IS DISTINCT FROM n.plan_id
"""

ORGANIZATIONS = f"""
CREATE FUNCTION feedback_rollups_stale_plans() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {mark(PLAN_CHANGED)}
    RETURN NULL;
END
$$;
CREATE TRIGGER feedback_rollups_plan_change AFTER UPDATE ON plans_organization
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feedback_rollups_stale_plans();
"""

# A new desk has no rollups yet, and another time zone moves every day's edges: the
# whole desk (a NULL day) is stale, and its dashboards count tickets until rebuilt.
DESKS = """
CREATE FUNCTION feedback_rollups_stale_desk() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO feedback_rollupstale (tenant_id, day) SELECT n.id, NULL FROM new_rows n;
    ELSE
        INSERT INTO feedback_rollupstale (tenant_id, day)
        SELECT n.id, NULL FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE o.time_zone IS DISTINCT FROM n.time_zone;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER feedback_rollups_new_desk AFTER INSERT ON helpdesk_tenant
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feedback_rollups_stale_desk();
CREATE TRIGGER feedback_rollups_time_zone_change AFTER UPDATE ON helpdesk_tenant
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION feedback_rollups_stale_desk();
"""

DROP = (
    """
DROP TRIGGER IF EXISTS feedback_rollups_new_desk ON helpdesk_tenant;
DROP TRIGGER IF EXISTS feedback_rollups_time_zone_change ON helpdesk_tenant;
DROP TRIGGER IF EXISTS feedback_rollups_plan_change ON plans_organization;
DROP FUNCTION IF EXISTS feedback_rollups_stale_desk();
DROP FUNCTION IF EXISTS feedback_rollups_stale_plans();
"""
    + unwatch("tickets_ticket", "tickets")
    + unwatch("sla_slaoutcome", "outcomes")
    + unwatch("feedback_csatsurvey", "surveys")
)

# Existing desks: every day stale, so the first refresh builds them all.
EVERY_DESK_STALE = (
    "INSERT INTO feedback_rollupstale (tenant_id, day) SELECT id, NULL FROM helpdesk_tenant"
)


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0005_dashboard_rollups"),
        ("helpdesk", "0009_tenant_agents_see_own_groups_only"),
        ("plans", "0007_plan_chat_first_reply_seconds"),
        ("sla", "0008_policies_by_category_and_channel"),
        ("tickets", "0013_ticket_search"),
    ]

    operations = [
        migrations.RunSQL(TICKETS + OUTCOMES + SURVEYS + ORGANIZATIONS + DESKS, DROP),
        migrations.RunSQL(EVERY_DESK_STALE, migrations.RunSQL.noop, elidable=True),
    ]
