"""`manage.py compute_health --tenant acme [--day 2026-11-20 | --days 90]`: score on demand."""

from datetime import date, timedelta

from django.core.management.base import CommandError
from django.utils import timezone

from helpdesk.tenancy import TenantCommand
from success.services import health_compute_range


class Command(TenantCommand):
    all_tenants_by_default = True
    help = (
        "Compute organizations' health scores: today's (provisional) by default, one past "
        "day with --day, or the last N days up to today with --days (a backfill)."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--day", type=date.fromisoformat, help="A day, YYYY-MM-DD.")
        parser.add_argument("--days", type=int, default=1, help="This many days up to --day.")

    def handle_tenant(self, tenant, *args, **options):
        today = timezone.localtime(timezone.now(), tenant.tzinfo).date()
        last = options["day"] or today
        if last > today:
            raise CommandError("That day has not begun yet.")
        if options["days"] < 1:
            raise CommandError("--days must be at least 1.")
        first = last - timedelta(days=options["days"] - 1)
        for run in health_compute_range(tenant=tenant, first=first, last=last):
            bands = ", ".join(f"{band} {count}" for band, count in sorted(run.bands.items()))
            self.stdout.write(f"{tenant.slug} {run.day}: {run.scored} scored ({bands or '-'})")
