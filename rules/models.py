"""Triggers and automations: "when this holds, do that" (rules/services.py runs them).

Both are a `Rule` with conditions and actions. A trigger is checked when a ticket is
created or updated; an automation is checked by beat over every ticket, for time that
passed ("pending for more than 48 hours"). Admins edit them as two lists
(`Trigger`, `Automation`: proxies of `Rule`).
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from helpdesk.models import TenantOwned
from rules.conditions import Field, Op
from tickets.models import Ticket


class Rule(TenantOwned):
    class Kind(models.TextChoices):
        TRIGGER = "trigger", _("trigger")
        AUTOMATION = "automation", _("automation")

    class RunsOn(models.TextChoices):
        CREATED = "created", _("a ticket is created")
        UPDATED = "updated", _("a ticket is updated")
        BOTH = "both", _("a ticket is created or updated")

    kind = models.CharField(max_length=12, choices=Kind.choices, editable=False)
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(
        _("position"), default=0, help_text=_("Rules run in this order, lowest first.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    runs_on = models.CharField(
        _("runs when"), max_length=10, choices=RunsOn.choices, default=RunsOn.BOTH
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True, editable=False)

    class Meta:
        ordering = ["position", "pk"]
        indexes = [models.Index(fields=["tenant", "kind", "is_active"], name="rule_active")]

    def __str__(self) -> str:
        return self.name


class _KindManager(models.Manager):
    """The rules of one kind. Wrapped in the desk's scope like every tenant model's
    manager: a proxy's own manager replaces the scoped one it would inherit."""

    kind = ""

    def get_queryset(self):
        return super().get_queryset().filter(kind=self.kind)


class _Triggers(_KindManager):
    kind = "trigger"


class _Automations(_KindManager):
    kind = "automation"


class Trigger(Rule):
    objects = ScopedManager(_Triggers, tenant="tenant")

    class Meta:
        proxy = True
        verbose_name = _("trigger")
        verbose_name_plural = _("triggers")

    def save(self, *args, **kwargs):
        self.kind = Rule.Kind.TRIGGER
        super().save(*args, **kwargs)


class Automation(Rule):
    objects = ScopedManager(_Automations, tenant="tenant")

    class Meta:
        proxy = True
        verbose_name = _("automation")
        verbose_name_plural = _("automations")

    def save(self, *args, **kwargs):
        self.kind = Rule.Kind.AUTOMATION
        super().save(*args, **kwargs)


class Condition(TenantOwned):
    """One condition of a rule (rules/conditions.py). `value` is stored as the ticket
    stores it: an id, a code, a number, or comma-separated words."""

    class Match(models.TextChoices):
        ALL = "all", _("all of")
        ANY = "any", _("any of")

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="conditions")
    match = models.CharField(_("must meet"), max_length=3, choices=Match.choices, default="all")
    field = models.CharField(_("field"), max_length=30, choices=Field.choices)
    operator = models.CharField(_("operator"), max_length=20, choices=Op.choices)
    value = models.CharField(_("value"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("condition")
        verbose_name_plural = _("conditions")
        ordering = ["pk"]
        indexes = [models.Index(fields=["tenant", "rule"], name="condition_rule")]

    def __str__(self) -> str:
        return f"{self.get_field_display()} {self.get_operator_display()} {self.value}"


class Action(TenantOwned):
    """One thing a rule does when it fires (rules/actions.py)."""

    class Kind(models.TextChoices):
        SET_STATUS = "set_status", _("Set status")
        SET_PRIORITY = "set_priority", _("Set priority")
        SET_CATEGORY = "set_category", _("Set category")
        SET_GROUP = "set_group", _("Set group")
        SET_ASSIGNEE = "set_assignee", _("Set assignee")
        ADD_TAGS = "add_tags", _("Add tags")
        REMOVE_TAGS = "remove_tags", _("Remove tags")
        ADD_NOTE = "add_note", _("Add an internal note")
        EMAIL_REQUESTER = "email_requester", _("Email the requester")
        EMAIL_ASSIGNEE = "email_assignee", _("Email the assignee")
        EMAIL_GROUP = "email_group", _("Email the group's agents")
        CALL_WEBHOOK = "call_webhook", _("Call a webhook")

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(_("action"), max_length=20, choices=Kind.choices)
    value = models.CharField(
        _("value"),
        max_length=255,
        blank=True,
        help_text=_("A status, priority, category, group, agent's email, or tags."),
    )
    subject = models.CharField(_("email subject"), max_length=200, blank=True)
    body = models.TextField(
        _("note or email text"),
        blank=True,
        help_text=_(
            "Markdown. Placeholders: {{ ticket.number }}, {{ ticket.subject }}, "
            "{{ ticket.status }}, {{ ticket.priority }}, {{ ticket.url }}, "
            "{{ customer.name }}, {{ customer.first_name }}, {{ customer.email }}, "
            "{{ agent.name }}, {{ agent.first_name }}."
        ),
    )

    endpoint = models.ForeignKey(
        "webhooks.WebhookEndpoint",
        on_delete=models.RESTRICT,  # not while a rule calls it; gone with its desk
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("webhook"),
        help_text=_("For “Call a webhook”: the endpoint to post the ticket to."),
    )

    class Meta:
        verbose_name = _("action")
        verbose_name_plural = _("actions")
        ordering = ["pk"]
        indexes = [models.Index(fields=["tenant", "rule"], name="action_rule")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value}".strip()


class AutomationFiring(TenantOwned):
    """An automation fired on a ticket for one value of its clock (`window`): it fires
    there again only when the clock moves (pending again, updated again)."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="firings")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    window = models.DateTimeField()
    fired_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "rule", "ticket", "window"], name="automation_once_per_window"
            )
        ]
