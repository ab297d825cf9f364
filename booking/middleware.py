"""One log line per request and a request id echoed back; the database breaker; the
admin login's rate limit."""

import logging
import math
import re
import sys
import time
import uuid

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.urls import reverse
from django.utils.functional import empty

from .breakers import database_breaker
from .exceptions import ServiceUnavailable, is_lock_conflict
from .throttles import LoginFailures

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


# --- The database breaker -------------------------------------------------------------


class DatabaseBreakerMiddleware:
    """Answer 503 `service_unavailable` at once while the database is known to be down.

    A database that hangs instead of refusing makes each request wait out the driver's
    timeouts (DB_READ_TIMEOUT_SECONDS on a pooled connection, then
    DB_CONNECT_TIMEOUT_SECONDS to reconnect) before its 503, and every request queued
    behind it in the worker waits too. So once a request of this process has found the
    database unavailable, booking.breakers.DatabaseBreaker decides: the next request waits
    for one quick probe (at most DB_PROBE_TIMEOUT_SECONDS); if that fails, requests get
    their 503 at once while a probe runs in the background every DB_BREAKER_SECONDS, and
    the first probe that succeeds lets them through again. /healthz runs its own check.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.healthz_path = reverse("healthz")

    def __call__(self, request):
        if request.path == self.healthz_path:
            return self.get_response(request)
        if not database_breaker.allows_request():
            return unavailable_response(database_breaker.seconds_left())
        response = self.get_response(request)
        if _says_database_unavailable(response):
            database_breaker.note_failure("a request found it unavailable")
        return response


def unavailable_response(retry_after_seconds: float) -> JsonResponse:
    response = JsonResponse(
        {"code": ServiceUnavailable.default_code, "detail": str(ServiceUnavailable.default_detail)},
        status=ServiceUnavailable.status_code,
    )
    response["Retry-After"] = str(max(1, math.ceil(retry_after_seconds)))
    # The breaker logs the outage once per interval; Django's own "Service Unavailable"
    # error line for each of these answers would be one per request again.
    response._has_been_logged = True
    return response


def _says_database_unavailable(response) -> bool:
    """Tell whether an answer is the API's 503 for an unreachable database."""
    data = getattr(response, "data", None)  # a DRF Response, before rendering
    return (
        response.status_code == ServiceUnavailable.status_code
        and isinstance(data, dict)
        and data.get("code") == ServiceUnavailable.default_code
    )


def _note_database_errors(sender, request=None, **kwargs):
    """Feed the breaker the database errors that escape DRF (the admin's, say)."""
    exc = sys.exc_info()[1]
    if isinstance(exc, (OperationalError, InterfaceError)) and not is_lock_conflict(exc):
        database_breaker.note_failure(f"{type(exc).__name__} outside the API")


got_request_exception.connect(_note_database_errors, dispatch_uid="booking-database-breaker")


# --- The admin login's rate limit -----------------------------------------------------


class AdminLoginThrottleMiddleware:
    """Rate-limit failed logins to the Django admin per client IP and per username.

    The limit is the API's (THROTTLE_LOGIN), counted in the same cache entries
    (booking.throttles.LoginFailures): over it, the login form is shown again with an
    error and HTTP 429 (and Retry-After), without checking the password. A failed attempt
    is a POST that gets the form back (a success redirects).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.login_path = reverse("admin:login")

    def __call__(self, request):
        if request.method != "POST" or request.path != self.login_path:
            return self.get_response(request)
        failures = LoginFailures(request, request.POST.get("username"))
        wait = failures.seconds_to_wait()
        if wait > 0:
            return _throttled_login_page(request, wait)
        response = self.get_response(request)
        if response.status_code == 200:  # the form again, with its error: a failed attempt
            failures.record_failure()
        return response


def _throttled_login_page(request, wait_seconds: float):
    """Render the admin login form with a "too many attempts" error, as a 429."""
    wait = max(1, math.ceil(wait_seconds))
    message = f"Too many failed login attempts. Try again in {wait} seconds."

    class ThrottledForm(AdminAuthenticationForm):
        def clean(self):
            raise ValidationError(message, code="throttled")  # never checks the password

    # What AdminSite.login gives its template, so that the page looks the same.
    context = {
        **admin.site.each_context(request),
        "title": "Log in",
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
    }
    if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
        context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=admin.site.name)
    request.current_app = admin.site.name
    view = LoginView.as_view(
        authentication_form=ThrottledForm,
        template_name=admin.site.login_template or "admin/login.html",
        extra_context=context,
    )
    response = view(request).render()  # returned by a middleware: nobody else renders it
    response.status_code = 429
    response["Retry-After"] = str(wait)
    return response
