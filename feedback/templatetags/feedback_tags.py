"""Template tags of the feedback app."""

from django import template

from feedback.selectors import feedback_form_open_to_visitors

register = template.Library()


@register.simple_tag(takes_context=True)
def feedback_form_offered(context) -> bool:
    """Does the footer offer the feedback form to whoever reads the page: a signed-in
    member of the desk, or a visitor when the desk has opened the form to visitors?"""
    if context.get("current_role"):
        return True
    request = context.get("request")
    if request is None or request.user.is_authenticated:
        return False
    return feedback_form_open_to_visitors()
