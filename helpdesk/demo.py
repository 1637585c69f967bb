"""The demo desk's people (`manage.py seed_demo`): its staff, the platform operator, and
the helper every app's demo uses to make a person who can sign in at once."""

from allauth.account.models import EmailAddress

from helpdesk.models import Membership, Role, Tenant, User
from helpdesk.services import membership_create

DEMO_PASSWORD = "helpdesk-demo"

STAFF = [
    ("admin@acme.example", "Ada Admin", Role.ADMIN),
    ("mei@acme.example", "Mei Chen", Role.AGENT),
    ("sam@acme.example", "Sam Patel", Role.AGENT),
    ("lena@acme.example", "Lena Novak", Role.AGENT),
]

OPERATOR = ("operator@platform.example", "Platform Operator")


def demo_person(email: str, full_name: str, tenant: Tenant | None, **extra) -> User:
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


def seed_staff(tenant: Tenant) -> list[User]:
    """The desk's admin and agents, members once however often this runs."""
    staff = []
    for email, name, role in STAFF:
        user = demo_person(email, name, tenant)
        if not Membership.objects.filter(user=user).exists():
            membership_create(tenant=tenant, user=user, role=role)
        staff.append(user)
    return staff
