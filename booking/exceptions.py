"""Domain errors and the one exception handler that shapes every `/api/` error.

Every error body is `{"code": ..., "detail": ..., ...}` (see API.md, "Errors").
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1
SERVER_ERROR_DETAIL = "Something went wrong on our side."

# MySQL/MariaDB error numbers: a lock wait that timed out, and a deadlock victim (on a
# Galera cluster also a transaction that lost a certification conflict to another node).
MYSQL_LOCK_WAIT_TIMEOUT = 1205
MYSQL_DEADLOCK = 1213
# A Galera node outside the primary component (lost quorum, still joining): every
# statement that reads or writes a table answers "WSREP has not yet prepared node for
# application use".
MYSQL_WSREP_NOT_READY = 1047


class Conflict(exceptions.APIException):
    """A race a lock did not cover: the transaction rolled back, nothing was written."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with a concurrent change."
    default_code = "conflict"


class ShowStarted(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This show has already started."
    default_code = "show_started"


class CancellationClosed(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This booking can no longer be cancelled: the show starts too soon."
    default_code = "cancellation_closed"


class AlreadyCancelled(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This booking is already cancelled."
    default_code = "already_cancelled"


class ShowHasBookings(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This show has bookings; its history is kept."
    default_code = "show_has_bookings"


class MovieHasShows(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This movie still has shows; delete or move them first."
    default_code = "movie_has_shows"


class CinemaHasScreens(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This cinema still has screens; delete them first."
    default_code = "cinema_has_screens"


class ScreenHasShows(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This screen has shows; its schedule and booking history are kept."
    default_code = "screen_has_shows"


class ScreenBusy(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "screen_busy"

    def __init__(self, *, other):
        when = other.start_time.strftime("%Y-%m-%d %H:%M UTC")
        super().__init__(
            f"{other.screen_name} is taken then: show {other.pk} ({other.movie.title}) "
            f"starts {when}, and the screen needs its turnover time after it."
        )
        self.show_id = other.pk


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This Idempotency-Key was already used with a different request."
    default_code = "idempotency_key_reused"


class SeatUnavailable(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "seat_unavailable"

    def __init__(self, *, seats, labels=None, held=False):
        """seats: the taken seat numbers; labels: {number: label}; held: some only held."""
        self.seats = sorted(seats)
        labels = labels or {}
        self.labels = [labels.get(n, str(n)) for n in self.seats]
        names = ", ".join(self.labels)
        noun = "Seat" if len(self.seats) == 1 else "Seats"
        verb = "is" if len(self.seats) == 1 else "are"
        state = "taken (booked, or held by someone paying)" if held else "already booked"
        super().__init__(f"{noun} {names} {verb} {state}.")


class NoAdjacentSeats(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "no_adjacent_seats"

    def __init__(self, *, count, category=None):
        kind = f" {category}" if category else ""
        super().__init__(f"There is no block of {count}{kind} seats side by side left.")


class SeatLimitReached(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "seat_limit_reached"

    def __init__(self, *, limit, remaining):
        self.limit = limit
        self.remaining = remaining
        super().__init__(
            f"At most {limit} seats per person for this show; you may take {remaining} more."
        )


class HoldExpired(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This hold has expired; its seats are no longer kept for you."
    default_code = "hold_expired"


class HoldNotActive(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This hold was already confirmed or released."
    default_code = "hold_not_active"


class SeatsOutOfRange(exceptions.ValidationError):
    """Requested seats that the show does not have: a 400, checked after show_started."""

    def __init__(self, *, seats, total_seats):
        self.seats = sorted(seats)
        super().__init__(
            {
                "seat_numbers": [
                    f"Seat {n} does not exist in this show (1-{total_seats})." for n in self.seats
                ]
            }
        )


class UnknownSeatLabels(exceptions.ValidationError):
    """Seat labels that the show does not have: a 400 on `seats`, after show_started."""

    def __init__(self, *, labels):
        super().__init__(
            {"seats": [f"Seat {label} does not exist in this show." for label in labels]}
        )


class Busy(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The requested seats are being booked by someone else; try again."
    default_code = "busy"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database cannot be reached; try again shortly."
    default_code = "service_unavailable"


NODE_UNAVAILABLE_DETAIL = "The database is not ready to answer right now; try again shortly."


def is_lock_conflict(exc: BaseException) -> bool:
    """Tell whether a database error means "another transaction holds the rows".

    On a Galera cluster that includes "another node committed a write to these rows (or
    unique keys) first": 1213, at any statement, COMMIT included.
    """
    if not isinstance(exc, OperationalError):
        return False
    errno = exc.args[0] if exc.args else None
    if errno in (MYSQL_LOCK_WAIT_TIMEOUT, MYSQL_DEADLOCK):
        return True
    message = str(exc).lower()
    # SQLite's busy database; PostgreSQL's deadlock victim and lock_timeout; Galera's
    # "WSREP detected deadlock/conflict", should a driver report it without its number.
    return any(text in message for text in ("database is locked", "deadlock", "lock timeout"))


def is_node_unavailable(exc: BaseException) -> bool:
    """Tell whether a database error means "this Galera node is not in the cluster now"."""
    if not isinstance(exc, DatabaseError):
        return False
    errno = exc.args[0] if exc.args else None
    return errno == MYSQL_WSREP_NOT_READY or "wsrep has not yet prepared node" in str(exc).lower()


# simplejwt's codes for a token it cannot use; the contract calls them all token_not_valid.
_TOKEN_CODES = {"bad_authorization_header", "user_not_found", "user_inactive", "token_not_valid"}
_CODE_ALIASES = {"parse_error": "invalid", "authentication_failed": "token_not_valid"}


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    if code in _TOKEN_CODES:
        return "token_not_valid"
    return _CODE_ALIASES.get(code, code)


def detail_text(exc: exceptions.APIException) -> str:
    """Return an exception's detail as one readable sentence (never a dict's repr)."""
    return _detail_of(exc)


def _detail_of(exc: exceptions.APIException) -> str:
    detail = exc.detail
    if isinstance(detail, dict):
        # simplejwt puts a dict in `detail`: {"detail": ..., "code": ..., "messages": [...]}.
        return str(detail.get("detail", exc.default_detail))
    if isinstance(detail, list):
        return str(exc.default_detail)
    return str(detail)


def _validation_errors(detail) -> dict:
    """Return `errors` as the contract has it: field name to a flat list of messages."""
    if isinstance(detail, dict):
        return {field: _messages(value) for field, value in detail.items()}
    return {"non_field_errors": _messages(detail)}


def _messages(detail, prefix: str = "") -> list[str]:
    # DRF nests the errors of a list's items by index ({"0": [...]}) and of nested
    # objects by field; the contract (and the schema) promise a list of strings.
    if isinstance(detail, dict):
        return [
            message
            for key, value in detail.items()
            for message in _messages(value, f"{prefix}{_label(key)}: ")
        ]
    if isinstance(detail, list):
        return [message for item in detail for message in _messages(item, prefix)]
    return [f"{prefix}{detail}"]


def _label(key) -> str:
    return f"Item {key}" if isinstance(key, int) or str(key).isdigit() else str(key)


def _as_api_exception(exc: Exception) -> exceptions.APIException | None:
    """Map Django and database exceptions onto the contract's error codes."""
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    if isinstance(exc, RequestDataTooBig):
        return exceptions.ParseError("The request body is too large.")
    if is_lock_conflict(exc):
        return Busy()
    if is_node_unavailable(exc):
        # A node that lost quorum or is still joining: another node (or this one, in a
        # moment) can answer; a load balancer's health check takes it out meanwhile.
        logger.warning("database node not ready (not in the primary component): %s", exc)
        return ServiceUnavailable(NODE_UNAVAILABLE_DETAIL)
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database unavailable: %s", exc)
        return ServiceUnavailable()
    if isinstance(exc, IntegrityError):
        # A race a lock did not cover; the transaction rolled back, nothing was written.
        logger.warning("integrity conflict: %s", exc)
        return Conflict()
    return None


def exception_handler(exc, context):
    """Render every error as `{"code", "detail", ...}`; never leak internals."""
    if not isinstance(exc, exceptions.APIException):
        exc = _as_api_exception(exc) or exc
    if not isinstance(exc, exceptions.APIException):
        logger.error("unhandled error in %s", context.get("view"), exc_info=exc)
        set_rollback()
        return server_error_response()

    response = drf_exception_handler(exc, context)
    if isinstance(exc, exceptions.ValidationError):
        body = {"code": "invalid", "detail": "Invalid input."}
        body["errors"] = _validation_errors(exc.detail)
    else:
        body = {"code": _code_of(exc), "detail": _detail_of(exc)}
    if isinstance(exc, SeatUnavailable):
        body["seats"] = exc.seats
        body["labels"] = exc.labels
    if isinstance(exc, SeatLimitReached):
        body["limit"] = exc.limit
        body["remaining"] = exc.remaining
    if isinstance(exc, (Busy, ServiceUnavailable)):
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.data = body
    return response


def server_error_response() -> Response:
    return Response(
        {"code": "server_error", "detail": SERVER_ERROR_DETAIL},
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
