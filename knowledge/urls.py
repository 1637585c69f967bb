from django.urls import path

from knowledge import views

urlpatterns = [
    path("kb/", views.kb_home, name="kb_home"),
    path("agent/kb/insights/", views.kb_insights, name="kb_insights"),
    path(
        "agent/tickets/<int:number>/articles/",
        views.agent_ticket_articles,
        name="agent_ticket_articles",
    ),
    path("kb/search/", views.kb_search_page, name="kb_search"),
    path("kb/search.json", views.kb_search_json, name="kb_search_json"),
    path("kb/suggest/", views.kb_suggest, name="kb_suggest"),
    path("kb/images/<uuid:key>/", views.kb_image, name="kb_image"),
    path("kb/articles/<int:pk>/", views.kb_article, name="kb_article_short"),
    path("kb/articles/<int:pk>/vote/", views.kb_vote, name="kb_vote"),
    path("kb/articles/<int:pk>/<str:slug>/", views.kb_article, name="kb_article"),
    path("kb/<str:slug>/", views.kb_category, name="kb_category"),
    path("kb/<str:category_slug>/<str:slug>/", views.kb_section, name="kb_section"),
]
