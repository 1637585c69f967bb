"""Page-number pagination without COUNT(*)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from helpdesk.input_values import query_int
from tickets.forms import MAX_PAGE


class PagePagination(BasePagination):
    """`?page=2&page_size=50`, answered without COUNT(*) (like the agent queue): one
    extra row tells whether there is a next page."""

    page_size = 50
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page = self._number(request, "page", 1, MAX_PAGE)
        self.size = self._number(request, "page_size", self.page_size, self.max_page_size)
        start = (self.page - 1) * self.size
        rows = list(queryset[start : start + self.size + 1])
        self.has_next = len(rows) > self.size
        return rows[: self.size]

    @staticmethod
    def _number(request, name: str, default: int, maximum: int) -> int:
        return query_int(request.query_params, name, default=default, minimum=1, maximum=maximum)

    def _link(self, page: int) -> str:
        url = self.request.build_absolute_uri()
        return (
            remove_query_param(url, "page") if page == 1 else replace_query_param(url, "page", page)
        )

    def get_paginated_response(self, data):
        return Response(
            {
                "next": self._link(self.page + 1) if self.has_next else None,
                "previous": self._link(self.page - 1) if self.page > 1 else None,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "page",
                "in": "query",
                "required": False,
                "description": str(_("Page number, from 1.")),
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
            },
            {
                "name": "page_size",
                "in": "query",
                "required": False,
                "description": str(_("Results per page (default 50).")),
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]


# -- fields -------------------------------------------------------------------------------
