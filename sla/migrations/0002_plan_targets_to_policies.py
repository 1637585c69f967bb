"""Each plan's response targets become its SLA policy, and every desk gets
its calendars: office hours (the default) and a 24x7 one for the top plan."""

from datetime import time

from django.db import migrations

AROUND_THE_CLOCK_RANK = 2


def forwards(apps, schema_editor):
    Tenant = apps.get_model("helpdesk", "Tenant")
    Plan = apps.get_model("plans", "Plan")
    BusinessCalendar = apps.get_model("sla", "BusinessCalendar")
    WorkingHours = apps.get_model("sla", "WorkingHours")
    SLAPolicy = apps.get_model("sla", "SLAPolicy")
    for tenant in Tenant.objects.all():
        office, created = BusinessCalendar.objects.get_or_create(
            tenant=tenant,
            name="Office hours",
            defaults={"time_zone": tenant.time_zone, "is_default": True},
        )
        if created:
            WorkingHours.objects.bulk_create(
                WorkingHours(tenant=tenant, calendar=office, weekday=day, start=time(9), end=time(18))
                for day in range(5)
            )
        around, _ = BusinessCalendar.objects.get_or_create(
            tenant=tenant,
            name="Around the clock",
            defaults={"time_zone": tenant.time_zone, "always_open": True},
        )
        for plan in Plan.objects.filter(tenant=tenant):
            SLAPolicy.objects.get_or_create(
                tenant=tenant,
                plan=plan,
                priority=None,
                defaults={
                    "first_response_minutes": plan.first_response_minutes,
                    "next_response_minutes": plan.next_response_minutes,
                    "resolution_minutes": plan.resolution_minutes,
                    "calendar": around if plan.rank == AROUND_THE_CLOCK_RANK else None,
                },
            )


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk", "0003_outbound_email_dedupe_key"),
        ("plans", "0001_initial"),
        ("sla", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
