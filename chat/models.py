"""Live chat: every chat is a ticket (channel chat) whose public messages are its
transcript; these rows hold what a ticket has no place for: the chat's state in the
queue, the offers made to agents, and the agents' availability."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.models import TenantOwned, new_secret

DEFAULT_CAPACITY = 3
DEFAULT_OFFER_SECONDS = 30
DEFAULT_GRACE_SECONDS = 60


class ChatSettings(TenantOwned):
    """A desk's chat rules (one row per desk, made when first needed)."""

    capacity = models.PositiveSmallIntegerField(
        _("chats per agent"),
        default=DEFAULT_CAPACITY,
        help_text=_("How many chats an agent takes at once, unless their own setting says."),
    )
    offer_seconds = models.PositiveSmallIntegerField(
        _("seconds to accept an offer"),
        default=DEFAULT_OFFER_SECONDS,
        help_text=_("An offered chat not accepted in this time goes to the next agent."),
    )
    grace_seconds = models.PositiveSmallIntegerField(
        _("seconds to reconnect"),
        default=DEFAULT_GRACE_SECONDS,
        help_text=_(
            "An agent whose connection drops keeps their chats this long; then the chats "
            "are offered to others."
        ),
    )
    # The widget embedded in the tenant's own product (chat/widget.py, docs/chat.md).
    widget_enabled = models.BooleanField(
        _("chat widget on"),
        default=False,
        help_text=_(
            "Customers signed in to your product can chat and search the knowledge base "
            "from the widget on the websites listed below."
        ),
    )
    widget_origins = ArrayField(
        models.CharField(max_length=255),
        verbose_name=_("websites allowed to embed the widget"),
        default=list,
        blank=True,
        help_text=_(
            "One origin per line, as scheme://host[:port] with no path, e.g. "
            "https://app.example.com. No other website can show the widget."
        ),
    )
    # Signs the identity tokens of the tenant's backend: shown to the desk's admins, never
    # logged; a new one refuses every token and widget session made with the old one.
    widget_secret = models.CharField(
        _("widget secret"), max_length=64, default=new_secret, editable=False
    )

    class Meta:
        verbose_name = _("chat settings")
        verbose_name_plural = _("chat settings")
        constraints = [
            models.UniqueConstraint("tenant", name="chat_settings_one_per_desk"),
        ]

    def __str__(self) -> str:
        return str(_("Chat settings"))


class Availability(models.TextChoices):
    ONLINE = "online", _("Online")
    AWAY = "away", _("Away")
    OFFLINE = "offline", _("Offline")


class AgentPresence(TenantOwned):
    """An agent's availability for chats, and when their console last spoke.

    Online means "offer me chats" only while the console is connected: an agent whose
    console has not been heard from for the desk's grace period counts as gone."""

    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_presence"
    )
    availability = models.CharField(
        _("availability"), max_length=10, choices=Availability.choices, default=Availability.OFFLINE
    )
    capacity = models.PositiveSmallIntegerField(
        _("chats at once"), null=True, blank=True, help_text=_("Blank: the desk's default.")
    )
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # The longest idle agent gets the next chat among equals.
    idle_since = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("agent availability")
        verbose_name_plural = _("agent availability")
        constraints = [
            models.UniqueConstraint("tenant", "agent", name="chat_presence_one_per_agent"),
        ]

    def __str__(self) -> str:
        return f"{self.agent} · {self.get_availability_display()}"


class Chat(TenantOwned):
    class State(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        ACTIVE = "active", _("In progress")
        ENDED = "ended", _("Ended")

    # Names the chat in URLs and socket groups (no primary key in URLs).
    key = models.UUIDField(default=uuid.uuid4, editable=False)
    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, related_name="chat")
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chats"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="agent_chats",
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    queued_at = models.DateTimeField(_("queued"), default=timezone.now)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    # The plan's chat first-reply target from the queue (an SLA outcome when it ends).
    first_reply_due_at = models.DateTimeField(_("first reply due"), null=True, blank=True)
    first_reply_at = models.DateTimeField(_("first agent reply"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    # The last message id each side has seen (delivered/read ticks).
    customer_read_id = models.BigIntegerField(default=0)
    agent_read_id = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("chat")
        verbose_name_plural = _("chats")
        constraints = [
            models.UniqueConstraint("tenant", "key", name="chat_key_unique"),
            # One chat at a time per customer: a second tab joins the first chat.
            models.UniqueConstraint(
                "tenant",
                "customer",
                condition=~models.Q(state="ended"),
                name="chat_one_open_per_customer",
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "queued_at"],
                condition=models.Q(state="queued"),
                name="chat_waiting",
            ),
            models.Index(
                fields=["tenant", "agent"],
                condition=models.Q(state="active"),
                name="chat_active_by_agent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket} · {self.get_state_display()}"

    @property
    def is_open(self) -> bool:
        return self.state != self.State.ENDED


class ChatOffer(TenantOwned):
    """A queued chat offered to one agent, until they accept, decline, or time runs out."""

    class Answer(models.TextChoices):
        PENDING = "pending", _("Waiting for the agent")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        EXPIRED = "expired", _("Not answered in time")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="offers")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    offered_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    answer = models.CharField(max_length=10, choices=Answer.choices, default=Answer.PENDING)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("chat offer")
        verbose_name_plural = _("chat offers")
        constraints = [
            # At most one pending offer per chat: routing twice at once offers once.
            models.UniqueConstraint(
                "tenant",
                "chat",
                condition=models.Q(answer="pending"),
                name="chat_offer_one_pending",
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "expires_at"],
                condition=models.Q(answer="pending"),
                name="chat_offer_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.chat} → {self.agent}"
