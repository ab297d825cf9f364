"""Catalogue: movies and their shows, and a show's seat map (public reads)."""

from django.utils import timezone
from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiRequest,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import filters, generics, status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound
from rest_framework.generics import get_object_or_404  # a non-integer id: 404, not 500
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from .. import readcache, selectors, services
from ..filters import (
    FilterBackend,
    MovieFilter,
    ShowDateFilter,
    ShowFilter,
    StableOrderingFilter,
)
from ..models import Show
from ..serializers import MovieInput, MovieOutput, SeatMapOutput, ShowInput, ShowOutput
from .common import CatalogueViewSet, RowListMixin, id_or_404, json_response, render

SHOW_ORDERING_FIELDS = ["start_time", "price"]  # API.md: ?ordering= on shows
PAGE_PARAMS = frozenset({"page", "page_size"})


STAFF_WRITE = (
    "Staff only: `is_staff` and the Django model permission to {perm} (the `Cinema staff` "
    "group has it)."
)
MOVIE_EXAMPLE = OpenApiExample(
    "A movie",
    value={
        "title": "The Last Projectionist",
        "description": "A night-shift projectionist keeps an old cinema running.",
        "duration_minutes": 118,
        "genre": "Drama",
        "language": "English",
        "release_date": "2026-12-18",
    },
    request_only=True,
)
SHOW_EXAMPLE = OpenApiExample(
    "A show on a screen",
    value={
        "movie_id": 1,
        "screen_id": 1,
        "start_time": "2031-12-01T18:30:00Z",
        "price": "250.00",
        "prices": {"recliner": "630.00"},
    },
    request_only=True,
    description="On screen 1 of the sample data (categories standard and recliner): "
    "screen_name and total_seats come from the screen.",
)
SHOW_OLD_FORM_EXAMPLE = OpenApiExample(
    "A show without a screen (the old form)",
    value={
        "movie_id": 1,
        "screen_name": "Open-air lawn",
        "total_seats": 80,
        "start_time": "2031-12-01T20:00:00Z",
        "price": "150.00",
    },
    request_only=True,
    description="One unlabelled row of total_seats seats, all `standard`.",
)


def movie_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(MovieOutput, description=description)


def show_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(ShowOutput, description=description)


@extend_schema_view(
    list=extend_schema(
        summary="List movies",
        description=(
            "Public. `?search=` matches the title (any case); `?genre=` and `?language=` "
            "match exactly (any case); `?ordering=` by `title`, `release_date` or "
            "`duration_minutes` (`-` for descending)."
        ),
        tags=["movies"],
        responses={200: movie_response("A page of movies.")},
    ),
    retrieve=extend_schema(
        summary="Get a movie",
        description="Public.",
        tags=["movies"],
        responses={200: movie_response("The movie.")},
    ),
    create=extend_schema(
        summary="Create a movie (staff)",
        description=STAFF_WRITE.format(perm="add movies"),
        tags=["movies"],
        request=OpenApiRequest(MovieInput, examples=[MOVIE_EXAMPLE]),
        responses={201: movie_response("Created: the new movie.")},
    ),
    update=extend_schema(
        summary="Replace a movie (staff)",
        description=STAFF_WRITE.format(perm="change movies")
        + " A longer running time must still fit between the movie's shows on each screen "
        "(409 `screen_busy`).",
        tags=["movies"],
        responses={200: movie_response("The movie as it is now.")},
    ),
    partial_update=extend_schema(
        summary="Update a movie (staff)",
        description=STAFF_WRITE.format(perm="change movies")
        + " Send only the fields to change. A longer running time must still fit between "
        "the movie's shows on each screen (409 `screen_busy`).",
        tags=["movies"],
        responses={200: movie_response("The movie as it is now.")},
    ),
    destroy=extend_schema(
        summary="Delete a movie without shows (staff)",
        description=STAFF_WRITE.format(perm="delete movies")
        + " A movie that still has shows cannot be deleted (409 `movie_has_shows`).",
        tags=["movies"],
        responses={204: OpenApiResponse(description="Deleted; no body.")},
    ),
)
class MovieViewSet(RowListMixin, CatalogueViewSet):
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

    cached_params = PAGE_PARAMS | {"search", "genre", "language", "ordering"}

    def get_queryset(self):
        return selectors.movies()

    def list_scopes(self):
        return ()  # movies change only with the catalogue

    def render_list(self, request, now, *, cached):
        return self.render_page(
            self.page_of_rows(request, self.filter_queryset(self.get_queryset()))
        )

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
    list=extend_schema(
        summary="List upcoming shows, soonest first",
        description=(
            "Public; shows that have not started. Filters: `?movie=`, `?cinema=`, "
            "`?screen=` (ids; an unknown id gives an empty page), `?city=` (exact, any "
            "case), `?date=YYYY-MM-DD` (a day in the cinema's TIME_ZONE); `?ordering=` by "
            "`start_time` or `price`."
        ),
        tags=["shows"],
        responses={200: show_response("A page of upcoming shows.")},
    ),
    retrieve=extend_schema(
        summary="Get a show",
        description="Public; past shows too. `available_seats` leaves out booked and held seats.",
        tags=["shows"],
        responses={200: show_response("The show.")},
    ),
    create=extend_schema(
        summary="Create a show and its seats (staff)",
        description=STAFF_WRITE.format(perm="add shows")
        + " On a screen (`screen_id`): the show copies the screen's layout, and must not "
        "overlap another show of the screen, turnover included (409 `screen_busy`). "
        "Without one (the old form): `screen_name` and `total_seats`.",
        tags=["shows"],
        request=OpenApiRequest(ShowInput, examples=[SHOW_EXAMPLE, SHOW_OLD_FORM_EXAMPLE]),
        responses={201: show_response("Created: the new show; its seats exist now.")},
    ),
    update=extend_schema(
        summary="Replace a show (staff)",
        description=STAFF_WRITE.format(perm="change shows")
        + " Once the show has a live booking or an active hold, its movie and screen "
        "cannot change (409 `show_has_bookings`); its start time can, onto a free slot "
        "(409 `screen_busy` otherwise).",
        tags=["shows"],
        responses={200: show_response("The show as it is now.")},
    ),
    partial_update=extend_schema(
        summary="Update a show (staff)",
        description=STAFF_WRITE.format(perm="change shows")
        + " Send only the fields to change. Once the show has a live booking or an active "
        "hold, its movie and screen cannot change (409 `show_has_bookings`); its start "
        "time can, onto a free slot (409 `screen_busy` otherwise).",
        tags=["shows"],
        responses={200: show_response("The show as it is now.")},
    ),
    destroy=extend_schema(
        summary="Delete a show that never had a booking (staff)",
        description=STAFF_WRITE.format(perm="delete shows")
        + " A show that has ever had a booking is kept as history (409 `show_has_bookings`).",
        tags=["shows"],
        responses={204: OpenApiResponse(description="Deleted, with its seats; no body.")},
    ),
)
class ShowViewSet(RowListMixin, CatalogueViewSet):
    output_serializer = ShowOutput
    input_serializer = ShowInput
    filter_backends = [StableOrderingFilter, *CatalogueViewSet.filter_backends]
    filterset_class = ShowFilter
    ordering_fields = SHOW_ORDERING_FIELDS

    def get_queryset(self):
        if self.action == "list":
            return selectors.upcoming_shows(now=timezone.now())
        return selectors.shows()

    # The list is not cached: every booking of any show would retire it.
    def render_list(self, request, now, *, cached):
        shows = self.filter_queryset(selectors.upcoming_show_rows(now=now))
        return self.render_page(self.page_of_rows(request, shows))

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
            "Public. Rows front to back, seats left to right; `column` counts each aisle as one "
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
            ),
            OpenApiParameter(
                "ETag",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                response=[200, 304],
                description="A version of the seat map; changes whenever any seat's status does.",
            ),
        ],
        responses={
            200: OpenApiResponse(
                SeatMapOutput,
                description="The seat map: every seat's number, label, place, category and "
                "status, and the free seats per category with their prices.",
            ),
            304: OpenApiResponse(
                description="Not modified: the seat map is as you have it (no body)."
            ),
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
        show_id = id_or_404(pk)
        now = timezone.now()
        rendered = readcache.read_through(
            readcache.lookup_of(request, self),
            lambda: self._render_seat_map(show_id, now),
            now=now,
            request=request,
        )
        # The ETag is a digest of the map itself (cached with it), so it changes with any
        # seat's status, a hold's silent expiry included (the cached map expires then).
        headers = {"ETag": rendered.etag, "Cache-Control": "no-cache"}
        wanted = parse_etags(request.headers.get("If-None-Match", ""))
        if rendered.etag in wanted or "*" in wanted:  # parse_etags drops W/: a weak match counts
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
        return json_response(request, rendered, headers=headers)

    def read_cache_lookup(self, request) -> readcache.Lookup | None:
        # The seat map's, as seats() asks it; the list's (not cached) otherwise.
        if self.action == "seats":
            show_id = id_or_404(self.kwargs["pk"])
            return readcache.lookup(
                readcache.seat_map_key(show_id), [readcache.show_scope(show_id)]
            )
        return super().read_cache_lookup(request)

    @staticmethod
    def _render_seat_map(show_id: int, now) -> readcache.Rendered:
        seat_map = selectors.seat_map(show_id=show_id, now=now)
        if seat_map is None:
            raise NotFound()
        return render(seat_map.body, seat_map.valid_until)


@extend_schema(
    summary="Upcoming shows of a movie, soonest first",
    description="Public; shows that have not started. `?date=YYYY-MM-DD` (a day in the "
    "cinema's TIME_ZONE); `?ordering=` by `start_time` or `price`.",
    tags=["shows"],
    responses={200: show_response("A page of the movie's upcoming shows.")},
)
class MovieShowsView(RowListMixin, generics.ListAPIView):
    queryset = Show.objects.none()  # for the schema; render_list() is what runs
    serializer_class = ShowOutput
    permission_classes = [AllowAny]
    filter_backends = [StableOrderingFilter, FilterBackend]
    filterset_class = ShowDateFilter
    ordering_fields = SHOW_ORDERING_FIELDS
    cached_params = PAGE_PARAMS | {"date", "ordering"}

    def list_scopes(self):
        return (readcache.movie_scope(id_or_404(self.kwargs["pk"])),)  # their available_seats

    def render_list(self, request, now, *, cached):
        shows = selectors.upcoming_show_rows(now=now).filter(movie_id=id_or_404(self.kwargs["pk"]))
        try:
            shows = self.filter_queryset(shows)
            expiry = selectors.show_page_expiry(shows, now=now) if cached else {}
            rows = self.page_of_rows(request, shows, **expiry)
        except APIException:
            # Unknown ids come first (API.md): a malformed ?date= or a page past the end
            # of a movie that does not exist is its 404.
            self._movie_or_404()
            raise
        if not rows:  # rows would have shown the movie exists; none do not tell
            self._movie_or_404()
        return self.render_page(rows, selectors.show_page_valid_until(rows) if cached else None)

    def _movie_or_404(self) -> None:
        get_object_or_404(selectors.movies(), pk=self.kwargs["pk"])
