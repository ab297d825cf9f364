"""Operations: the JSON 404 under /api/, the health check, JSON error pages."""

from django.db import connection
from django.http import JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from ..breakers import database_answers, database_breaker
from ..exceptions import SERVER_ERROR_DETAIL


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


# A success this recent answers /healthz again: a load balancer polling every few
# seconds always gets a fresh check, and a flood of /healthz costs the database at most
# one new connection a second per process.
HEALTHZ_REUSE_SECONDS = 1.0


@require_GET
def healthz(request):
    """Report whether the service and its database answer, within DB_PROBE_TIMEOUT_SECONDS.

    The check runs `SELECT 1` on a connection of its own and waits a bounded time for it
    (booking.breakers.database_answers): a database that hangs instead of refusing makes
    this a quick 503, not a wait for the driver's timeouts. Its result feeds the breaker.
    """
    if not database_answers(connection=connection, reuse_seconds=HEALTHZ_REUSE_SECONDS):
        database_breaker.confirm("no answer to /healthz")
        response = JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
        # Load balancers poll this every few seconds: the breaker logs the outage once
        # per interval, so Django's error line for each 503 would only repeat it.
        response._has_been_logged = True
        return response
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
