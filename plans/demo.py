"""Demo organizations on the three plans, and their customers (`manage.py seed_demo`)."""

from datetime import date, timedelta
from decimal import Decimal

from helpdesk.demo import STAFF, demo_person
from helpdesk.models import Membership, Tenant, User
from helpdesk.services import membership_create
from plans.models import Organization, Plan
from plans.services import organization_create

# Customers who manage their organization's requests in the help center.
ORGANIZATION_MANAGERS = {"grace@globex.example", "olivia@orbit.example"}

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


def seed_organizations(tenant: Tenant) -> None:
    agents = [User.objects.get(email=email, tenant=tenant) for email, _name, _role in STAFF]
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
            user = demo_person(email, full_name, tenant)
            if not Membership.objects.filter(user=user).exists():
                membership = membership_create(tenant=tenant, user=user, organization=organization)
                membership.is_org_manager = email in ORGANIZATION_MANAGERS
                membership.save(update_fields=["is_org_manager"])


def customer_logins() -> list[str]:
    lines = []
    for org, rank, _domain, _arr, customers in ORGANIZATIONS:
        plan = ("Free", "Pro", "Pro+")[rank]
        for email, _full_name in customers:
            manager = ", organization manager" if email in ORGANIZATION_MANAGERS else ""
            lines.append(f"customer  {email:<28} {org} ({plan}{manager})")
    return lines
