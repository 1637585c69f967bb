"""Numbers and dates from outside, parsed with their ranges in one place.

Every number or date a person or a client types (forms, report ranges, the API's query
parameters and fields) goes through here, so none is used before its range is known:

- dates between EARLIEST and LATEST: arithmetic on a report range (the day after its
  end, the previous period before its start, the weeks between) stays far from Python's
  year 1 and year 9999, past which it overflows (a 500);
- whole numbers of ASCII digits within the caller's bounds (by default PostgreSQL's
  `integer`): `"²".isdigit()` is true but `int("²")` fails, and a number past a
  column's type fails in PostgreSQL.

Parse functions raise `InvalidValue` (a ValueError) with a message for the client; the
form and serializer fields turn it into their own validation errors.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

# Dates outside these are typing mistakes, not days anyone reports on.
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
# PostgreSQL's `integer`: the default bounds of a whole number.
INTEGER_MIN, INTEGER_MAX = -(2**31), 2**31 - 1
# Ticket numbers, ids: `bigint`.
BIGINT_MAX = 2**63 - 1

_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,19}")


class InvalidValue(ValueError):
    """A number or date the client sent that cannot be used; str() is the message."""


def date_range_message() -> str:
    return _("Choose dates between %(earliest)s and %(latest)s.") % {
        "earliest": EARLIEST.year,
        "latest": LATEST.year,
    }


def check_date(day: date) -> date:
    """`day` if it lies between EARLIEST and LATEST (datetimes by their date)."""
    as_date = day.date() if isinstance(day, datetime) else day
    if not EARLIEST <= as_date <= LATEST:
        raise InvalidValue(date_range_message())
    return day


def parse_date(text: str) -> date:
    """A YYYY-MM-DD date between EARLIEST and LATEST."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidValue(_("Enter a date as YYYY-MM-DD.")) from None
    return check_date(day)


def is_whole_number(text: str) -> bool:
    """Whether `text` is ASCII digits a PostgreSQL bigint can hold (no sign)."""
    return text.isascii() and text.isdigit() and int(text) <= BIGINT_MAX


def check_int(value: int, *, minimum: int = INTEGER_MIN, maximum: int = INTEGER_MAX) -> int:
    if not minimum <= value <= maximum:
        raise InvalidValue(
            _("Enter a whole number from %(minimum)s to %(maximum)s.")
            % {"minimum": minimum, "maximum": maximum}
        )
    return value


def parse_int(text: str, *, minimum: int = INTEGER_MIN, maximum: int = INTEGER_MAX) -> int:
    """A whole number written in ASCII digits, between `minimum` and `maximum`."""
    text = text.strip()
    if not _WHOLE_NUMBER.fullmatch(text):
        raise InvalidValue(_("Enter a whole number."))
    return check_int(int(text), minimum=minimum, maximum=maximum)


def query_int(params, name: str, *, default: int, minimum: int, maximum: int) -> int:
    """A whole-number query parameter of the API, or `default` when absent or empty;
    a 400 naming the parameter otherwise."""
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        return parse_int(raw, minimum=minimum, maximum=maximum)
    except InvalidValue as error:
        raise serializers.ValidationError({name: [str(error)]}) from None


# -- form fields ---------------------------------------------------------------------------


class DateField(forms.DateField):
    """Django's DateField, between EARLIEST and LATEST."""

    def to_python(self, value):
        day = super().to_python(value)
        if day is not None:
            try:
                check_date(day)
            except InvalidValue as error:
                raise forms.ValidationError(str(error), code="out_of_range") from None
        return day


def date_field(label, *, required: bool = True, **kwargs) -> DateField:
    """A date input of a form (the browser's date picker)."""
    kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    return DateField(label=label, required=required, **kwargs)


class IntegerField(forms.IntegerField):
    """Django's IntegerField, in ASCII digits, bounded (by default to PostgreSQL's
    `integer`) so no number reaches a query its column cannot hold."""

    default_error_messages = {"invalid": gettext_lazy("Enter a whole number.")}

    def __init__(self, *, min_value=INTEGER_MIN, max_value=INTEGER_MAX, **kwargs):
        super().__init__(min_value=min_value, max_value=max_value, **kwargs)

    def to_python(self, value):
        if isinstance(value, str) and value.strip() and not value.strip().isascii():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


# -- serializer fields (the API) -------------------------------------------------------------


class ApiDateTimeField(serializers.DateTimeField):
    """DRF's DateTimeField, on a day between EARLIEST and LATEST."""

    def to_internal_value(self, value):
        moment = super().to_internal_value(value)
        try:
            return check_date(moment)
        except InvalidValue as error:
            raise serializers.ValidationError(str(error), code="out_of_range") from None
