"""Service levels: what each plan promises, the hours the promise is counted in,
and the record of promises met and broken.

A ticket's running clocks live on the ticket itself (`tickets.Ticket.*_due_at`);
this app holds the rules that set them and the outcomes they lead to.
"""

from datetime import timedelta
from functools import cached_property

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_scopes import ScopedManager

from helpdesk.localized import LocalizedName
from helpdesk.models import TIME_ZONE_CHOICES, TenantOwned
from sla.business_time import Schedule
from sla.fields import MinutesField
from tickets.models import Category, Channel, Priority

MIDNIGHT_MINUTES = 24 * 60
_TARGET_HELP = _("Hours and minutes, counted in the policy's business hours.")


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class Metric(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    NEXT_RESPONSE = "next_response", _("Next response")
    RESOLUTION = "resolution", _("Resolution")
    # A live chat's first agent reply, in seconds from the queue (the plan's target;
    # chat.services records it).
    CHAT_FIRST_REPLY = "chat_first_reply", _("Chat first reply")


class BusinessCalendar(LocalizedName, TenantOwned):
    """The hours SLA targets are counted in: weekly working hours, holidays and
    make-up working days, in one time zone."""

    time_zone = models.CharField(
        _("time zone"), max_length=64, choices=TIME_ZONE_CHOICES, default="UTC"
    )
    always_open = models.BooleanField(
        _("24x7"),
        default=False,
        help_text=_("Count every hour of every day; working hours and holidays are ignored."),
    )
    is_default = models.BooleanField(
        _("default calendar"),
        default=False,
        help_text=_("Used by every SLA policy that does not name a calendar."),
    )

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"],
                name="calendar_tenant_name_unique",
                violation_error_message=_("Another calendar already has this name."),
            ),
            models.UniqueConstraint(
                fields=["tenant"],
                condition=Q(is_default=True),
                name="calendar_one_default_per_tenant",
                violation_error_message=_("Another calendar is already the default."),
            ),
        ]

    def schedule(self) -> Schedule:
        """The calendar as the deadline arithmetic sees it (hours, holidays, make-up days)."""
        weekly: list[list[tuple[int, int]]] = [[] for _day in Weekday]
        for hours in self.hours.all():
            weekly[hours.weekday].append((hours.start_minute, hours.end_minute))
        dates = list(self.dates.all())
        return Schedule(
            time_zone=self.time_zone,
            weekly=tuple(tuple(sorted(day)) for day in weekly),
            holidays=frozenset(d.date for d in dates if d.kind == CalendarDate.Kind.HOLIDAY),
            extra_workdays=frozenset(d.date for d in dates if d.kind == CalendarDate.Kind.WORKDAY),
            always_open=self.always_open,
        )

    @cached_property
    def hours_summary(self) -> str:
        """'Mon-Fri 9:00-18:00' style, for the customer-facing promise."""
        from sla.display import describe_hours

        return describe_hours(self)


def _minutes(value) -> int:
    return value.hour * 60 + value.minute


class WorkingHours(TenantOwned):
    """One working interval of one weekday; several rows make a split shift."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="hours", verbose_name=_("calendar")
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start = models.TimeField(pgettext_lazy("working hours", "from"))
    end = models.TimeField(
        pgettext_lazy("working hours", "until"),
        help_text=_("00:00 means midnight at the end of the day."),
    )

    class Meta:
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        ordering = ["weekday", "start"]
        indexes = [models.Index(fields=["tenant", "calendar"], name="workinghours_calendar")]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def start_minute(self) -> int:
        return _minutes(self.start)

    @property
    def end_minute(self) -> int:
        return _minutes(self.end) or MIDNIGHT_MINUTES

    def clean(self):
        if self.start is None or self.end is None:
            return
        if self.start.second or self.end.second:
            raise ValidationError(_("Working hours are set to the minute."))
        if self.end_minute <= self.start_minute:
            raise ValidationError({"end": _("The end must be after the start.")})


class CalendarDate(TenantOwned):
    """A date that breaks the weekly pattern: a holiday, or a make-up working day
    (worked with the hours of the calendar's first working weekday)."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Holiday (closed)")
        WORKDAY = "workday", _("Make-up working day (open)")

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="dates", verbose_name=_("calendar")
    )
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.HOLIDAY)
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("holiday or make-up day")
        verbose_name_plural = _("holidays and make-up days")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "calendar", "date"],
                name="calendardate_unique",
                violation_error_message=_("This date is already in the calendar."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}".strip()


class SLAPolicy(TenantOwned):
    """Targets for a kind of ticket: its plan, priority, category and channel, each
    blank for "any".

    The most specific policy wins (PolicyBook.policy): the one naming the most of the
    four; among as specific ones, category before plan before priority before channel.
    So plan and priority, then plan alone, then priority alone, then the desk-wide
    default, as before categories; and a desk-wide "Billing" policy sets the times of
    billing questions on every plan, unless one names the plan and Billing both.
    """

    plan = models.ForeignKey(
        "plans.Plan",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sla_policies",
        verbose_name=_("plan"),
        help_text=_("Blank: every plan without a policy of its own."),
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"),
        null=True,
        blank=True,
        choices=Priority.choices,
        help_text=_("Blank: every priority without a policy of its own."),
    )
    category = models.ForeignKey(
        Category,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sla_policies",
        verbose_name=_("category"),
        help_text=_("Blank: every category without a policy of its own."),
    )
    channel = models.CharField(
        _("channel"),
        max_length=10,
        choices=Channel.choices,
        blank=True,
        help_text=_("Blank: every channel without a policy of its own."),
    )
    # Whole minutes in the database, hours and minutes in every form (sla.fields).
    first_response_minutes = MinutesField(
        _("first response target"), validators=[MinValueValidator(1)], help_text=_TARGET_HELP
    )
    next_response_minutes = MinutesField(
        _("next response target"), validators=[MinValueValidator(1)], help_text=_TARGET_HELP
    )
    resolution_minutes = MinutesField(
        _("resolution target"), validators=[MinValueValidator(1)], help_text=_TARGET_HELP
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="policies",
        verbose_name=_("business calendar"),
        help_text=_("Blank: the desk's default calendar."),
    )
    warning_percent = models.PositiveSmallIntegerField(
        _("warn at (percent of the target left)"),
        default=25,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    warning_max_minutes = MinutesField(
        _("warn at most this long before due"), default=60, validators=[MinValueValidator(1)]
    )
    escalate_priority = models.BooleanField(
        _("raise priority on breach"),
        default=True,
        help_text=_("A breached ticket moves one priority step up (Low to Medium, ...)."),
    )
    escalation_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("escalation agent"),
        help_text=_("A breached ticket nobody is assigned to goes to this agent."),
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["plan__rank", "priority"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "plan", "priority", "category", "channel"],
                nulls_distinct=False,
                name="slapolicy_kind_unique",
                violation_error_message=_(
                    "A policy for this plan, priority, category and channel exists already; "
                    "edit that one."
                ),
            )
        ]

    def __str__(self) -> str:
        plan = self.plan.name if self.plan_id else _("Any plan")
        priority = self.get_priority_display() if self.priority else _("any priority")
        return ", ".join([str(plan), str(priority), *self.kind_labels()])

    def kind_labels(self) -> list[str]:
        """What the policy names besides plan and priority: its category and channel."""
        labels = []
        if self.category_id:
            labels.append(self.category.display_name)
        if self.channel:
            labels.append(str(self.get_channel_display()))
        return labels

    @property
    def scope_label(self) -> str:
        """'High', 'Billing', 'Billing · High': what a plan's override applies to."""
        parts = self.kind_labels()
        if self.priority:
            parts.append(str(self.get_priority_display()))
        return " · ".join(parts)

    def target(self, metric: str) -> timedelta:
        return timedelta(minutes=getattr(self, f"{metric}_minutes"))

    def warning_window(self, metric: str) -> timedelta:
        """How long before a due time the assignee is warned: a share of the
        target, capped, so a 48 h target warns 1 h ahead and a 1 h target 15 min."""
        share = self.target(metric) * self.warning_percent / 100
        return min(share, timedelta(minutes=self.warning_max_minutes))


class SLAOutcome(TenantOwned):
    """How one clock of one ticket ended: met in time, or breached.

    Breaches are recorded once per clock (the unique constraint makes a sweep run
    twice, or by two workers at once, record one); reports count these rows.
    """

    class Result(models.TextChoices):
        MET = "met", _("Met")
        BREACHED = "breached", _("Breached")

    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.CASCADE,
        related_name="sla_outcomes",
        verbose_name=_("ticket"),
    )
    metric = models.CharField(_("metric"), max_length=20, choices=Metric.choices)
    result = models.CharField(_("result"), max_length=10, choices=Result.choices)
    due_at = models.DateTimeField(_("due"))
    # When it was met, or when the breach was detected.
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("SLA outcome")
        verbose_name_plural = _("SLA outcomes")
        ordering = ["-due_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "ticket", "metric", "due_at"], name="slaoutcome_once_per_clock"
            )
        ]
        indexes = [
            # Reports and dashboards count outcomes by due time, metric and result:
            # all in the index, so an index-only scan answers.
            models.Index(
                fields=["tenant", "due_at"],
                include=["metric", "result"],
                name="slaoutcome_due_incl",
            ),
            # The latest breaches (dashboards, the SLA report): without it, walking the
            # outcomes by due time passes every clock met since (13,000 at a million
            # tickets) to find ten.
            models.Index(
                fields=["tenant", "-due_at"],
                condition=models.Q(result="breached"),
                name="slaoutcome_breaches",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket.number} {self.get_metric_display()}: {self.get_result_display()}"


class _BreachesOnly(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(result=SLAOutcome.Result.BREACHED)


class SLABreach(SLAOutcome):
    """The breaches alone (a due time passed before the clock was met)."""

    objects = ScopedManager(_manager_class=_BreachesOnly, tenant="tenant")

    class Meta:
        proxy = True
        verbose_name = _("SLA breach")
        verbose_name_plural = _("SLA breaches")


class SLANotice(TenantOwned):
    """An SLA email still to be written: stored by the sweep in the transaction that
    records the warning, breach or escalation it tells of, and deleted by the
    worker that queues its emails (sla.services.sla_notices_deliver). Nothing is
    lost if a process dies in between: the next sweep finds the row again."""

    class Kind(models.TextChoices):
        WARNING = "warning", _("Warning")
        BREACH = "breach", _("Breach")
        ESCALATED = "escalated", _("Escalated to an agent")

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    metric = models.CharField(max_length=20, choices=Metric.choices)
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "ticket", "kind", "metric", "due_at"], name="slanotice_once"
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="slanotice_created")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.ticket_id} {self.metric}"
