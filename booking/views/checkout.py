"""Checkout: hold seats while paying, read or release the hold, confirm it into a booking."""

from uuid import UUID

from django.utils import timezone
from drf_spectacular.utils import OpenApiRequest, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services
from ..models import Hold
from ..serializers import BookingOutput, BookSeatsInput, HoldOutput
from ..serializers.bookings import BookSeatsRequest, hold_body
from ..throttles import BookingRateThrottle
from .bookings import (
    REPLAYED_HEADER,
    SEAT_EXAMPLES,
    SEAT_FIELDS_DESCRIPTION,
    created_once,
    idempotency_key_of,
    idempotency_key_parameter,
    render_booking,
    show_to_claim,
)
from .common import reject_a_non_json_body

# "Try it out" starts from the first example: the best block of 2 works on any show with
# two free seats side by side.
HOLD_EXAMPLES = [
    next(example for example in SEAT_EXAMPLES if example.name == "Best available"),
    *(example for example in SEAT_EXAMPLES if example.name != "Best available"),
]


class HoldSeatsView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [BookingRateThrottle]

    @extend_schema(
        summary="Hold seats of a show while you pay",
        description=(
            f"Takes any of the `book/` bodies. {SEAT_FIELDS_DESCRIPTION}\n\n"
            "The seats are kept for you for SEAT_HOLD_MINUTES and are unavailable to "
            "everyone else (409 `seat_unavailable` for them). One active hold per show: a "
            "new hold on the same show replaces your active one, and its other seats are "
            "freed in the same step. Then confirm the hold (`POST /api/holds/{id}/confirm/`) "
            "or release it (`DELETE /api/holds/{id}/`)."
        ),
        tags=["checkout"],
        request=OpenApiRequest(BookSeatsRequest, examples=HOLD_EXAMPLES),
        responses={
            201: OpenApiResponse(
                HoldOutput,
                description="Held: the hold, `active`, with its seats, prices and `expires_at`.",
            )
        },
    )
    def post(self, request, pk):
        show = show_to_claim(pk)
        serializer = BookSeatsInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        now = timezone.now()
        hold = services.hold_seats(
            user=request.user, show=show, now=now, **serializer.validated_data
        )
        return Response(hold_body(hold, now=now), status=status.HTTP_201_CREATED)


class HoldViewSet(mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    queryset = Hold.objects.none()  # for the schema; get_queryset() is what runs
    serializer_class = HoldOutput
    permission_classes = [IsAuthenticated]
    lookup_value_regex = r"[0-9a-fA-F-]{32,36}"

    def get_queryset(self):
        # Scoped to the caller: another user's hold is a 404 by construction.
        return selectors.holds_of(user=self.request.user)

    @extend_schema(
        summary="Get one of your holds",
        description=(
            "Its `status` reads `expired` as soon as `expires_at` has passed. Another "
            "user's hold is a 404, as if it did not exist."
        ),
        tags=["checkout"],
        responses={200: OpenApiResponse(HoldOutput, description="The hold.")},
    )
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        summary="Release a hold: its seats are free at once",
        description="Only an active hold can be released; it becomes `released`.",
        tags=["checkout"],
        responses={204: OpenApiResponse(description="Released; no body.")},
    )
    def destroy(self, request, *args, **kwargs):
        hold = self.get_object()
        reject_a_non_json_body(request)
        services.release_hold(hold=hold, now=timezone.now())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Confirm a hold: book exactly its seats",
        description=(
            "No body. Books the held seats at the prices they were held at; the hold "
            "becomes `confirmed` and names the booking. Checks in this order: "
            "`hold_not_active`, `hold_expired`, `show_started`, then the seat limit. A "
            "retry with the same `Idempotency-Key` answers the original 201 again."
        ),
        tags=["checkout"],
        request=None,
        responses={
            201: OpenApiResponse(
                BookingOutput, description="Booked: the booking of exactly the held seats."
            )
        },
        parameters=[idempotency_key_parameter("books"), REPLAYED_HEADER],
    )
    @action(detail=True, methods=["post"], throttle_classes=[BookingRateThrottle])
    def confirm(self, request, pk=None):
        hold = self._hold_to_confirm(pk)
        reject_a_non_json_body(request)
        key = idempotency_key_of(request)
        now = timezone.now()
        return created_once(
            request,
            key=key,
            now=now,
            make=lambda: services.confirm_hold(hold=hold, now=now),
            render=render_booking,
        )

    def _hold_to_confirm(self, pk) -> Hold:
        """get_object() for confirm: the caller's hold, or 404, in one plain SELECT."""
        try:
            hold_id = UUID(pk)
        except ValueError:
            raise NotFound() from None
        hold = services.checkout.hold_to_confirm(hold_id, self.request.user)
        if hold is None:
            raise NotFound()
        self.check_object_permissions(self.request, hold)
        return hold
