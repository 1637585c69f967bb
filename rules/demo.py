"""The demo desk's rules: a trigger that escalates urgent requests of the top plan to
its group, and an automation that nudges customers who left a question pending."""

from plans.models import Plan
from rules.conditions import Field, Op
from rules.models import Action, Automation, Condition, Trigger
from tickets.models import Group, Priority, Status


def seed_rules(tenant) -> None:
    if Trigger.objects.filter(tenant=tenant).exists():
        return
    top_plan = Plan.objects.filter(tenant=tenant).order_by("-rank").first()
    group = Group.objects.filter(tenant=tenant).order_by("pk").first()

    def condition(rule, field, op, value=""):
        Condition.objects.create(tenant=tenant, rule=rule, field=field, operator=op, value=value)

    def action(rule, kind, value="", **text):
        Action.objects.create(tenant=tenant, rule=rule, kind=kind, value=value, **text)

    escalate = Trigger.objects.create(
        tenant=tenant, name="Escalate urgent requests of the top plan", runs_on="created"
    )
    condition(escalate, Field.PRIORITY, Op.IS, str(Priority.URGENT))
    if top_plan is not None:
        condition(escalate, Field.PLAN, Op.IS, str(top_plan.pk))
    action(escalate, Action.Kind.ADD_TAGS, "escalated")
    if group is not None:
        action(escalate, Action.Kind.SET_GROUP, str(group.pk))
    action(
        escalate,
        Action.Kind.ADD_NOTE,
        body="Urgent request from {{ customer.name }} on the top plan: answer within the hour.",
    )

    nudge = Automation.objects.create(tenant=tenant, name="Remind customers pending for 2 days")
    condition(nudge, Field.STATUS, Op.IS, Status.PENDING)
    condition(nudge, Field.HOURS_SINCE_PENDING, Op.GREATER_THAN, "48")
    action(
        nudge,
        Action.Kind.EMAIL_REQUESTER,
        subject="Still need help with {{ ticket.subject }}?",
        body=(
            "Hello {{ customer.first_name }},\n\nWe are waiting for your answer on "
            "request #{{ ticket.number }}. Reply to this email and we will pick it up."
        ),
    )
