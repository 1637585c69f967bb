from allauth.account.models import EmailAddress

from helpdesk.models import Role, Tenant, User
from helpdesk.services import membership_create, tenant_create
from helpdesk.tenancy import tenant_scope

PASSWORD = "correct horse battery staple"


def make_tenant(slug: str = "acme", name: str = "Acme Analytics", **fields) -> Tenant:
    return tenant_create(slug=slug, name=name, **fields)


def make_user(
    email: str,
    *,
    tenant: Tenant | None = None,
    full_name: str = "",
    password: str = PASSWORD,
    **fields,
) -> User:
    """A person of `tenant` (None: a platform account), with a verified address."""
    user = User.objects.create_user(
        email=email, password=password, full_name=full_name, tenant=tenant, **fields
    )
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def make_member(
    tenant: Tenant, email: str, role: str = Role.CUSTOMER, *, organization=None, full_name: str = ""
) -> User:
    """The desk's person with this email (made if new), as a member with `role`."""
    with tenant_scope(tenant):
        user = User.objects.filter(email__iexact=email).first() or make_user(
            email, tenant=tenant, full_name=full_name
        )
        membership_create(tenant=tenant, user=user, role=role, organization=organization)
    return user
