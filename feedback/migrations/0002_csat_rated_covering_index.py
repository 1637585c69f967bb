# Ratings counted by the insights dashboards (feedback/dashboard/surveys.py) by time,
# with the rating, the agent and the ticket in the index, so PostgreSQL can answer
# from the index alone. Built concurrently (no write lock on the surveys); the old
# index goes once its successor exists.

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("feedback", "0001_initial"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="csatsurvey",
            index=models.Index(
                condition=models.Q(rating__isnull=False),
                fields=["tenant", "rated_at"],
                include=("rating", "agent", "ticket"),
                name="csatsurvey_rated_incl",
            ),
        ),
        RemoveIndexConcurrently(model_name="csatsurvey", name="csatsurvey_rated"),
    ]
