"""The demo desk's groups and routing rules (`manage.py seed_demo`), and its tickets
put in the groups the rules name."""

from helpdesk.models import Tenant, User
from routing.models import RoutingRule
from routing.services import active_rules, first_match
from tickets.models import Category, Group, GroupMember, Ticket

# (name, Chinese name, assignment, agents' emails)
GROUPS = [
    ("Billing", "账单组", Group.Assignment.ROUND_ROBIN, ["mei@acme.example"]),
    (
        "Technical support",
        "技术支持组",
        Group.Assignment.LEAST_OPEN,
        ["sam@acme.example", "lena@acme.example"],
    ),
]


def seed_routing(tenant: Tenant) -> None:
    groups = {}
    for name, name_zh_hans, assignment, emails in GROUPS:
        group, _created = Group.objects.get_or_create(
            tenant=tenant,
            name=name,
            defaults={"name_zh_hans": name_zh_hans, "assignment": assignment},
        )
        for agent in User.objects.filter(email__in=emails, tenant=tenant):
            GroupMember.objects.get_or_create(tenant=tenant, group=group, agent=agent)
        groups[name] = group
    if not RoutingRule.objects.exists():
        by_category = RoutingRule.objects.create(
            tenant=tenant, name="Billing questions", position=1, group=groups["Billing"]
        )
        by_category.categories.set(Category.objects.filter(name="Billing"))
        RoutingRule.objects.create(
            tenant=tenant,
            name="Invoices and refunds, whatever the category",
            position=2,
            group=groups["Billing"],
            words=["invoice", "发票", "refund", "退款"],
        )
        technical = RoutingRule.objects.create(
            tenant=tenant, name="Technical issues", position=3, group=groups["Technical support"]
        )
        technical.categories.set(Category.objects.filter(name="Technical issue"))
    # The demo's tickets were filed before the rules existed: they join their groups now
    # (without being handed to anyone, as the demo's assignments are its own).
    rules = active_rules(tenant.pk)
    for ticket in Ticket.objects.filter(group=None).select_related("requester", "tenant"):
        rule = first_match(rules, ticket, ticket.messages.order_by("pk").first())
        if rule is not None:
            Ticket.objects.filter(pk=ticket.pk).update(group_id=rule.group_id)
