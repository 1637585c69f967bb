"""A 503 page, not a 500, while the database cannot be reached.

Django turns an exception into a response in every layer of the middleware chain
(`convert_exception_to_response`), so a middleware outside the others never sees the
exception itself, only the 500 it became. It does see the request, though: the
`got_request_exception` signal is sent while the exception is being handled, with the
request, and a receiver marks the request when the exception says the database is out
of reach. `DatabaseOutageMiddleware` then answers such a request with the 503 page
(JSON under /api/) instead of the 500 page, DEBUG's technical page included.

The page is rendered without the database: no context processors (they read the
user and membership), the language from the cookie or the browser only.
"""

from __future__ import annotations

import sys

import psycopg
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from psycopg_pool import PoolTimeout

from helpdesk.standalone import standalone_response

# Seconds a client is asked to wait before trying again: about how long a database
# restart or fail-over takes.
RETRY_AFTER_SECONDS = 30

# SQLSTATEs of a server that is unreachable, going away or full; errors without a
# SQLSTATE come from the client side of a connection that failed or was lost.
# Anything else (a deadlock, a cancelled statement, a constraint) stays a 500.
_OUT_OF_REACH_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})

_MARK = "database_unavailable"


def is_database_unavailable(error: BaseException | None) -> bool:
    """Whether `error` (or what caused it) says the database cannot be reached."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, PoolTimeout):
            return True
        if isinstance(error, psycopg.InterfaceError):
            return True
        if isinstance(error, psycopg.OperationalError):
            state = error.sqlstate
            return state is None or state.startswith("08") or state in _OUT_OF_REACH_SQLSTATES
        if not isinstance(error, (OperationalError, InterfaceError)):
            return False
        # Django's OperationalError wraps the driver's, which says why.
        error = error.__cause__
    return False


def _mark_outage(sender, request=None, **kwargs) -> None:
    if request is not None and is_database_unavailable(sys.exc_info()[1]):
        setattr(request, _MARK, True)


got_request_exception.connect(_mark_outage, dispatch_uid="helpdesk.outage.mark")


def _message() -> str:
    return _("The service is briefly unavailable. Please try again in a minute.")


def unavailable_response(request) -> HttpResponse:
    """The 503 answer, in the language of the cookie or the browser."""
    language = translation.get_language_from_request(request)
    with translation.override(language):
        detail = _message()
    response = standalone_response(
        request, status=503, template="503.html", detail=detail, language=language
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response


class DatabaseOutageMiddleware:
    """Answers 503 for a request whose handling failed because the database is out of reach."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, _MARK, False) and response.status_code >= 500:
            return unavailable_response(request)
        return response
