"""Triggers recording which desk-days' dashboard rollups are stale (feedback/rollups.py):
writes of tickets, SLA outcomes, CSAT ratings, organizations' plans and desks.

Inserts and deletes are marked per statement, from its transition table: a bulk write
of thousands of tickets appends one row per desk-day it touches. Updates are marked
per row, and only when a column the figures count changed (the trigger's WHEN, checked
before any function runs): a new message moving a ticket's updated_at, or a survey
being sent, costs nothing here. The rows are appended in the writing transaction, so a
rolled-back write leaves none and a committed one always has its row: the worker
rebuilding them is the only thing that may lag, never be wrong.
"""

from django.db import migrations

# The moments of a row whose days its figures count, as an SQL array over `{0}`.
TICKET_MOMENTS = "ARRAY[{0}.created_at, {0}.solved_at, {0}.first_agent_reply_at]"
# A ticket's columns the figures count it by (its plan is its organization's) or count.
TICKET_DIMENSIONS = ("organization_id", "category_id", "priority", "channel", "assignee_id")
TICKET_COUNTED = (
    "created_at", "solved_at", "first_agent_reply_at", "first_response_seconds",
    "resolution_seconds", *TICKET_DIMENSIONS,
)  # fmt: skip
# A ticket's SLA outcomes and ratings are counted by its dimensions too.
DAYS_OF_ITS_OUTCOMES_AND_RATINGS = """
    ARRAY(SELECT due_at FROM sla_slaoutcome WHERE ticket_id = {0}.id)
    || ARRAY(SELECT rated_at FROM feedback_csatsurvey WHERE ticket_id = {0}.id)"""

MARK = """
    INSERT INTO feedback_rollupstale (tenant_id, day)
    SELECT DISTINCT desk.id, (moment AT TIME ZONE desk.time_zone)::date
    FROM ({marked}) AS marked
    JOIN helpdesk_tenant desk ON desk.id = marked.tenant_id,
    unnest(marked.moments) AS moment
    WHERE moment IS NOT NULL;"""


def mark(marked: str) -> str:
    """SQL appending the stale days of `marked` (rows of tenant_id and moments[])."""
    return MARK.format(marked=marked)


def differs(columns: tuple[str, ...]) -> str:
    old = ", ".join(f"OLD.{c}" for c in columns)
    new = ", ".join(f"NEW.{c}" for c in columns)
    return f"ROW({old}) IS DISTINCT FROM ROW({new})"


def watch(table: str, name: str, moments: str, counted: tuple[str, ...], also: str = "") -> str:
    """Triggers marking the days (`moments`) of `table`'s rows inserted, deleted, or
    updated in a `counted` column (before and after), plus on update the `also` SQL
    array's moments."""
    function = f"feedback_rollups_stale_{name}"
    added = f"SELECT tenant_id, {moments.format('r')} AS moments FROM new_rows r"
    removed = f"SELECT tenant_id, {moments.format('r')} AS moments FROM old_rows r"
    before_and_after = f"{moments.format('OLD')} || {moments.format('NEW')}"
    changed = f"SELECT NEW.tenant_id, {before_and_after}{f' || {also}' if also else ''} AS moments"
    return f"""
CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN {mark(added)}
    ELSE {mark(removed)}
    END IF;
    RETURN NULL;
END
$$;
CREATE FUNCTION {function}_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {mark(changed)}
    RETURN NULL;
END
$$;
CREATE TRIGGER {function}_insert AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER {function}_delete AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER {function}_update AFTER UPDATE ON {table}
    FOR EACH ROW WHEN ({differs(counted)})
    EXECUTE FUNCTION {function}_change();
"""


def unwatch(table: str, name: str) -> str:
    function = f"feedback_rollups_stale_{name}"
    triggers = "".join(
        f"DROP TRIGGER IF EXISTS {function}_{event} ON {table};\n"
        for event in ("insert", "delete", "update")
    )
    return triggers + f"DROP FUNCTION IF EXISTS {function}();\n" + (
        f"DROP FUNCTION IF EXISTS {function}_change();\n"
    )


TICKETS = watch(
    "tickets_ticket",
    "tickets",
    TICKET_MOMENTS,
    TICKET_COUNTED,
    also=f"CASE WHEN {differs(TICKET_DIMENSIONS)} THEN "
    f"{DAYS_OF_ITS_OUTCOMES_AND_RATINGS.format('NEW')} END",
)
OUTCOMES = watch(
    "sla_slaoutcome", "outcomes", "ARRAY[{0}.due_at]", ("due_at", "metric", "result", "ticket_id")
)
SURVEYS = watch(
    "feedback_csatsurvey",
    "surveys",
    "ARRAY[{0}.rated_at]",
    ("rated_at", "rating", "agent_id", "ticket_id"),
)

# An organization moving to another plan moves its tickets' figures between plans.
ITS_TICKETS_DAYS = f"""
    SELECT t.tenant_id,
           {TICKET_MOMENTS.format("t")} || {DAYS_OF_ITS_OUTCOMES_AND_RATINGS.format("t")} AS moments
    FROM tickets_ticket t WHERE t.organization_id = NEW.id AND t.tenant_id = NEW.tenant_id
"""
ORGANIZATIONS = f"""
CREATE FUNCTION feedback_rollups_stale_plan() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {mark(ITS_TICKETS_DAYS)}
    RETURN NULL;
END
$$;
CREATE TRIGGER feedback_rollups_stale_plan AFTER UPDATE ON plans_organization
    FOR EACH ROW WHEN (OLD.plan_id IS DISTINCT FROM NEW.plan_id)
    EXECUTE FUNCTION feedback_rollups_stale_plan();
"""

# A new desk has no rollups yet, and another time zone moves every day's edges: the
# whole desk (a NULL day) is stale, and its dashboards count tickets until rebuilt.
DESKS = """
CREATE FUNCTION feedback_rollups_stale_desk() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO feedback_rollupstale (tenant_id, day) VALUES (NEW.id, NULL);
    RETURN NULL;
END
$$;
CREATE TRIGGER feedback_rollups_stale_new_desk AFTER INSERT ON helpdesk_tenant
    FOR EACH ROW EXECUTE FUNCTION feedback_rollups_stale_desk();
CREATE TRIGGER feedback_rollups_stale_time_zone AFTER UPDATE ON helpdesk_tenant
    FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone)
    EXECUTE FUNCTION feedback_rollups_stale_desk();
"""

DROP = (
    """
DROP TRIGGER IF EXISTS feedback_rollups_stale_new_desk ON helpdesk_tenant;
DROP TRIGGER IF EXISTS feedback_rollups_stale_time_zone ON helpdesk_tenant;
DROP TRIGGER IF EXISTS feedback_rollups_stale_plan ON plans_organization;
DROP FUNCTION IF EXISTS feedback_rollups_stale_desk();
DROP FUNCTION IF EXISTS feedback_rollups_stale_plan();
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
