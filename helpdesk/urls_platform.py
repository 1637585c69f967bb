"""URLs on the platform host (BASE_DOMAIN itself): the operator's admin, and allauth's
sign-in and two-factor pages for operators (sign-up stays closed: helpdesk.adapters)."""

from django.contrib import admin
from django.urls import include, path

from helpdesk import views, views_devmail

urlpatterns = [
    path("", views.platform_home, name="platform_home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("healthz", views.healthz, name="healthz"),
    # The local outbox of mail sent outside any desk (DEBUG only, like each desk's).
    *views_devmail.urlpatterns,
]
