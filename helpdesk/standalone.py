"""Answers made before (or without) the database: the 400 of refused input and the 503
of a database outage. JSON under /api/, else a page extending templates/standalone.html,
in the language of the cookie or the browser (nothing is read from the database)."""

from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.cache import patch_vary_headers


def standalone_response(
    request, *, status: int, template: str, detail: str, language: str, context=None
) -> HttpResponse:
    with translation.override(language):
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": str(detail)}, status=status)
        else:
            context = {"language": language, **(context or {})}
            response = HttpResponse(render_to_string(template, context), status=status)
    response["Content-Language"] = language
    patch_vary_headers(response, ("Accept-Language", "Cookie"))
    return response
