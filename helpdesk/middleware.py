from django.conf import settings
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers

from helpdesk.tenancy import is_platform_host, tenant_for_host, tenant_scope

# Paths answered on any host, before a tenant is resolved (load balancers probe by IP).
HOSTLESS_PATHS = frozenset({"/healthz"})


class TenantMiddleware:
    """Resolve the tenant from the host and render the whole response inside its scope.

    - `<slug>.<BASE_DOMAIN>` or a mapped custom domain: `request.tenant` is set.
    - `BASE_DOMAIN` itself: the platform (operator admin), `request.tenant` is None.
    - anything else: a 404 page naming the host, before any view runs.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.tenant = None
        if request.path in HOSTLESS_PATHS:
            return self.get_response(request)
        host = request.get_host()
        if is_platform_host(host):
            request.urlconf = settings.PLATFORM_URLCONF
            return self.get_response(request)
        tenant = tenant_for_host(host)
        if tenant is None:
            return render(request, "helpdesk/unknown_host.html", {"host": host}, status=404)
        request.tenant = tenant
        # Stored in UTC, shown in the tenant's time zone.
        timezone.activate(tenant.tzinfo)
        try:
            with tenant_scope(tenant):
                return self.get_response(request)
        finally:
            timezone.deactivate()


class MembershipMiddleware:
    """Attach the user's membership in the current tenant (or None) as `request.membership`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from helpdesk.models import Membership

        request.membership = None
        if request.tenant is not None and request.user.is_authenticated:
            request.membership = (
                Membership.objects.filter(user=request.user, is_active=True)
                .select_related("organization__plan")
                .first()
            )
            if request.membership is not None:
                request.membership.tenant = request.tenant  # the same row, already read
        return self.get_response(request)


def _accept_language(header: str) -> str | None:
    for part in header.split(","):
        tag = part.split(";")[0].strip()
        if not tag or tag == "*":
            continue
        try:
            return translation.get_supported_language_variant(tag)
        except LookupError:
            continue
    return None


def _supported(code: str | None) -> str | None:
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def language_for(*, cookie: str | None, user, accept_language: str, tenant) -> str:
    """The UI language: the switcher's cookie, the user's preference, the browser's
    languages, and finally the tenant's default language (pages and sockets alike)."""
    return (
        _supported(cookie)
        or _supported(user.preferred_language if user.is_authenticated else None)
        or _accept_language(accept_language)
        or _supported(tenant.default_language if tenant else None)
        or settings.LANGUAGE_CODE
    )


class TenantLocaleMiddleware:
    """Activate the UI language of `language_for` for the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = language_for(
            cookie=request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME),
            user=request.user,
            accept_language=request.headers.get("Accept-Language", ""),
            tenant=request.tenant,
        )
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response
