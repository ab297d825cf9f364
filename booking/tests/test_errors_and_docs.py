"""Errors are JSON with a code and a detail; docs, schema, health check and headers."""

import json
import re
from urllib.parse import urlsplit

import pytest
import yaml
from django.db import InterfaceError, OperationalError
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from booking import breakers, middleware, selectors, services, views
from booking.models import Show

from .conftest import PASSWORD, client_for, make_show

pytestmark = pytest.mark.django_db


# Every path of API.md, as the OpenAPI schema spells them.
CONTRACT_PATHS = {
    "/api/signup/",
    "/api/login/",
    "/api/token/refresh/",
    "/api/logout/",
    "/api/me/",
    "/api/movies/",
    "/api/movies/{id}/",
    "/api/movies/{id}/shows/",
    "/api/shows/",
    "/api/shows/{id}/",
    "/api/shows/{id}/seats/",
    "/api/shows/{id}/book/",
    "/api/bookings/{id}/cancel/",
    "/api/my-bookings/",
    "/api/bookings/{id}/",
}
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def assert_json_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


def crash_with(exc):
    def crash(*args, **kwargs):
        raise exc

    return crash


# --- Every error has a code and a detail ----------------------------------------------


def wrong_login(clients, show):
    return clients["anon"].post("/api/login/", {"username": "alice", "password": "nope-nope"})


ERROR_CASES = {
    "unknown path": (lambda c, s: c["anon"].get("/api/nope/"), 404, "not_found"),
    "unknown id": (lambda c, s: c["anon"].get(f"/api/shows/{s.pk + 99}/"), 404, "not_found"),
    "no token": (lambda c, s: c["anon"].get("/api/me/"), 401, "not_authenticated"),
    "bad token": (lambda c, s: c["bad"].get("/api/me/"), 401, "token_not_valid"),
    "wrong password": (wrong_login, 401, "no_active_account"),
    "not staff": (
        lambda c, s: c["user"].post("/api/movies/", {"title": "X", "duration_minutes": 1}),
        403,
        "permission_denied",
    ),
    "wrong method": (lambda c, s: c["anon"].get("/api/signup/"), 405, "method_not_allowed"),
    "form body": (
        lambda c, s: c["anon"].post("/api/login/", {"username": "a"}, format="multipart"),
        415,
        "unsupported_media_type",
    ),
    "malformed filter": (
        lambda c, s: c["anon"].get("/api/shows/", {"date": "yesterday"}),
        400,
        "invalid",
    ),
    "page past the end": (lambda c, s: c["anon"].get("/api/shows/?page=9"), 404, "not_found"),
    "conflict": (
        lambda c, s: c["staff"].delete(f"/api/movies/{s.movie.pk}/"),
        409,
        "movie_has_shows",
    ),
}


@pytest.fixture
def clients(user, staff_user):
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    return {
        "anon": APIClient(),
        "user": client_for(user),
        "staff": client_for(staff_user),
        "bad": bad,
    }


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_every_error_body_has_a_code_and_a_detail(clients, show, case):
    make_request, status, code = ERROR_CASES[case]

    assert_json_error(make_request(clients, show), status, code)


def test_a_validation_error_lists_the_field_errors(api_client):
    response = api_client.post("/api/signup/", {"username": "bad name", "email": "x"})

    body = assert_json_error(response, 400, "invalid")
    assert set(body["errors"]) == {"username", "email", "password"}
    assert all(isinstance(messages, list) and messages for messages in body["errors"].values())


def test_a_body_that_is_not_an_object_is_400_with_non_field_errors(api_client):
    response = api_client.post("/api/signup/", [1, 2], format="json")

    body = assert_json_error(response, 400, "invalid")
    assert body["errors"]["non_field_errors"]


def test_the_throttle_answers_429_throttled_with_retry_after(api_client, user):
    for _ in range(10):  # THROTTLE_LOGIN defaults to 10/min
        wrong = api_client.post("/api/login/", {"username": "alice", "password": "x"})
        assert wrong.status_code == 401
    response = api_client.post("/api/login/", {"username": "alice", "password": PASSWORD})

    assert_json_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


# --- Unknown URLs, methods, media types, JSON -----------------------------------------


@pytest.mark.parametrize("path", ["/api/nope/", "/api/nope", "/api/", "/api/shows/abc/"])
def test_an_unknown_api_url_is_a_json_404_not_found(api_client, path):
    response = api_client.get(path, HTTP_ACCEPT=BROWSER_ACCEPT)

    assert_json_error(response, 404, "not_found")
    assert b"<html" not in response.content.lower()


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_api_url_without_its_trailing_slash_is_a_json_404_that_names_the_right_url(
    api_client, method
):
    response = getattr(api_client, method)("/api/movies", HTTP_ACCEPT=BROWSER_ACCEPT)

    body = assert_json_error(response, 404, "not_found")
    assert "/api/movies/" in body["detail"]
    assert "Location" not in response


def test_a_method_an_endpoint_does_not_have_is_a_json_405(staff_client):
    response = staff_client.delete("/api/movies/")

    assert_json_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "application/xml"]
)
def test_a_body_that_is_not_json_is_415_unsupported_media_type(api_client, user, content_type):
    response = api_client.post(
        "/api/login/", data=f"username=alice&password={PASSWORD}", content_type=content_type
    )

    assert_json_error(response, 415, "unsupported_media_type")
    assert "access" not in response.json()


@pytest.mark.parametrize("raw", ["{not json", '{"username": "alice",}', "", "[1, 2"])
def test_malformed_json_is_400_invalid(api_client, user, raw):
    response = api_client.post("/api/login/", data=raw, content_type="application/json")

    assert_json_error(response, 400, "invalid")


def test_json_is_rendered_even_for_a_client_that_asks_for_html(api_client, movie):
    response = api_client.get("/api/movies/", HTTP_ACCEPT=BROWSER_ACCEPT)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["count"] == 1


# --- 500 and 503 ----------------------------------------------------------------------


def test_an_unhandled_error_in_a_view_is_a_json_500_without_internals(monkeypatch, movie):
    monkeypatch.setattr(selectors, "movies", crash_with(RuntimeError("secret /srv/app/x.py")))
    client = APIClient(raise_request_exception=False)

    response = client.get("/api/movies/")

    body = assert_json_error(response, 500, "server_error")
    assert set(body) == {"code", "detail"}
    text = response.content.decode()
    for leak in ("Traceback", "RuntimeError", "secret", ".py", "File "):
        assert leak not in text


def test_an_unhandled_error_outside_drf_under_api_is_still_a_json_500(monkeypatch):
    # The request-log middleware runs around every view: a crash there reaches handler500.
    monkeypatch.setattr(middleware, "_user_id", crash_with(RuntimeError("secret")))
    client = APIClient(raise_request_exception=False)

    response = client.get("/api/movies/")

    body = assert_json_error(response, 500, "server_error")
    assert "secret" not in body["detail"]


def test_an_unhandled_error_outside_api_is_djangos_plain_500_page(monkeypatch):
    monkeypatch.setattr(middleware, "_user_id", crash_with(RuntimeError("secret")))
    client = Client(raise_request_exception=False)

    response = client.get("/healthz")

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert b"secret" not in response.content


@pytest.mark.parametrize(
    "error",
    [
        OperationalError(2002, "Can't connect to MySQL server on '127.0.0.1' (115)"),
        OperationalError("connection to server at 127.0.0.1 failed"),
        InterfaceError(0, ""),
    ],
)
def test_a_database_that_cannot_be_reached_is_503_with_retry_after(monkeypatch, movie, error):
    monkeypatch.setattr(selectors, "movies", crash_with(error))
    client = APIClient(raise_request_exception=False)

    response = client.get("/api/movies/")

    body = assert_json_error(response, 503, "service_unavailable")
    assert int(response["Retry-After"]) > 0
    assert "MySQL" not in body["detail"]
    assert "127.0.0.1" not in response.content.decode()


# --- /healthz -------------------------------------------------------------------------


def test_healthz_reports_ok_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


class UnreachableConnection:
    def cursor(self):
        raise OperationalError(2003, "Can't connect to MySQL server")


def test_healthz_is_503_when_the_database_check_fails(client, monkeypatch):
    monkeypatch.setattr(views.operations, "connection", UnreachableConnection())

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] != "ok"
    assert response.json()["database"] != "ok"


class ScriptedCursor:
    """A cursor that answers each statement from answers (an exception is raised)."""

    def __init__(self, answers: dict):
        self.answers = answers
        self.row = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, statement):
        answer = self.answers[statement]
        if isinstance(answer, Exception):
            raise answer
        self.row = answer

    def fetchone(self):
        return self.row


class ScriptedConnection:
    def __init__(self, vendor: str, answers: dict):
        self.vendor, self.answers = vendor, answers

    def cursor(self):
        return ScriptedCursor(self.answers)

    def close(self):
        pass


def galera(*, wsrep_on, ready="ON") -> dict:
    return {
        "SELECT 1": (1,),
        "SELECT @@wsrep_on": wsrep_on if isinstance(wsrep_on, Exception) else (wsrep_on,),
        "SHOW STATUS LIKE 'wsrep_ready'": ("wsrep_ready", ready) if ready else None,
    }


SERVES_CLIENTS = {
    "sqlite or postgresql": ("sqlite", {}, True),
    "mariadb without galera (wsrep_ready reads OFF there)": (
        "mysql",
        galera(wsrep_on=0, ready="OFF"),
        True,
    ),
    "mysql: no wsrep_on variable": (
        "mysql",
        galera(wsrep_on=OperationalError(1193, "Unknown system variable 'wsrep_on'")),
        True,
    ),
    "galera node in the primary component": ("mysql", galera(wsrep_on=1, ready="ON"), True),
    "galera node cut off from the others": ("mysql", galera(wsrep_on=1, ready="OFF"), False),
    "galera node reporting no readiness": ("mysql", galera(wsrep_on=1, ready=None), False),
}


@pytest.mark.parametrize(
    ("vendor", "answers", "serves"), SERVES_CLIENTS.values(), ids=SERVES_CLIENTS.keys()
)
def test_a_database_serves_clients_unless_it_is_a_galera_node_that_is_not_ready(
    vendor, answers, serves
):
    with ScriptedConnection(vendor, answers).cursor() as cursor:
        assert breakers.serves_clients(cursor, vendor=vendor) is serves


def test_healthz_is_503_on_a_galera_node_cut_off_from_the_cluster(client, monkeypatch):
    # SELECT 1 still answers there; every statement on a table would be refused (1047).
    isolated = ScriptedConnection("mysql", galera(wsrep_on=1, ready="OFF"))
    monkeypatch.setattr(views.operations, "connection", isolated)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] != "ok"


def test_healthz_answers_at_exactly_its_path_even_when_https_is_enforced(settings):
    settings.SECURE_SSL_REDIRECT = True
    client = Client()  # a fresh client loads the middleware with the new setting

    assert client.get("/healthz").status_code == 200
    assert client.get("/api/movies/").status_code == 301  # the control: others redirect


# --- OpenAPI schema and docs ----------------------------------------------------------


def test_the_schema_is_openapi_3_in_yaml(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) >= CONTRACT_PATHS


def test_the_schema_in_json_describes_every_path_of_the_contract(client):
    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = json.loads(response.content)
    assert set(schema["paths"]) >= CONTRACT_PATHS


@pytest.fixture
def schema(client):
    return json.loads(client.get("/api/schema/", {"format": "json"}).content)


def test_the_schema_declares_the_bearer_security_scheme(schema):
    schemes = schema["components"]["securitySchemes"]

    assert {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"} in schemes.values()
    bearer_name = next(name for name, s in schemes.items() if s.get("scheme") == "bearer")
    assert {bearer_name: []} in schema["paths"]["/api/me/"]["get"]["security"]
    assert {bearer_name: []} in schema["paths"]["/api/shows/{id}/book/"]["post"]["security"]


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/api/shows/{id}/book/", "post", "409"),
        ("/api/shows/{id}/book/", "post", "400"),
        ("/api/me/", "get", "401"),
        ("/api/movies/", "post", "403"),
        ("/api/movies/{id}/", "delete", "409"),
        ("/api/shows/", "get", "404"),
    ],
)
def test_the_schema_documents_error_responses(schema, path, method, status):
    responses = schema["paths"][path][method]["responses"]

    assert status in responses
    ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
    error = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert error["required"] == ["code", "detail"]
    assert "$ref" in error["properties"]["code"]  # an enum of the codes it can carry


def foreign_urls(html: str) -> list[str]:
    """Absolute URLs in html that point at a host other than this one."""
    urls = re.findall(r"""(?:https?:)?//[^\s"'<>()]+""", html)
    return [url for url in urls if urlsplit(url).hostname not in {None, "testserver"}]


@pytest.mark.parametrize("path", ["/swagger/", "/redoc/"])
def test_the_docs_pages_load_only_assets_served_by_the_project(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert foreign_urls(html) == []
    for cdn in ("fonts.googleapis.com", "fonts.gstatic.com", "cdn.jsdelivr.net", "unpkg.com"):
        assert cdn not in html
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert assets, "the page should load its JavaScript from /static/"
    assert all(asset.startswith("/static/") for asset in assets), assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


def test_swagger_ui_loads_the_schema_that_has_the_bearer_scheme(client, schema):
    html = client.get("/swagger/").content.decode()

    assert "/api/schema/" in html
    assert "swagger-ui-bundle.js" in html
    assert "jwtAuth" in schema["components"]["securitySchemes"]


def test_redoc_loads_the_schema(client):
    html = client.get("/redoc/").content.decode()

    assert 'spec-url="/api/schema/"' in html
    assert "redoc.standalone.js" in html


# --- Headers --------------------------------------------------------------------------


def test_a_request_id_sent_by_the_client_is_echoed(api_client):
    response = api_client.get("/api/movies/", HTTP_X_REQUEST_ID="req-42.abc:1")

    assert response["X-Request-ID"] == "req-42.abc:1"


@pytest.mark.parametrize("sent", [None, "has spaces", "x" * 129, "<script>"])
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_fresh_one(api_client, sent):
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}

    response = api_client.get("/api/movies/", **headers)

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_each_request_gets_its_own_request_id(api_client):
    first = api_client.get("/api/movies/")["X-Request-ID"]
    second = api_client.get("/api/movies/")["X-Request-ID"]

    assert first != second


API_RESPONSES = {
    "list": lambda c: c.get("/api/movies/"),
    "login": lambda c: c.post("/api/login/", {"username": "alice", "password": PASSWORD}),
    "signup": lambda c: c.post(
        "/api/signup/", {"username": "newbie", "email": "n@example.com", "password": PASSWORD}
    ),
    "not found": lambda c: c.get("/api/nope/"),
    "unauthenticated": lambda c: c.get("/api/me/"),
    "schema": lambda c: c.get("/api/schema/"),
}


@pytest.mark.parametrize("case", list(API_RESPONSES))
def test_api_responses_forbid_mime_sniffing(api_client, user, case):
    response = API_RESPONSES[case](api_client)

    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("case", list(API_RESPONSES))
def test_api_responses_set_no_cookie(api_client, user, case):
    response = API_RESPONSES[case](api_client)

    assert response.status_code < 500
    assert not response.cookies
    assert "Set-Cookie" not in response.headers


def test_a_show_page_sets_no_cookie_for_a_signed_in_user(auth_client):
    show = make_show()

    response = auth_client.get(f"/api/shows/{show.pk}/")

    assert response.status_code == 200
    assert not response.cookies


def test_a_body_over_the_upload_limit_is_400_invalid_not_500(api_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"username": "x" * 2000, "email": "a@example.com", "password": "p" * 10})

    response = api_client.post("/api/signup/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_a_bad_host_header_under_api_is_answered_in_json(settings):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)

    response = client.get("/api/movies/", headers={"host": "evil.example.com"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "invalid"


def test_a_non_json_body_is_415_even_where_no_body_is_read(auth_client, staff_client, user):
    show = make_show()
    booking = services.book_seats(user=user, show=show, seat_numbers=[3], now=timezone.now())

    cancel = auth_client.post(
        f"/api/bookings/{booking.pk}/cancel/", "cancel please", content_type="text/plain"
    )
    delete = staff_client.delete(f"/api/shows/{show.pk}/", "x=1", content_type="text/plain")

    assert cancel.status_code == 415
    assert cancel.json()["code"] == "unsupported_media_type"
    assert delete.status_code == 415
    booking.refresh_from_db()
    assert booking.status == "booked"
    assert Show.objects.filter(pk=show.pk).exists()
