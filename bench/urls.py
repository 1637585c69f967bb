"""The tenant host's URLs, plus `bench/bare-json/`: the cheapest Django view there is.

The bare view goes through the same middleware as every page (tenant lookup,
sessions, CSRF, locale...) but does no work of its own, so the API's
throughput can be compared with what the stack itself allows.
"""

from django.http import JsonResponse
from django.urls import path

from helpdesk.urls import urlpatterns as tenant_urlpatterns


def bare_json(request):
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/bare-json/", bare_json, name="bench_bare_json"),
    *tenant_urlpatterns,
]
