# The latest breaches, for the dashboards and the SLA report (sla/reports.py breaches):
# built concurrently, without a write lock on the outcomes.

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("sla", "0008_policies_by_category_and_channel"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="slaoutcome",
            index=models.Index(
                condition=models.Q(("result", "breached")),
                fields=["tenant", "-due_at"],
                name="slaoutcome_breaches",
            ),
        ),
    ]
