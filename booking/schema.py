"""OpenAPI generation: the guide, integer ids, and the errors each operation can answer.

Every operation documents its error responses. An error response's schema names exactly
the codes that operation can answer with that status (`code` is an enum), and shows one
example per code: the body the project's own exception handler renders for the real
exception, so no example can drift from what the API says. The 409 codes of each
operation come from CONFLICTS below; the other statuses follow from the view (its
authentication, permissions, throttles, filters, path and method).
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import urlencode

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular import openapi
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.drainage import warn
from drf_spectacular.plumbing import ResolvedComponent, force_instance
from drf_spectacular.utils import OpenApiRequest, PolymorphicProxySerializer
from inflection import camelize
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, IsAdminUser, IsAuthenticated
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from . import exceptions as domain
from .exceptions import exception_handler
from .permissions import IsStaffOrReadOnly
from .serializers import BookSeatsInput

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}  # DRF parses a body these may carry
RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 1},
        "description": "Seconds to wait before trying again.",
        "required": True,
    }
}

# --- The error codes ------------------------------------------------------------------


@dataclass(frozen=True)
class Code:
    status: int
    meaning: str  # when it is answered, as in API.md's table


CODES: dict[str, Code] = {
    "invalid": Code(
        400,
        "malformed JSON, wrong types, missing fields, a malformed filter, seat outside "
        "1..total_seats or an unknown seat label, repeated seats, too many seats; `errors` "
        "maps each field (`non_field_errors` for the body as a whole) to its messages",
    ),
    "not_authenticated": Code(401, "no token on an endpoint that needs one"),
    "token_not_valid": Code(
        401,
        "an expired, tampered, wrong type (refresh used as access), revoked or blacklisted "
        "token, or one issued before a password change",
    ),
    "no_active_account": Code(401, "wrong username or password at login"),
    "permission_denied": Code(
        403, "not staff, or staff without the matching Django model permission"
    ),
    "not_found": Code(
        404, "unknown id, another user's booking or hold, or a page past the end of a list"
    ),
    "method_not_allowed": Code(405, "a method the path does not have"),
    "unsupported_media_type": Code(415, "a request body that is not JSON"),
    "seat_unavailable": Code(
        409,
        "one or more requested seats are booked or held by someone else; `seats` lists "
        "their numbers, `labels` their labels",
    ),
    "show_started": Code(409, "the show's start time has passed"),
    "cancellation_closed": Code(
        409, "inside the cutoff before the show starts (`CANCELLATION_CUTOFF_MINUTES`)"
    ),
    "already_cancelled": Code(409, "the booking is already cancelled"),
    "show_has_bookings": Code(
        409,
        "the show has (had) bookings: it cannot be deleted, change movie or screen, or "
        "shrink below a booked seat",
    ),
    "movie_has_shows": Code(409, "the movie still has shows"),
    "cinema_has_screens": Code(409, "the cinema still has screens"),
    "screen_has_shows": Code(409, "the screen has shows"),
    "screen_busy": Code(
        409,
        "another show occupies the screen then (its running time plus `SCREEN_TURNOVER_MINUTES`)",
    ),
    "idempotency_key_reused": Code(
        409, "the same `Idempotency-Key` was sent before with another request"
    ),
    "seat_limit_reached": Code(
        409,
        "the caller would hold or own more than `MAX_SEATS_PER_USER_PER_SHOW` seats of "
        "the show; `limit` and `remaining` say how many",
    ),
    "no_adjacent_seats": Code(
        409, "`best_available` found no block of that many free seats side by side"
    ),
    "hold_expired": Code(409, "the hold's `expires_at` has passed"),
    "hold_not_active": Code(409, "the hold was already confirmed or released"),
    "conflict": Code(
        409, "a concurrent change collided with this one (e.g. the same name at once); retry"
    ),
    "throttled": Code(429, "rate limit hit; wait `Retry-After` seconds"),
    "busy": Code(
        503,
        "the rows this write needs stayed locked by other requests past the lock-wait "
        "bound; retry after `Retry-After` seconds",
    ),
    "service_unavailable": Code(
        503, "the database cannot be reached; retry after `Retry-After` seconds"
    ),
}

# The 409 codes of each operation (by operationId), and the name of its error component.
CONFLICTS: dict[str, tuple[str, list[str]]] = {
    "api_shows_book_create": (
        "BookConflict",
        [
            "show_started",
            "seat_limit_reached",
            "seat_unavailable",
            "no_adjacent_seats",
            "idempotency_key_reused",
        ],
    ),
    "api_shows_holds_create": (
        "HoldConflict",
        ["show_started", "seat_limit_reached", "seat_unavailable", "no_adjacent_seats"],
    ),
    "api_holds_confirm_create": (
        "ConfirmHoldConflict",
        [
            "hold_not_active",
            "hold_expired",
            "show_started",
            "seat_limit_reached",
            "idempotency_key_reused",
        ],
    ),
    "api_holds_destroy": ("ReleaseHoldConflict", ["hold_not_active", "hold_expired"]),
    "api_bookings_cancel_create": (
        "CancelBookingConflict",
        ["already_cancelled", "cancellation_closed", "show_started"],
    ),
    # A longer running time must still fit between the movie's shows on each screen.
    "api_movies_update": ("MovieUpdateConflict", ["screen_busy"]),
    "api_movies_partial_update": ("MovieUpdateConflict", ["screen_busy"]),
    "api_movies_destroy": ("MovieDeleteConflict", ["movie_has_shows"]),
    "api_shows_create": ("ShowCreateConflict", ["screen_busy"]),
    "api_shows_update": ("ShowUpdateConflict", ["screen_busy", "show_has_bookings"]),
    "api_shows_partial_update": ("ShowUpdateConflict", ["screen_busy", "show_has_bookings"]),
    "api_shows_destroy": ("ShowDeleteConflict", ["show_has_bookings"]),
    "api_cinemas_destroy": ("CinemaDeleteConflict", ["cinema_has_screens"]),
    # Two screens of one name in one cinema at the same instant: the unique index decides.
    "api_screens_create": ("ScreenWriteConflict", ["conflict"]),
    "api_screens_update": ("ScreenWriteConflict", ["conflict"]),
    "api_screens_partial_update": ("ScreenWriteConflict", ["conflict"]),
    "api_screens_destroy": ("ScreenDeleteConflict", ["screen_has_shows"]),
}

# Names of the error components of the other statuses, by their codes.
ERROR_NAMES = {
    ("invalid",): "InvalidError",
    ("not_authenticated", "token_not_valid"): "AuthRequiredError",
    ("token_not_valid",): "TokenNotValidError",
    ("no_active_account",): "LoginFailedError",
    ("permission_denied",): "PermissionDeniedError",
    ("not_found",): "NotFoundError",
    ("unsupported_media_type",): "UnsupportedMediaTypeError",
    ("throttled",): "ThrottledError",
    ("service_unavailable",): "UnavailableError",
    ("busy", "service_unavailable"): "BusyError",
}

STATUS_TITLES = {
    400: "Invalid request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict with the current state",
    415: "Not JSON",
    429: "Too many requests",
    503: "Try again shortly",
}

# Fields an error body has besides code and detail, by the code that adds them.
EXTRA_FIELDS = {
    "invalid": {
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Field name (`non_field_errors` for the body as a whole) to its "
            "messages. Absent when the body is not JSON at all.",
        }
    },
    "seat_unavailable": {
        "seats": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "`seat_unavailable`: the numbers of the seats that are taken.",
        },
        "labels": {
            "type": "array",
            "items": {"type": "string"},
            "description": "`seat_unavailable`: their labels, in the same order.",
        },
    },
    "seat_limit_reached": {
        "limit": {
            "type": "integer",
            "description": "`seat_limit_reached`: `MAX_SEATS_PER_USER_PER_SHOW`.",
        },
        "remaining": {
            "type": "integer",
            "description": "`seat_limit_reached`: seats the caller may still take.",
        },
    },
}

# What the show_has_bookings of an update says (services.catalogue); a delete says the
# exception's default.
SHOW_UPDATE_HAS_BOOKINGS = "This show has live bookings: its movie and screen cannot change."
INTEGRITY_CONFLICT = "The request conflicts with a concurrent change."  # exceptions.py


def render(exc: exceptions.APIException) -> dict:
    """Return the body the API answers for exc (the project's exception handler)."""
    return dict(exception_handler(exc, {}).data)


def _conflict_exception() -> exceptions.APIException:
    exc = exceptions.APIException(INTEGRITY_CONFLICT, code="conflict")
    exc.status_code = 409
    return exc


def _screen_busy() -> domain.ScreenBusy:
    other = SimpleNamespace(
        pk=7,
        screen_name="Screen 1",
        start_time=datetime(2026, 12, 1, 18, 30, tzinfo=UTC),
        movie=SimpleNamespace(title="Dune: Part Two"),
    )
    return domain.ScreenBusy(other=other)


# One example exception per code (invalid, not_found and token_not_valid vary by operation).
EXAMPLES = {
    "not_authenticated": exceptions.NotAuthenticated,
    "no_active_account": lambda: exceptions.AuthenticationFailed(
        "No active account found with the given credentials", "no_active_account"
    ),
    "permission_denied": exceptions.PermissionDenied,
    "unsupported_media_type": lambda: exceptions.UnsupportedMediaType("text/plain"),
    "seat_unavailable": lambda: domain.SeatUnavailable(seats=[12, 13], labels={12: "B2", 13: "B3"}),
    "show_started": domain.ShowStarted,
    "cancellation_closed": domain.CancellationClosed,
    "already_cancelled": domain.AlreadyCancelled,
    "show_has_bookings": domain.ShowHasBookings,
    "movie_has_shows": domain.MovieHasShows,
    "cinema_has_screens": domain.CinemaHasScreens,
    "screen_has_shows": domain.ScreenHasShows,
    "screen_busy": _screen_busy,
    "idempotency_key_reused": domain.IdempotencyKeyReused,
    "seat_limit_reached": lambda: domain.SeatLimitReached(limit=10, remaining=2),
    "no_adjacent_seats": lambda: domain.NoAdjacentSeats(count=3, category="premium"),
    "hold_expired": domain.HoldExpired,
    "hold_not_active": domain.HoldNotActive,
    "conflict": _conflict_exception,
    "throttled": lambda: exceptions.Throttled(wait=42),
    "busy": domain.Busy,
    "service_unavailable": domain.ServiceUnavailable,
}

# Bad query values tried on a list's filters to show a real 400.
BAD_FILTER_VALUES = ["abc", "\x00"]


def code_table() -> str:
    """Return the error codes as a Markdown table (for the guide)."""
    lines = ["| status | code | when |", "| --- | --- | --- |"]
    lines += [f"| {c.status} | `{name}` | {c.meaning} |" for name, c in CODES.items()]
    return "\n".join(lines)


# --- The schema of one operation ------------------------------------------------------


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is not None and "security" not in operation:
            # Public, token or not (signup, login, password reset): say so, no padlock.
            operation["security"] = []
        return operation

    def get_auth(self):
        auths = super().get_auth()
        # Catalogue reads are public: the token is optional there (like AllowAny).
        if self.method in SAFE_METHODS and self._is_staff_only() and {} not in auths:
            auths.append({})
        return auths

    # Path parameters: ids are integers (the routers' `\d+`), holds' ids are UUIDs.

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        noun = self._path_noun()
        for parameter in parameters:
            if parameter["name"] != "id":
                continue
            if noun == "hold":
                parameter["schema"] = {"type": "string", "format": "uuid"}
                parameter["description"] = "The hold's id, a UUID (from `POST .../holds/`)."
            else:
                parameter["schema"] = {"type": "integer"}
                parameter["description"] = f"The {noun}'s id."
                if noun in ("movie", "show", "cinema", "screen"):
                    parameter["example"] = 1  # the sample data's first one (Try it out)
        return parameters

    def _path_noun(self) -> str:
        parts = self.path.strip("/").split("/")
        collection = parts[parts.index("{id}") - 1] if "{id}" in parts else ""
        return collection.removesuffix("s")

    # DELETE /api/me/ reads a body (the password): document it when a view declares one.

    def _get_request_body(self, direction="request"):
        if self.method != "DELETE" or not self._declares_request_body():
            body = super()._get_request_body(direction)
        else:
            self.method = "POST"  # drf-spectacular documents bodies of POST, PUT, PATCH only
            try:
                body = super()._get_request_body(direction)
            finally:
                self.method = "DELETE"
        if body and isinstance(self._declared_request(), PolymorphicProxySerializer):
            body["required"] = True  # each branch requires its field; the oneOf, a body
        return body

    def _declared_request(self):
        """Return the request serializer, unwrapped from an OpenApiRequest (examples)."""
        declared = self.get_request_serializer()
        return declared.request if isinstance(declared, OpenApiRequest) else declared

    def _declares_request_body(self) -> bool:
        declared = self._declared_request()
        # What drf-spectacular would guess without @extend_schema (a plain APIView: none).
        guessable = hasattr(self.view, "get_serializer")
        discovered = openapi.AutoSchema.get_request_serializer(self) if guessable else None
        return declared is not None and (
            discovered is None or type(force_instance(declared)) is not type(discovered)
        )

    # Responses: the success ones come from the views; every error one is made here.

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for status_code, codes in sorted(self.error_codes().items()):
            responses[str(status_code)] = self._error_response(status_code, codes)
        return responses

    def error_codes(self) -> dict[int, list[str]]:
        """Return the error codes this operation can answer, by status."""
        codes: dict[int, list[str]] = {}
        reads_body = self.method in BODY_METHODS
        if reads_body or (self._is_list_read() and self._bad_filter() is not None):
            codes[400] = ["invalid"]
        unauthorized = self._unauthorized_codes()
        if unauthorized:
            codes[401] = unauthorized
        if self.method not in SAFE_METHODS and self._is_staff_only():
            codes[403] = ["permission_denied"]
        if "{" in self.path or self._is_list_read():
            codes[404] = ["not_found"]  # an unknown id; a page past the end
        conflict = CONFLICTS.get(self.get_operation_id())
        if conflict:
            codes[409] = conflict[1]
        if reads_body:
            codes[415] = ["unsupported_media_type"]
        if self.view.get_throttles():
            codes[429] = ["throttled"]
        # A write may wait for row locks (busy); anything may find the database gone.
        writes = self.method not in SAFE_METHODS
        codes[503] = ["busy", "service_unavailable"] if writes else ["service_unavailable"]
        return codes

    def _is_list_read(self) -> bool:
        return self.method == "GET" and self._is_list_view()

    def _unauthorized_codes(self) -> list[str]:
        if not self.view.get_authenticators():  # the token endpoints, password reset
            if isinstance(self.view, TokenObtainPairView):
                return ["no_active_account"]
            if isinstance(self.view, TokenRefreshView):
                return ["token_not_valid"]
            return []
        # Any Bearer header that is not a usable token is a 401, public endpoints too.
        if self._requires_authentication():
            return ["not_authenticated", "token_not_valid"]
        return ["token_not_valid"]

    def _requires_authentication(self) -> bool:
        permissions = self.view.get_permissions()
        requiring = (IsAuthenticated, IsAdminUser)  # not `|`: DRF overloads it on permissions
        if any(isinstance(p, requiring) for p in permissions):
            return True
        return self.method not in SAFE_METHODS and self._is_staff_only()

    def _is_staff_only(self) -> bool:
        staff_only = (IsStaffOrReadOnly, IsAdminUser)
        return any(isinstance(p, staff_only) for p in self.view.get_permissions())

    def _error_response(self, status_code: int, codes: list[str]) -> dict:
        component = self._error_component(status_code, codes)
        lines = [f"- `{code}`: {CODES[code].meaning}" for code in codes]
        response = {
            "description": f"{STATUS_TITLES[status_code]}. `code` is one of:\n\n"
            + "\n".join(lines),
            "content": {
                "application/json": {
                    "schema": component.ref,
                    "examples": {
                        name: {"summary": summary, "value": value}
                        for name, summary, value in self._error_examples(status_code, codes)
                    },
                }
            },
        }
        if status_code in (429, 503):
            response["headers"] = RETRY_AFTER
        return response

    def _error_component(self, status_code: int, codes: list[str]) -> ResolvedComponent:
        if status_code == 409:
            name = CONFLICTS[self.get_operation_id()][0]
        else:
            name = ERROR_NAMES.get(tuple(codes)) or camelize("_".join([*codes, "error"]))
        enum_name = f"{name.removesuffix('Error')}Code"
        enum = ResolvedComponent(
            name=enum_name,
            type=ResolvedComponent.SCHEMA,
            object=enum_name,
            schema={
                "type": "string",
                "enum": codes,
                "description": "\n".join(f"* `{c}`: {CODES[c].meaning}" for c in codes),
            },
        )
        self._register_once(enum)
        properties = {
            "code": enum.ref,
            "detail": {"type": "string", "description": "What went wrong, for a person."},
        }
        for code in codes:
            properties.update(EXTRA_FIELDS.get(code, {}))
        component = ResolvedComponent(
            name=name,
            type=ResolvedComponent.SCHEMA,
            object=name,
            schema={
                "type": "object",
                "description": f"Error body of a {status_code}: a machine-readable `code` "
                "and a human `detail`.",
                "properties": properties,
                "required": ["code", "detail"],
            },
        )
        self._register_once(component)
        return component

    def _register_once(self, component: ResolvedComponent) -> None:
        if component in self.registry:
            if self.registry[component].schema != component.schema:
                warn(f"error component {component.name} is used with different codes")
            return
        self.registry.register(component)

    # Examples: what the API really answers.

    def _error_examples(self, status_code: int, codes: list[str]):
        for code in codes:
            if code == "invalid":
                yield from self._invalid_examples()
            elif code == "not_found":
                if "{" in self.path:
                    yield "not_found", "Unknown id", render(exceptions.NotFound())
                if self._is_list_read():
                    yield (
                        "page_past_the_end",
                        "A page past the end",
                        render(exceptions.NotFound("Invalid page.")),
                    )
            elif code == "token_not_valid":
                if self.view.get_authenticators():
                    yield (
                        "token_not_valid",
                        "A Bearer token that is not usable",
                        render(
                            InvalidToken({"detail": "Given token not valid for any token type"})
                        ),
                    )
                if isinstance(self.view, TokenRefreshView):
                    yield (
                        "token_not_valid",
                        "A refresh token that is not usable",
                        render(InvalidToken("Token is invalid or expired")),
                    )
            elif code == "show_has_bookings" and self.method != "DELETE":
                yield (
                    code,
                    "A show with live bookings",
                    render(domain.ShowHasBookings(SHOW_UPDATE_HAS_BOOKINGS)),
                )
            else:
                meaning = CODES[code].meaning.split(";")[0]
                yield code, meaning[0].upper() + meaning[1:], render(EXAMPLES[code]())

    def _invalid_examples(self):
        if self.method == "GET":
            name, value, errors = self._bad_filter()
            yield (
                "malformed_filter",
                f"`?{urlencode({name: value})}`",
                render(exceptions.ValidationError(errors)),
            )
            return
        serializer = self._validating_serializer()
        if serializer is not None:
            partial = self.method == "PATCH"
            body = dict.fromkeys(serializer.fields, None) if partial else {}
            checked = type(serializer)(data=body, partial=partial)
            if not checked.is_valid():
                summary = "Nulls where values belong" if partial else "An empty object `{}`"
                yield "missing_fields", summary, render(exceptions.ValidationError(checked.errors))
        if isinstance(serializer, BookSeatsInput):
            two = BookSeatsInput(data={"seat_number": 12, "seat_numbers": [12]})
            two.is_valid()
            yield (
                "two_seat_fields",
                "Two seat fields at once",
                render(exceptions.ValidationError(two.errors)),
            )
            yield (
                "no_such_seat",
                "A seat the show does not have",
                render(domain.SeatsOutOfRange(seats=[0], total_seats=120)),
            )
            yield (
                "unknown_label",
                "A seat label the show does not have",
                render(domain.UnknownSeatLabels(labels=["Z99"])),
            )
        if self._reads_idempotency_key():
            yield (
                "idempotency_key_too_long",
                "An Idempotency-Key over 255 characters",
                render(
                    exceptions.ValidationError({"Idempotency-Key": ["At most 255 characters."]})
                ),
            )
        yield (
            "malformed_json",
            "A body that is not valid JSON",
            render(
                exceptions.ParseError(
                    "JSON parse error - Expecting value: line 1 column 1 (char 0)"
                )
            ),
        )

    def _validating_serializer(self):
        """Return the serializer that validates this operation's body, if it has one."""
        if not self._get_request_body():
            return None
        declared = force_instance(self._declared_request())
        if isinstance(declared, PolymorphicProxySerializer):
            return BookSeatsInput()  # the oneOf documents it; BookSeatsInput validates
        return declared if hasattr(declared, "fields") else None

    def _reads_idempotency_key(self) -> bool:
        return any(
            getattr(p, "name", None) == "Idempotency-Key" for p in self.get_override_parameters()
        )

    def _bad_filter(self):
        """Return (name, value, errors) of a query parameter value this list refuses."""
        filterset_class = getattr(self.view, "filterset_class", None)
        backends = self.get_filter_backends()
        if filterset_class is None or not any(issubclass(b, DjangoFilterBackend) for b in backends):
            return None
        queryset = filterset_class._meta.model.objects.none()
        for name in filterset_class.base_filters:
            for value in BAD_FILTER_VALUES:
                filterset = filterset_class(data={name: value}, queryset=queryset)
                if not filterset.is_valid():
                    return name, value, {k: list(v) for k, v in filterset.errors.items()}
        return None


class BearerJWTScheme(SimpleJWTScheme):
    """Document the project's JWT authentication as drf-spectacular does simplejwt's."""

    target_class = "booking.authentication.BearerJWTAuthentication"


# --- The whole schema -----------------------------------------------------------------


def add_the_guide(result, generator, **kwargs):
    """Postprocessing hook: the conventions, for ReDoc and Swagger UI to read as a guide."""
    operation_ids = {
        operation.get("operationId")
        for item in result.get("paths", {}).values()
        for operation in item.values()
        if isinstance(operation, dict)
    }
    for operation_id in sorted(set(CONFLICTS) - operation_ids):
        warn(f"CONFLICTS names {operation_id}, which is no operation of the schema")
    result["info"]["description"] = "\n\n".join(
        [result["info"].get("description", "").strip(), GUIDE.format(code_table=code_table())]
    )
    return result


GUIDE = """
# Getting started

1. `POST /api/login/` with a username and password (the sample data has
   `{{"username": "demo", "password": "demo-pass-2026"}}`), or `POST /api/signup/`.
2. Copy the `access` token into **Authorize** (Swagger UI): every request then sends
   `Authorization: Bearer <access>`.
3. `GET /api/shows/` for a show, `GET /api/shows/{{id}}/seats/` for its free seats, then
   `POST /api/shows/{{id}}/book/` with `{{"seat_numbers": [12]}}`.

# Authentication

JWT Bearer tokens (`Authorization: Bearer <access>`). An access token lasts
`ACCESS_TOKEN_LIFETIME_HOURS` (default 1), a refresh token `REFRESH_TOKEN_LIFETIME_DAYS`
(default 7). `POST /api/token/refresh/` trades a refresh token for a new pair; the old
refresh token stops working (rotation). `POST /api/logout/` revokes one. A password
change, a password reset or deleting the account refuses every token issued before it.

Endpoints without a padlock are public. Catalogue reads (movies, shows, cinemas,
screens, seat maps) are public; bookings, holds and the account need a token; catalogue
writes need a staff user with the matching Django model permission (the `Cinema staff`
group has them all). Any `Authorization: Bearer` header that is not a usable token is a
401 `token_not_valid`, on public endpoints too.

# Requests and responses

- Bodies are JSON (`Content-Type: application/json`); anything else is 415. Answers are
  JSON, errors included.
- Timestamps are ISO 8601 in UTC (`2026-12-01T18:30:00Z`); a time sent without an offset
  is read as UTC. `TIME_ZONE` is the cinema's zone and only decides what
  `?date=YYYY-MM-DD` means.
- Money is a decimal string with two places: `"250.00"`.
- Integers may be sent as numbers or numeric strings; booleans, floats with a fraction,
  nulls and lists where a number belongs are 400.

# Lists and paging

Lists are pages: `?page=N&page_size=M` (20 by default, at most 100; a `page_size`
below 1 or not a number falls back to 20). The answer is
`{{"count", "next", "previous", "results"}}`; `next` and `previous` are URLs or null.
A page past the end (or `page=0`, `page=abc`) is 404 `not_found`. Unknown query
parameters are ignored; a malformed known one (`date=yesterday`, `movie=abc`) is 400
`invalid`.

# Errors

Every error body has a machine-readable `code` and a human `detail`:

    {{"code": "seat_unavailable", "detail": "Seats B2, B3 are already booked.",
     "seats": [12, 13], "labels": ["B2", "B3"]}}

Validation errors add `errors`, each field name (`non_field_errors` for the body as a
whole) to a list of messages. Each operation lists the codes it can answer under each
of its error responses; the schema of each says them as an enum. A method a path does
not have is 405 `method_not_allowed`; an unexpected failure is 500 `server_error`,
with no internals.

{code_table}

# Booking seats

`POST /api/shows/{{id}}/book/` takes exactly one of `{{"seat_number": 12}}`,
`{{"seat_numbers": [12, 13]}}`, `{{"seats": ["B2", "B3"]}}` (labels, as in the seat map) or
`{{"best_available": {{"count": 3, "category": "premium"}}}}`: 1 to 10 distinct seats. It is
all-or-nothing: every seat is booked in one booking, or none is and the answer is 409
`seat_unavailable` naming the taken seats. Checks come in this order: unknown show
(404), the body's shape (400), `show_started`, seats the show does not have (400),
`seat_limit_reached`, then `seat_unavailable` / `no_adjacent_seats`.

Seats are numbered 1..capacity through the whole screen, row by row front to back, left
to right; a seat's label is its row and place (`A1` ... `J10`; the number itself for a
show without rows). Each seat costs its category's price (`prices` of the show).

A booking can be cancelled (`POST /api/bookings/{{id}}/cancel/`) until
`cancellable_until` (the start time minus `CANCELLATION_CUTOFF_MINUTES`); its seats are
free again at once.

# Idempotency

`POST .../book/` and `POST /api/holds/{{id}}/confirm/` take an optional
`Idempotency-Key` header (up to 255 characters). A retry with the same key and the same
body by the same user answers the original 201 again, with `Idempotent-Replayed: true`,
and books nothing more, even when the retries race each other. The same key with another
request (another body, or another show's path) is 409 `idempotency_key_reused`. Only a
201 is remembered, for `IDEMPOTENCY_KEY_TTL_HOURS` (default 24): a request that failed
can be retried with its key. Use a fresh key (a UUID) for each new purchase.

# Holds: seats kept while you pay

`POST /api/shows/{{id}}/holds/` takes any of the `book/` bodies and keeps the seats for
`SEAT_HOLD_MINUTES` (default 10): nobody else can book or hold them. Then
`POST /api/holds/{{id}}/confirm/` books exactly those seats (201 Booking), or
`DELETE /api/holds/{{id}}/` releases them. A hold's `status` is `active`, `confirmed`,
`released` or `expired` (as soon as `expires_at` passes). One active hold per user and
show: a new one replaces the old, in one step. Booking a show you hold seats of counts
your held seats as free for you and ends the hold.

# Best available

`{{"best_available": {{"count": N, "category": "premium"}}}}` (`count` 1-10, `category`
optional) picks N free seats side by side in one row (no aisle between them):
first a block that leaves no new single free seat behind, then the row nearest two thirds
of the way back, then the most central block. None: 409 `no_adjacent_seats`.

# Limits

- A user may hold or own at most `MAX_SEATS_PER_USER_PER_SHOW` (default 10) seats of one
  show: beyond, 409 `seat_limit_reached` with `limit` and `remaining`.
- Rate limits per client (`THROTTLE_*`): beyond, 429 `throttled` with `Retry-After`.
- 503 `busy` (seats locked by other bookings for too long) and `service_unavailable`
  (database unreachable) carry `Retry-After` too: retry after that many seconds.

# Seat maps and ETag

`GET /api/shows/{{id}}/seats/` answers rows front to back with each seat's status
(`available`, `booked`, `held`), and an `ETag`. Send it back in `If-None-Match`: 304 with
no body while no seat has changed; the ETag changes with every booking, cancellation,
hold, release, confirmation and expiry.
"""
