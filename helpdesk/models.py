"""The tenancy core: tenants, their domains, users and memberships.

A `Tenant` is one SaaS company running its support desk here. Everything a
tenant owns derives from `TenantOwned`, whose default manager is a django-scopes
`ScopedManager`: a query on it outside `tenant_scope(...)` raises instead of
silently reading every tenant's rows.
"""

import hashlib
import secrets
import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

TIME_ZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]

slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$",
    _("Use lowercase letters, digits and hyphens; it becomes part of a host name."),
)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class Tenant(models.Model):
    class SignupPolicy(models.TextChoices):
        OPEN = "open", _("Anyone can sign up as a customer")
        KNOWN_DOMAINS = "known_domains", _("Only emails of a known organization's domain")
        INVITE_ONLY = "invite_only", _("Invitation only (admins add customers)")

    # Host names that can never be tenants: they would shadow platform hosts.
    RESERVED_SLUGS = frozenset({"www", "admin", "api", "static", "media", "mail", "app"})

    slug = models.SlugField(_("slug"), max_length=63, unique=True, validators=[slug_validator])
    name = models.CharField(_("name"), max_length=200)
    time_zone = models.CharField(
        _("time zone"), max_length=64, choices=TIME_ZONE_CHOICES, default="UTC"
    )
    default_language = models.CharField(
        _("default language"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    signup_policy = models.CharField(
        _("sign-up policy"), max_length=20, choices=SignupPolicy.choices, default=SignupPolicy.OPEN
    )
    is_active = models.BooleanField(_("active"), default=True)
    # Enforced by helpdesk.second_factor for every page, the admin and the API (docs/sign-in.md).
    require_staff_mfa = models.BooleanField(
        _("require two-factor sign-in for agents and admins"),
        default=False,
        help_text=_(
            "Agents and admins without an authenticator app or a security key are sent to "
            "set one up before they can use anything else, and must pass it each time they "
            "sign in; their API tokens are refused until they have one. Customers may use "
            "two-factor sign-in but are never required to."
        ),
    )
    # Enforced by tickets.selectors.tickets_visible_to_agent: pages, the API and search.
    agents_see_own_groups_only = models.BooleanField(
        _("agents see only their groups' tickets"),
        default=False,
        help_text=_(
            "Agents see and work only the tickets of the groups they belong to, and those "
            "assigned to them: in the queue, search, ticket pages and the API. Admins see "
            "every ticket."
        ),
    )
    # Authenticates the mail gateway that posts inbound email for this tenant.
    inbound_email_secret = models.CharField(
        _("inbound email secret"), max_length=64, default=new_secret, editable=False
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class TenantSettings(Tenant):
    """The tenant as its own admins see it in admin: the desk's name, time zone,
    default language, sign-up policy and whether its staff must use two-factor sign-in
    (the slug and activation are the platform's)."""

    class Meta:
        proxy = True
        verbose_name = _("desk settings")
        verbose_name_plural = _("desk settings")


class TenantDomain(models.Model):
    """A custom domain (support.example.com) that serves a tenant's help center.

    Owned by the platform rather than the tenant: the middleware looks it up
    before any tenant is known, and only platform operators map domains.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(_("domain"), max_length=253)

    class Meta:
        verbose_name = _("custom domain")
        verbose_name_plural = _("custom domains")
        constraints = [
            models.UniqueConstraint(
                Lower("domain"),
                name="tenantdomain_domain_unique_ci",
                violation_error_message=_("This domain is already mapped to a tenant."),
            ),
        ]

    def __str__(self) -> str:
        return self.domain

    def save(self, *args, **kwargs):
        self.domain = self.domain.strip().lower().rstrip(".")
        super().save(*args, **kwargs)


class TenantOwned(models.Model):
    """Base of every model whose rows belong to one tenant.

    Subclasses lead their composite indexes and unique constraints with
    `tenant`, so the schema can be sharded by tenant later without redesign.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", editable=False)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        abstract = True

    def validate_constraints(self, exclude=None):
        # The tenant is never a form field, yet it leads every unique constraint:
        # without this, forms would skip those checks and the database would
        # answer a duplicate with an IntegrityError (a 500) instead of a form error.
        if exclude and self.tenant_id:
            exclude = set(exclude) - {"tenant"}
        super().validate_constraints(exclude=exclude)


class UserManager(BaseUserManager):
    """People, seen from where the code runs: inside a desk's scope (a request on the
    desk's host, its tasks and commands), only that desk's people exist; elsewhere (the
    platform host, migrations, `scopes_disabled()`), everyone.

    Every lookup of a person by email, id or natural key therefore stays within the
    desk without being asked to: a person of one desk cannot be found, logged in,
    reset, invited or named from another (docs/people.md).
    """

    use_in_migrations = True

    def get_queryset(self):
        from helpdesk.tenancy import current_tenant

        queryset = super().get_queryset()
        tenant = current_tenant()
        return queryset if tenant is None else queryset.filter(tenant=tenant)

    def _create(self, email: str, password: str | None, **fields):
        from helpdesk.tenancy import current_tenant

        if not email:
            raise ValueError("An email address is required.")
        fields.setdefault("tenant", current_tenant())
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields):
        """A person of `tenant` (by default the desk in scope; None: a platform account)."""
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields):
        """A platform operator: no desk.

        Operators sign in through allauth, whose mandatory email verification would first
        mail them a link; whoever runs `createsuperuser` runs the server and vouches for
        the address, so it is recorded as verified."""
        from allauth.account.models import EmailAddress

        fields.update(is_staff=True, is_superuser=True, tenant=None)
        user = self._create(email, password, **fields)
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        return user

    def get_by_natural_key(self, email: str):
        from helpdesk.tenancy import current_tenant

        return self.get(email__iexact=email, tenant=current_tenant())


class User(AbstractBaseUser, PermissionsMixin):
    """A person of one desk, logged in by email on that desk's host.

    Each desk has its own people: the same email at two desks is two accounts, with
    their own passwords, names and languages, as the best-known hosted helpdesks do.
    Platform operators have no desk (`tenant` is None) and sign in on the platform
    host only. What a person may do in their desk comes from their `Membership`;
    `is_staff` / `is_superuser` are for platform operators.
    """

    tenant = models.ForeignKey(
        Tenant,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("desk"),
    )
    email = models.EmailField(_("email address"), max_length=254)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=10, choices=settings.LANGUAGES, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(
        _("platform operator"),
        default=False,
        help_text=_("Platform operators manage tenants; tenant staff get a membership instead."),
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            # One account per email and desk; platform operators (no desk) among themselves.
            models.UniqueConstraint(
                Lower("email"),
                "tenant",
                name="user_email_unique_per_desk",
                nulls_distinct=False,
                violation_error_message=_("A user with this email address already exists."),
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def first_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else ""

    @property
    def display_name(self) -> str:
        return self.full_name or self.email


class Role(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")
    ADMIN = "admin", _("Admin")


# Each role can do everything the roles before it can.
ROLE_RANK = {Role.CUSTOMER: 0, Role.AGENT: 1, Role.ADMIN: 2}


class Membership(TenantOwned):
    """What a user is in one tenant: a customer (of an organization), an agent, or an admin."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.CUSTOMER)
    organization = models.ForeignKey(
        "plans.Organization",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="memberships",
        verbose_name=_("organization"),
    )
    is_org_manager = models.BooleanField(
        _("organization manager"),
        default=False,
        help_text=_("Customers who manage their organization see all of its tickets."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "user"],
                name="membership_tenant_user_unique",
                violation_error_message=_("This person is already a member."),
            ),
            models.CheckConstraint(
                condition=models.Q(role=Role.CUSTOMER) | models.Q(organization__isnull=True),
                name="membership_only_customers_have_organization",
                violation_error_message=_("Only customers belong to an organization."),
            ),
        ]
        indexes = [models.Index(fields=["tenant", "role"], name="membership_tenant_role")]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"

    def has_role(self, role: str) -> bool:
        return self.is_active and ROLE_RANK[self.role] >= ROLE_RANK[role]

    @property
    def is_staff_member(self) -> bool:
        """Agents and admins: the tenant's own people, as opposed to its customers."""
        return self.has_role(Role.AGENT)


class OutboundEmail(TenantOwned):
    """An email waiting for, or past, delivery by a Celery worker (the email outbox).

    The message is rendered and stored in the transaction of the write that caused
    it; the broker only wakes a worker, and the sweep (helpdesk.outbox) delivers what
    a lost wake-up or a failed attempt left. The row is the guard that makes
    delivery happen at most once (see `helpdesk.services.email_deliver`).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        # A worker died while handing it to the mail server: it may or may not have
        # left, and it is never sent twice on a guess (an admin may send it again).
        UNKNOWN = "unknown", _("Unknown: check with the recipient")

    to = models.JSONField(_("to"))
    from_email = models.CharField(_("from"), max_length=320)
    subject = models.CharField(_("subject"), max_length=998)
    body_text = models.TextField(_("text body"))
    body_html = models.TextField(_("HTML body"), blank=True)
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    # Identifies the email of one event for one recipient, so a retried task that
    # queues it again finds it instead of sending it twice ("" when not needed).
    dedupe_key = models.CharField(max_length=200, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    # When the sweep delivers a queued email that nothing delivered before: soon after
    # it is stored (its wake-up was lost), or after the back-off of a failed attempt.
    retry_at = models.DateTimeField(_("next attempt"), default=timezone.now, editable=False)
    # When a worker last claimed it; a claim far older than any task may run means
    # the worker died mid-send (Status.UNKNOWN).
    claimed_at = models.DateTimeField(_("handed to the mail server"), null=True, editable=False)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbound email")
        verbose_name_plural = _("outbound emails")
        indexes = [
            models.Index(
                fields=["tenant", "status", "created_at"], name="outboundemail_tenant_status"
            ),
            # The sweep looks across tenants at the few queued rows, and the few sending.
            models.Index(
                fields=["retry_at"],
                condition=models.Q(status="queued"),
                name="outboundemail_queued_retry",
            ),
            models.Index(
                fields=["claimed_at"],
                condition=models.Q(status="sending"),
                name="outboundemail_sending",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "dedupe_key"],
                condition=~models.Q(dedupe_key=""),
                name="outboundemail_tenant_dedupe_key",
            )
        ]

    def __str__(self) -> str:
        return self.subject


class OutboxJob(TenantOwned):
    """Work a write leaves for a worker, stored in the write's own transaction.

    The transactional outbox for side effects that are not yet an email: a ticket
    event whose emails a worker renders, later webhooks. The broker carries only a
    wake-up naming the row; a worker runs the handler and deletes the row in one
    transaction, so what the handler writes is written once; the sweep runs jobs
    whose wake-up was lost, and retries failed ones with back-off. See helpdesk/outbox.py.
    """

    handler = models.CharField(_("handler"), max_length=200)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    # When the sweep runs the job if nothing ran it before (see OutboundEmail.retry_at).
    retry_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    # Set after the last attempt failed: the job waits for an admin's retry.
    failed_at = models.DateTimeField(_("failed"), null=True, blank=True)

    class Meta:
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        indexes = [
            models.Index(
                fields=["retry_at"], condition=models.Q(failed_at=None), name="outboxjob_due"
            ),
        ]

    def __str__(self) -> str:
        return self.handler.rsplit(".", 1)[-1]


class ApiToken(TenantOwned):
    """A personal API token: `Authorization: Token <key>` acts as its user in its tenant.

    Only a SHA-256 digest of the key is stored; the key is shown once, when created.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=8, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [
            models.UniqueConstraint(fields=["digest"], name="apitoken_digest_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "user"], name="apitoken_tenant_user")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def digest_of(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
