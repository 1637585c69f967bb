"""Tickets, their threads and their history.

A ticket is known to people by its number, sequential per tenant (#1, #2, ...);
primary keys never appear in URLs. Every change to a ticket is recorded as a
`TicketEvent` by the service that makes it (tickets/services.py).
"""

import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.localized import LocalizedName
from helpdesk.models import TenantOwned


class Priority(models.IntegerChoices):
    # Stored as numbers so "most urgent first" is a plain ascending index scan.
    URGENT = 1, _("Urgent")
    HIGH = 2, _("High")
    MEDIUM = 3, _("Medium")
    LOW = 4, _("Low")

    @classmethod
    def from_name(cls, name: str) -> "Priority":
        return cls[name.upper()]

    @property
    def slug(self) -> str:
        return self.name.lower()


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")  # waiting on the customer
    ON_HOLD = "on_hold", _("On hold")  # waiting on a third party
    SOLVED = "solved", _("Solved")
    CLOSED = "closed", _("Closed")


UNSOLVED = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)


class Channel(models.TextChoices):
    WEB = "web", _("Web")
    EMAIL = "email", _("Email")
    API = "api", _("API")
    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Chat")


class Category(LocalizedName, TenantOwned):
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                "tenant",
                Lower("name"),
                name="category_tenant_name_unique_ci",
                violation_error_message=_("Another category already has this name."),
            ),
        ]


class Group(LocalizedName, TenantOwned):
    """A team of agents (Billing, Tier 2, ...): tickets are routed to it, and it hands
    them to its agents as it is told to (routing/assignment.py)."""

    class Assignment(models.TextChoices):
        MANUAL = "manual", _("Manual: agents take tickets from the group's queue")
        ROUND_ROBIN = "round_robin", _("Round robin: each agent in turn")
        LEAST_OPEN = "least_open", _("Least busy: the agent with the fewest open tickets")

    description = models.CharField(_("description"), max_length=300, blank=True)
    assignment = models.CharField(
        _("assignment"), max_length=12, choices=Assignment.choices, default=Assignment.MANUAL
    )
    max_open_per_agent = models.PositiveSmallIntegerField(
        _("open tickets per agent at most"),
        null=True,
        blank=True,
        help_text=_("An agent with this many open tickets gets no more. Blank: no limit."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    agents = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="GroupMember",
        related_name="ticket_groups",
        verbose_name=_("agents"),
    )

    class Meta:
        verbose_name = _("group")
        verbose_name_plural = _("groups")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "tenant",
                Lower("name"),
                name="group_tenant_name_unique_ci",
                violation_error_message=_("Another group already has this name."),
            ),
        ]


class GroupMember(TenantOwned):
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="members")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="group_memberships",
        verbose_name=_("agent"),
    )
    # Round robin hands the next ticket to whoever had one longest ago.
    last_assigned_at = models.DateTimeField(
        _("last given a ticket"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("group member")
        verbose_name_plural = _("group members")
        constraints = [
            models.UniqueConstraint(
                "tenant",
                "group",
                "agent",
                name="group_member_once",
                violation_error_message=_("This agent is in the group already."),
            ),
        ]

    def __str__(self) -> str:
        return str(self.agent)


class TicketSequence(TenantOwned):
    """The last ticket number handed out in a tenant (row-locked while numbering)."""

    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant"], name="ticketsequence_tenant")]


# What the dashboards group and filter tickets by (see Ticket.Meta.indexes).
DASHBOARD_COLUMNS = ["category", "priority", "organization", "assignee"]


def new_reply_token() -> str:
    return secrets.token_urlsafe(18)


class Ticket(TenantOwned):
    number = models.PositiveIntegerField(_("number"), editable=False)
    subject = models.CharField(_("subject"), max_length=200)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="requested_tickets",
        verbose_name=_("requester"),
    )
    organization = models.ForeignKey(
        "plans.Organization",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("organization"),
    )
    category = models.ForeignKey(
        Category,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("category"),
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.MEDIUM
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.NEW
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.WEB
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
    )
    group = models.ForeignKey(
        Group,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("group"),
    )
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    # The secret in the ticket's Reply-To address (reply+<token>@...): knowing the
    # ticket number is not enough to post into its thread by email.
    reply_token = models.CharField(max_length=32, default=new_reply_token, editable=False)
    merged_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="merged_from"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    first_agent_reply_at = models.DateTimeField(_("first agent reply"), null=True, blank=True)
    solved_at = models.DateTimeField(_("solved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # When the status last changed (null: not since it was created, or before this was
    # recorded): "hours since pending" in automations (rules/) counts from it.
    status_changed_at = models.DateTimeField(
        _("status changed"), null=True, blank=True, editable=False
    )
    # How long the customer waited, in the business hours of the ticket's SLA
    # calendar (sla/timers.py): stored when it happens, so the dashboards take
    # medians and percentiles in the database.
    first_response_seconds = models.PositiveIntegerField(
        _("first response time (business seconds)"), null=True, blank=True, editable=False
    )
    resolution_seconds = models.PositiveIntegerField(
        _("resolution time (business seconds)"), null=True, blank=True, editable=False
    )

    # Service-level clocks (rules in sla/timers.py): stored when they change, never
    # computed on read, so the queue can sort on them and the sweep scan them.
    sla_policy = models.ForeignKey(
        "sla.SLAPolicy",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("SLA policy"),
    )
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    next_response_due_at = models.DateTimeField(_("next response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    first_response_breached_at = models.DateTimeField(null=True, blank=True)
    next_response_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)
    next_response_met_at = models.DateTimeField(null=True, blank=True)
    sla_paused_at = models.DateTimeField(_("SLA paused since"), null=True, blank=True)
    # The earliest due time still running (breached or not): the queue's order.
    sla_due_at = models.DateTimeField(_("SLA due"), null=True, blank=True)
    # When that due time enters its warning window (the queue's amber badge).
    sla_warn_at = models.DateTimeField(null=True, blank=True)
    # The due time the assignee was last warned about: one warning per due time.
    sla_warned_due_at = models.DateTimeField(null=True, blank=True)
    # When the SLA sweep next has something to do (a warning or a breach).
    sla_check_at = models.DateTimeField(null=True, blank=True)
    # A callback the customer asked for (phone/): the end of their window while the
    # call is still owed, one of the due times `sla_due_at` takes the earliest of
    # (sla/timers.py), and the window's start, when the queue's badge turns amber.
    # Both are cleared when an agent's answered outbound call makes the callback.
    callback_due_at = models.DateTimeField(_("callback due"), null=True, blank=True)
    callback_window_start = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "number"], name="ticket_tenant_number_unique"
            ),
            models.UniqueConstraint(fields=["reply_token"], name="ticket_reply_token_unique"),
        ]
        indexes = [
            # The queue's views read unsolved tickets soonest due first (no SLA
            # last), then most urgent, then oldest: partial indexes in exactly that
            # order let the first page stop after 50 rows instead of sorting every
            # unsolved ticket.
            models.Index(
                fields=["tenant", "sla_due_at", "priority", "created_at", "id"],
                condition=models.Q(status__in=UNSOLVED),
                name="ticket_sla_queue",
            ),
            models.Index(
                fields=["tenant", "assignee", "sla_due_at", "priority", "created_at", "id"],
                condition=models.Q(status__in=UNSOLVED),
                name="ticket_sla_by_assignee",
            ),
            # The SLA sweep's range scan across tenants: cost follows what is due.
            models.Index(
                fields=["sla_check_at", "tenant"],
                condition=models.Q(sla_check_at__isnull=False),
                name="ticket_sla_check",
            ),
            models.Index(
                fields=["tenant", "status", "priority", "created_at"], name="ticket_status_queue"
            ),
            models.Index(fields=["tenant", "requester", "-created_at"], name="ticket_requester"),
            models.Index(
                fields=["tenant", "organization", "-created_at"], name="ticket_organization"
            ),
            models.Index(fields=["tenant", "category", "status"], name="ticket_category"),
            # A group's queue, in the queue's order.
            models.Index(
                fields=["tenant", "group", "sla_due_at", "priority", "created_at", "id"],
                condition=models.Q(status__in=UNSOLVED),
                name="ticket_sla_by_group",
            ),
            # Created, first answered and solved in a date range: the insights
            # dashboards' scans (feedback/dashboard/tickets.py). Each carries what those
            # aggregate and filter on, so PostgreSQL answers from the index alone
            # where the pages are all-visible.
            models.Index(
                fields=["tenant", "-solved_at"],
                include=[*DASHBOARD_COLUMNS, "resolution_seconds"],
                name="ticket_solved_incl",
            ),
            models.Index(
                fields=["tenant", "created_at"],
                include=[*DASHBOARD_COLUMNS, "channel"],
                name="ticket_created_incl",
            ),
            models.Index(
                fields=["tenant", "first_agent_reply_at"],
                include=[*DASHBOARD_COLUMNS, "first_response_seconds"],
                condition=models.Q(first_agent_reply_at__isnull=False),
                name="ticket_first_response",
            ),
            GinIndex(fields=["tags"], name="ticket_tags"),
            # Most recently updated first: a search's best match is ranked among the
            # latest matches (tickets/search.py by_relevance), so for a common word
            # PostgreSQL walks this and checks each ticket's document until it has
            # them, instead of sorting every ticket of the desk (180 ms at 1,000,000,
            # bench/sections/scale.py). The status lets a view's filter (unsolved...)
            # be checked in the index.
            models.Index(
                fields=["tenant", "-updated_at", "-id"], include=["status"], name="ticket_updated"
            ),
            # Every other order a queue view can be sorted in (selectors.QUEUE_SORTS),
            # for the unsolved views and for all tickets, so that each first page is read
            # in order and stops: walking an index of every ticket for the unsolved ones
            # skips the closed, which are most of a desk (and most of the oldest); a sort
            # reads every ticket of the view. A search walks the same index, checking
            # each ticket's document, unless its word is rare enough to read first.
            models.Index(
                fields=["tenant", "priority", "created_at", "id"],
                condition=models.Q(status__in=UNSOLVED),
                name="ticket_priority_queue",
            ),
            models.Index(
                fields=["tenant", "created_at", "id"],
                condition=models.Q(status__in=UNSOLVED),
                name="ticket_created_queue",
            ),
            # With whom and which group, so a best match's pool for "Unassigned", "My
            # open" or "My groups" is filtered inside the index.
            models.Index(
                fields=["tenant", "-updated_at", "-id"],
                include=["assignee", "group"],
                condition=models.Q(status__in=UNSOLVED),
                name="ticket_updated_queue",
            ),
            models.Index(
                fields=["tenant", "sla_due_at", "priority", "created_at", "id"],
                name="ticket_sla_all",
            ),
            models.Index(
                fields=["tenant", "priority", "created_at", "id"], name="ticket_priority_all"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def priority_slug(self) -> str:
        return Priority(self.priority).slug

    @property
    def is_unsolved(self) -> bool:
        return self.status in UNSOLVED


class SenderCheck(models.TextChoices):
    """What the desk knows of who wrote a message that came by email (docs/email.md,
    "Who wrote it"). Messages written in the app or through the API have none ("")."""

    # The sender's own reply token for this ticket, or a DMARC pass for their domain.
    VERIFIED = "verified", _("Verified sender")
    # Taken as the sender's without proof, as email always was: a new ticket by mail
    # from a member, with no DMARC result.
    UNCONFIRMED = "unconfirmed", _("Sender not confirmed")
    # Held as an internal note for an agent to review: never public, never emailed
    # to the customer, never a response for the SLA.
    UNVERIFIED = "unverified", _("Unverified")


class SenderEvidence(models.TextChoices):
    """Why a message got its SenderCheck."""

    OWN_TOKEN = "own_token", _("sent to their own reply address")
    DMARC_PASS = "dmarc_pass", _("DMARC pass")
    NO_PROOF = "no_proof", _("no reply address, no DMARC result")
    DMARC_FAIL = "dmarc_fail", _("DMARC fail")
    OTHERS_TOKEN = "others_token", _("sent to someone else's reply address")
    NO_TOKEN = "no_token", _("not sent to their own reply address")
    STRANGER = "stranger", _("not a member of this desk")
    NO_ACCESS = "no_access", _("the sender cannot see this ticket")


class Message(TenantOwned):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField(_("message"))
    # Rendered once on write and sanitized: pages never render user input raw.
    body_html = models.TextField(editable=False)
    is_internal = models.BooleanField(_("internal note"), default=False)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    email_message_id = models.CharField(max_length=255, blank=True)
    # Mail only: the address its From header named, and what proved (or did not
    # prove) that this person wrote it (tickets/inbound.py).
    email_from = models.CharField(max_length=320, blank=True)
    sender_check = models.CharField(max_length=12, choices=SenderCheck.choices, blank=True)
    sender_evidence = models.CharField(max_length=20, choices=SenderEvidence.choices, blank=True)
    # Our receiving server's verdict (Authentication-Results): {"dmarc": "pass", ...}.
    email_authentication = models.JSONField(default=dict, blank=True)
    # Unverified mail only: names it in the review's URL (no primary key in URLs), and
    # who reviewed it when (publishing makes it public; keeping leaves it a note).
    review_key = models.UUIDField(null=True, blank=True, editable=False)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Chat only: the sender's own id for the message, so a client that sends it again
    # (it never heard the acknowledgement) stores it once (chat/services.py).
    client_key = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["tenant", "ticket", "created_at"], name="message_thread"),
            models.Index(fields=["tenant", "email_message_id"], name="message_email_id"),
        ]
        constraints = [
            models.UniqueConstraint(
                "tenant", "ticket", "client_key", name="message_client_key_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket} · {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def awaits_review(self) -> bool:
        return self.sender_check == SenderCheck.UNVERIFIED and self.reviewed_at is None


def attachment_path(attachment: "Attachment", filename: str) -> str:
    # The stored name is random: a file's URL goes through a permission check,
    # and its original name is kept in the row, not on disk.
    return f"attachments/{attachment.tenant_id}/{uuid.uuid4().hex}"


class Attachment(TenantOwned):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attachments", null=True
    )
    key = models.UUIDField(default=uuid.uuid4, editable=False)
    file = models.FileField(upload_to=attachment_path)
    name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key"], name="attachment_key_unique")]
        indexes = [models.Index(fields=["tenant", "ticket"], name="attachment_ticket")]

    def __str__(self) -> str:
        return self.name


class TicketSearch(TenantOwned):
    """A ticket's words for agents' search (tickets/search.py): a table of its own, so the
    ticket's frequent updates never rewrite its index entries."""

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, primary_key=True, related_name="search"
    )
    document = SearchVectorField()

    class Meta:
        indexes = [GinIndex(fields=["document"], name="ticketsearch_document")]


class TicketEvent(TenantOwned):
    """One change to a ticket, by whom and when: the ticket's audit trail."""

    class Kind(models.TextChoices):
        CREATED = "created", _("created the ticket")
        STATUS = "status", _("changed the status")
        PRIORITY = "priority", _("changed the priority")
        CATEGORY = "category", _("changed the category")
        ASSIGNEE = "assignee", _("changed the assignee")
        GROUP = "group", _("changed the group")
        TAGS = "tags", _("changed the tags")
        REOPENED = "reopened", _("reopened the ticket")
        MERGED = "merged", _("merged tickets")
        MACRO = "macro", _("applied a macro")
        SLA = "sla", _("service level")
        # Mail whose sender could not be confirmed, and what an agent decided about it.
        UNVERIFIED_MAIL = "unverified_mail", _("received mail from an unconfirmed sender")
        MAIL_PUBLISHED = "mail_published", _("published unverified mail as the customer's reply")
        MAIL_KEPT = "mail_kept", _("kept unverified mail as an internal note")
        # The phone channel (phone/): a callback asked for or made, a call logged.
        CALLBACK = "callback", _("callback")
        CALL = "call", _("logged a call")
        # A trigger or automation (rules/) fired on the ticket; its changes follow.
        RULE = "rule", _("applied a rule")

    class RuleKind(models.TextChoices):
        TRIGGER = "trigger", _("trigger")
        AUTOMATION = "automation", _("automation")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    old_value = models.CharField(max_length=255, blank=True)
    new_value = models.CharField(max_length=255, blank=True)
    # A change a rule made (rules/): which one, by kind and name as it was then. The
    # actor is then empty: the desk did it, "by trigger Escalate VIP". Empty by default
    # in the database too, so code from before rules (the bench's baseline) still writes.
    rule_kind = models.CharField(
        max_length=12, choices=RuleKind.choices, blank=True, default="", db_default=""
    )
    rule_name = models.CharField(max_length=100, blank=True, default="", db_default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["tenant", "ticket", "created_at"], name="ticketevent_ticket")
        ]

    def __str__(self) -> str:
        return f"{self.ticket} {self.kind}"

    def _label(self, value: str) -> str:
        # Status changes and why mail was unverified store codes (stable across
        # languages); show their labels.
        if self.kind in (self.Kind.STATUS, self.Kind.REOPENED) and value in Status.values:
            return Status(value).label
        if self.kind == self.Kind.UNVERIFIED_MAIL and value in SenderEvidence.values:
            return SenderEvidence(value).label
        return value

    @property
    def old_label(self) -> str:
        return self._label(self.old_value)

    @property
    def new_label(self) -> str:
        return self._label(self.new_value)


class Macro(LocalizedName, TenantOwned):
    """A canned reply; `{{ customer.first_name }}` and `{{ ticket.number }}` are filled in."""

    body = models.TextField(
        _("reply"),
        help_text=_(
            "Markdown. Placeholders: {{ customer.first_name }}, {{ customer.name }}, "
            "{{ ticket.number }}, {{ ticket.subject }}, {{ agent.first_name }}."
        ),
    )
    set_status = models.CharField(
        _("then set status"), max_length=10, choices=Status.choices, blank=True
    )
    set_priority = models.PositiveSmallIntegerField(
        _("then set priority"), choices=Priority.choices, null=True, blank=True
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("macro")
        verbose_name_plural = _("macros")
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                "tenant",
                Lower("name"),
                name="macro_tenant_name_unique_ci",
                violation_error_message=_("Another macro already has this name."),
            ),
        ]


class TicketEmailId(TenantOwned):
    """A Message-ID of an email in a ticket's thread: one we sent about the ticket
    (`sent`), or one we received into it.

    A reply whose In-Reply-To or References names any of them threads into the
    ticket (tickets/inbound.py), even when the mail client dropped the Reply-To
    token and our thread root. Unique per desk, so a received id also makes ingest
    idempotent: a second delivery of the same mail cannot add a second message.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    message_id = models.CharField(max_length=255)
    sent = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            # Also the index of the lookup by Message-ID.
            models.UniqueConstraint(
                fields=["tenant", "message_id"], name="ticketemailid_tenant_message_id"
            )
        ]

    def __str__(self) -> str:
        return self.message_id


class ReplyToken(TenantOwned):
    """The secret of one email's Reply-To address (reply+<token>@...), issued to its
    one recipient for one ticket when the email is queued (tickets/reply_tokens.py).

    A reply to that address proves who wrote it when its From is the recipient's:
    nobody else was sent the token. Only a digest is kept, so the table does not
    hand out anyone's address to post as them.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            # Also the index of the lookup by token.
            models.UniqueConstraint(fields=["tenant", "digest"], name="replytoken_tenant_digest")
        ]

    def __str__(self) -> str:
        return f"{self.ticket} · {self.user}"


# Mail from people who are not members of the desk is kept this long, then purged.
SUSPENDED_FROM_STRANGERS_KEPT = timedelta(days=14)


class SuspendedEmail(TenantOwned):
    """Mail that reached the desk but could not become a ticket or a reply.

    Kept with its raw bytes so nothing is lost: an admin downloads, retries, turns
    it into a ticket or deletes it. Mail from members waits until someone does;
    mail from anyone else expires after SUSPENDED_FROM_STRANGERS_KEPT.
    """

    class Reason(models.TextChoices):
        UNPARSEABLE = "unparseable", _("Could not be read")
        UNKNOWN_SENDER = "unknown_sender", _("Unknown sender")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Processing failed")
        TOO_LARGE = "too_large", _("Too large")
        # A new mail whose From our receiving server found forged (DMARC fail).
        DMARC_FAIL = "dmarc_fail", _("Sender failed DMARC")

    class Source(models.TextChoices):
        GATEWAY = "gateway", _("Mail gateway")
        IMAP = "imap", _("IMAP mailbox")
        MAILDIR = "maildir", _("Maildir")
        MBOX = "mbox", _("mbox file")

    sender = models.CharField(_("sender"), max_length=320, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now, editable=False)
    source = models.CharField(_("received through"), max_length=10, choices=Source.choices)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    error = models.TextField(_("error"), blank=True)
    # The message as it arrived, byte for byte (the first MAX_INBOUND_BYTES of a
    # larger one: `size` keeps the size it had).
    raw = models.BinaryField(editable=False)
    size = models.PositiveBigIntegerField(_("size"))
    retried_at = models.DateTimeField(_("last retried"), null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("suspended mail")
        verbose_name_plural = _("suspended mail")
        ordering = ["-received_at", "-pk"]
        constraints = [
            # A mail the gateway delivers again is kept once.
            models.UniqueConstraint(
                fields=["tenant", "message_id"],
                condition=~models.Q(message_id=""),
                name="suspendedemail_tenant_message_id",
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "-received_at"], name="suspendedemail_received"),
            # The purge's range scan across desks.
            models.Index(
                fields=["expires_at"],
                condition=models.Q(expires_at__isnull=False),
                name="suspendedemail_expires",
            ),
        ]

    def __str__(self) -> str:
        return self.subject or self.sender or str(_("(no subject)"))

    @property
    def is_truncated(self) -> bool:
        return self.size > len(self.raw)
