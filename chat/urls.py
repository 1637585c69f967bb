from django.urls import path

from chat import views, widget_views

urlpatterns = [
    path("chat/", views.chat_page, name="chat_page"),
    path("chat/start/", views.chat_start, name="chat_start"),
    path("chat/<uuid:key>/files/", views.chat_files, name="chat_files"),
    path("chat/<uuid:key>/transcript/", views.chat_transcript, name="chat_transcript"),
    path("chat/<uuid:key>/rate/", views.chat_rate, name="chat_rate"),
    path("agent/chat/", views.agent_console, name="agent_chat_console"),
    path("agent/chat/<uuid:key>/customer/", views.agent_chat_context, name="agent_chat_context"),
    # The widget in the tenant's product (chat/widget_views.py).
    path("widget.js", widget_views.widget_loader, name="widget_loader"),
    path("widget/", widget_views.widget_frame, name="widget_frame"),
    path("widget/session/", widget_views.widget_session, name="widget_session"),
    path("widget/t/<str:ticket>/", widget_views.widget_home, name="widget_home"),
    path("widget/t/<str:ticket>/start/", widget_views.widget_start, name="widget_start"),
    path(
        "widget/t/<str:ticket>/chat/<uuid:key>/files/",
        widget_views.widget_files,
        name="widget_files",
    ),
    path(
        "widget/t/<str:ticket>/chat/<uuid:key>/transcript/",
        widget_views.widget_transcript,
        name="widget_transcript",
    ),
    path(
        "widget/t/<str:ticket>/chat/<uuid:key>/rate/",
        widget_views.widget_rate,
        name="widget_rate",
    ),
    path(
        "widget/t/<str:ticket>/upgrade/<int:rank>/",
        widget_views.widget_upgrade,
        name="widget_upgrade",
    ),
    path(
        "widget/t/<str:ticket>/kb/search.json",
        widget_views.widget_kb_search,
        name="widget_kb_search",
    ),
    path(
        "widget/t/<str:ticket>/kb/articles/<int:pk>/",
        widget_views.widget_article,
        name="widget_article",
    ),
]
