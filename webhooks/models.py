"""Outbound webhooks: a desk's endpoints, and every delivery to them (docs/webhooks.md).

An endpoint is a URL that hears of the events it chose, either as our signed JSON
(`json`) or as a chat tool's own message (Slack, DingTalk, WeCom, Feishu). A delivery is
one event for one endpoint: written in the transaction of the change that caused it
(the outbox principle), sent by a worker, and kept as the delivery log.
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.models import TenantOwned, new_secret

# Version of the JSON schema (docs/webhooks.md). Fields may be added within a version;
# a field renamed, retyped or removed makes a new one.
SCHEMA_VERSION = 1


class EventType(models.TextChoices):
    """The domain events an endpoint may choose (helpdesk/events.py publishes them)."""

    TICKET_CREATED = "ticket.created", _("Ticket created")
    TICKET_CHANGED = "ticket.changed", _("Ticket changed (status, priority, assignee ...)")
    CUSTOMER_REPLIED = "ticket.customer_replied", _("Customer replied")
    AGENT_REPLIED = "ticket.agent_replied", _("Agent replied")
    NOTE_ADDED = "ticket.note_added", _("Internal note added (JSON endpoints only)")
    TICKET_SOLVED = "ticket.solved", _("Ticket solved")
    TICKET_REOPENED = "ticket.reopened", _("Ticket reopened")
    TICKET_MERGED = "ticket.merged", _("Ticket merged into another")
    SLA_WARNING = "sla.warning", _("SLA target due soon")
    SLA_BREACHED = "sla.breached", _("SLA target missed")
    CSAT_RATED = "csat.rated", _("Customer rated the service")
    CHAT_STARTED = "chat.started", _("Live chat started")
    CHAT_ENDED = "chat.ended", _("Live chat ended")


# Sent without being chosen: the admin's test, and the triggers' "call a webhook".
PING = "ping"
TRIGGER_FIRED = "trigger.fired"


class WebhookEndpoint(TenantOwned):
    class Format(models.TextChoices):
        JSON = "json", _("JSON, signed (for your own systems)")
        SLACK = "slack", _("Slack incoming webhook")
        DINGTALK = "dingtalk", _("DingTalk group robot")
        WECOM = "wecom", _("WeCom group robot")
        FEISHU = "feishu", _("Feishu custom bot")

    name = models.CharField(_("name"), max_length=100)
    url = models.CharField(
        _("URL"),
        max_length=2000,
        help_text=_(
            "Where the events are posted: http or https, a public address, no user name "
            "or password in it. For a chat tool, the webhook address it gave you."
        ),
    )
    format = models.CharField(
        _("format"), max_length=10, choices=Format.choices, default=Format.JSON
    )
    events = ArrayField(
        models.CharField(max_length=40, choices=EventType.choices),
        default=list,
        blank=True,
        verbose_name=_("events"),
        help_text=_("None: the endpoint is only called by triggers and the test action."),
    )
    # Ours: signs the JSON format (X-Helpdesk-Signature), shown to the desk's admins.
    secret = models.CharField(
        _("signing secret"), max_length=64, default=new_secret, editable=False
    )
    # Theirs: the "加签" secret DingTalk or Feishu shows for a robot that checks signatures.
    chat_secret = models.CharField(
        _("the chat tool's signing secret"),
        max_length=200,
        blank=True,
        help_text=_(
            "DingTalk and Feishu only, when the robot's security setting asks for a "
            "signature (加签): the secret it shows (DingTalk's starts with SEC)."
        ),
    )
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_(
            "Turned off automatically after repeated failures. Turning it on again resets "
            "the failure count and sends what is waiting."
        ),
    )
    consecutive_failures = models.PositiveIntegerField(
        _("failed attempts in a row"), default=0, editable=False
    )
    last_success_at = models.DateTimeField(_("last success"), null=True, editable=False)
    last_failure_at = models.DateTimeField(_("last failure"), null=True, editable=False)
    disabled_at = models.DateTimeField(_("turned off"), null=True, editable=False)
    disabled_reason = models.CharField(
        _("why it was turned off"), max_length=500, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["tenant", "is_active"], name="webhookendpoint_active")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_chat_tool(self) -> bool:
        return self.format != self.Format.JSON


class WebhookDelivery(TenantOwned):
    """One event for one endpoint: what is posted (frozen when the event happened), and
    how its attempts went. Unique per (endpoint, event id): an event reaches an endpoint
    once from our side, however often it is enqueued (see webhooks.services)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENDING = "sending", _("Sending")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Failed after every attempt")

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("endpoint"),
    )
    event_id = models.CharField(_("event id"), max_length=200)
    event_type = models.CharField(_("event"), max_length=40)
    # The same on every attempt: receivers recognise a repeat by it (X-Helpdesk-Delivery).
    delivery_id = models.UUIDField(_("delivery id"), default=uuid.uuid4, editable=False)
    # The JSON envelope of the schema, and the chat tools' text, as they were at the event.
    payload = models.JSONField(_("payload"))
    message = models.TextField(_("chat message"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # When the sweep sends it, if no wake-up did: soon after it is written, or after
    # the back-off of a failed attempt.
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    # When a worker took it; a claim older than the lease means the worker died mid-send.
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    response_ms = models.PositiveIntegerField(_("response time (ms)"), null=True, blank=True)
    response_excerpt = models.TextField(_("response (first 2 KB)"), blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "endpoint", "event_id"], name="webhookdelivery_once_per_event"
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "endpoint", "-created_at"], name="webhookdelivery_log"),
            # The sweep looks across desks at the few waiting rows, and the few in flight.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhookdelivery_due",
            ),
            models.Index(
                fields=["claimed_at"],
                condition=models.Q(status="sending"),
                name="webhookdelivery_sending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id}"


class WebhookAttempt(TenantOwned):
    """One HTTP request of a delivery: the delivery log's lines."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started"))
    response_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    response_ms = models.PositiveIntegerField(_("response time (ms)"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("attempt")
        verbose_name_plural = _("attempts")
        ordering = ["number", "pk"]
        indexes = [models.Index(fields=["tenant", "delivery"], name="webhookattempt_delivery")]

    def __str__(self) -> str:
        return f"#{self.number}"
