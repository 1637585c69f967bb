"""Plans a tenant sells, and the customer organizations on them.

The plan decides the service: response targets (its SLA policies, in sla/), the
channels offered, and what the help center shows. Service follows the plan (seeds/001).
"""

import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.models import TenantOwned

# A number with a unit of hours or minutes (or working days), in English or Chinese:
# "within 24 hours", "2h", "30-minute", "2 小时内", "两个工作日".
_RESPONSE_TIME = re.compile(
    r"(?:\d+(?:[.,]\d+)?|[一二两三四五六七八九十百半]+)\s*-?\s*"
    r"(?:个\s*)?(?:"
    r"(?:business|working|office)\s+(?:hours?|days?)|hours?|hrs?|h\b|minutes?|mins?\b"
    r"|小时|分钟|工作日|个工作日)",
    re.IGNORECASE,
)


def response_time_in(text: str) -> str:
    """The first phrase of `text` that names a duration in hours or minutes, or ''."""
    found = _RESPONSE_TIME.search(text or "")
    return found.group(0).strip() if found else ""


class Plan(TenantOwned):
    name = models.CharField(_("name"), max_length=100)
    rank = models.PositiveSmallIntegerField(
        _("rank"), help_text=_("Higher ranks are higher tiers (Free 0, Pro 1, Pro+ 2).")
    )
    monthly_price = models.DecimalField(
        _("monthly price"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    allows_urgent = models.BooleanField(
        _("urgent priority"),
        default=False,
        help_text=_("Customers on this plan may file tickets as urgent."),
    )
    offers_web = models.BooleanField(_("web form"), default=True)
    offers_email = models.BooleanField(_("email"), default=True)
    offers_chat = models.BooleanField(_("1:1 chat"), default=False)
    offers_phone = models.BooleanField(_("phone"), default=False)
    chat_first_reply_seconds = models.PositiveIntegerField(
        _("chat first reply target (seconds)"),
        default=60,
        help_text=_(
            "A chat should get an agent's first reply this soon after it reaches the queue."
        ),
    )
    phone_number = models.CharField(_("phone number"), max_length=50, blank=True)
    chat_details = models.CharField(
        _("chat details"),
        max_length=200,
        blank=True,
        help_text=_(
            "Anything customers should know about chat besides the live chat in the help "
            "center, e.g. a shared Slack channel."
        ),
    )
    # The response times a plan promises are written from its SLA targets wherever
    # they are shown (sla.display); this text is for what targets cannot say, so it
    # may not name a response time (see `clean`), which would go stale when they change.
    help_center_blurb = models.TextField(
        _("what else the plan gives"),
        blank=True,
        help_text=_(
            "Shown to customers on this plan, and to lower plans as what upgrading gives, "
            "under the response times written from the plan's service levels. Describe "
            "what targets cannot say (a named engineer, onboarding help); leave response "
            "times out."
        ),
    )
    help_center_blurb_zh_hans = models.TextField(
        _("what else the plan gives, in Chinese"),
        blank=True,
        help_text=_("Shown to readers of the help center in Chinese; blank: the text above."),
    )
    upgrade_url = models.URLField(
        _("upgrade page"),
        blank=True,
        max_length=500,
        help_text=_(
            "Where customers on lower plans buy this plan (your billing page). Blank: the "
            'upgrade page of the plan settings, or else an "Ask us about this plan" button '
            "that files a request for you."
        ),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "rank"],
                name="plan_tenant_rank_unique",
                violation_error_message=_("Another plan already has this rank."),
            ),
            models.UniqueConstraint(
                "tenant",
                Lower("name"),
                name="plan_tenant_name_unique_ci",
                violation_error_message=_("Another plan already has this name."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.offers_phone and not self.phone_number.strip():
            errors["phone_number"] = _("A plan that offers phone support needs a phone number.")
        for name in ("help_center_blurb", "help_center_blurb_zh_hans"):
            found = response_time_in(getattr(self, name))
            if found:
                errors[name] = _(
                    "“%(found)s” reads like a response time. The plan's response times are "
                    "shown from its service levels, so they stay true when the targets "
                    "change: leave them out of this text."
                ) % {"found": found}
        if errors:
            raise ValidationError(errors)

    @property
    def blurb(self) -> str:
        """The free text in the reader's language (Chinese when there is a version)."""
        from django.utils.translation import get_language

        if self.help_center_blurb_zh_hans and (get_language() or "").startswith("zh"):
            return self.help_center_blurb_zh_hans
        return self.help_center_blurb

    @property
    def channels(self) -> list[str]:
        flags = {
            "web": self.offers_web,
            "email": self.offers_email,
            "chat": self.offers_chat,
            "phone": self.offers_phone,
        }
        return [name for name, offered in flags.items() if offered]


class Organization(TenantOwned):
    """A customer company of the tenant; its plan decides the service its people get."""

    name = models.CharField(_("name"), max_length=200)
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, related_name="organizations", verbose_name=_("plan")
    )
    arr = models.DecimalField(
        _("ARR"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Annual recurring revenue, in the plan's currency."),
    )
    contract_start = models.DateField(_("contract start"), null=True, blank=True)
    renewal_date = models.DateField(_("renewal date"), null=True, blank=True)
    # Set when a renewal is recorded as churned (success.services.renewal_record): a
    # former customer is no longer scored or given touchpoints. Clear it if they return.
    churned_on = models.DateField(_("churned on"), null=True, blank=True)
    success_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("customer success manager"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "tenant",
                Lower("name"),
                name="organization_tenant_name_unique_ci",
                violation_error_message=_("Another organization already has this name."),
            ),
        ]
        indexes = [models.Index(fields=["tenant", "plan"], name="organization_tenant_plan")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.contract_start and self.renewal_date and self.renewal_date <= self.contract_start:
            raise ValidationError(
                {"renewal_date": _("The renewal date must follow the contract start.")}
            )


class OrganizationDomain(TenantOwned):
    """An email domain whose people join the organization when they sign up."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(_("email domain"), max_length=253, help_text=_("e.g. example.com"))

    class Meta:
        verbose_name = _("email domain")
        verbose_name_plural = _("email domains")
        constraints = [
            # save() lowercases the domain, so this index also serves sign-up lookups.
            models.UniqueConstraint(
                fields=["tenant", "domain"],
                name="organizationdomain_tenant_domain_unique",
                violation_error_message=_("This email domain already belongs to an organization."),
            ),
        ]

    def __str__(self) -> str:
        return self.domain

    def save(self, *args, **kwargs):
        self.domain = self.domain.strip().lower().lstrip("@")
        super().save(*args, **kwargs)


class PlanSettings(TenantOwned):
    """What every plan of a desk shares (one row per desk, created on first use): the
    address customers email for support, and the page where they upgrade."""

    support_email = models.EmailField(
        _("support email address"),
        help_text=_(
            "The address your mail gateway receives for this desk; shown wherever a plan "
            "offers email support."
        ),
    )
    upgrade_url = models.URLField(
        _("upgrade page"),
        blank=True,
        max_length=500,
        help_text=_(
            "Your pricing or billing page, for plans without an upgrade page of their own. "
            'Blank: customers get an "Ask us about this plan" button that files a request.'
        ),
    )

    class Meta:
        verbose_name = _("plan settings")
        verbose_name_plural = _("plan settings")
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="plansettings_one_per_tenant")
        ]

    def __str__(self) -> str:
        return str(_("Plan settings"))
