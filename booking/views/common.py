"""What the API's views share: the staff-write viewset, the hot lists, small helpers."""

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime

from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import quote_etag
from rest_framework import status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from .. import readcache
from ..filters import FilterBackend
from ..models import MAX_ID
from ..permissions import IsStaffOrReadOnly

JSON = JSONRenderer.media_type
_RENDERER = JSONRenderer()


class RowListMixin:
    # A list GET rendered as plain dicts from one query: booking.pagination's
    # paginate_rows reads the page and its count together, and the output serializer's
    # row_form renders each row (booking.serializers.catalogue explains the mechanism).
    # With booking.readcache on, the rendered body is cached. A view provides
    # render_list(request, now, cached=...) and, to be cached, list_scopes(): the
    # versions its body depends on besides the global one; cached_params are the query
    # parameters a cached body may carry. (Comments, not docstrings: drf-spectacular
    # would show a docstring as the operation's description.)

    cached_params: frozenset[str] = frozenset()

    def list(self, request, *args, **kwargs):
        now = timezone.now()  # once: the query, the page's expiry and the cache agree on it
        lookup = readcache.lookup_of(request, self)
        rendered = readcache.read_through(
            lookup,
            lambda: self.render_list(request, now, cached=lookup is not None),
            now=now,
            request=request,
        )
        return json_response(request, rendered)

    def read_cache_lookup(self, request) -> readcache.Lookup | None:
        # What list() asks the cache (None: nothing). Asked once per request
        # (readcache.lookup_of): by the rate limits first, before the view runs, to fetch
        # it with their count (booking.throttles). A viewset's other actions ask nothing.
        if getattr(self, "action", "list") != "list":
            return None
        scopes = self.list_scopes()
        if scopes is None:
            return None
        return readcache.lookup(readcache.list_key(request, self.cached_params), scopes)

    def list_scopes(self) -> Sequence[str] | None:
        return None  # not cached

    def page_of_rows(self, request, queryset, **expressions) -> Sequence[dict]:
        columns = self.get_serializer_class().row_form.columns
        return self.paginator.paginate_rows(queryset, request, columns=columns, **expressions)

    def render_page(self, rows, valid_until: datetime | None = None) -> readcache.Rendered:
        form = self.get_serializer_class().row_form
        return render(
            self.paginator.get_paginated_data([form.render(row) for row in rows]), valid_until
        )


class CatalogueViewSet(viewsets.ModelViewSet):
    # Public reads, staff-only writes that go through the services. (A comment, not a
    # docstring: drf-spectacular would show a docstring as every operation's description.)

    permission_classes = [IsStaffOrReadOnly]
    # Skipped when no filter parameter is given (booking.filters.FilterBackend).
    filter_backends = [FilterBackend]
    lookup_value_regex = r"\d+"

    def get_serializer_class(self):
        return (
            self.input_serializer
            if self.action in ("create", "update", "partial_update")
            else self.output_serializer
        )

    def create(self, request, *args, **kwargs):
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance = self.create_service(**serializer.validated_data)
        return Response(self._render(instance), status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        instance = self.get_object()
        partial = kwargs.pop("partial", False)
        serializer = self.input_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        instance = self.update_service(instance, **serializer.validated_data)
        return Response(self._render(instance))

    def destroy(self, request, *args, **kwargs):
        instance = self.get_object()
        reject_a_non_json_body(request)
        self.delete_service(instance)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def filter_queryset(self, queryset):
        # Search, filters and ordering belong to the list: on /movies/{id}/ they are
        # unknown parameters, and those are ignored (API.md).
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def _render(self, instance):
        return self.output_serializer(self.get_queryset().get(pk=instance.pk)).data


def render(data, valid_until: datetime | None = None) -> readcache.Rendered:
    """Render data as JSONRenderer does for `Accept: application/json`, with its ETag."""
    body = _RENDERER.render(data)
    return readcache.Rendered(body, quote_etag(hashlib.sha256(body).hexdigest()[:32]), valid_until)


def json_response(request, rendered: readcache.Rendered, **kwargs) -> HttpResponse:
    """Answer with a rendered body: as it is, or re-rendered with the indent asked for."""
    if "indent" in request.accepted_media_type:  # `Accept: application/json; indent=4`
        return Response(json.loads(rendered.body), **kwargs)
    return HttpResponse(rendered.body, content_type=JSON, **kwargs)


def id_or_404(value) -> int:
    """Return an id from the URL, or raise 404 for one that no row can have."""
    try:
        number = int(value)
    except ValueError:  # more digits than int() reads (4,300)
        raise NotFound() from None
    if not 0 < number <= MAX_ID:  # SQLite could not even bind a larger one
        raise NotFound()
    return number


def reject_a_non_json_body(request) -> None:
    """Parse the body an endpoint does not use: one that is not JSON is a 415 (API.md)."""
    request.data  # noqa: B018 - DRF parses (and checks the media type) on first access
