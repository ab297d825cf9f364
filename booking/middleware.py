"""One log line per request, and a request id echoed back to the client."""

import logging
import re
import time
import uuid

from django.utils.functional import empty

logger = logging.getLogger("booking.requests")

REQUEST_ID_HEADER = "X-Request-ID"
# A client-sent id is kept only if it is short and plain: it goes into our logs.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        sent = request.headers.get(REQUEST_ID_HEADER, "")
        request.request_id = sent if _SAFE_REQUEST_ID.match(sent) else uuid.uuid4().hex
        started = time.monotonic()
        response = self.get_response(request)
        duration_ms = (time.monotonic() - started) * 1000
        response[REQUEST_ID_HEADER] = request.request_id
        # The path only, never the query string or headers: no token ends up in a log.
        # Escaped, so that a %0A in a URL cannot forge a second log line.
        logger.info(
            "%s %s %s %.1fms user=%s request_id=%s",
            request.method,
            request.path.encode("unicode_escape").decode("ascii"),
            response.status_code,
            duration_ms,
            _user_id(request),
            request.request_id,
        )
        return response


def _user_id(request) -> str:
    """Return the id of the user the request was authenticated as, without a query."""
    user = request.__dict__.get("user")
    if user is None or getattr(user, "_wrapped", None) is empty:
        return "-"  # never resolved (e.g. a lazy session user nobody looked at)
    return str(user.pk) if getattr(user, "is_authenticated", False) else "-"
