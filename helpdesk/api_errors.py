"""JSON errors for the REST API: nothing a client sends should end in an HTML page or a 500.

Services raise Django's `ValidationError` (a message, a list, or a dict of field
errors); the API answers it like a serializer error: 400 with `{"field": [...]}`
or `{"non_field_errors": [...]}`. DRF already turns `Http404` and Django's
`PermissionDenied` into JSON 404 and 403.

A request body over `DATA_UPLOAD_MAX_MEMORY_SIZE` gets a JSON 413 and other
malformed requests Django flags as suspicious (too many form fields or files) a
JSON 400, logged to `django.security.*` as Django logs them for pages.
"""

import logging

from django.conf import settings
from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


def _too_large() -> RequestTooLarge:
    # filesizeformat separates with a no-break space, meant for pages.
    limit = filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE).replace("\xa0", " ")
    return RequestTooLarge(_("The request body is larger than %(limit)s.") % {"limit": limit})


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, SuspiciousOperation):
        request = context["request"]._request
        if isinstance(exc, (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)):
            # As Django does: reading the form again would raise again.
            request._mark_post_parse_error()
        answer = (
            _too_large() if isinstance(exc, RequestDataTooBig) else exceptions.ParseError(str(exc))
        )
        logging.getLogger(f"django.security.{exc.__class__.__name__}").error(
            str(exc), exc_info=exc, extra={"status_code": answer.status_code, "request": request}
        )
        exc = answer
    return exception_handler(exc, context)


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """Any other URL under /api/: a JSON 404 rather than the site's HTML page."""
    return JsonResponse({"detail": str(exceptions.NotFound.default_detail)}, status=404)
