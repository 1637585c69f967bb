"""JSON errors for the REST API: nothing a client sends should end in an HTML page or a 500.

Services raise Django's `ValidationError` (a message, a list, or a dict of field
errors); the API answers it like a serializer error: 400 with `{"field": [...]}`
or `{"non_field_errors": [...]}`. DRF already turns `Http404` and Django's
`PermissionDenied` into JSON 404 and 403.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    return exception_handler(exc, context)


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """Any other URL under /api/: a JSON 404 rather than the site's HTML page."""
    return JsonResponse({"detail": str(exceptions.NotFound.default_detail)}, status=404)
