# A desk's tickets most recently updated first, with their status: a search's best
# match is ranked among the latest matches (tickets/search.py by_relevance), which for
# a common word PostgreSQL now finds by walking this index instead of sorting every
# ticket of the desk. Built concurrently (no write lock on tickets).

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tickets", "0013_ticket_search"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="ticket",
            index=models.Index(
                fields=["tenant", "-updated_at", "-id"], include=("status",), name="ticket_updated"
            ),
        ),
    ]
