"""People belong to one desk (see helpdesk/people_split.py and docs/people.md)."""

import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models

from helpdesk.people_split import split_people_by_desk


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("account", "0009_emailaddress_unique_primary_email"),
        ("helpdesk", "0005_outbox_and_cache_fallback"),
        # Every app whose rows name people, so the copies take over their desk's rows.
        ("tickets", "0006_email_threads_and_suspended_mail"),
        ("feedback", "0002_csat_rated_covering_index"),
        ("success", "0003_task_events"),
        ("knowledge", "0002_article_view_day"),
        ("sla", "0004_dashboard_indexes"),
        ("plans", "0003_organization_churned_on"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="user", name="user_email_unique_ci"),
        migrations.AddField(
            model_name="user",
            name="tenant",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="helpdesk.tenant",
                verbose_name="desk",
            ),
        ),
        migrations.RunPython(split_people_by_desk, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("email"),
                models.F("tenant"),
                name="user_email_unique_per_desk",
                nulls_distinct=False,
                violation_error_message="A user with this email address already exists.",
            ),
        ),
        # allauth keeps verified addresses unique across every account (a partial
        # unique index); the same address is now verified at each desk it joined.
        migrations.RunSQL("DROP INDEX IF EXISTS unique_verified_email", migrations.RunSQL.noop),
    ]
