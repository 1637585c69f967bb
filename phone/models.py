"""The phone channel: callbacks customers ask for, and calls agents log on tickets.

A callback request is a ticket (channel phone) plus the number and window the customer
chose; while the call is owed, the end of the window is stored on the ticket
(`Ticket.callback_due_at`) and sorts the queue like an SLA due time. A call log is an
agent's record of one call, shown to agents only, in the ticket's thread.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.models import TenantOwned


class CallbackRequest(TenantOwned):
    """A customer's request to be called back, on the ticket it opened."""

    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("ticket"),
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("requested by"),
    )
    # E.164 ("+8613800138000"): one spelling per number, shown formatted.
    phone_number = models.CharField(_("phone number"), max_length=20)
    window_start = models.DateTimeField(_("call from"))
    window_end = models.DateTimeField(_("call by"))
    # Met by an agent's answered outbound call on the ticket.
    called_at = models.DateTimeField(_("called back"), null=True, blank=True)
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("called back by"),
    )
    created_at = models.DateTimeField(_("requested"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("callback request")
        verbose_name_plural = _("callback requests")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "ticket"], name="callbackrequest_one_per_ticket"
            )
        ]
        indexes = [
            # The number a customer used last, to fill in their next request.
            models.Index(
                fields=["tenant", "requester", "-created_at"], name="callbackrequest_requester"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.ticket.number} {self.phone_number}"


class CallDirection(models.TextChoices):
    INBOUND = "inbound", _("Inbound call")
    OUTBOUND = "outbound", _("Outbound call")


class CallOutcome(models.TextChoices):
    ANSWERED = "answered", _("Answered")
    NO_ANSWER = "no_answer", _("No answer")
    VOICEMAIL = "voicemail", _("Left a voicemail")
    BUSY = "busy", _("Busy")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    DROPPED = "dropped", _("Call dropped")


class CallLog(TenantOwned):
    """One call about a ticket, as the agent logged it: for agents only, never shown or
    sent to the customer."""

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="calls", verbose_name=_("ticket")
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("agent"),
    )
    direction = models.CharField(_("direction"), max_length=10, choices=CallDirection.choices)
    outcome = models.CharField(_("outcome"), max_length=20, choices=CallOutcome.choices)
    duration_seconds = models.PositiveIntegerField(_("duration (seconds)"), default=0)
    phone_number = models.CharField(_("phone number"), max_length=20, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("logged"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("call log")
        verbose_name_plural = _("call logs")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["tenant", "ticket", "created_at"], name="calllog_ticket")]

    def __str__(self) -> str:
        return (
            f"#{self.ticket.number} {self.get_direction_display()} {self.created_at:%Y-%m-%d %H:%M}"
        )

    @property
    def duration_text(self) -> str:
        """'3:07' (minutes:seconds), '1:02:07' past an hour."""
        return duration_text(self.duration_seconds)

    # The thread shows calls among messages (tickets/templatetags/tickets.py).
    is_call = True


def duration_text(seconds: int) -> str:
    hours, rest = divmod(int(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
