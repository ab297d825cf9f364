"""HTTP endpoints: parse, call a service or selector, render."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.views import defaults
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import filters, generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import AuthenticationFailed, NotFound, ValidationError
from rest_framework.generics import get_object_or_404  # a non-integer id: 404, not 500
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from . import selectors, services
from .exceptions import SERVER_ERROR_DETAIL
from .filters import (
    BookingFilter,
    MovieFilter,
    ShowDateFilter,
    ShowFilter,
    StableOrderingFilter,
)
from .models import Booking, Show, User
from .permissions import IsStaffOrReadOnly
from .serializers import (
    BookingOutput,
    BookSeatsInput,
    ErrorOutput,
    LogoutInput,
    MeOutput,
    MovieInput,
    MovieOutput,
    SeatMapOutput,
    ShowInput,
    ShowOutput,
    SignupInput,
    SignupOutput,
    TokenPairOutput,
)
from .throttles import (
    BookingRateThrottle,
    LoginRateThrottle,
    RefreshRateThrottle,
    SignupRateThrottle,
)

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY_LENGTH = 255
SHOW_ORDERING_FIELDS = ["start_time", "price"]  # API.md: ?ordering= on shows

conflict = OpenApiResponse(ErrorOutput, description="Conflict with the current state.")

# --- Accounts -------------------------------------------------------------------------


class SignupView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [SignupRateThrottle]

    @extend_schema(request=SignupInput, responses={201: SignupOutput}, tags=["accounts"])
    def post(self, request):
        """Create an account and return its first token pair."""
        serializer = SignupInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.create_user(**serializer.validated_data)
        refresh = RefreshToken.for_user(user)
        body = {
            "id": user.pk,
            "username": user.username,
            "email": user.email,
            "access": str(refresh.access_token),
            "refresh": str(refresh),
        }
        return Response(SignupOutput(body).data, status=status.HTTP_201_CREATED)


@extend_schema(responses={200: TokenPairOutput}, tags=["accounts"])
class LoginView(TokenObtainPairView):
    """Exchange a username (any case) and password for an access and refresh token."""

    throttle_classes = [LoginRateThrottle]


@extend_schema(responses={200: TokenPairOutput}, tags=["accounts"])
class RefreshView(TokenRefreshView):
    """Exchange a refresh token for a new pair; the old refresh token stops working."""

    throttle_classes = [RefreshRateThrottle]

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except User.DoesNotExist:
            # simplejwt looks the token's user up without catching this: a 500 otherwise.
            raise InvalidToken("The user of this token no longer exists.") from None
        except AuthenticationFailed as exc:
            # simplejwt says no_active_account for a deactivated user's token; that code
            # means a wrong login in API.md, and an unusable token is token_not_valid.
            raise InvalidToken(str(exc.detail)) from None


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=LogoutInput,
        responses={205: OpenApiResponse(description="The refresh token is revoked.")},
        tags=["accounts"],
    )
    def post(self, request):
        """Revoke (blacklist) one of the caller's refresh tokens."""
        serializer = LogoutInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.revoke_refresh_token(user=request.user, token=serializer.validated_data["refresh"])
        return Response(status=status.HTTP_205_RESET_CONTENT)


class MeView(generics.RetrieveAPIView):
    """The signed-in user."""

    serializer_class = MeOutput
    permission_classes = [IsAuthenticated]

    def get_object(self):
        return self.request.user

    @extend_schema(tags=["accounts"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


# --- Catalogue ------------------------------------------------------------------------


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
        _reject_a_non_json_body(request)
        self.delete_service(instance)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def filter_queryset(self, queryset):
        # Search, filters and ordering belong to the list: on /movies/{id}/ they are
        # unknown parameters, and those are ignored (API.md).
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def _render(self, instance):
        return self.output_serializer(self.get_queryset().get(pk=instance.pk)).data


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

    @extend_schema(
        summary="Book one or several seats of a show",
        tags=["bookings"],
        request=BookSeatsInput,
        responses={201: BookingOutput, 409: conflict},
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_KEY_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description=(
                    "Optional, up to 255 characters. A retry with the same key and body "
                    "returns the original 201 (header `Idempotent-Replayed: true`) and "
                    f"books nothing more. Kept for {settings.IDEMPOTENCY_KEY_TTL_HOURS} hours."
                ),
            )
        ],
    )
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[IsAuthenticated],
        throttle_classes=[BookingRateThrottle],
        filter_backends=[],
        pagination_class=None,
    )
    def book(self, request, pk=None):
        show = get_object_or_404(Show.objects.select_related("movie"), pk=pk)
        serializer = BookSeatsInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = request.headers.get(IDEMPOTENCY_KEY_HEADER, "")
        if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            raise ValidationError(
                {IDEMPOTENCY_KEY_HEADER: [f"At most {MAX_IDEMPOTENCY_KEY_LENGTH} characters."]}
            )
        now = timezone.now()

        def book():
            return services.book_seats(
                user=request.user,
                show=show,
                seat_numbers=serializer.validated_data["seat_numbers"],
                now=now,
            )

        if not key:
            return Response(_render_booking(book()), status=status.HTTP_201_CREATED)
        body, replayed = services.book_seats_idempotently(
            user=request.user,
            key=key,
            fingerprint=services.request_fingerprint(
                method=request.method, path=request.path, body=request.data
            ),
            now=now,
            book=book,
            render=_render_booking,
        )
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)


def _reject_a_non_json_body(request) -> None:
    """Parse the body an endpoint does not use: one that is not JSON is a 415 (API.md)."""
    request.data  # noqa: B018 - DRF parses (and checks the media type) on first access


def _render_booking(booking) -> dict:
    return BookingOutput(booking).data


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


# --- Bookings -------------------------------------------------------------------------


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
        _reject_a_non_json_body(request)
        booking = services.cancel_booking(booking=booking, now=timezone.now())
        return Response(BookingOutput(booking).data)


# --- Operations -----------------------------------------------------------------------


@extend_schema(exclude=True)
class ApiNotFoundView(APIView):
    """Answer any unknown path under /api/ with a JSON 404."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = []

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        hint = ""
        if not request.path.endswith("/"):
            try:
                if resolve(request.path + "/").url_name != "api-not-found":
                    hint = f" Did you mean {request.path}/ ?"
            except Resolver404:
                pass
        raise NotFound(f"No endpoint at {request.path}.{hint}")


@require_GET
def healthz(request):
    """Report whether the service and its database answer."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # noqa: BLE001 - any failure to reach the database means "down"
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def _json_under_api(html_view, status_code: int, code: str, detail: str):
    """Wrap one of Django's error handlers: JSON under /api/, its page elsewhere."""

    def view(request, *args, **kwargs):
        if request.path.startswith("/api/"):
            return JsonResponse({"code": code, "detail": detail}, status=status_code)
        return html_view(request, *args, **kwargs)

    return view


# Errors raised outside DRF (a bad Host header, a crash in middleware) reach these.
bad_request = _json_under_api(defaults.bad_request, 400, "invalid", "Bad request.")
permission_denied = _json_under_api(
    defaults.permission_denied, 403, "permission_denied", "Permission denied."
)
server_error = _json_under_api(defaults.server_error, 500, "server_error", SERVER_ERROR_DETAIL)
