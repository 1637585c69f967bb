from django.urls import path

from success import views

urlpatterns = [
    path("agent/success/", views.workspace, name="success_workspace"),
    path(
        "agent/success/organizations/<int:pk>/",
        views.organization_detail,
        name="success_organization",
    ),
    path(
        "agent/success/organizations/<int:pk>/notes/",
        views.note_create,
        name="success_note_create",
    ),
    path("agent/success/tasks/<int:pk>/", views.task_detail, name="success_task"),
    path("agent/success/tasks/<int:pk>/claim/", views.task_take, name="success_task_claim"),
]
