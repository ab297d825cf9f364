"""`?page=N&page_size=M` pagination, and a one-query form of it for the hot lists."""

from django.core.paginator import Page
from django.db.models import F, Func, QuerySet, Subquery
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from .models import MAX_ID

# No table holds more rows than ids (64-bit), and no database takes a larger OFFSET
# (SQLite cannot even bind one): a page starting past it is past the end, whatever the count.
MAX_ROWS = MAX_ID
# The column that carries the count on every row of a page; no model has a field of that
# name.
COUNT_COLUMN = "_page_count"


def total_column(queryset: QuerySet, function: str, field: str) -> Subquery:
    """Return `(SELECT function(field) FROM <queryset's rows>)`, to read with its page.

    A scalar subquery that names nothing of the outer row: the database computes it once
    per statement. Not a window (`COUNT(*) OVER ()`): MariaDB computes a window over a
    temporary table of every row before the LIMIT, every column and correlated subquery
    of each included, where the page alone would have read its 20 rows.
    """
    value = Func(F(field), function=function)
    return Subquery(queryset.order_by().annotate(_total=value).values("_total"))


class PageNumberPagination(pagination.PageNumberPagination):
    """`?page=N&page_size=M`: 20 by default, at most 100."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_paginated_response(self, data):
        return Response(self.get_paginated_data(data))

    def get_paginated_data(self, data) -> dict:
        """Return the page's body: `count`, `next`, `previous`, `results` (DRF's shape)."""
        return {
            "count": self.page.paginator.count,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            "results": data,
        }

    def paginate_rows(self, queryset: QuerySet, request, *, columns, **expressions) -> list[dict]:
        """Return the requested page of queryset as `.values(*columns, **expressions)` rows.

        One query where paginate_queryset takes two: each row of the page carries the
        count of all rows (total_column). The answers are paginate_queryset's: the same
        page sizes, the same count, the same 404 `Invalid page.` for page=0, page=abc and
        a page past the end (a page other than the first that comes back empty is past
        the end; an empty first page is a count of 0). Only `?page=last` costs the COUNT
        query first: its number depends on it.
        """
        self.request = request
        page_size = self.get_page_size(request)
        paginator = self.django_paginator_class((), page_size)
        text = request.query_params.get(self.page_query_param) or 1
        last = text in self.last_page_strings
        # A DISTINCT queryset's rows are not what COUNT counts (no list of ours is one).
        counted_apart = last or queryset.query.distinct
        if counted_apart:
            paginator.count = queryset.count()  # a cached_property: set, not queried again
        number = paginator.num_pages if last else self._page_number(text)
        offset = (number - 1) * page_size
        if offset + page_size > MAX_ROWS:
            raise self._invalid_page(text)
        if not counted_apart:
            expressions[COUNT_COLUMN] = total_column(queryset, "COUNT", "pk")
        rows = list(queryset.values(*columns, **expressions)[offset : offset + page_size])
        if not rows and number > 1:
            raise self._invalid_page(text)
        if not counted_apart:
            paginator.count = rows[0][COUNT_COLUMN] if rows else 0
        self.page = Page(rows, number, paginator)
        return rows

    def _page_number(self, text) -> int:
        # As Django's Paginator.validate_number reads it: int() of the text, at least 1.
        try:
            number = int(text)
        except (TypeError, ValueError):
            raise self._invalid_page(text) from None
        if number < 1:
            raise self._invalid_page(text)
        return number

    def _invalid_page(self, text) -> NotFound:
        return NotFound(self.invalid_page_message.format(page_number=text, message=""))
