"""/api/v1/kb/: the knowledge base for integrators, with the help center's rules.

Anyone may read what is public; a token or session adds what its holder's plan
includes. Content a caller may not see is a 404, never a hint that it exists.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from helpdesk.input_values import BIGINT_MAX, query_int
from knowledge import search as kb_search
from knowledge.models import Article, Category, Section
from knowledge.selectors import visible_articles
from tickets.api.pagination import PagePagination


class KbSectionSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Section
        fields = ["id", "name", "name_zh_hans", "slug", "category", "position"]


class KbCategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "name_zh_hans", "slug", "description", "position"]


class KbArticleListSerializer(serializers.ModelSerializer):
    section = serializers.PrimaryKeyRelatedField(read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Article
        fields = ["id", "title", "slug", "language", "section", "labels", "updated_at", "url"]

    def get_url(self, article) -> str:
        return f"/kb/articles/{article.pk}/{article.slug}/"


class KbArticleSerializer(KbArticleListSerializer):
    class Meta(KbArticleListSerializer.Meta):
        fields = [*KbArticleListSerializer.Meta.fields, "body", "body_html", "translation_of"]


class KbSearchHitSerializer(KbArticleListSerializer):
    snippet = serializers.CharField(
        help_text="Where the article matches, with the matched words in <mark>…</mark>."
    )

    class Meta(KbArticleListSerializer.Meta):
        fields = [*KbArticleListSerializer.Meta.fields, "snippet"]


class KbSearchSerializer(serializers.Serializer):
    """The best matches (at most 20), not paged."""

    query = serializers.CharField(help_text="The query as searched (trimmed, at most 200).")
    results = KbSearchHitSerializer(many=True)


class _Public:
    """Readable by visitors too; the caller's membership (if any) widens what they see."""

    permission_classes = [AllowAny]
    pagination_class = PagePagination

    def articles(self):
        return visible_articles(getattr(self.request._request, "membership", None))


@extend_schema_view(list=extend_schema(summary="List knowledge-base categories"))
class KbCategoryViewSet(_Public, viewsets.GenericViewSet):
    serializer_class = KbCategorySerializer

    def list(self, request):
        categories = Category.objects.filter(sections__articles__in=self.articles()).distinct()
        page = self.paginate_queryset(categories.order_by("position", "name", "pk"))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@extend_schema_view(list=extend_schema(summary="List knowledge-base sections"))
class KbSectionViewSet(_Public, viewsets.GenericViewSet):
    serializer_class = KbSectionSerializer

    def list(self, request):
        sections = (
            Section.objects.filter(articles__in=self.articles())
            .distinct()
            .select_related("category")
        )
        page = self.paginate_queryset(sections.order_by("category__position", "position", "pk"))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


Q_PARAM = OpenApiParameter("q", OpenApiTypes.STR, required=True, description="What to search for.")


@extend_schema_view(
    list=extend_schema(
        summary="List knowledge-base articles",
        parameters=[
            OpenApiParameter("section", OpenApiTypes.INT),
            OpenApiParameter("language", OpenApiTypes.STR, enum=["en", "zh-hans"]),
        ],
        responses=KbArticleListSerializer(many=True),
    ),
    retrieve=extend_schema(
        summary="Read an article",
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses=KbArticleSerializer,
    ),
    search=extend_schema(
        summary="Search the knowledge base",
        description="The 20 best matches at most, in one answer (not paged).",
        parameters=[Q_PARAM],
        responses=KbSearchSerializer,
    ),
)
class KbArticleViewSet(_Public, viewsets.GenericViewSet):
    serializer_class = KbArticleListSerializer
    lookup_value_regex = "[0-9]{1,18}"

    def list(self, request):
        articles = self.articles()
        section = query_int(
            request.query_params, "section", default=0, minimum=1, maximum=BIGINT_MAX
        )
        if section:
            articles = articles.filter(section_id=section)
        if language := request.query_params.get("language"):
            articles = articles.filter(language=language)
        page = self.paginate_queryset(articles.order_by("section", "position", "pk"))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        article = self.articles().filter(pk=int(pk)).first()
        if article is None:
            raise Http404
        return Response(KbArticleSerializer(article).data)

    @action(detail=False, pagination_class=None)
    def search(self, request):
        query = request.query_params.get("q", "").strip()[:200]
        if not query:
            raise serializers.ValidationError({"q": ["Say what to search for."]})
        hits = kb_search.search(self.articles(), query, tenant_id=request.tenant.pk, limit=20)
        results = [
            {**KbArticleListSerializer(hit.article).data, "snippet": str(hit.snippet)}
            for hit in hits
        ]
        return Response({"query": query, "results": results})
