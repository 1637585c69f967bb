from django.urls import path

from feedback.views import dashboard, form, surveys

urlpatterns = [
    path("agent/reports/", dashboard.insights_dashboard, name="insights_dashboard"),
    path("feedback/", form.feedback_form, name="feedback_form"),
    path(
        "feedback/satisfaction/<int:number>/<str:token>/",
        surveys.csat_survey,
        name="csat_survey",
    ),
    path(
        "feedback/satisfaction/<int:number>/<str:token>/rate/<int:rating>/",
        surveys.csat_rate,
        name="csat_rate",
    ),
    path("feedback/nps/<str:token>/", surveys.nps_survey, name="nps_survey"),
    path("feedback/nps/<str:token>/score/<int:score>/", surveys.nps_rate, name="nps_rate"),
    path("feedback/surveys/<str:token>/", surveys.opt_out, name="survey_opt_out"),
]
