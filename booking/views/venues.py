"""Venues: cinemas and their screens (public reads, staff writes)."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import filters, generics
from rest_framework.generics import get_object_or_404  # a non-integer id: 404, not 500
from rest_framework.permissions import AllowAny

from .. import selectors, services
from ..filters import CinemaFilter, ScreenFilter
from ..models import Screen
from ..serializers import CinemaInput, CinemaOutput, ScreenInput, ScreenOutput
from .common import CatalogueViewSet, conflict


@extend_schema_view(
    list=extend_schema(summary="List cinemas", tags=["cinemas"]),
    retrieve=extend_schema(summary="Get a cinema", tags=["cinemas"]),
    create=extend_schema(
        summary="Create a cinema (staff)", tags=["cinemas"], responses={201: CinemaOutput}
    ),
    update=extend_schema(
        summary="Replace a cinema (staff)", tags=["cinemas"], responses={200: CinemaOutput}
    ),
    partial_update=extend_schema(
        summary="Update a cinema (staff)", tags=["cinemas"], responses={200: CinemaOutput}
    ),
    destroy=extend_schema(
        summary="Delete a cinema without screens (staff)",
        tags=["cinemas"],
        responses={204: None, 409: conflict},
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
    list=extend_schema(summary="List screens", tags=["cinemas"]),
    retrieve=extend_schema(summary="Get a screen and its layout", tags=["cinemas"]),
    create=extend_schema(
        summary="Create a screen with its layout (staff)",
        tags=["cinemas"],
        responses={201: ScreenOutput},
    ),
    update=extend_schema(
        summary="Replace a screen (staff); a new layout applies to future shows only",
        tags=["cinemas"],
        responses={200: ScreenOutput},
    ),
    partial_update=extend_schema(
        summary="Update a screen (staff); a new layout applies to future shows only",
        tags=["cinemas"],
        responses={200: ScreenOutput},
    ),
    destroy=extend_schema(
        summary="Delete a screen without shows (staff)",
        tags=["cinemas"],
        responses={204: None, 409: conflict},
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


@extend_schema(summary="The screens of a cinema", tags=["cinemas"])
class CinemaScreensView(generics.ListAPIView):
    queryset = Screen.objects.none()  # for the schema; get_queryset() is what runs
    serializer_class = ScreenOutput
    permission_classes = [AllowAny]
    filter_backends = []

    def get_queryset(self):
        cinema = get_object_or_404(selectors.cinemas(), pk=self.kwargs["pk"])
        return selectors.screens().filter(cinema=cinema)
