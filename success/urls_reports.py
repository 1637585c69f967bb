from django.urls import path

from success import views_reports

urlpatterns = [
    path("agent/success/reports/", views_reports.success_reports, name="success_reports"),
]
