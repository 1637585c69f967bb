"""Where a new ticket goes: the first routing rule it matches puts it in a group, and
the group hands it to one of its agents as it is told to (docs/routing.md).

Runs in the creation's transaction (routing/subscribers.py): a ticket appears in the
queue already routed, and a routing that fails fails its creation, never half done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.postgres.aggregates import ArrayAgg
from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone

from chat.models import AgentPresence, Availability
from helpdesk.models import Membership, Role, User
from routing.models import RoutingRule
from tickets.models import UNSOLVED, Channel, Group, GroupMember, Message, Ticket
from tickets.services import ticket_update


@dataclass(frozen=True)
class Rule:
    """A routing rule as the matcher reads it: its conditions as sets of ids and codes."""

    pk: int
    name: str
    group_id: int
    categories: frozenset[int]
    priorities: frozenset[int]
    plans: frozenset[int]
    organizations: frozenset[int]
    channels: frozenset[str]
    languages: frozenset[str]
    tags: frozenset[str]
    words: tuple[str, ...]


# Every creation reads the rules: kept in the cache (Redis) until one of them, or a
# group, changes (routing/apps.py), as the SLA policy book is.
CACHE_SECONDS = 3600


def _cache_key(tenant_id: int) -> str:
    return f"routing:rules:v1:{tenant_id}"


def forget_rules(tenant_id: int) -> None:
    cache.delete(_cache_key(tenant_id))


def active_rules(tenant_id: int) -> list[Rule]:
    """The desk's active rules in order (the desk in scope, `tenant_id`)."""
    key = _cache_key(tenant_id)
    rules = cache.get(key)
    if rules is None:
        rules = _load_rules()
        cache.set(key, rules, CACHE_SECONDS)
    return rules


def _load_rules() -> list[Rule]:
    rows = (
        RoutingRule.objects.filter(is_active=True, group__is_active=True)
        .annotate(
            category_ids=ArrayAgg("categories__id", distinct=True, default=[]),
            plan_ids=ArrayAgg("plans__id", distinct=True, default=[]),
            organization_ids=ArrayAgg("organizations__id", distinct=True, default=[]),
        )
        .order_by("position", "pk")
    )
    return [
        Rule(
            pk=row.pk,
            name=row.name,
            group_id=row.group_id,
            categories=frozenset(i for i in row.category_ids if i is not None),
            priorities=frozenset(row.priorities),
            plans=frozenset(i for i in row.plan_ids if i is not None),
            organizations=frozenset(i for i in row.organization_ids if i is not None),
            channels=frozenset(row.channels),
            languages=frozenset(row.languages),
            tags=frozenset(tag.lower() for tag in row.tags),
            words=tuple(word.lower() for word in row.words if word.strip()),
        )
        for row in rows
    ]


def rule_matches(rule: Rule, ticket: Ticket, *, text: str, language: str) -> bool:
    """Every condition the rule fills in holds for the ticket (`text`: its subject and
    description, lowercased)."""
    plan_id = ticket.organization.plan_id if ticket.organization_id else None
    checks = (
        (rule.categories, ticket.category_id in rule.categories),
        (rule.priorities, ticket.priority in rule.priorities),
        (rule.plans, plan_id in rule.plans),
        (rule.organizations, ticket.organization_id in rule.organizations),
        (rule.channels, ticket.channel in rule.channels),
        (rule.languages, language in rule.languages),
        (rule.tags, bool(rule.tags & {tag.lower() for tag in ticket.tags})),
        (rule.words, any(word in text for word in rule.words)),
    )
    return all(holds for condition, holds in checks if condition)


def first_match(rules: list[Rule], ticket: Ticket, message: Message | None) -> Rule | None:
    text = f"{ticket.subject}\n{message.body if message else ''}".lower()
    requester = ticket.requester
    language = requester.preferred_language or ticket.tenant.default_language
    return next((r for r in rules if rule_matches(r, ticket, text=text, language=language)), None)


def agent_for(group: Group, now: datetime) -> User | None:
    """The group's next agent by its assignment, or None (manual, or nobody free).

    Skipped: agents no longer staff of the desk, agents who set themselves away, and
    agents at the group's limit of open tickets. The group's members are locked until
    commit, so two tickets routed at once do not both go to the same "next" agent.
    """
    if group.assignment == Group.Assignment.MANUAL:
        return None
    members = list(
        GroupMember.objects.select_for_update(of=("self",))
        .filter(group=group, agent__is_active=True)
        .filter(
            agent__in=Membership.objects.filter(
                is_active=True, role__in=[Role.AGENT, Role.ADMIN]
            ).values("user")
        )
        .select_related("agent")
        .order_by("pk")
    )
    agents = [member.agent_id for member in members]
    away = set(
        AgentPresence.objects.filter(
            agent_id__in=agents, availability=Availability.AWAY
        ).values_list("agent_id", flat=True)
    )
    open_tickets = dict(
        Ticket.objects.filter(assignee_id__in=agents, status__in=UNSOLVED)
        .values_list("assignee_id")
        .annotate(n=Count("pk"))
        .values_list("assignee_id", "n")
    )
    limit = group.max_open_per_agent
    free = [
        member
        for member in members
        if member.agent_id not in away
        and (limit is None or open_tickets.get(member.agent_id, 0) < limit)
    ]
    if not free:
        return None

    def longest_waiting(member: GroupMember):
        # Never assigned first, then whoever was assigned longest ago.
        return (member.last_assigned_at is not None, member.last_assigned_at or now, member.pk)

    if group.assignment == Group.Assignment.LEAST_OPEN:
        chosen = min(free, key=lambda m: (open_tickets.get(m.agent_id, 0), *longest_waiting(m)))
    else:
        chosen = min(free, key=longest_waiting)
    chosen.last_assigned_at = now
    chosen.save(update_fields=["last_assigned_at"])
    return chosen.agent


def route_new_ticket(ticket: Ticket, message: Message | None) -> Ticket:
    """Put a new ticket in the group of the first rule it matches, and hand it to one
    of the group's agents unless someone has it already. A chat's agent is chosen by
    the chat's own routing (chat/services.py): its ticket only gets the group."""
    rules = active_rules(ticket.tenant_id)
    if not rules:
        return ticket
    rule = first_match(rules, ticket, message)
    if rule is None:
        return ticket
    group = Group.objects.get(pk=rule.group_id)
    assignee = ...
    if ticket.assignee_id is None and ticket.channel != Channel.CHAT:
        assignee = agent_for(group, timezone.now()) or ...
    return ticket_update(ticket=ticket, actor=None, group=group, assignee=assignee)
