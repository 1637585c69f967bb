"""Websocket routes on a desk's host (helpdesk/asgi.py), each behind DeskSocketMiddleware."""

from django.urls import path

from chat import consumers

websocket_urlpatterns = [
    path("ws/chat/<uuid:key>/", consumers.CustomerChatConsumer.as_asgi()),
    path("ws/agent/", consumers.AgentConsoleConsumer.as_asgi()),
]
