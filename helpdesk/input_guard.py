"""Bad input is a 400, everywhere, by construction: the one place that refuses text no
part of the site can store or handle.

PostgreSQL cannot store a NUL character (U+0000) in text, nor a lone surrogate
(U+D800-U+DFFF: half of a UTF-16 pair, which JSON's `"\\ud800"` escape decodes to), and
psycopg raises on either when it is sent in a query. So a NUL in a search box, a URL slug,
an admin filter or a cookie used to reach the database and end as a 500. Rather than check
each field, every request is checked once, before anything reads it:

- `InputGuardMiddleware`, early in settings.MIDDLEWARE (before the tenant, the session and
  everything that queries), checks the path, the query string, cookies and headers (and
  that `Content-Length` is a number), and, in `process_view`, the form fields and the
  uploaded files' names of a POST, exactly when Django's CSRF check would read the form
  anyway. Views that take the body as it is (csrf-exempt: the API, whose parser below
  checks JSON, and the inbound-mail endpoint, which keeps raw mail) are left their body;
  csrf-exempt views that read a form (`form_checked`, the chat widget's) are not.
- `GuardedJSONParser`, the API's only parser (settings.REST_FRAMEWORK), applies the same
  rule to every key and string of a JSON body and refuses bodies nested deeper than
  `MAX_JSON_DEPTH` (Python's own parser gives up with a RecursionError, a 500, near 1,000).

A refused request gets a 400 that says what was wrong and where, in the language of the
cookie or the browser (nothing is read from the database): a page, or under /api/ the
API's JSON error shape `{"detail": "..."}` (helpdesk/api_errors.py).

Numbers and dates are parsed with their ranges in one place too: helpdesk/input_values.py.
"""

from __future__ import annotations

import json
import re

from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from helpdesk.standalone import standalone_response

# NUL, and any UTF-16 surrogate: in a Python string a surrogate is always a lone one
# (valid pairs decode to one character), so none can be encoded as UTF-8 or stored.
FORBIDDEN = re.compile("[\x00\ud800-\udfff]")

# Deeper than any body the API takes (a batch of events is 2 levels deep) by far.
MAX_JSON_DEPTH = 32

# Form bodies Django parses into request.POST.
FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def storable(text: str) -> str:
    """`text` with each NUL and lone surrogate replaced by U+FFFD, for input that is kept
    rather than refused (mail: its raw bytes are stored as they came)."""
    return FORBIDDEN.sub("\ufffd", text)


class BadInput(Exception):
    """What was wrong with the request, as a sentence for the person who sent it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def shown(name: str, limit: int = 40) -> str:
    """A name the client sent, quoted back safely: control characters and surrogates
    escaped, cut short if long."""
    escaped = json.dumps(name)[1:-1]
    return escaped if len(escaped) <= limit else escaped[: limit - 1] + "…"


def check_text(value: str, place: str) -> None:
    """Raise BadInput if `value` holds a character nothing here can store.

    `place` says where it was, as the start of a sentence ("The query parameter “q”")."""
    found = FORBIDDEN.search(value)
    if found is None:
        return
    if found.group() == "\x00":
        raise BadInput(
            _("%(place)s contains a NUL character (U+0000), which is not allowed.")
            % {"place": place}
        )
    raise BadInput(
        _("%(place)s contains a lone surrogate (U+%(code)04X), which is not valid Unicode.")
        % {"place": place, "code": ord(found.group())}
    )


def _check_query(request) -> None:
    check_text(request.path, _("The address"))
    try:
        parameters = request.GET
    except SuspiciousOperation as error:  # more parameters than Django parses
        raise BadInput(str(error)) from None
    for name, values in parameters.lists():
        check_text(name, _("A query parameter's name"))
        for value in values:
            check_text(value, _("The query parameter “%(name)s”") % {"name": shown(name)})


def _check_cookies_and_headers(request) -> None:
    for name, value in request.COOKIES.items():
        check_text(name, _("A cookie's name"))
        check_text(value, _("The cookie “%(name)s”") % {"name": shown(name)})
    for key, value in request.META.items():
        if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            header = key.removeprefix("HTTP_").replace("_", "-").title()
            check_text(str(value), _("The header “%(name)s”") % {"name": header})
    length = request.META.get("CONTENT_LENGTH", "").strip()
    if length and not (length.isascii() and length.isdigit()):
        # Django reads it with int() when a view reads the body: a ValueError, a 500.
        raise BadInput(_("The Content-Length header must be a number of bytes."))


def _check_form(request) -> None:
    for name, values in request.POST.lists():
        check_text(name, _("A form field's name"))
        for value in values:
            check_text(value, _("The form field “%(name)s”") % {"name": shown(name)})
    for name, files in request.FILES.lists():
        check_text(name, _("A form field's name"))
        for upload in files:
            check_text(
                upload.name or "",
                _("The name of the file in “%(name)s”") % {"name": shown(name)},
            )


def check_json(data, *, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise BadInput for a JSON document nested deeper than `limit` or holding a NUL or a
    lone surrogate in any key or string; the message names where (`$.tags[2]`)."""
    pending = [(data, 1, "$")]
    while pending:
        value, depth, path = pending.pop()
        if isinstance(value, dict | list) and depth > limit:
            raise BadInput(
                _("The JSON body is nested more than %(limit)d levels deep.") % {"limit": limit}
            )
        if isinstance(value, dict):
            for key, item in value.items():
                check_text(key, _("A key at %(path)s in the JSON body") % {"path": path})
                pending.append((item, depth + 1, f"{path}.{shown(key)}"))
        elif isinstance(value, list):
            pending.extend((item, depth + 1, f"{path}[{i}]") for i, item in enumerate(value))
        elif isinstance(value, str):
            check_text(value, _("The JSON body at %(path)s") % {"path": path})


class GuardedJSONParser(JSONParser):
    """DRF's JSON parser, with the nesting limit and the text rule of this module."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(
                _("The JSON body is nested more than %(limit)d levels deep.")
                % {"limit": MAX_JSON_DEPTH}
            ) from None
        try:
            check_json(data)
        except BadInput as bad:
            raise ParseError(bad.message) from None
        return data


def bad_input_response(request, message: str, language: str) -> HttpResponse:
    """The 400 for a refused request: JSON under /api/, else a page."""
    return standalone_response(
        request,
        status=400,
        template="400.html",
        detail=message,
        language=language,
        context={"message": message},
    )


def reads_raw_body(view) -> bool:
    """Csrf-exempt views read their body themselves, unless they say they take a form
    all the same (`form_checked`: the chat widget's, authenticated by a ticket in the
    address rather than a cookie, so with nothing for a CSRF token to protect)."""
    return getattr(view, "csrf_exempt", False) and not getattr(view, "form_checked", False)


class InputGuardMiddleware:
    """Answers 400 to a request carrying text nothing here can store (see the module)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Before the tenant is known: the language of the cookie or the browser (nothing
        # is read from the database), and the thread's own is put back after.
        language = translation.get_language_from_request(request)
        with translation.override(language):
            try:
                _check_cookies_and_headers(request)
                _check_query(request)
            except BadInput as bad:
                return bad_input_response(request, bad.message, language)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method != "POST" or reads_raw_body(view_func):
            return None
        if request.content_type not in FORM_CONTENT_TYPES:
            return None
        # By now TenantLocaleMiddleware has chosen the page's language.
        try:
            _check_form(request)
        except BadInput as bad:
            return bad_input_response(request, bad.message, translation.get_language())
        return None
