from django.urls import path

from feedback.views import dashboard

urlpatterns: list = [
    path("agent/reports/", dashboard.insights_dashboard, name="insights_dashboard"),
]
