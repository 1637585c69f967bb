from django.urls import path

from success.views import reports, upgrade, workspace

urlpatterns = [
    path("agent/success/", workspace.workspace, name="success_workspace"),
    path(
        "agent/success/organizations/<int:pk>/",
        workspace.organization_detail,
        name="success_organization",
    ),
    path(
        "agent/success/organizations/<int:pk>/notes/",
        workspace.note_create,
        name="success_note_create",
    ),
    path("agent/success/tasks/<int:pk>/", workspace.task_detail, name="success_task"),
    path("agent/success/tasks/<int:pk>/claim/", workspace.task_take, name="success_task_claim"),
    path("agent/success/reports/", reports.success_reports, name="success_reports"),
    # The help center's call to action for a higher plan.
    path("upgrade/<int:rank>/", upgrade.upgrade_go, name="upgrade_go"),
    path("upgrade/<int:rank>/ask/", upgrade.upgrade_ask, name="upgrade_ask"),
]
