"""Checkout: hold seats while paying, read or release the hold, confirm it into a booking."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404  # a malformed id: 404, not 500
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services
from ..models import Hold, Show
from ..serializers import BookingOutput, BookSeatsInput, HoldOutput
from ..throttles import BookingRateThrottle
from .bookings import created_once, idempotency_key_of, idempotency_key_parameter, render_booking
from .common import conflict, reject_a_non_json_body


class HoldSeatsView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [BookingRateThrottle]

    @extend_schema(
        summary="Hold seats of a show while you pay",
        description=(
            "Takes any of the `book/` bodies. The seats are kept for you for "
            "SEAT_HOLD_MINUTES and are unavailable to everyone else. A new hold on the same "
            "show replaces your active one (its other seats are freed in the same step)."
        ),
        tags=["checkout"],
        request=BookSeatsInput,
        responses={201: HoldOutput, 409: conflict},
    )
    def post(self, request, pk):
        show = get_object_or_404(Show.objects.select_related("movie"), pk=pk)
        serializer = BookSeatsInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        now = timezone.now()
        hold = services.hold_seats(
            user=request.user, show=show, now=now, **serializer.validated_data
        )
        return Response(HoldOutput(hold, context={"now": now}).data, status=status.HTTP_201_CREATED)


class HoldViewSet(mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    queryset = Hold.objects.none()  # for the schema; get_queryset() is what runs
    serializer_class = HoldOutput
    permission_classes = [IsAuthenticated]
    lookup_value_regex = r"[0-9a-fA-F-]{32,36}"

    def get_queryset(self):
        # Scoped to the caller: another user's hold is a 404 by construction.
        return selectors.holds_of(user=self.request.user)

    @extend_schema(summary="Get one of your holds", tags=["checkout"])
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        summary="Release a hold: its seats are free at once",
        tags=["checkout"],
        responses={204: None, 409: conflict},
    )
    def destroy(self, request, *args, **kwargs):
        hold = self.get_object()
        reject_a_non_json_body(request)
        services.release_hold(hold=hold, now=timezone.now())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Confirm a hold: book exactly its seats",
        tags=["checkout"],
        request=None,
        responses={201: BookingOutput, 409: conflict},
        parameters=[idempotency_key_parameter("books")],
    )
    @action(detail=True, methods=["post"], throttle_classes=[BookingRateThrottle])
    def confirm(self, request, pk=None):
        hold = self.get_object()
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
