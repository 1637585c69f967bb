"""Customer success: what a tenant's product reports about its customers, and the
daily health score of each organization made from it and from the desk's own data.

- `UsageEvent`: a usage or payment signal posted by the tenant's product through
  `/api/v1/success/events/` (idempotent by the tenant's own event id).
- `HealthSettings`: one row per tenant: the band thresholds and, per component, the
  raw values that score 0 and 100. `WeightProfile`: one per lifecycle stage, the
  weight of each component (they add up to 100). Both are created with the
  defaults on first use (success/services.py `health_settings`).
- `HealthScore`: one row per organization and day with the score, its band, the
  stage whose weights were used and every component (raw value, score, weight), so
  a trend and the reason for a drop can be read back.
- `SuccessTask`: a touchpoint for a customer success manager (onboarding, check-ins,
  the renewal conversation, a health drop), created once per trigger by
  success/touchpoints.py; `SuccessNote`: what a CSM wrote down about an organization;
  `Renewal`: the outcome of a renewal (renewed at which ARR and plan, or churned),
  the source of the renewal-rate report.

How components are measured and combined is in success/scoring.py (the arithmetic)
and success/selectors.py `day_figures` (the queries).
"""

import functools
import operator
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from helpdesk.models import TenantOwned


class Component(models.TextChoices):
    USAGE_FREQUENCY = "usage_frequency", _("Usage frequency")
    FEATURE_DEPTH = "feature_depth", _("Feature depth")
    DATA_GROWTH = "data_growth", _("Data growth")
    TICKET_LOAD = "ticket_load", _("Ticket load")
    SLA_BREACHES = "sla_breaches", _("SLA breaches")
    PAYMENT = "payment", _("Payment status")
    NPS = "nps", _("NPS")
    CSAT = "csat", _("CSAT")


class Stage(models.TextChoices):
    ONBOARDING = "onboarding", _("Onboarding")
    STEADY = "steady", _("Steady state")
    RENEWAL = "renewal", _("Before renewal")


class Band(models.TextChoices):
    HEALTHY = "healthy", _("Healthy")
    AT_RISK = "at_risk", _("At risk")
    CRITICAL = "critical", _("Critical")


class PaymentStatus(models.TextChoices):
    CURRENT = "current", _("Current")
    OVERDUE = "overdue", _("Overdue")
    FAILED = "failed", _("Failed")


class Metric(models.TextChoices):
    LOGIN = "login", _("Login")
    FEATURE_USED = "feature_used", _("Feature used")
    RECORDS_CREATED = "records_created", _("Records created")
    INVOICE_PAID = "invoice_paid", _("Invoice paid")
    INVOICE_OVERDUE = "invoice_overdue", _("Invoice overdue")
    PAYMENT_FAILED = "payment_failed", _("Payment failed")


USAGE_METRICS = (Metric.LOGIN, Metric.FEATURE_USED, Metric.RECORDS_CREATED)
# The payment status an organization is in after each payment event.
PAYMENT_METRICS = {
    Metric.INVOICE_PAID: PaymentStatus.CURRENT,
    Metric.INVOICE_OVERDUE: PaymentStatus.OVERDUE,
    Metric.PAYMENT_FAILED: PaymentStatus.FAILED,
}

# Components scored linearly between two thresholds: the raw value that scores 0 and
# the one that scores 100 (either may be the larger: "lower is better" components
# have zero_at > full_at). Payment status maps each status to a score instead.
LINEAR_COMPONENTS = (
    Component.USAGE_FREQUENCY,
    Component.FEATURE_DEPTH,
    Component.DATA_GROWTH,
    Component.TICKET_LOAD,
    Component.SLA_BREACHES,
    Component.NPS,
    Component.CSAT,
)


def _threshold(verbose_name, default, help_text):
    return models.DecimalField(
        verbose_name,
        max_digits=8,
        decimal_places=2,
        default=Decimal(default),
        help_text=help_text,
    )


def _band_threshold(verbose_name, default, help_text):
    return models.PositiveSmallIntegerField(
        verbose_name,
        default=default,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=help_text,
    )


class HealthSettings(TenantOwned):
    """A desk's health-score settings (one row per tenant, created on first use)."""

    healthy_min = _band_threshold(
        _("healthy from"), 75, _("Scores from this value up are healthy.")
    )
    at_risk_min = _band_threshold(
        _("at risk from"),
        60,
        _("Scores from this value up to the healthy threshold are at risk; lower is critical."),
    )

    usage_frequency_zero = _threshold(
        _("usage frequency scoring 0"), "2", _("Days with a login in the last 30 days.")
    )
    usage_frequency_full = _threshold(_("usage frequency scoring 100"), "20", "")
    feature_depth_zero = _threshold(
        _("feature depth scoring 0"), "1", _("Distinct features used in the last 30 days.")
    )
    feature_depth_full = _threshold(_("feature depth scoring 100"), "6", "")
    data_growth_zero = _threshold(
        _("data growth scoring 0"),
        "-50",
        _("Records created in the last 30 days compared with the 30 before, in %."),
    )
    data_growth_full = _threshold(_("data growth scoring 100"), "20", "")
    ticket_load_zero = _threshold(
        _("ticket load scoring 0"),
        "5",
        _(
            "Tickets opened in the last 30 days plus tickets still open, per seat "
            "(active customer member). Lower is better."
        ),
    )
    ticket_load_full = _threshold(_("ticket load scoring 100"), "0.5", "")
    sla_breaches_zero = _threshold(
        _("SLA breaches scoring 0"),
        "30",
        _("Share of SLA clocks due in the last 90 days that were breached, in %. Lower is better."),
    )
    sla_breaches_full = _threshold(_("SLA breaches scoring 100"), "0", "")
    nps_zero = _threshold(
        _("NPS scoring 0"), "-50", _("NPS (−100 to 100) of the answers of the last 180 days.")
    )
    nps_full = _threshold(_("NPS scoring 100"), "50", "")
    csat_zero = _threshold(
        _("CSAT scoring 0"),
        "50",
        _("Share of the last 90 days' ratings that were 4 or 5, in percent."),
    )
    csat_full = _threshold(_("CSAT scoring 100"), "95", "")
    payment_overdue_score = models.PositiveSmallIntegerField(
        _("score when overdue"),
        default=30,
        validators=[MaxValueValidator(100)],
        help_text=_("Payment status scores 100 when current, this when an invoice is overdue…"),
    )
    payment_failed_score = models.PositiveSmallIntegerField(
        _("score when a payment failed"),
        default=0,
        validators=[MaxValueValidator(100)],
        help_text=_("…and this when the latest payment failed."),
    )
    dedicated_csm_min_arr = models.DecimalField(
        _("ARR for a dedicated CSM"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("100000"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_(
            "Organizations with at least this ARR get their tasks assigned to their own "
            "success manager; the tasks of the others go to the shared pool."
        ),
    )
    # The last day the daily run scored (in the desk's time zone); on-demand runs
    # leave it alone, so a day scored early is scored again once it is over.
    daily_through = models.DateField(null=True, blank=True, editable=False)
    # The last scored day whose health drops became tasks (success/touchpoints.py).
    drops_through = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("health settings")
        verbose_name_plural = _("health settings")
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="healthsettings_one_per_tenant"),
            models.CheckConstraint(
                condition=models.Q(at_risk_min__lt=models.F("healthy_min")),
                name="healthsettings_bands_in_order",
                violation_error_message=_(
                    "The at-risk threshold must be lower than the healthy threshold."
                ),
            ),
        ]

    def __str__(self) -> str:
        return str(_("Health settings"))

    def clean(self) -> None:
        errors = {}
        for component in LINEAR_COMPONENTS:
            zero, full = self.thresholds_of(component)
            if zero is not None and zero == full:
                errors[f"{component}_full"] = _("Must differ from the value that scores 0.")
        if errors:
            raise ValidationError(errors)

    def thresholds_of(self, component: str) -> tuple[Decimal, Decimal]:
        return getattr(self, f"{component}_zero"), getattr(self, f"{component}_full")


# Default weights per stage, in Component order; each row adds up to 100. Onboarding
# is about adoption, the months before renewal about money and sentiment.
DEFAULT_WEIGHTS = {
    Stage.ONBOARDING: (25, 25, 15, 10, 5, 5, 5, 10),
    Stage.STEADY: (20, 15, 10, 15, 10, 10, 10, 10),
    Stage.RENEWAL: (15, 10, 5, 10, 10, 20, 20, 10),
}


def _weight(component: Component):
    return models.PositiveSmallIntegerField(
        component.label, default=0, validators=[MaxValueValidator(100)]
    )


class WeightProfile(TenantOwned):
    """How much each component counts for organizations in one lifecycle stage."""

    health_settings = models.ForeignKey(
        HealthSettings, on_delete=models.CASCADE, related_name="profiles"
    )
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices, editable=False)
    usage_frequency = _weight(Component.USAGE_FREQUENCY)
    feature_depth = _weight(Component.FEATURE_DEPTH)
    data_growth = _weight(Component.DATA_GROWTH)
    ticket_load = _weight(Component.TICKET_LOAD)
    sla_breaches = _weight(Component.SLA_BREACHES)
    payment = _weight(Component.PAYMENT)
    nps = _weight(Component.NPS)
    csat = _weight(Component.CSAT)

    class Meta:
        verbose_name = _("weight profile")
        verbose_name_plural = _("weight profiles")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "stage"], name="weightprofile_one_per_stage"),
            models.CheckConstraint(
                condition=Exact(functools.reduce(operator.add, map(F, Component.values)), 100),
                name="weightprofile_weights_add_up_to_100",
                violation_error_message=_("The weights must add up to 100."),
            ),
        ]

    def __str__(self) -> str:
        return str(Stage(self.stage).label)

    @property
    def weights(self) -> dict[str, int]:
        return {component: getattr(self, component) for component in Component.values}

    @property
    def total(self) -> int:
        return sum(self.weights.values())


class UsageEvent(TenantOwned):
    """A usage or payment signal about an organization, reported by the tenant's product."""

    organization = models.ForeignKey(
        "plans.Organization",
        on_delete=models.CASCADE,
        related_name="usage_events",
        verbose_name=_("organization"),
    )
    metric = models.CharField(_("metric"), max_length=20, choices=Metric.choices)
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=2, default=Decimal(1))
    # The feature a `feature_used` event is about ("" for the other metrics).
    feature = models.CharField(_("feature"), max_length=100, blank=True)
    occurred_at = models.DateTimeField(_("occurred"))
    # The sender's own id for the event: a retried post is recognised and not counted twice.
    event_id = models.CharField(_("event id"), max_length=100)
    received_at = models.DateTimeField(_("received"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("usage event")
        verbose_name_plural = _("usage events")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "event_id"], name="usageevent_once"),
            models.CheckConstraint(
                condition=models.Q(value__gte=0), name="usageevent_value_not_negative"
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "organization", "metric", "occurred_at"],
                name="usageevent_org_metric",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} · {self.get_metric_display()}"


class HealthScore(TenantOwned):
    """An organization's health on one day (the desk's time zone): one row per day."""

    organization = models.ForeignKey(
        "plans.Organization",
        on_delete=models.CASCADE,
        related_name="health_scores",
        verbose_name=_("organization"),
    )
    day = models.DateField(_("day"))
    score = models.PositiveSmallIntegerField(_("score"))
    band = models.CharField(_("band"), max_length=10, choices=Band.choices)
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices)
    # {component: {"raw": ..., "score": 0-100 or null when left out, "weight": profile
    # weight, "detail": {...}}}: what the score was made of, for trends and reasons.
    components = models.JSONField(_("components"), default=dict)
    computed_at = models.DateTimeField(_("computed"), default=timezone.now)

    class Meta:
        verbose_name = _("health score")
        verbose_name_plural = _("health scores")
        ordering = ["-day", "organization"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "organization", "day"], name="healthscore_once_per_day"
            ),
            models.CheckConstraint(
                condition=models.Q(score__lte=100), name="healthscore_score_0_to_100"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "day", "band"], name="healthscore_day_band")]

    def __str__(self) -> str:
        return f"{self.organization} · {self.day:%Y-%m-%d} · {self.score}"


class TaskKind(models.TextChoices):
    # Its own context: the Onboarding *stage* above reads differently in Chinese.
    ONBOARDING = "onboarding", pgettext_lazy("success task", "Onboarding")
    CHECK_IN_30 = "check_in_30", _("30-day check-in")
    CHECK_IN_90 = "check_in_90", _("90-day check-in")
    CHECK_IN_365 = "check_in_365", _("365-day check-in")
    RENEWAL = "renewal", _("Renewal conversation")
    HEALTH_DROP = "health_drop", _("Health drop")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


# The three questions of the 90-day check-in (the seed's "三个问题"), keyed as the
# answers are stored in `SuccessTask.answers`.
CHECK_IN_QUESTIONS = (
    ("problem", _("What problem are you solving with the product?")),
    ("goal", _("Have you reached the goal you expected?")),
    ("improve", _("What should we improve?")),
)


class SuccessTask(TenantOwned):
    """A touchpoint a customer success manager owes an organization.

    Created automatically once per trigger (success/touchpoints.py): the unique
    (organization, kind, trigger date) makes a second or concurrent run a no-op. The
    trigger date is the contract start for onboarding and check-ins, the renewal date
    for the renewal conversation, and the scored day that showed a health drop.
    """

    organization = models.ForeignKey(
        "plans.Organization",
        on_delete=models.CASCADE,
        related_name="success_tasks",
        verbose_name=_("organization"),
    )
    # Empty: the task is in the shared pool, for any CSM to take.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="success_tasks",
        verbose_name=_("owner"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=TaskKind.choices)
    trigger_date = models.DateField(_("trigger date"))
    due_date = models.DateField(_("due"))
    status = models.CharField(
        _("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    notes = models.TextField(_("notes"), blank=True)
    # Why the task exists, as it was when it was created: for a health drop, the
    # score, the band, the score it fell from and the components that moved most.
    reason = models.JSONField(_("reason"), default=dict, blank=True)
    # The 90-day check-in's answers, by CHECK_IN_QUESTIONS key.
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("completed by"),
    )

    class Meta:
        verbose_name = _("success task")
        verbose_name_plural = _("success tasks")
        ordering = ["due_date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "organization", "kind", "trigger_date"],
                name="successtask_once_per_trigger",
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "status", "owner", "due_date"], name="successtask_queue"
            ),
            models.Index(fields=["tenant", "organization", "status"], name="successtask_org"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.organization}"

    @property
    def is_open(self) -> bool:
        return self.status == TaskStatus.OPEN


class SuccessTaskEvent(TenantOwned):
    """One thing done to a task, by whom and when: the task's audit trail (its
    creation is the task's own `created_at`, by the daily run)."""

    class Kind(models.TextChoices):
        CLAIMED = "claimed", _("took it from the shared pool")
        SAVED = "saved", _("saved the notes")
        COMPLETED = "completed", _("completed it")
        RENEWAL = "renewal", _("recorded the renewal")
        CHANGED = "changed", _("changed it in admin")

    task = models.ForeignKey(SuccessTask, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # What changed, in a few words: the renewal's outcome, the admin's changed fields.
    detail = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("task event")
        verbose_name_plural = _("task events")
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["tenant", "task", "created_at"], name="successtaskevent_task")
        ]

    def __str__(self) -> str:
        return f"{self.task} {self.kind}"

    @property
    def detail_display(self) -> str:
        """The detail in the reader's language: the renewal's outcome, or the names of
        the fields changed in admin."""
        if self.kind == self.Kind.RENEWAL and self.detail in RenewalOutcome.values:
            return str(RenewalOutcome(self.detail).label)
        if self.kind == self.Kind.CHANGED:
            names = [name for name in self.detail.split(",") if name]
            return ", ".join(
                str(SuccessTask._meta.get_field(name).verbose_name)
                for name in names
                if name in {f.name for f in SuccessTask._meta.fields}
            )
        return ""


class SuccessNote(TenantOwned):
    """Something a CSM wrote down about an organization (a call, a concern, a plan)."""

    organization = models.ForeignKey(
        "plans.Organization",
        on_delete=models.CASCADE,
        related_name="success_notes",
        verbose_name=_("organization"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("author"),
    )
    body = models.TextField(_("note"))
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("success note")
        verbose_name_plural = _("success notes")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "organization", "-created_at"], name="successnote_org")
        ]

    def __str__(self) -> str:
        return f"{self.organization} · {self.created_at:%Y-%m-%d}"


class RenewalOutcome(models.TextChoices):
    RENEWED = "renewed", _("Renewed")
    CHURNED = "churned", _("Churned")


class Renewal(TenantOwned):
    """How one renewal date of an organization ended: renewed (at which ARR and plan,
    so downgrades and upgrades show) or churned. One row per renewal date."""

    organization = models.ForeignKey(
        "plans.Organization",
        on_delete=models.CASCADE,
        related_name="renewals",
        verbose_name=_("organization"),
    )
    renewal_date = models.DateField(_("renewal date"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=RenewalOutcome.choices)
    arr_before = models.DecimalField(_("ARR before"), max_digits=14, decimal_places=2)
    arr_after = models.DecimalField(_("ARR after"), max_digits=14, decimal_places=2)
    plan_before = models.ForeignKey(
        "plans.Plan",
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("plan before"),
    )
    plan_after = models.ForeignKey(
        "plans.Plan",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("plan after"),
    )
    task = models.OneToOneField(
        SuccessTask,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="renewal",
        verbose_name=_("task"),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("renewal")
        verbose_name_plural = _("renewals")
        ordering = ["-renewal_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "organization", "renewal_date"], name="renewal_once_per_date"
            ),
            models.CheckConstraint(
                condition=models.Q(arr_before__gte=0, arr_after__gte=0),
                name="renewal_arr_not_negative",
            ),
            models.CheckConstraint(
                condition=~models.Q(outcome="churned") | models.Q(arr_after=0),
                name="renewal_churned_keeps_no_arr",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "renewal_date"], name="renewal_date")]

    def __str__(self) -> str:
        return f"{self.organization} · {self.renewal_date:%Y-%m-%d} · {self.get_outcome_display()}"

    @property
    def is_downgrade(self) -> bool:
        return self.outcome == RenewalOutcome.RENEWED and self.arr_after < self.arr_before


class UpgradeInterest(TenantOwned):
    """A customer's step towards a higher plan from the help center: a click on the
    plan's upgrade link, or an enquiry filed with "Ask us about <plan>" (and its
    ticket). Customer success reads them as an upsell signal (success/signals.py)."""

    class Kind(models.TextChoices):
        CLICK = "click", _("Opened the upgrade page")
        ENQUIRY = "enquiry", _("Asked about the plan")

    organization = models.ForeignKey(
        "plans.Organization",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organization"),
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("person"),
    )
    plan = models.ForeignKey(
        "plans.Plan", on_delete=models.CASCADE, related_name="+", verbose_name=_("plan wanted")
    )
    from_plan = models.ForeignKey(
        "plans.Plan",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("plan then"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("request"),
    )
    created_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("upgrade interest")
        verbose_name_plural = _("upgrade interest")
        ordering = ["-created_at"]
        indexes = [
            # The upsell signal counts an organization's steps of the last 30 days.
            models.Index(fields=["tenant", "created_at"], name="upgradeinterest_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.plan}"
