"""The tenant host's URLs, plus two baselines for the benchmark:

- `bench/bare-json/`: the cheapest Django view there is. It goes through the same
  middleware as every page (tenant lookup, sessions, CSRF, locale...) but does no work
  of its own: what the stack itself allows.
- `bench/bare-insert/`: a POST that writes one row in its own transaction and nothing
  else, into a table of the bench database (`bench_bare_insert`, made by the Figures
  section), with the same durability as any write of the app (same database, same
  `synchronous_commit`): the cheapest durable write, which API ticket creation (a
  durable write too) is compared with.
"""

from django.db import connection, transaction
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from helpdesk.urls import urlpatterns as tenant_urlpatterns

BARE_INSERT_TABLE = "bench_bare_insert"
BARE_INSERT_DDL = (
    f"CREATE TABLE IF NOT EXISTS {BARE_INSERT_TABLE} "
    "(id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, body text NOT NULL)"
)


def bare_json(request):
    return JsonResponse({"ok": True})


@csrf_exempt
@require_POST
def bare_insert(request):
    body = request.body[:4000].decode("utf-8", errors="replace")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {BARE_INSERT_TABLE} (created_at, body) VALUES (now(), %s)",  # noqa: S608
            [body],
        )
    return JsonResponse({"ok": True}, status=201)


urlpatterns = [
    path("bench/bare-json/", bare_json, name="bench_bare_json"),
    path("bench/bare-insert/", bare_insert, name="bench_bare_insert"),
    *tenant_urlpatterns,
]
