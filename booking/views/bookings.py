"""Bookings: book seats of a show, read and cancel one's own bookings."""

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiRequest,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services
from ..filters import BookingFilter
from ..models import Booking, Show
from ..serializers import BookingOutput, BookSeatsInput
from ..serializers.bookings import BookSeatsRequest, booking_body
from ..throttles import BookingRateThrottle
from .common import id_or_404, reject_a_non_json_body

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


REPLAYED_HEADER = OpenApiParameter(
    "Idempotent-Replayed",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[201],
    enum=["true"],
    description="`true` when this 201 is the stored answer to an earlier request with the "
    "same Idempotency-Key (nothing new was booked); absent otherwise.",
)

# The request examples of book/ and holds/; Swagger UI's "Try it out" starts from the
# first, so it must work on the sample data: seat 12 is in the front row of show 1's
# screen, which the sample customers never book.
SEAT_EXAMPLES = [
    OpenApiExample(
        "Seat numbers",
        value={"seat_numbers": [12]},
        request_only=True,
        description="Seats by number (1..total_seats, see the seat map); 1 to 10 of them.",
    ),
    OpenApiExample(
        "One seat",
        value={"seat_number": 12},
        request_only=True,
        description="A single seat by number.",
    ),
    OpenApiExample(
        "Seat labels",
        value={"seats": ["A11", "A12"]},
        request_only=True,
        description="Seats by label, as in the seat map (any case).",
    ),
    OpenApiExample(
        "Best available",
        value={"best_available": {"count": 2}},
        request_only=True,
        description="Let the service pick 2 free seats side by side; add `category` "
        "(e.g. `recliner`) to pick in one category.",
    ),
]
SEAT_FIELDS_DESCRIPTION = (
    "The body names the seats in exactly one way: `seat_number` (one seat), "
    "`seat_numbers` (1 to 10 seat numbers), `seats` (1 to 10 labels such as `B2`), or "
    "`best_available` (`count` seats side by side, optionally of one `category`). Two of "
    "them at once is a 400."
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
        description=(
            f"{SEAT_FIELDS_DESCRIPTION}\n\n"
            "All or nothing: every seat is booked in one booking, or none is and the "
            "answer is 409 `seat_unavailable` naming the taken seats. Each seat costs its "
            "category's price now. Your own active hold on the show does not stand in the "
            "way: its seats count as free for you, and the hold ends when the booking "
            "succeeds. Send an `Idempotency-Key` to retry safely."
        ),
        tags=["bookings"],
        request=OpenApiRequest(BookSeatsRequest, examples=SEAT_EXAMPLES),
        responses={
            201: OpenApiResponse(
                BookingOutput,
                description="Booked: the new booking, with its seats and prices. A replay "
                "of an Idempotency-Key answers the original booking again.",
            )
        },
        parameters=[idempotency_key_parameter("books"), REPLAYED_HEADER],
    )
    def post(self, request, pk):
        show = show_to_claim(pk)
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
    return booking_body(booking)


def show_to_claim(pk) -> Show:
    show = services.seating.show_to_claim(id_or_404(pk))
    if show is None:
        raise NotFound()
    return show


@extend_schema(
    summary="The caller's bookings, newest first",
    description="Your own bookings only, cancelled ones included unless `?status=booked`.",
    tags=["bookings"],
    responses={
        200: OpenApiResponse(BookingOutput, description="A page of your bookings, newest first.")
    },
)
class MyBookingsView(generics.ListAPIView):
    queryset = Booking.objects.none()  # for the schema; get_queryset() is what runs
    serializer_class = BookingOutput
    permission_classes = [IsAuthenticated]
    filterset_class = BookingFilter

    def get_queryset(self):
        return selectors.bookings_of(user=self.request.user)


@extend_schema_view(
    retrieve=extend_schema(
        summary="Get one of the caller's bookings",
        description="Another user's booking is a 404, as if it did not exist.",
        tags=["bookings"],
        responses={200: OpenApiResponse(BookingOutput, description="The booking.")},
    )
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
        description=(
            "No body. Possible until `cancellable_until` (the show's start minus "
            "CANCELLATION_CUTOFF_MINUTES). The booking keeps its seats and prices as "
            "history; the seats themselves are free for anyone at once."
        ),
        tags=["bookings"],
        request=None,
        responses={
            200: OpenApiResponse(
                BookingOutput,
                description='The booking, now with `status: "cancelled"` and `cancelled_at`.',
            )
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        booking = self.get_object()
        reject_a_non_json_body(request)
        booking = services.cancel_booking(booking=booking, now=timezone.now())
        return Response(BookingOutput(booking).data)
