"""Load the demo tenant: `manage.py seed_demo` (safe to run again).

The desk and its staff are the core's; every app adds its part through
`AppConfig.demo_data` (helpdesk/contributions.py), in INSTALLED_APPS order:
organizations and customers, tickets, articles, feedback, health, calls.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from helpdesk import contributions
from helpdesk.demo import DEMO_PASSWORD, OPERATOR, STAFF, demo_person, seed_staff
from helpdesk.models import Tenant
from helpdesk.services import tenant_create
from helpdesk.tenancy import tenant_scope, tenant_url


class Command(BaseCommand):
    help = "Create (or complete) the demo tenant 'acme' with plans, organizations and people."

    def add_arguments(self, parser):
        parser.add_argument("--port", default="8000", help="Port shown in the printed URLs.")

    @transaction.atomic
    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug="acme").first() or tenant_create(
            slug="acme", name="Acme Analytics", time_zone="Asia/Shanghai", default_language="en"
        )
        demo_person(*OPERATOR, None, is_staff=True, is_superuser=True)
        with tenant_scope(tenant):
            seed_staff(tenant)
            contributions.demo_data(tenant)
        self._print_summary(tenant, options["port"])

    def _print_summary(self, tenant: Tenant, port: str) -> None:
        write = self.stdout.write
        write(self.style.SUCCESS(f"Demo tenant '{tenant.slug}' ({tenant.name}) is ready."))
        write(f"  Help center  {tenant_url(tenant, '/', port=port)}")
        write(f"  Tenant admin {tenant_url(tenant, '/admin/', port=port)}")
        write(f"  Platform     http://localhost:{port}/admin/  ({OPERATOR[0]})")
        write(f"  Password for every demo login: {DEMO_PASSWORD}")
        for email, _name, role in STAFF:
            write(f"    {role:<9} {email}")
        for line in contributions.demo_logins():
            write(f"    {line}")
