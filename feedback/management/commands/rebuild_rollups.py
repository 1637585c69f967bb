"""Rebuild the insights dashboards' rollups from the tickets: `manage.py rebuild_rollups`.

The worker keeps them current by itself (feedback/rollups.py); this recomputes a desk
from scratch (`--desk SLUG`, or every desk), for instance after restoring a backup
made without the triggers' tables or after loading tickets with triggers disabled.
"""

from django.core.management.base import BaseCommand, CommandError

from feedback import rollups
from helpdesk.models import Tenant
from helpdesk.tenancy import tenant_scope


class Command(BaseCommand):
    help = "Rebuild the insights dashboards' rollups of one desk (--desk) or every desk."

    def add_arguments(self, parser):
        parser.add_argument("--desk", help="the desk's slug; every desk without it")

    def handle(self, *args, desk=None, **options):
        desks = Tenant.objects.order_by("pk")
        if desk:
            desks = desks.filter(slug=desk)
            if not desks.exists():
                raise CommandError(f"No desk is called {desk}.")
        for tenant in desks:
            with tenant_scope(tenant):
                written = rollups.rebuild_desk(tenant)
            self.stdout.write(f"{tenant.slug}: {written} rollup rows.")
