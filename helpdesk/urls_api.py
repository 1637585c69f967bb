"""The REST API, mounted at /api/ on tenant hosts.

- /api/v1/...     tickets, their messages and attachments, categories (tickets/api/)
- /api/v1/kb/...  knowledge-base categories, sections, articles and search (knowledge/api.py)
- /api/v1/success/events/  usage and payment events from the tenant's product (success/api.py)
- /api/schema/    the OpenAPI schema
- /api/docs/      interactive docs (Swagger UI, assets served locally)

Any other path under /api/ answers a JSON 404.
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from helpdesk.api_errors import api_not_found
from knowledge.api import KbArticleViewSet, KbCategoryViewSet, KbSectionViewSet
from success.api import UsageEventViewSet
from tickets.api import AttachmentViewSet, CategoryViewSet, TicketViewSet

router = SimpleRouter()
router.register("tickets", TicketViewSet, basename="api-ticket")
router.register("categories", CategoryViewSet, basename="api-category")
router.register("attachments", AttachmentViewSet, basename="api-attachment")
router.register("kb/categories", KbCategoryViewSet, basename="api-kb-category")
router.register("kb/sections", KbSectionViewSet, basename="api-kb-section")
router.register("kb/articles", KbArticleViewSet, basename="api-kb-article")
router.register("success/events", UsageEventViewSet, basename="api-success-event")

urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularJSONAPIView.as_view(), name="api_schema"),
    # The split view serves its start-up script as a file (no inline script under our CSP).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"), name="api_docs"),
    re_path(r"^", api_not_found),
]
