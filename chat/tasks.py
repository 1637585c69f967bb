from django.utils import timezone
from django_scopes import scopes_disabled

from chat import services
from chat.models import AgentPresence, Chat, ChatOffer
from helpdesk.celery import app
from helpdesk.tenancy import fan_out, tenant_task


@tenant_task()
def sweep_tenant(tenant) -> None:
    services.sweep(tenant)


@app.task(name="chat.tasks.sweep")
def sweep() -> int:
    """Beat entry point, every few seconds: a task per desk with chats to move on (an
    offer past its time, a waiting chat, an active chat whose agent went quiet).

    Offers also move on the moment something changes (a chat starts or ends, an agent
    comes online or declines); this catches time running out, and what a process that
    died in between left behind. A desk with no chat work costs one index probe each."""
    now = timezone.now()
    with scopes_disabled():  # which desks have work: across every desk, ids only
        desks = set(
            ChatOffer.objects.filter(answer=ChatOffer.Answer.PENDING, expires_at__lte=now)
            .values_list("tenant_id", flat=True)
            .distinct()
        )
        for state in (Chat.State.QUEUED, Chat.State.ACTIVE):  # two partial indexes
            desks |= set(
                Chat.objects.filter(state=state).values_list("tenant_id", flat=True).distinct()
            )
        desks &= set(AgentPresence.objects.values_list("tenant_id", flat=True).distinct())
    return fan_out(sweep_tenant, sorted(desks))
