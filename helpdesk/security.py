"""Response headers that protect people's browsers: the Content-Security-Policy and
`Cache-Control: private, no-store` on what a signed-in person is shown.

Django's SecurityMiddleware does HSTS, nosniff and the referrer policy (settings.py);
this middleware adds what Django 5.2 lacks. It sits just inside SecurityMiddleware,
outside everything that answers a request, so the input guard's 400 page, error
pages, the unknown-host page and the 503 page get the headers too. Static files
(WhiteNoise's, public and cached for a year) keep their Cache-Control.
See docs/security.md.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.cache import patch_cache_control

CSP_HEADER = "Content-Security-Policy"
# Sources a view added for one response (see csp_allow).
_EXTRA_SOURCES = "_csp_extra_sources"
# Cache-Control directives that let a cache keep or share a response.
_CACHEABLE = ("public", "max-age", "s-maxage", "immutable", "stale-while-revalidate")


def csp_allow(response, directive: str, *sources: str) -> None:
    """Allow more `sources` for `directive` in this response's policy only
    (e.g. img-src https: when a person asked to see a message's external images)."""
    extra = getattr(response, _EXTRA_SOURCES, None)
    if extra is None:
        extra = {}
        setattr(response, _EXTRA_SOURCES, extra)
    extra.setdefault(directive, []).extend(sources)


def csp_header_value(extra: dict[str, list[str]] | None = None) -> str:
    """The policy of settings.CONTENT_SECURITY_POLICY, with `extra` sources added."""
    directives = {name: list(sources) for name, sources in settings.CONTENT_SECURITY_POLICY.items()}
    for name, sources in (extra or {}).items():
        kept = directives.setdefault(name, [])
        if "'none'" in kept:  # 'none' means nothing only while it stands alone
            kept.remove("'none'")
        kept.extend(source for source in sources if source not in kept)
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


def is_signed_in(request) -> bool:
    """Whether the request comes with someone's credentials, decided without the
    database (the 503 page passes through here while it is out of reach).

    A session cookie or an Authorization header counts, even a stale one: the cost
    of a false yes is a response the browser does not cache. A request that signs
    someone in has no cookie yet but its `user` was set by the login.
    """
    if settings.SESSION_COOKIE_NAME in request.COOKIES or "Authorization" in request.headers:
        return True
    # Without a session cookie the lazy user resolves without a query.
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)


def _private_no_store(response) -> None:
    cache_control = response.get("Cache-Control", "")
    kept = [
        part.strip()
        for part in cache_control.split(",")
        if part.strip() and part.split("=")[0].strip().lower() not in _CACHEABLE
    ]
    response["Cache-Control"] = ", ".join(kept)
    patch_cache_control(response, private=True, no_store=True)


class SecurityHeadersMiddleware:
    """- `Content-Security-Policy` on every response that does not set its own
      (attachments do: a sandbox). With DEBUG, Django's technical 404 and 500 pages,
      made of inline styles and scripts, go without one.
    - `Cache-Control: private, no-store` on every response to a signed-in request
      (static files aside: the browser sends its cookies with those too), so neither
      a shared cache nor the browser's history keeps what a person saw.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        debug_page = settings.DEBUG and response.status_code in (404, 500)
        if CSP_HEADER not in response and not debug_page:
            response[CSP_HEADER] = csp_header_value(getattr(response, _EXTRA_SOURCES, None))
        if is_signed_in(request) and not request.path.startswith(settings.STATIC_URL):
            _private_no_store(response)
        return response
