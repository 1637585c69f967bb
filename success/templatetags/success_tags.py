"""Template helpers of the CSM pages."""

from django import template
from django.utils.safestring import SafeString

from success.display import Sparkline, check_in_answers, drop_reason_words

register = template.Library()


@register.filter
def sparkline(points) -> SafeString:
    """`{{ organization.score_line|sparkline }}`: [(day, score)] as a small accessible SVG."""
    return Sparkline(list(points or [])).svg()


@register.filter
def drop_reason(task) -> str:
    """A health-drop task's reason in words (escaped by the template like any text)."""
    return drop_reason_words(task.reason)


@register.filter
def answered(task) -> list[tuple[str, str]]:
    return check_in_answers(task)
