from django import template

from sla.display import describe_target
from sla.selectors import policy_book

register = template.Library()


@register.filter
def promise(plan, metric: str = "first_response") -> str:
    """What a plan promises for a metric, as customers read it:
    '24 business hours (Mon-Fri 9:00-18:00, Asia/Shanghai)' or '2 hours, around the clock'."""
    if plan is None:
        return ""
    book = policy_book(plan.tenant_id)
    policy = book.policy(plan.pk, None)
    if policy is None:
        return ""
    return describe_target(policy, metric, book.calendar(policy))
