"""Websocket routes on a desk's host (helpdesk/asgi.py), each behind DeskSocketMiddleware."""

from django.urls import path

from chat import consumers

websocket_urlpatterns = [
    path("ws/chat/<uuid:key>/", consumers.CustomerChatConsumer.as_asgi()),
    # The chat widget's (chat/widget.py): the person comes from the ticket, not a cookie.
    path("ws/widget/<str:ticket>/chat/<uuid:key>/", consumers.WidgetChatConsumer.as_asgi()),
    path("ws/agent/", consumers.AgentConsoleConsumer.as_asgi()),
]
