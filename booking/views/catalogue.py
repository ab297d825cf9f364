"""Catalogue: movies and their shows, and a show's seat map (public reads)."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import filters, generics
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

    @extend_schema(summary="Seat map of a show", tags=["shows"], responses={200: SeatMapOutput})
    @action(
        detail=True,
        methods=["get"],
        permission_classes=[AllowAny],
        filter_backends=[],
        pagination_class=None,
    )
    def seats(self, request, pk=None):
        show = get_object_or_404(Show, pk=pk)
        available, booked = selectors.seat_map(show=show)
        body = {
            "show": show.pk,
            "total_seats": show.total_seats,
            "available_seats": available,
            "booked_seats": booked,
        }
        return Response(SeatMapOutput(body).data)


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
