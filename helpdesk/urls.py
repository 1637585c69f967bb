"""URLs on a tenant's host (<slug>.<BASE_DOMAIN> or a custom domain)."""

from django.contrib import admin
from django.urls import include, path

from helpdesk import views

urlpatterns = [
    path("", views.home, name="home"),
    path("", include("tickets.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("healthz", views.healthz, name="healthz"),
]
