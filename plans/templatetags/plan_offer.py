"""What a plan offers, as the help center shows it: its channels (with the desk's
support address wherever email is offered) and the way up to a higher plan.

Every list of a plan's channels is `{% plan_channels plan %}`, so none can offer
email without saying where to write (tests/plans/test_offer.py holds templates to it).
"""

from django import template

from plans.services import plan_settings, upgrade_url

register = template.Library()


def _settings(context):
    """The desk's plan settings, read once per request."""
    request = context.get("request")
    held = getattr(request, "_plan_settings", None)
    if held is None:
        held = plan_settings(tenant=request.tenant)
        request._plan_settings = held
    return held


@register.inclusion_tag("plans/_channels.html", takes_context=True)
def plan_channels(context, plan, compact=False, offer_callback=False):
    """The channels `plan` includes; `compact` for a table cell; `offer_callback` to
    link phone to 'Request a callback' (the reader's own plan)."""
    request = context.get("request")
    membership = getattr(request, "membership", None)
    return {
        "plan": plan,
        "compact": compact,
        "offer_callback": offer_callback,
        "support_email": _settings(context).support_email,
        # A customer whose own plan this is can start the chat from here.
        "chat_link": membership is not None
        and not membership.is_staff_member
        and membership.organization_id is not None
        and membership.organization.plan_id == plan.pk,
    }


@register.inclusion_tag("plans/_upgrade_action.html", takes_context=True)
def upgrade_action(context, plan):
    """ "Upgrade to <plan>" out to its upgrade page, or "Ask us about <plan>"."""
    return {
        "plan": plan,
        "upgrade_url": upgrade_url(plan, _settings(context)),
        "csrf_token": context.get("csrf_token"),
    }
