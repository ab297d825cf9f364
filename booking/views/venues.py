"""Venues: cinemas and their screens (public reads, staff writes)."""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiRequest,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import filters, generics
from rest_framework.generics import get_object_or_404  # a non-integer id: 404, not 500
from rest_framework.permissions import AllowAny

from .. import selectors, services
from ..filters import CinemaFilter, ScreenFilter
from ..models import Screen
from ..serializers import CinemaInput, CinemaOutput, ScreenInput, ScreenOutput
from .common import CatalogueViewSet

STAFF_WRITE = (
    "Staff only: `is_staff` and the Django model permission to {perm} (the `Cinema staff` "
    "group has it)."
)
CINEMA_EXAMPLE = OpenApiExample(
    "A cinema",
    value={"name": "Lakeside Screens", "city": "Pune", "address": "4 Lake Road, Pune 411014"},
    request_only=True,
)
# API.md's layout, in cinema 1 of the sample data (whose screens are Audi 1-3).
SCREEN_EXAMPLE = OpenApiExample(
    "A screen with its layout",
    value={
        "cinema_id": 1,
        "name": "Audi 4",
        "rows": [
            {
                "label": "A",
                "seats": 12,
                "aisles_after": [3, 9],
                "category": "standard",
                "wheelchair": [1, 12],
            },
            {
                "label": "J",
                "seats": 10,
                "aisles_after": [],
                "category": "premium",
                "wheelchair": [],
            },
        ],
    },
    request_only=True,
    description="Rows front to back; seats are numbered through the whole screen (A1-A12 "
    "are 1-12, J1-J10 are 13-22).",
)
LAYOUT_RULES = (
    "Rows front to back (1-50), each with a `label` (1-5 letters or digits, unique), "
    "`seats` (1-100), and optionally `aisles_after` (places k with an aisle between seat k "
    "and k+1), `category` (default `standard`) and `wheelchair` (places). Capacity 1-1,000. "
    "`capacity` and `categories` are derived."
)


def cinema_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(CinemaOutput, description=description)


def screen_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(ScreenOutput, description=description)


@extend_schema_view(
    list=extend_schema(
        summary="List cinemas",
        description="Public. `?city=` (exact, any case), `?search=` (name).",
        tags=["cinemas"],
        responses={200: cinema_response("A page of cinemas.")},
    ),
    retrieve=extend_schema(
        summary="Get a cinema",
        description="Public.",
        tags=["cinemas"],
        responses={200: cinema_response("The cinema.")},
    ),
    create=extend_schema(
        summary="Create a cinema (staff)",
        description=STAFF_WRITE.format(perm="add cinemas"),
        tags=["cinemas"],
        request=OpenApiRequest(CinemaInput, examples=[CINEMA_EXAMPLE]),
        responses={201: cinema_response("Created: the new cinema.")},
    ),
    update=extend_schema(
        summary="Replace a cinema (staff)",
        description=STAFF_WRITE.format(perm="change cinemas"),
        tags=["cinemas"],
        responses={200: cinema_response("The cinema as it is now.")},
    ),
    partial_update=extend_schema(
        summary="Update a cinema (staff)",
        description=STAFF_WRITE.format(perm="change cinemas") + " Send only the fields to change.",
        tags=["cinemas"],
        responses={200: cinema_response("The cinema as it is now.")},
    ),
    destroy=extend_schema(
        summary="Delete a cinema without screens (staff)",
        description=STAFF_WRITE.format(perm="delete cinemas")
        + " A cinema that still has screens cannot be deleted (409 `cinema_has_screens`).",
        tags=["cinemas"],
        responses={204: OpenApiResponse(description="Deleted; no body.")},
    ),
)
class CinemaViewSet(CatalogueViewSet):
    output_serializer = CinemaOutput
    input_serializer = CinemaInput
    filter_backends = [filters.SearchFilter, *CatalogueViewSet.filter_backends]
    filterset_class = CinemaFilter
    search_fields = ["name"]

    def get_queryset(self):
        return selectors.cinemas()

    @staticmethod
    def create_service(**fields):
        return services.create_cinema(**fields)

    @staticmethod
    def update_service(cinema, **changes):
        return services.update_cinema(cinema=cinema, **changes)

    @staticmethod
    def delete_service(cinema):
        services.delete_cinema(cinema=cinema)


@extend_schema_view(
    list=extend_schema(
        summary="List screens",
        description="Public. `?cinema=` (a cinema's id).",
        tags=["cinemas"],
        responses={200: screen_response("A page of screens, each with its layout.")},
    ),
    retrieve=extend_schema(
        summary="Get a screen and its layout",
        description="Public.",
        tags=["cinemas"],
        responses={200: screen_response("The screen and its layout.")},
    ),
    create=extend_schema(
        summary="Create a screen with its layout (staff)",
        description=STAFF_WRITE.format(perm="add screens")
        + f" {LAYOUT_RULES} The name is unique within the cinema (any case).",
        tags=["cinemas"],
        request=OpenApiRequest(ScreenInput, examples=[SCREEN_EXAMPLE]),
        responses={201: screen_response("Created: the new screen and its layout.")},
    ),
    update=extend_schema(
        summary="Replace a screen (staff); a new layout applies to future shows only",
        description=STAFF_WRITE.format(perm="change screens")
        + f" {LAYOUT_RULES} Shows already scheduled keep the seats they copied.",
        tags=["cinemas"],
        responses={200: screen_response("The screen as it is now.")},
    ),
    partial_update=extend_schema(
        summary="Update a screen (staff); a new layout applies to future shows only",
        description=STAFF_WRITE.format(perm="change screens")
        + " Send only the fields to change; `rows`, if sent, replaces the whole layout. "
        "Shows already scheduled keep the seats they copied.",
        tags=["cinemas"],
        responses={200: screen_response("The screen as it is now.")},
    ),
    destroy=extend_schema(
        summary="Delete a screen without shows (staff)",
        description=STAFF_WRITE.format(perm="delete screens")
        + " A screen that has shows, past ones included, cannot be deleted "
        "(409 `screen_has_shows`).",
        tags=["cinemas"],
        responses={204: OpenApiResponse(description="Deleted; no body.")},
    ),
)
class ScreenViewSet(CatalogueViewSet):
    output_serializer = ScreenOutput
    input_serializer = ScreenInput
    filterset_class = ScreenFilter

    def get_queryset(self):
        return selectors.screens()

    @staticmethod
    def create_service(**fields):
        return services.create_screen(**fields)

    @staticmethod
    def update_service(screen, **changes):
        return services.update_screen(screen=screen, **changes)

    @staticmethod
    def delete_service(screen):
        services.delete_screen(screen=screen)


@extend_schema(
    summary="The screens of a cinema",
    description="Public.",
    tags=["cinemas"],
    responses={200: screen_response("A page of the cinema's screens, with their layouts.")},
)
class CinemaScreensView(generics.ListAPIView):
    queryset = Screen.objects.none()  # for the schema; get_queryset() is what runs
    serializer_class = ScreenOutput
    permission_classes = [AllowAny]
    filter_backends = []

    def get_queryset(self):
        cinema = get_object_or_404(selectors.cinemas(), pk=self.kwargs["pk"])
        return selectors.screens().filter(cinema=cinema)
