# SLA outcomes counted by due time, metric and result from the index alone (the SLA
# report and the insights dashboards). Built concurrently; the old index goes after.

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("sla", "0003_sla_notice"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="slaoutcome",
            index=models.Index(
                fields=["tenant", "due_at"], include=("metric", "result"), name="slaoutcome_due_incl"
            ),
        ),
        RemoveIndexConcurrently(model_name="slaoutcome", name="slaoutcome_due"),
    ]
