"""Bookings: book seats of a show, read and cancel one's own bookings."""

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404  # a non-integer id: 404, not 500
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services
from ..filters import BookingFilter
from ..models import Booking, Show
from ..serializers import BookingOutput, BookSeatsInput
from ..throttles import BookingRateThrottle
from .common import conflict, reject_a_non_json_body

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY_LENGTH = 255


def idempotency_key_parameter(action: str) -> OpenApiParameter:
    return OpenApiParameter(
        IDEMPOTENCY_KEY_HEADER,
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        required=False,
        description=(
            f"Optional, up to {MAX_IDEMPOTENCY_KEY_LENGTH} characters. A retry with the same "
            "key and body returns the original 201 (header `Idempotent-Replayed: true`) and "
            f"{action} nothing more. Kept for {settings.IDEMPOTENCY_KEY_TTL_HOURS} hours."
        ),
    )


def idempotency_key_of(request) -> str:
    key = request.headers.get(IDEMPOTENCY_KEY_HEADER, "")
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ValidationError(
            {IDEMPOTENCY_KEY_HEADER: [f"At most {MAX_IDEMPOTENCY_KEY_LENGTH} characters."]}
        )
    return key


def created_once(request, *, key: str, now, make, render) -> Response:
    """Answer 201 with render(make()), once per Idempotency-Key when one is sent."""
    if not key:
        return Response(render(make()), status=status.HTTP_201_CREATED)
    body, replayed = services.book_seats_idempotently(
        user=request.user,
        key=key,
        fingerprint=services.request_fingerprint(
            method=request.method, path=request.path, body=request.data
        ),
        now=now,
        book=make,
        render=render,
    )
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(body, status=status.HTTP_201_CREATED, headers=headers)


class BookSeatsView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [BookingRateThrottle]

    @extend_schema(
        summary="Book one or several seats of a show",
        tags=["bookings"],
        request=BookSeatsInput,
        responses={201: BookingOutput, 409: conflict},
        parameters=[idempotency_key_parameter("books")],
    )
    def post(self, request, pk):
        show = get_object_or_404(Show.objects.select_related("movie"), pk=pk)
        serializer = BookSeatsInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = idempotency_key_of(request)
        now = timezone.now()

        def book():
            return services.book_seats(
                user=request.user, show=show, now=now, **serializer.validated_data
            )

        return created_once(request, key=key, now=now, make=book, render=render_booking)


def render_booking(booking) -> dict:
    return BookingOutput(booking).data


@extend_schema(summary="The caller's bookings, newest first", tags=["bookings"])
class MyBookingsView(generics.ListAPIView):
    queryset = Booking.objects.none()  # for the schema; get_queryset() is what runs
    serializer_class = BookingOutput
    permission_classes = [IsAuthenticated]
    filterset_class = BookingFilter

    def get_queryset(self):
        return selectors.bookings_of(user=self.request.user)


@extend_schema_view(
    retrieve=extend_schema(summary="Get one of the caller's bookings", tags=["bookings"])
)
class BookingViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Booking.objects.none()  # for the schema; get_queryset() is what runs
    serializer_class = BookingOutput
    permission_classes = [IsAuthenticated]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        # Scoped to the caller: another user's booking is a 404 by construction.
        return selectors.bookings_of(user=self.request.user)

    @extend_schema(
        summary="Cancel a booking; its seats are free at once",
        tags=["bookings"],
        request=None,
        responses={200: BookingOutput, 409: conflict},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        booking = self.get_object()
        reject_a_non_json_body(request)
        booking = services.cancel_booking(booking=booking, now=timezone.now())
        return Response(BookingOutput(booking).data)
