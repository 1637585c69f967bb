"""Load the demo tenant: `manage.py seed_demo` (safe to run again)."""

from datetime import date, timedelta
from decimal import Decimal

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction

from feedback.demo import seed_feedback
from helpdesk.models import Membership, Role, Tenant, User
from helpdesk.services import membership_create, tenant_create
from helpdesk.tenancy import tenant_scope, tenant_url
from knowledge.demo import load_articles
from phone.demo import seed_phone
from plans.models import Organization, Plan
from plans.services import organization_create
from success.demo import seed_health, seed_touchpoints
from tickets.demo import seed_macros, seed_tickets

# Customers who manage their organization's requests in the help center.
ORGANIZATION_MANAGERS = {"grace@globex.example", "olivia@orbit.example"}

DEMO_PASSWORD = "helpdesk-demo"

STAFF = [
    ("admin@acme.example", "Ada Admin", Role.ADMIN),
    ("mei@acme.example", "Mei Chen", Role.AGENT),
    ("sam@acme.example", "Sam Patel", Role.AGENT),
    ("lena@acme.example", "Lena Novak", Role.AGENT),
]

# (name, plan rank, email domain, ARR, customers)
ORGANIZATIONS = [
    (
        "Brightside Bakery",
        0,
        "brightside.example",
        "0",
        [("bella@brightside.example", "Bella Rossi")],
    ),
    ("Nimbus Notes", 0, "nimbus.example", "0", [("noah@nimbus.example", "Noah Kim")]),
    (
        "Orbit Logistics",
        1,
        "orbit.example",
        "18000",
        [("olivia@orbit.example", "Olivia Brown"), ("omar@orbit.example", "Omar Haddad")],
    ),
    ("Lumen Health", 1, "lumen.example", "42000", [("liu@lumen.example", "Liu Yang")]),
    (
        "Globex Corporation",
        2,
        "globex.example",
        "240000",
        [("grace@globex.example", "Grace Hopper"), ("george@globex.example", "George Li")],
    ),
    ("Initech", 2, "initech.example", "120000", [("ivy@initech.example", "Ivy Wong")]),
]

OPERATOR = ("operator@platform.example", "Platform Operator")


def _user(email: str, full_name: str, tenant: Tenant | None, **extra) -> User:
    """The demo person of `tenant` (None: a platform operator) with this email."""
    user = User.objects.filter(email__iexact=email, tenant=tenant).first()
    if user is None:
        user = User.objects.create_user(
            email=email, password=DEMO_PASSWORD, full_name=full_name, tenant=tenant, **extra
        )
    EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


class Command(BaseCommand):
    help = "Create (or complete) the demo tenant 'acme' with plans, organizations and people."

    def add_arguments(self, parser):
        parser.add_argument("--port", default="8000", help="Port shown in the printed URLs.")

    @transaction.atomic
    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug="acme").first() or tenant_create(
            slug="acme", name="Acme Analytics", time_zone="Asia/Shanghai", default_language="en"
        )
        _user(*OPERATOR, None, is_staff=True, is_superuser=True)
        with tenant_scope(tenant):
            self._seed_tenant(tenant)
            seed_macros(tenant)
            seed_tickets(tenant)
            seed_feedback(tenant)
            load_articles(tenant, demo_only=True)
            seed_health(tenant)
            seed_touchpoints(tenant)
            seed_phone(tenant)
        self._print_summary(tenant, options["port"])

    def _seed_tenant(self, tenant: Tenant) -> None:
        agents = []
        for email, name, role in STAFF:
            user = _user(email, name, tenant)
            if not Membership.objects.filter(user=user).exists():
                membership_create(tenant=tenant, user=user, role=role)
            agents.append(user)
        plans = {plan.rank: plan for plan in Plan.objects.all()}
        today = date.today()
        for index, (name, rank, domain, arr, customers) in enumerate(ORGANIZATIONS):
            organization = Organization.objects.filter(name=name).first()
            if organization is None:
                start = today - timedelta(days=60 + 45 * index)
                organization = organization_create(
                    tenant=tenant,
                    name=name,
                    plan=plans[rank],
                    email_domains=[domain],
                    arr=Decimal(arr),
                    contract_start=start,
                    renewal_date=start + timedelta(days=365),
                    success_manager=agents[1 + index % 3] if rank else None,
                )
            for email, full_name in customers:
                user = _user(email, full_name, tenant)
                if not Membership.objects.filter(user=user).exists():
                    membership = membership_create(
                        tenant=tenant, user=user, organization=organization
                    )
                    membership.is_org_manager = email in ORGANIZATION_MANAGERS
                    membership.save(update_fields=["is_org_manager"])

    def _print_summary(self, tenant: Tenant, port: str) -> None:
        write = self.stdout.write
        write(self.style.SUCCESS(f"Demo tenant '{tenant.slug}' ({tenant.name}) is ready."))
        write(f"  Help center  {tenant_url(tenant, '/', port=port)}")
        write(f"  Tenant admin {tenant_url(tenant, '/admin/', port=port)}")
        write(f"  Platform     http://localhost:{port}/admin/  ({OPERATOR[0]})")
        write(f"  Password for every demo login: {DEMO_PASSWORD}")
        for email, _name, role in STAFF:
            write(f"    {role:<9} {email}")
        for org, rank, _domain, _arr, customers in ORGANIZATIONS:
            plan = ("Free", "Pro", "Pro+")[rank]
            for email, _full_name in customers:
                manager = ", organization manager" if email in ORGANIZATION_MANAGERS else ""
                write(f"    customer  {email:<28} {org} ({plan}{manager})")
