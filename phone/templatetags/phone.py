from django import template

from phone.display import window_text
from phone.numbers import phone_number_display

register = template.Library()


@register.filter
def phone_number(e164: str) -> str:
    """'+86 138 0013 8000' for '+8613800138000'."""
    return phone_number_display(e164)


@register.simple_tag
def callback_window(callback) -> str:
    """'12/07/2026 1 p.m. – 3 p.m.': the window the customer chose, in the page's time
    zone (the desk's)."""
    return window_text(callback.window_start, callback.window_end)
