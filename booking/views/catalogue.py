"""Catalogue: movies and their shows, and a show's seat map (public reads)."""

import hashlib
import json

from django.utils import timezone
from django.utils.http import parse_etags, quote_etag
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import filters, generics, status
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404  # a non-integer id: 404, not 500
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from .. import selectors, services
from ..filters import MovieFilter, ShowDateFilter, ShowFilter, StableOrderingFilter
from ..models import Show
from ..serializers import MovieInput, MovieOutput, SeatMapOutput, ShowInput, ShowOutput
from .common import CatalogueViewSet, conflict

SHOW_ORDERING_FIELDS = ["start_time", "price"]  # API.md: ?ordering= on shows


@extend_schema_view(
    list=extend_schema(summary="List movies", tags=["movies"]),
    retrieve=extend_schema(summary="Get a movie", tags=["movies"]),
    create=extend_schema(
        summary="Create a movie (staff)", tags=["movies"], responses={201: MovieOutput}
    ),
    update=extend_schema(
        summary="Replace a movie (staff)", tags=["movies"], responses={200: MovieOutput}
    ),
    partial_update=extend_schema(
        summary="Update a movie (staff)", tags=["movies"], responses={200: MovieOutput}
    ),
    destroy=extend_schema(
        summary="Delete a movie without shows (staff)",
        tags=["movies"],
        responses={204: None, 409: conflict},
    ),
)
class MovieViewSet(CatalogueViewSet):
    output_serializer = MovieOutput
    input_serializer = MovieInput
    filter_backends = [
        filters.SearchFilter,
        StableOrderingFilter,
        *CatalogueViewSet.filter_backends,
    ]
    filterset_class = MovieFilter
    search_fields = ["title"]
    ordering_fields = ["title", "release_date", "duration_minutes"]

    def get_queryset(self):
        return selectors.movies()

    @staticmethod
    def create_service(**fields):
        return services.create_movie(**fields)

    @staticmethod
    def update_service(movie, **changes):
        return services.update_movie(movie=movie, **changes)

    @staticmethod
    def delete_service(movie):
        services.delete_movie(movie=movie)


@extend_schema_view(
    list=extend_schema(summary="List upcoming shows, soonest first", tags=["shows"]),
    retrieve=extend_schema(summary="Get a show", tags=["shows"]),
    create=extend_schema(
        summary="Create a show and its seats (staff)", tags=["shows"], responses={201: ShowOutput}
    ),
    update=extend_schema(
        summary="Replace a show (staff)", tags=["shows"], responses={200: ShowOutput, 409: conflict}
    ),
    partial_update=extend_schema(
        summary="Update a show (staff)", tags=["shows"], responses={200: ShowOutput, 409: conflict}
    ),
    destroy=extend_schema(
        summary="Delete a show that never had a booking (staff)",
        tags=["shows"],
        responses={204: None, 409: conflict},
    ),
)
class ShowViewSet(CatalogueViewSet):
    output_serializer = ShowOutput
    input_serializer = ShowInput
    filter_backends = [StableOrderingFilter, *CatalogueViewSet.filter_backends]
    filterset_class = ShowFilter
    ordering_fields = SHOW_ORDERING_FIELDS

    def get_queryset(self):
        if self.action == "list":
            return selectors.upcoming_shows(now=timezone.now())
        return selectors.shows()

    @staticmethod
    def create_service(**fields):
        return services.create_show(**fields)

    @staticmethod
    def update_service(show, **changes):
        return services.update_show(show=show, **changes)

    @staticmethod
    def delete_service(show):
        services.delete_show(show=show)

    @extend_schema(
        summary="Seat map of a show: rows, aisles, categories, each seat's status",
        description=(
            "Rows front to back, seats left to right; `column` counts each aisle as one "
            "empty column. Every 200 has an `ETag`; send it back in `If-None-Match` to "
            "get a 304 with no body while no seat has changed."
        ),
        tags=["shows"],
        parameters=[
            OpenApiParameter(
                "If-None-Match",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="The ETag of a seat map you have: 304 if it is still current.",
            )
        ],
        responses={
            200: SeatMapOutput,
            304: OpenApiResponse(description="Not modified: the seat map is as you have it."),
        },
    )
    @action(
        detail=True,
        methods=["get"],
        permission_classes=[AllowAny],
        filter_backends=[],
        pagination_class=None,
    )
    def seats(self, request, pk=None):
        show = get_object_or_404(Show, pk=pk)
        body = selectors.seat_map(show=show, now=timezone.now())
        # The ETag is a digest of the map itself, so it changes with any seat's status
        # (a hold's silent expiry included) and no row has to be bumped per booking.
        etag = quote_etag(hashlib.sha256(json.dumps(body).encode()).hexdigest()[:32])
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        wanted = parse_etags(request.headers.get("If-None-Match", ""))
        if etag in wanted or "*" in wanted:  # parse_etags drops W/: a weak match counts
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
        return Response(body, headers=headers)


@extend_schema(summary="Upcoming shows of a movie, soonest first", tags=["shows"])
class MovieShowsView(generics.ListAPIView):
    queryset = Show.objects.none()  # for the schema; get_queryset() is what runs
    serializer_class = ShowOutput
    permission_classes = [AllowAny]
    filter_backends = [StableOrderingFilter, *generics.ListAPIView.filter_backends]
    filterset_class = ShowDateFilter
    ordering_fields = SHOW_ORDERING_FIELDS

    def get_queryset(self):
        movie = get_object_or_404(selectors.movies(), pk=self.kwargs["pk"])
        return selectors.upcoming_shows(now=timezone.now()).filter(movie=movie)
