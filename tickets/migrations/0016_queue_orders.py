# The queue's other orders (priority, oldest/newest, last updated; SLA and priority over
# all tickets): an index for each, so every view's first page is read in order and
# stops, at any size of desk (tickets/models.py says which serves what). Built
# concurrently (no write lock on tickets).

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

UNSOLVED = models.Q(("status__in", ("new", "open", "pending", "on_hold")))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tickets", "0015_rule_attribution_db_default"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="ticket",
            index=models.Index(
                condition=UNSOLVED,
                fields=["tenant", "priority", "created_at", "id"],
                name="ticket_priority_queue",
            ),
        ),
        AddIndexConcurrently(
            model_name="ticket",
            index=models.Index(
                condition=UNSOLVED, fields=["tenant", "created_at", "id"], name="ticket_created_queue"
            ),
        ),
        AddIndexConcurrently(
            model_name="ticket",
            index=models.Index(
                condition=UNSOLVED,
                fields=["tenant", "-updated_at", "-id"],
                include=("assignee", "group"),
                name="ticket_updated_queue",
            ),
        ),
        AddIndexConcurrently(
            model_name="ticket",
            index=models.Index(
                fields=["tenant", "sla_due_at", "priority", "created_at", "id"],
                name="ticket_sla_all",
            ),
        ),
        AddIndexConcurrently(
            model_name="ticket",
            index=models.Index(
                fields=["tenant", "priority", "created_at", "id"], name="ticket_priority_all"
            ),
        ),
    ]
