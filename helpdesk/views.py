import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language as django_set_language


def platform_home(request):
    return render(request, "helpdesk/platform_home.html")


def csrf_failure(request, reason: str = ""):
    """Our page for a form refused by CSRF protection (settings.CSRF_FAILURE_VIEW):
    Django's own is styled inline, which our Content-Security-Policy refuses."""
    return render(request, "403_csrf.html", status=403)


@require_POST
def set_language(request):
    """Django's set_language, also remembered on the user for emails in their language."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and translation.check_for_language(language):
        request.user.preferred_language = translation.get_supported_language_variant(language)
        request.user.save(update_fields=["preferred_language"])
    return response


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def _redis_ok() -> bool:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@never_cache
@require_GET
def healthz(request):
    """What the app needs, and whether it answers.

    - 200 `ok`: the database and Redis answer.
    - 200 `degraded`: Redis does not. Pages, the API and inbound mail keep working (the
      cache falls back to the database, and outbox rows wait for the broker), so a
      load balancer must keep sending traffic here; the body says what is down.
    - 503 `unavailable`: the database does not answer, and nothing can be served.
    """
    checks = {"database": _database_ok(), "redis": _redis_ok()}
    if not checks["database"]:
        status, code = "unavailable", 503
    elif not checks["redis"]:
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return JsonResponse(
        {"status": status, **{name: "ok" if ok else "down" for name, ok in checks.items()}},
        status=code,
    )
