"""What the API's views share: the staff-write viewset and small request helpers."""

from rest_framework import status, viewsets
from rest_framework.response import Response

from ..permissions import IsStaffOrReadOnly


class CatalogueViewSet(viewsets.ModelViewSet):
    # Public reads, staff-only writes that go through the services. (A comment, not a
    # docstring: drf-spectacular would show a docstring as every operation's description.)

    permission_classes = [IsStaffOrReadOnly]
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


def reject_a_non_json_body(request) -> None:
    """Parse the body an endpoint does not use: one that is not JSON is a 415 (API.md)."""
    request.data  # noqa: B018 - DRF parses (and checks the media type) on first access
