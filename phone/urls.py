from django.urls import path

from phone import views

urlpatterns = [
    path("callback/", views.callback_new, name="callback_new"),
    path("agent/tickets/<int:number>/calls/", views.call_log_add, name="agent_call_log"),
]
