"""URLs on a tenant's host (<slug>.<BASE_DOMAIN> or a custom domain)."""

from django.contrib import admin
from django.urls import include, path

from helpdesk import views, views_account, views_devmail
from sla import views as sla_views
from tickets.views import helpcenter

urlpatterns = [
    path("", helpcenter.home, name="home"),
    path("", include("tickets.urls")),
    path("", include("knowledge.urls")),
    path("", include("feedback.urls")),
    path("", include("success.urls")),
    path("", include("chat.urls")),
    path("", include("phone.urls")),
    path("service-levels/", sla_views.service_levels_page, name="service_levels"),
    path("agent/reports/sla/", sla_views.sla_report, name="sla_report"),
    path("accounts/", include("allauth.urls")),
    path("account/api-tokens/", views_account.api_tokens, name="account_api_tokens"),
    path(
        "account/api-tokens/<str:prefix>/revoke/",
        views_account.api_token_revoke_view,
        name="account_api_token_revoke",
    ),
    path("api/", include("helpdesk.urls_api")),
    path("admin/", admin.site.urls),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("healthz", views.healthz, name="healthz"),
    # The local outbox of this desk's mail; 404 unless DEBUG is on with the dev mail backend.
    *views_devmail.urlpatterns,
]
