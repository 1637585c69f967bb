from django.urls import path

from chat import views

urlpatterns = [
    path("chat/", views.chat_page, name="chat_page"),
    path("chat/start/", views.chat_start, name="chat_start"),
    path("chat/<uuid:key>/files/", views.chat_files, name="chat_files"),
    path("chat/<uuid:key>/transcript/", views.chat_transcript, name="chat_transcript"),
    path("chat/<uuid:key>/rate/", views.chat_rate, name="chat_rate"),
    path("agent/chat/", views.agent_console, name="agent_chat_console"),
    path("agent/chat/<uuid:key>/customer/", views.agent_chat_context, name="agent_chat_context"),
]
