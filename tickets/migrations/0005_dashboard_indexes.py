# The insights dashboards' range scans (feedback/dashboard/tickets.py): tickets
# created, first answered and solved in a date range, with what they are grouped
# and filtered by, so PostgreSQL can answer from the index alone. Built concurrently
# (no write lock on tickets); each replaced index goes only once its successor exists.

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models

DASHBOARD_COLUMNS = ("category", "priority", "organization", "assignee")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tickets", "0004_ticket_business_durations"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="ticket",
            index=models.Index(
                fields=["tenant", "-solved_at"],
                include=(*DASHBOARD_COLUMNS, "resolution_seconds"),
                name="ticket_solved_incl",
            ),
        ),
        RemoveIndexConcurrently(model_name="ticket", name="ticket_solved"),
        AddIndexConcurrently(
            model_name="ticket",
            index=models.Index(
                fields=["tenant", "created_at"],
                include=(*DASHBOARD_COLUMNS, "channel"),
                name="ticket_created_incl",
            ),
        ),
        RemoveIndexConcurrently(model_name="ticket", name="ticket_created"),
        AddIndexConcurrently(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(first_agent_reply_at__isnull=False),
                fields=["tenant", "first_agent_reply_at"],
                include=(*DASHBOARD_COLUMNS, "first_response_seconds"),
                name="ticket_first_response",
            ),
        ),
    ]
