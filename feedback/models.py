"""What customers tell the desk: CSAT after a solved ticket, NPS per contact on a
cadence, and the help center's feedback form.

Surveys are rows before they are emails: a CSAT survey is scheduled when a ticket
is solved and marked sent in the same transaction that queues its email, so the
row says whether a customer was asked (see feedback/services.py for the
exactly-once rules). Answers stay on the rows; every figure in the dashboards is
an aggregate over them.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.models import Tenant, TenantOwned


class FeedbackSettings(TenantOwned):
    """A desk's survey and feedback-form settings (one row per tenant, created on first
    use)."""

    csat_enabled = models.BooleanField(
        _("send satisfaction surveys"),
        default=True,
        help_text=_("Ask the requester to rate the support after each solved ticket."),
    )
    csat_delay_minutes = models.PositiveIntegerField(
        _("survey delay (minutes)"),
        default=60,
        validators=[MaxValueValidator(60 * 24 * 14)],
        help_text=_("How long after a ticket is solved its survey is sent."),
    )
    csat_excluded_categories = models.ManyToManyField(
        "tickets.Category",
        blank=True,
        related_name="+",
        verbose_name=_("no surveys for these categories"),
    )
    nps_enabled = models.BooleanField(
        _("send NPS surveys"),
        default=True,
        help_text=_("Ask organization contacts how likely they are to recommend you."),
    )
    nps_interval_days = models.PositiveSmallIntegerField(
        _("days between NPS surveys"),
        default=90,
        validators=[MinValueValidator(30), MaxValueValidator(730)],
        help_text=_("A contact is never asked more often than this."),
    )
    form_open_to_visitors = models.BooleanField(
        _("open the feedback form to visitors"),
        default=False,
        help_text=_(
            "Off: only people signed in to the help center can send feedback, like every "
            "other support channel. On: visitors who are not signed in can send it too."
        ),
    )

    class Meta:
        verbose_name = _("survey settings")
        verbose_name_plural = _("survey settings")
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="feedbacksettings_one_per_tenant")
        ]

    def __str__(self) -> str:
        return str(_("Survey settings"))


class SurveyOptOut(TenantOwned):
    """A customer who asked not to receive surveys from this desk."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("survey opt-out")
        verbose_name_plural = _("survey opt-outs")
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="surveyoptout_once")]

    def __str__(self) -> str:
        return str(self.user)


class SurveyStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    SENT = "sent", _("Sent")
    CANCELLED = "cancelled", _("Cancelled")  # reopened before it went out
    SKIPPED = "skipped", _("Skipped")  # surveys off, opted out, or excluded when due


class CsatRating(models.IntegerChoices):
    VERY_UNSATISFIED = 1, _("Very unsatisfied")
    UNSATISFIED = 2, _("Unsatisfied")
    NEUTRAL = 3, _("Neutral")
    SATISFIED = 4, _("Satisfied")
    VERY_SATISFIED = 5, _("Very satisfied")


# Ratings at or above this count as satisfied (the CSAT percentage); at or below
# BAD_RATING the assignee and the admins are told.
SATISFIED_RATING = 4
BAD_RATING = 2
# NPS: 9-10 promote, 7-8 are passive, 0-6 detract.
PROMOTER_MIN = 9
DETRACTOR_MAX = 6


class CsatSurvey(TenantOwned):
    """The satisfaction survey of one solved episode of a ticket."""

    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.CASCADE,
        related_name="csat_surveys",
        verbose_name=_("ticket"),
    )
    # The solve this survey asks about: a ticket solved, reopened and solved again
    # has two episodes, and at most one survey each.
    solved_at = models.DateTimeField(_("solved"))
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("recipient"),
    )
    # Who solved it: CSAT by agent stays with the agent who did the work.
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("agent"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=SurveyStatus.choices, default=SurveyStatus.SCHEDULED
    )
    send_at = models.DateTimeField(_("send at"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    rating = models.PositiveSmallIntegerField(
        _("rating"), choices=CsatRating.choices, null=True, blank=True
    )
    comment = models.TextField(_("comment"), blank=True)
    rated_at = models.DateTimeField(_("rated"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), null=True, blank=True)

    class Meta:
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "ticket", "solved_at"], name="csatsurvey_once_per_solve"
            ),
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__range=(1, 5)),
                name="csatsurvey_rating_1_to_5",
            ),
        ]
        indexes = [
            # The beat's scan across tenants for surveys due to go out.
            models.Index(
                fields=["send_at", "tenant"],
                condition=models.Q(status="scheduled"),
                name="csatsurvey_due",
            ),
            # Ratings by time, with what the dashboards count and group them by, so
            # an index-only scan answers.
            models.Index(
                fields=["tenant", "rated_at"],
                include=["rating", "agent", "ticket"],
                condition=models.Q(rating__isnull=False),
                name="csatsurvey_rated_incl",
            ),
            models.Index(fields=["tenant", "ticket"], name="csatsurvey_ticket"),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket.number} · {self.get_status_display()}"

    @property
    def is_bad(self) -> bool:
        return self.rating is not None and self.rating <= BAD_RATING


class NpsSurvey(TenantOwned):
    """One NPS question put to one organization contact."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("recipient"),
    )
    organization = models.ForeignKey(
        "plans.Organization",
        on_delete=models.CASCADE,
        related_name="nps_surveys",
        verbose_name=_("organization"),
    )
    # The plan when asked: NPS by plan keeps its history when an organization moves.
    plan = models.ForeignKey(
        "plans.Plan",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("plan"),
    )
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)
    score = models.PositiveSmallIntegerField(
        _("score"), null=True, blank=True, validators=[MaxValueValidator(10)]
    )
    comment = models.TextField(_("comment"), blank=True)
    responded_at = models.DateTimeField(_("responded"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), null=True, blank=True)

    class Meta:
        verbose_name = _("NPS survey")
        verbose_name_plural = _("NPS surveys")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__lte=10),
                name="npssurvey_score_0_to_10",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "recipient", "-sent_at"], name="npssurvey_recipient"),
            models.Index(
                fields=["tenant", "responded_at"],
                condition=models.Q(score__isnull=False),
                name="npssurvey_responded",
            ),
            models.Index(fields=["tenant", "organization", "-sent_at"], name="npssurvey_org"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient} · {self.sent_at:%Y-%m-%d}"

    @property
    def category(self) -> str:
        """promoter (9-10), passive (7-8) or detractor (0-6); '' before an answer."""
        if self.score is None:
            return ""
        if self.score >= PROMOTER_MIN:
            return "promoter"
        return "detractor" if self.score <= DETRACTOR_MAX else "passive"


class FeedbackSubmission(TenantOwned):
    """The help center's 'How easy was it to find what you needed?' form."""

    class Ease(models.IntegerChoices):
        VERY_HARD = 1, _("Very hard")
        HARD = 2, _("Hard")
        NEITHER = 3, _("Neither easy nor hard")
        EASY = 4, _("Easy")
        VERY_EASY = 5, _("Very easy")

    ease = models.PositiveSmallIntegerField(_("ease"), choices=Ease.choices)
    text = models.TextField(_("feedback"), blank=True, max_length=2000)
    page = models.CharField(_("page"), max_length=500, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("from"),
    )
    language = models.CharField(_("language"), max_length=10, blank=True)
    created_at = models.DateTimeField(_("received"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("help center feedback")
        verbose_name_plural = _("help center feedback")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ease__range=(1, 5)), name="feedbacksubmission_ease_1_to_5"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="feedback_received")]

    def __str__(self) -> str:
        return f"{self.get_ease_display()} · {self.page}"


class Rollup(TenantOwned):
    """What the day and week rollups share: the grouping (rollups.GROUPINGS: none, one,
    or two of plan, category, priority, channel and agent; the dimensions not grouped
    by are NULL) and the histograms of business seconds to a first response and to a
    resolution ({bucket: count}, rollups.bucket_sql; only the buckets with counts)."""

    grouping = models.PositiveSmallIntegerField()
    plan_id = models.IntegerField(null=True)
    category_id = models.IntegerField(null=True)
    priority = models.PositiveSmallIntegerField(null=True)
    channel = models.CharField(max_length=20, null=True)  # noqa: DJ001 - NULL: not grouped by it
    agent_id = models.IntegerField(null=True)
    first_responses = models.JSONField(default=dict)
    resolutions = models.JSONField(default=dict)

    class Meta:
        abstract = True


class DayRollup(Rollup):
    """A desk-day's ticket figures under one grouping, which the dashboards read instead
    of the tickets behind them (feedback/rollups.py builds them; never edited by hand).

    Each measure counts what happened on `day` in the desk's time zone: tickets
    created, solved (by their latest solve), created and still unsolved now, SLA
    clocks due (`sla`: {"metric:result": n}), CSAT ratings given, and first responses
    and resolutions in the histograms."""

    day = models.DateField()
    created = models.PositiveIntegerField(default=0)
    solved = models.PositiveIntegerField(default=0)
    unsolved = models.PositiveIntegerField(default=0)
    sla = models.JSONField(default=dict)
    # CSAT ratings given that day (their "agent" is the survey's: who solved the ticket).
    rated = models.PositiveIntegerField(default=0)
    satisfied = models.PositiveIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["tenant", "grouping", "day"], name="dayrollup_read")]

    def __str__(self) -> str:
        return f"{self.day} #{self.grouping}"


class WeekRollup(Rollup):
    """The histograms of a desk's week (Monday to Sunday, its time zone) per grouping:
    the day rollups' added up (feedback/rollups.py), so a period's percentiles read its
    whole weeks here and only the days at its edges by day."""

    week = models.DateField()  # its Monday

    class Meta:
        indexes = [models.Index(fields=["tenant", "grouping", "week"], name="weekrollup_read")]

    def __str__(self) -> str:
        return f"{self.week} #{self.grouping}"


class RollupStale(TenantOwned):
    """A desk-day whose rollups must be rebuilt (NULL: every day of the desk).

    Database triggers (migration 0006) append a row whenever a ticket, SLA outcome,
    CSAT rating, organization's plan or desk's time zone changes what a day's figures
    are, in the writing transaction, from any code path; the worker (rollups.refresh)
    rebuilds those days and deletes exactly the rows it read, in one transaction. Rows
    are only appended, never updated, so writers never wait on each other here. The
    tenant is a plain number: these rows may outlive a desk being deleted."""

    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey(
        Tenant, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", editable=False
    )
    day = models.DateField(null=True)

    class Meta:
        # Dashboards ask whether a whole-desk rebuild is pending on every request.
        indexes = [
            models.Index(
                fields=["tenant"],
                condition=models.Q(day__isnull=True),
                name="rollupstale_whole_desk",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.day or 'all'}"
