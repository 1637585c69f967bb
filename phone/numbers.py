"""Phone numbers as people type them, checked and stored one way (E.164).

libphonenumber knows each country's lengths and prefixes, so "+1 555 0100" (too short)
and "+86 123" are refused where a pattern would take them. Numbers are asked for with
their country code: a desk's customers call from anywhere, and a number without one
would be read as the desk's country only by guessing.
"""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

EXAMPLE = "+86 138 0013 8000"


def phone_number_clean(text: str) -> str:
    """The number in E.164 ("+8613800138000"), or a ValidationError saying what to type."""
    text = (text or "").strip()
    if text.startswith("00"):  # the international prefix most of the world dials
        text = "+" + text[2:]
    if not text.startswith("+"):
        raise ValidationError(
            _("Start with + and the country code, for example %(example)s.") % {"example": EXAMPLE}
        )
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _(
                "This is not a valid phone number. Check it and its country code "
                "(for example %(example)s)."
            )
            % {"example": EXAMPLE}
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_number_display(e164: str) -> str:
    """'+86 138 0013 8000': as people read it (the stored text if it cannot be parsed)."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
