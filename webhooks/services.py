"""Outbound webhooks: every write and rule of the app (docs/webhooks.md).

A delivery is one event for one endpoint, a row written in the transaction of the
change that caused it (the outbox principle): the change and the promise to tell the
endpoint commit or roll back together. The broker only wakes a worker; the sweep finds
what a lost wake-up, a failed attempt or a dead worker left.

Delivering one (`webhook_deliver`), the way `email_deliver` sends an email:
1. Claim: a conditional UPDATE moves the row from pending to sending, counting the
   attempt, only while its endpoint is active; it commits at once. A duplicate or
   late task that finds it claimed or done does nothing.
2. Post, outside any transaction (webhooks.network: the address checked and pinned,
   short timeouts, no redirects).
3. Record, in one transaction: the attempt's line in the log; the delivery succeeded,
   or back to pending after a back-off, or failed after the last attempt; the
   endpoint's run of failures, which turns it off at WEBHOOK_DISABLE_AFTER_FAILURES,
   emailing the desk's admins.
A worker killed between 1 and 3 leaves the row `sending`; once its claim is older than
SENDING_LEASE (no attempt can last that long) the sweep makes it pending again and it
is posted again with the same X-Helpdesk-Delivery id. So each event reaches each
endpoint once from our side (one row per (endpoint, event)), and at least once on the
wire: a receiver that must act once dedupes on that id.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_scopes import scopes_disabled

from helpdesk.models import Role, Tenant, User, new_secret
from helpdesk.outbox import wake_on_commit, wake_up_grace
from helpdesk.services import email_queue_template
from helpdesk.tenancy import tenant_url
from webhooks import network
from webhooks.formats import build_request
from webhooks.models import (
    PING,
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from webhooks.payloads import (
    agent_link,
    chat_text,
    envelope,
    message_payload,
    render_chat_text,
    ticket_payload,
    timestamp,
)

__all__ = [
    "chat_text",
    "ticket_payload",
    "webhook_deliver",
    "webhook_endpoint_enable",
    "webhook_endpoint_rotate_secret",
    "webhook_enqueue",
    "webhook_send_again",
    "webhook_send_test",
    "webhook_sweep",
    "webhook_url_problem",
]

logger = logging.getLogger(__name__)

# How long to wait after the n-th failed attempt: about a day in all, then it fails.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
# A claim older than this belongs to a dead worker: an attempt lasts WEBHOOK_TIMEOUT at
# most, and the worker does nothing else between claiming and recording.
SENDING_LEASE = timedelta(minutes=2)
# A row the sweep handed to the broker is not handed again before this.
SWEEP_LEASE = timedelta(minutes=2)
SWEEP_BATCH = 500
CACHE_SECONDS = 3600

Status = WebhookDelivery.Status
JSON = WebhookEndpoint.Format.JSON
MESSAGE_EVENTS = {
    EventType.CUSTOMER_REPLIED,
    EventType.AGENT_REPLIED,
    EventType.NOTE_ADDED,
}


# -- which endpoints want an event (cached per desk) -------------------------------------------


def _cache_key(tenant_id: int) -> str:
    return f"webhooks:wanted:v1:{tenant_id}"


def forget_endpoints(tenant_id: int) -> None:
    cache.delete(_cache_key(tenant_id))


def _wanted(tenant_id: int) -> dict[str, list[tuple[int, str]]]:
    """{event type: [(endpoint id, format)]} of the desk's active endpoints. Read on
    every ticket change, so kept in the cache (Redis, or its database fallback while
    Redis is away) until an endpoint changes (webhooks/apps.py)."""
    key = _cache_key(tenant_id)
    wanted = cache.get(key)
    if wanted is None:
        wanted = {}
        rows = (
            WebhookEndpoint.objects.filter(tenant_id=tenant_id, is_active=True)
            .exclude(events=[])
            .values_list("pk", "format", "events")
            .order_by("pk")
        )
        for pk, format_, events in rows:
            for event_type in events:
                wanted.setdefault(event_type, []).append((pk, format_))
        cache.set(key, wanted, CACHE_SECONDS)
    return wanted


def endpoints_for_event(event) -> list[tuple[int, str]]:
    """(id, format) of the desk's endpoints that get `event`. Internal notes, and the
    lines of a live chat (published with notify=False), are not posted to chat tools:
    a note is the desk's own, and a chat's lines would flood the team's channel."""
    wanted = _wanted(event.tenant_id).get(event.name, [])
    json_only = event.name == EventType.NOTE_ADDED or (
        event.name in MESSAGE_EVENTS and getattr(event, "notify", True) is False
    )
    if json_only:
        return [(pk, format_) for pk, format_ in wanted if format_ == JSON]
    return list(wanted)


# -- enqueueing ---------------------------------------------------------------------------------


def webhook_enqueue(
    *, endpoint: WebhookEndpoint, event_type: str, event_id: str, data: dict
) -> WebhookDelivery:
    """Store a delivery of `data` (the schema's data object) to `endpoint` in the current
    transaction; a worker posts it after commit. Enqueued again with the same
    `event_id`, the delivery already stored is returned, and nothing is posted twice."""
    return _enqueue(
        desk=endpoint.tenant,
        endpoint_id=endpoint.pk,
        chat_tool=endpoint.is_chat_tool,
        event_type=event_type,
        event_id=event_id,
        data=data,
    )


def _enqueue(
    *,
    desk: Tenant,
    endpoint_id: int,
    chat_tool: bool,
    event_type: str,
    event_id: str,
    data: dict,
) -> WebhookDelivery:
    from webhooks.tasks import deliver_webhook

    if len(event_id) > WebhookDelivery._meta.get_field("event_id").max_length:
        raise ValueError("event_id is longer than 200 characters")
    now = timezone.now()
    try:
        # A savepoint: a duplicate must not break the caller's transaction.
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                tenant=desk,
                endpoint_id=endpoint_id,
                event_id=event_id,
                event_type=event_type,
                payload=envelope(
                    desk=desk, event_type=event_type, event_id=event_id, data=data, now=now
                ),
                message=render_chat_text(desk, event_type, data) if chat_tool else "",
                created_at=now,
                next_attempt_at=now + wake_up_grace(),
            )
    except IntegrityError:
        return WebhookDelivery.objects.get(endpoint_id=endpoint_id, event_id=event_id)
    wake_on_commit(deliver_webhook, desk.pk, delivery.pk)
    return delivery


def webhook_deliveries_for_event(event) -> list[WebhookDelivery]:
    """The deliveries of a domain event to the endpoints that want it, written in the
    publisher's transaction from the objects it changed (a later change does not alter
    what this event says)."""
    endpoints = endpoints_for_event(event)
    if not endpoints:
        return []
    ticket, data = event_data(event)
    return [
        _enqueue(
            desk=ticket.tenant,
            endpoint_id=pk,
            chat_tool=format_ != JSON,
            event_type=event.name,
            event_id=event.id,
            data=data,
        )
        for pk, format_ in endpoints
    ]


def event_data(event):
    """(ticket, the schema's data object) of a domain event: from the publisher's live
    objects (`event.live`), else from the database."""
    from tickets.models import Message, Ticket

    live = event.live
    ticket = live.get("ticket") or _ticket_of(event)
    data: dict = {"ticket": ticket_payload(ticket)}
    name = event.name
    if name == EventType.TICKET_CHANGED:
        data["changes"] = event.changes
    elif name in MESSAGE_EVENTS:
        message = live.get("message")
        if message is None:
            message = Message.objects.select_related("author").get(pk=event.message_id)
        data["message"] = message_payload(message)
    elif name == EventType.TICKET_MERGED:
        into = live.get("into") or Ticket.objects.select_related("tenant").get(
            pk=event.into_ticket_id
        )
        data["into_ticket"] = {
            "number": into.number,
            "subject": into.subject,
            "url": agent_link(into),
        }
    elif name in (EventType.SLA_WARNING, EventType.SLA_BREACHED):
        data["sla"] = {
            "metric": event.metric,
            "due_at": timestamp(datetime.fromisoformat(event.due_at)),
        }
    elif name == EventType.CSAT_RATED:
        survey = live.get("survey")
        data["rating"] = {"score": event.rating, "comment": survey.comment if survey else ""}
    elif name == EventType.CHAT_ENDED:
        data["chat"] = {"answered": event.answered}
    return ticket, data


def _ticket_of(event):
    from tickets.models import Ticket

    for holder in ("survey", "chat"):
        if holder in event.live:
            return event.live[holder].ticket
    return Ticket.objects.select_related(
        "tenant", "requester", "organization__plan", "category", "group", "assignee"
    ).get(pk=event.ticket_id)


# -- delivering -----------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt."""
    return BACKOFF[min(attempts, len(BACKOFF)) - 1]


def webhook_deliver(*, delivery_id: int) -> bool:
    """Post one delivery if it is waiting and its endpoint is active (steps in the
    module's notes); whether it was delivered now."""
    claimed_at = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=Status.PENDING, endpoint__is_active=True
    ).update(status=Status.SENDING, claimed_at=claimed_at, attempts=F("attempts") + 1)
    if not claimed:
        return False
    delivery = WebhookDelivery.objects.select_related("endpoint", "tenant").get(pk=delivery_id)
    response = _post(delivery)
    _record(delivery, claimed_at, response)
    return response.ok


def _post(delivery: WebhookDelivery) -> network.Response:
    endpoint = delivery.endpoint
    request = build_request(delivery, endpoint, now=time.time())
    try:
        # Checked at every attempt, not only when the URL was saved: DNS answers change.
        target = network.resolve(request.url)
    except network.UnsafeTarget as refused:
        return network.Response(status=None, ms=0, error=str(refused))
    return network.post(target, request.body, request.headers)


def _record(delivery: WebhookDelivery, claimed_at: datetime, response: network.Response) -> None:
    now = timezone.now()
    endpoint = delivery.endpoint
    outcome = {
        "response_status": response.status,
        "response_ms": response.ms,
        "response_excerpt": response.excerpt,
        "error": response.error,
    }
    if response.ok:
        outcome.update(status=Status.SUCCEEDED, delivered_at=now, error="")
    elif delivery.attempts >= MAX_ATTEMPTS:
        outcome.update(status=Status.FAILED)
    else:
        outcome.update(status=Status.PENDING, next_attempt_at=now + backoff(delivery.attempts))
    try:
        with transaction.atomic():
            _store_outcome(delivery, claimed_at, response, outcome, now)
    except IntegrityError:
        # The endpoint (and so the delivery) was deleted while the request was out.
        return
    if not response.ok:
        logger.info(
            "Webhook delivery %s to endpoint %s failed (attempt %d): %s %s",
            delivery.pk,
            endpoint.pk,
            delivery.attempts,
            response.status,
            response.error,
        )


def _store_outcome(delivery, claimed_at, response, outcome: dict, now) -> None:
    """The attempt's line of the log, the delivery's state, the endpoint's run."""
    endpoint = delivery.endpoint
    WebhookAttempt.objects.create(
        tenant_id=delivery.tenant_id,
        delivery=delivery,
        number=delivery.attempts,
        started_at=claimed_at,
        response_status=response.status,
        response_ms=response.ms,
        error=response.error,
    )
    # Only while the claim is ours: after the lease the sweep may have handed it on.
    WebhookDelivery.objects.filter(
        pk=delivery.pk, status=Status.SENDING, claimed_at=claimed_at
    ).update(**outcome)
    if response.ok:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            consecutive_failures=0, last_success_at=now
        )
    else:
        _count_failure(endpoint, delivery, response, now)


def _count_failure(
    endpoint: WebhookEndpoint, delivery: WebhookDelivery, response: network.Response, now
) -> None:
    """One more failed attempt in a row; at the threshold the endpoint is turned off
    (once: the conditional UPDATE decides who) and its desk's admins are told."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=F("consecutive_failures") + 1, last_failure_at=now
    )
    threshold = settings.WEBHOOK_DISABLE_AFTER_FAILURES
    desk = delivery.tenant
    with translation.override(desk.default_language):
        last = response.error or _("HTTP status %(status)s") % {"status": response.status}
        reason = _("%(count)s failed attempts in a row; the last: %(error)s") % {
            "count": threshold,
            "error": last,
        }
    turned_off = WebhookEndpoint.objects.filter(
        pk=endpoint.pk, is_active=True, consecutive_failures__gte=threshold
    ).update(is_active=False, disabled_at=now, disabled_reason=reason[:500])
    if turned_off:
        _forget_now_and_after_commit(desk.pk)
        endpoint.refresh_from_db()
        _tell_admins_endpoint_disabled(desk, endpoint, last_error=last)
        logger.warning(
            "Webhook endpoint %s of desk %s turned off: %s", endpoint.pk, desk.slug, reason
        )


def _forget_now_and_after_commit(tenant_id: int) -> None:
    forget_endpoints(tenant_id)
    transaction.on_commit(lambda: forget_endpoints(tenant_id))


def desk_admins(desk: Tenant):
    return User.objects.filter(
        memberships__tenant=desk,
        memberships__role=Role.ADMIN,
        memberships__is_active=True,
        is_active=True,
    ).distinct()


def _tell_admins_endpoint_disabled(
    desk: Tenant, endpoint: WebhookEndpoint, *, last_error: str
) -> None:
    page = tenant_url(
        desk,
        reverse(
            "admin:webhooks_webhookendpoint_change",
            args=[endpoint.pk],
            urlconf=settings.ROOT_URLCONF,
        ),
    )
    for admin in desk_admins(desk):
        with translation.override(admin.preferred_language or desk.default_language):
            email_queue_template(
                tenant=desk,
                to=[admin.email],
                template_prefix="webhooks/email/endpoint_disabled",
                context={
                    "endpoint": endpoint,
                    "failures": endpoint.consecutive_failures,
                    "last_error": last_error,
                    "endpoint_url": page,
                    # Not the whole URL: a chat tool's key is in its path or query.
                    "endpoint_host": urlsplit(endpoint.url).netloc,
                },
                dedupe_key=f"webhook-off:{endpoint.pk}:{timestamp(endpoint.disabled_at)}:{admin.pk}",
            )


# -- the sweep --------------------------------------------------------------------------------


def webhook_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Beat, every minute, across desks:
    - deliveries claimed longer ago than SENDING_LEASE: their worker died mid-request;
      they wait again, to be posted again with the same delivery id;
    - deliveries due (a lost wake-up, a back-off over) of active endpoints: one task
      each, their next attempt moved a lease ahead so the next sweep does not queue
      them again while they wait in the broker."""
    from webhooks.tasks import deliver_webhook

    now = now or timezone.now()
    with scopes_disabled():
        orphaned = WebhookDelivery.objects.filter(
            status=Status.SENDING, claimed_at__lt=now - SENDING_LEASE
        ).update(
            status=Status.PENDING,
            next_attempt_at=now,
            error=(
                "The worker stopped during the attempt; it is posted again with the same "
                "delivery id."
            ),
        )
    if orphaned:
        logger.warning("%d webhook deliveries were in flight when their worker died.", orphaned)
    delivery = WebhookDelivery._meta.db_table
    endpoint = WebhookEndpoint._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {delivery} SET next_attempt_at = %s
            WHERE id IN (
                SELECT d.id FROM {delivery} d JOIN {endpoint} e ON e.id = d.endpoint_id
                WHERE d.status = 'pending' AND d.next_attempt_at <= %s AND e.is_active
                ORDER BY d.next_attempt_at LIMIT %s FOR UPDATE OF d SKIP LOCKED
            )
            RETURNING tenant_id, id
            """,  # noqa: S608 - the table names are ours
            [now + SWEEP_LEASE, now, SWEEP_BATCH],
        )
        due = cursor.fetchall()
    for tenant_id, delivery_id in due:
        wake_on_commit(deliver_webhook, tenant_id, delivery_id)
    return {"due": len(due), "orphaned": orphaned}


# -- the admin's actions ----------------------------------------------------------------------


def webhook_url_problem(url: str) -> str | None:
    """What is wrong with `url` as an endpoint's address, in words (None: nothing)."""
    try:
        network.resolve(url)
    except network.UnsafeTarget as refused:
        return str(refused)
    return None


@transaction.atomic
def webhook_endpoint_enable(*, endpoint: WebhookEndpoint) -> None:
    """Turn an endpoint on again: its run of failures starts from zero, and what waited
    while it was off is sent (the sweep takes it within a minute)."""
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=True, consecutive_failures=0, disabled_at=None, disabled_reason=""
    )
    WebhookDelivery.objects.filter(endpoint=endpoint, status=Status.PENDING).update(
        next_attempt_at=now
    )
    _forget_now_and_after_commit(endpoint.tenant_id)
    endpoint.refresh_from_db()


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    """A new signing secret; deliveries from now on (retries too) are signed with it."""
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret"])
    return endpoint.secret


def webhook_send_test(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `ping` delivery, to see the endpoint answer (in the delivery log)."""
    return webhook_enqueue(
        endpoint=endpoint,
        event_type=PING,
        event_id=f"ping:{uuid.uuid4().hex}",
        data={"endpoint": {"name": endpoint.name}},
    )


def webhook_send_again(*, delivery: WebhookDelivery) -> bool:
    """Post a failed delivery again from its first attempt, with the same delivery id
    (the endpoint was fixed); whether it was queued."""
    from webhooks.tasks import deliver_webhook

    queued = WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.FAILED).update(
        status=Status.PENDING,
        attempts=0,
        claimed_at=None,
        error="",
        next_attempt_at=timezone.now() + wake_up_grace(),
    )
    if queued:
        wake_on_commit(deliver_webhook, delivery.tenant_id, delivery.pk)
    return bool(queued)
