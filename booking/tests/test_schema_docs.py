"""The OpenAPI schema as a guide: descriptions, examples that work, ids, error codes."""

import json
from decimal import Decimal

import jsonschema
import pytest

from booking.layouts import Row
from booking.schema import CODES, CONFLICTS
from booking.serializers import BookSeatsInput

from .conftest import client_for, make_cinema, make_screen, make_show_on_screen, make_user

pytestmark = pytest.mark.django_db

HTTP_METHODS = {"get", "put", "post", "delete", "patch"}
PUBLIC_OPERATIONS = [
    ("/api/signup/", "post"),
    ("/api/login/", "post"),
    ("/api/token/refresh/", "post"),
    ("/api/password-reset/", "post"),
    ("/api/password-reset/confirm/", "post"),
]


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        return json.loads(Client().get("/api/schema/", {"format": "json"}).content)


def operations(schema):
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def to_json_schema(node):
    """OpenAPI 3.0 schema -> JSON Schema (nullable, component references)."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if k not in ("nullable", "example")}
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/$defs/")
    if node.get("nullable"):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def validator(schema, media_schema):
    definitions = {name: to_json_schema(s) for name, s in schema["components"]["schemas"].items()}
    return jsonschema.Draft202012Validator({**to_json_schema(media_schema), "$defs": definitions})


def media_types(operation):
    if "requestBody" in operation:
        for media in operation["requestBody"]["content"].values():
            yield "request", media
    for status, response in operation["responses"].items():
        for media in response.get("content", {}).values():
            yield status, media


def request_example(schema, path, method, index=0):
    examples = schema["paths"][path][method]["requestBody"]["content"]["application/json"][
        "examples"
    ]
    return list(examples.values())[index]["value"]


def component(schema, ref):
    return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]


def error_codes(schema, path, method, status):
    media = schema["paths"][path][method]["responses"][status]["content"]["application/json"]
    code = component(schema, media["schema"])["properties"]["code"]
    return component(schema, code)["enum"]


# --- Descriptions ---------------------------------------------------------------------


def test_every_operation_has_a_summary_a_description_and_a_described_tag(schema):
    ops = operations(schema)
    tags = {tag["name"]: tag.get("description") for tag in schema["tags"]}

    assert len(ops) >= 44
    assert [f"{m} {p}" for p, m, op in ops if not op.get("description")] == []
    assert [f"{m} {p}" for p, m, op in ops if not op.get("summary")] == []
    assert {op["tags"][0] for _, _, op in ops} <= set(tags)
    assert all(tags.values()), tags


def test_no_response_lacks_a_description(schema):
    responses = [
        (f"{method} {path} {status}", response)
        for path, method, operation in operations(schema)
        for status, response in operation["responses"].items()
    ]

    assert len(responses) > 250
    assert [name for name, response in responses if not response.get("description")] == []
    generic = {"No response body", ""}
    assert [name for name, r in responses if r["description"].strip() in generic] == []


def test_every_error_response_names_each_of_its_codes(schema):
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            for code in error_codes(schema, path, method, status):
                assert f"`{code}`" in response["description"], (method, path, status, code)


def test_the_description_is_the_guide_with_every_error_code(schema):
    guide = schema["info"]["description"]

    for section in ("Authentication", "Lists and paging", "Errors", "Idempotency", "Holds"):
        assert f"# {section}" in guide
    for name, code in CODES.items():
        assert f"| {code.status} | `{name}` |" in guide
    for word in ("Authorize", "ETag", "Retry-After", "best_available", "page_size"):
        assert word in guide


# --- Path ids and security ------------------------------------------------------------


def test_path_ids_are_integers_and_hold_ids_uuids(schema):
    ids = {
        (path, method): parameter["schema"]
        for path, method, operation in operations(schema)
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
    }

    assert len(ids) > 20
    for (path, _), parameter_schema in ids.items():
        if path.startswith("/api/holds/"):
            assert parameter_schema == {"type": "string", "format": "uuid"}
        else:
            assert parameter_schema == {"type": "integer"}, path


@pytest.mark.parametrize(("path", "method"), PUBLIC_OPERATIONS)
def test_account_entry_points_need_no_token(schema, path, method):
    assert schema["paths"][path][method]["security"] == []


def test_a_user_endpoint_needs_the_bearer_token(schema):
    assert schema["paths"]["/api/shows/{id}/book/"]["post"]["security"] == [{"jwtAuth": []}]
    assert {} in schema["paths"]["/api/shows/"]["get"]["security"]  # public, token optional


# --- Error codes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "method", "status", "codes"),
    [
        (
            "/api/shows/{id}/book/",
            "post",
            "409",
            {
                "seat_unavailable",
                "show_started",
                "seat_limit_reached",
                "no_adjacent_seats",
                "idempotency_key_reused",
            },
        ),
        (
            "/api/shows/{id}/holds/",
            "post",
            "409",
            {"seat_unavailable", "show_started", "seat_limit_reached", "no_adjacent_seats"},
        ),
        (
            "/api/holds/{id}/confirm/",
            "post",
            "409",
            {
                "hold_expired",
                "hold_not_active",
                "show_started",
                "seat_limit_reached",
                "idempotency_key_reused",
            },
        ),
        ("/api/holds/{id}/", "delete", "409", {"hold_expired", "hold_not_active"}),
        (
            "/api/bookings/{id}/cancel/",
            "post",
            "409",
            {"already_cancelled", "cancellation_closed", "show_started"},
        ),
        ("/api/movies/{id}/", "delete", "409", {"movie_has_shows"}),
        ("/api/shows/", "post", "409", {"screen_busy"}),
        ("/api/shows/{id}/", "patch", "409", {"screen_busy", "show_has_bookings"}),
        ("/api/shows/{id}/", "delete", "409", {"show_has_bookings"}),
        ("/api/cinemas/{id}/", "delete", "409", {"cinema_has_screens"}),
        ("/api/screens/{id}/", "delete", "409", {"screen_has_shows"}),
        ("/api/shows/{id}/book/", "post", "400", {"invalid"}),
        ("/api/shows/{id}/book/", "post", "401", {"not_authenticated", "token_not_valid"}),
        ("/api/shows/{id}/book/", "post", "404", {"not_found"}),
        ("/api/shows/{id}/book/", "post", "415", {"unsupported_media_type"}),
        ("/api/shows/{id}/book/", "post", "429", {"throttled"}),
        ("/api/shows/{id}/book/", "post", "503", {"busy", "service_unavailable"}),
        ("/api/login/", "post", "401", {"no_active_account"}),
        ("/api/token/refresh/", "post", "401", {"token_not_valid"}),
        ("/api/shows/", "get", "401", {"token_not_valid"}),
        ("/api/shows/", "get", "404", {"not_found"}),
        ("/api/shows/", "get", "503", {"service_unavailable"}),
        ("/api/movies/", "post", "403", {"permission_denied"}),
        ("/api/me/", "delete", "400", {"invalid"}),
    ],
)
def test_error_responses_enumerate_the_contracts_codes(schema, path, method, status, codes):
    assert set(error_codes(schema, path, method, status)) == codes


def test_every_operation_of_the_conflict_table_exists(schema):
    operation_ids = {operation["operationId"] for _, _, operation in operations(schema)}

    assert set(CONFLICTS) <= operation_ids


def test_an_error_code_outside_the_operations_enum_is_refused_by_its_schema(schema):
    media = schema["paths"]["/api/shows/{id}/book/"]["post"]["responses"]["409"]["content"]
    check = validator(schema, media["application/json"]["schema"])

    assert check.is_valid({"code": "seat_unavailable", "detail": "x", "seats": [3]})
    assert not check.is_valid({"code": "string", "detail": "x"})
    assert not check.is_valid({"code": "movie_has_shows", "detail": "x"})


# --- Examples -------------------------------------------------------------------------


def test_every_example_is_valid_for_its_schema(schema):
    checked = 0
    for path, method, operation in operations(schema):
        for where, media in media_types(operation):
            check = validator(schema, media["schema"])
            for name, example in media.get("examples", {}).items():
                errors = [e.message for e in check.iter_errors(example["value"])]
                assert errors == [], (method, path, where, name)
                checked += 1

    assert checked > 300


def test_no_error_example_is_a_placeholder(schema):
    text = json.dumps(schema)

    assert '"code": "string"' not in text
    assert '"-6"' not in text


def test_the_book_body_is_one_of_the_seat_fields_and_never_two(schema):
    body = schema["paths"]["/api/shows/{id}/book/"]["post"]["requestBody"]
    check = validator(schema, body["content"]["application/json"]["schema"])

    assert body["required"] is True
    for good in ({"seat_number": 12}, {"seat_numbers": [12]}, {"seats": ["A1"]}):
        assert check.is_valid(good), good
    assert check.is_valid({"best_available": {"count": 2}})
    assert not check.is_valid({})
    assert not check.is_valid({"seat_number": 0, "seat_numbers": [0]})  # two branches match


def test_the_first_book_example_is_the_swagger_default_and_books_a_seat(schema, user):
    show = make_show_on_screen()
    body = request_example(schema, "/api/shows/{id}/book/", "post")

    assert BookSeatsInput(data=body).is_valid()
    response = client_for(user).post(f"/api/shows/{show.pk}/book/", body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["seat_numbers"] == [12]


@pytest.mark.parametrize("index", [0, 1, 2, 3])
@pytest.mark.parametrize("path", ["/api/shows/{id}/book/", "/api/shows/{id}/holds/"])
def test_every_seat_example_works_as_shown(schema, user, path, index):
    show = make_show_on_screen()
    body = request_example(schema, path, "post", index)

    response = client_for(user).post(path.replace("{id}", str(show.pk)), body, format="json")

    assert response.status_code == 201, (body, response.content)


def test_the_hold_default_is_the_best_available_pick(schema):
    assert request_example(schema, "/api/shows/{id}/holds/", "post") == {
        "best_available": {"count": 2}
    }


def test_the_signup_login_and_reset_examples_work_as_shown(schema, api_client):
    make_user("demo", password="demo-pass-2026")

    signup = api_client.post("/api/signup/", request_example(schema, "/api/signup/", "post"))
    login = api_client.post("/api/login/", request_example(schema, "/api/login/", "post"))
    reset = api_client.post(
        "/api/password-reset/", request_example(schema, "/api/password-reset/", "post")
    )

    assert signup.status_code == 201, signup.content
    assert login.status_code == 200, login.content
    assert reset.status_code == 202, reset.content


def test_the_staff_examples_work_as_shown(schema, staff_client):
    # The examples name the sample data's ids; here the test's own rows stand in for them.
    cinema = make_cinema()
    rows = [Row(label="A", seats=10), Row(label="B", seats=8, category="recliner")]
    screen = make_screen(cinema, name="Audi 1", rows=rows)
    movie_body = request_example(schema, "/api/movies/", "post")
    cinema_body = request_example(schema, "/api/cinemas/", "post")
    screen_body = {
        **request_example(schema, "/api/screens/", "post"),
        "cinema_id": cinema.pk,
    }

    movie = staff_client.post("/api/movies/", movie_body, format="json")
    assert movie.status_code == 201, movie.content
    show_bodies = [
        {**request_example(schema, "/api/shows/", "post", i), "movie_id": movie.json()["id"]}
        for i in (0, 1)
    ]
    show_bodies[0]["screen_id"] = screen.pk
    answers = [
        staff_client.post("/api/cinemas/", cinema_body, format="json"),
        staff_client.post("/api/screens/", screen_body, format="json"),
        *(staff_client.post("/api/shows/", body, format="json") for body in show_bodies),
    ]

    assert [a.status_code for a in answers] == [201, 201, 201, 201], [a.content for a in answers]
    assert answers[1].json()["capacity"] == 22  # the contract's layout
    assert answers[2].json()["prices"] == {"standard": "250.00", "recliner": "630.00"}


# --- Error examples are what the API says ---------------------------------------------


def test_the_400_examples_of_book_are_the_apis_own_answers(schema, user):
    show = make_show_on_screen(prices={"premium": Decimal("400.00")})
    client = client_for(user)
    media = schema["paths"]["/api/shows/{id}/book/"]["post"]["responses"]["400"]["content"]
    examples = {k: v["value"] for k, v in media["application/json"]["examples"].items()}
    url = f"/api/shows/{show.pk}/book/"

    assert client.post(url, {}, format="json").json() == examples["missing_fields"]
    two = client.post(url, {"seat_number": 12, "seat_numbers": [12]}, format="json")
    assert two.json() == examples["two_seat_fields"]
    label = client.post(url, {"seats": ["Z99"]}, format="json")
    assert label.json() == examples["unknown_label"]


def test_the_409_example_of_a_taken_seat_has_the_apis_shape(schema, user, other_user):
    show = make_show_on_screen()
    client_for(other_user).post(f"/api/shows/{show.pk}/book/", {"seat_numbers": [2, 3]})
    media = schema["paths"]["/api/shows/{id}/book/"]["post"]["responses"]["409"]["content"]
    example = media["application/json"]["examples"]["seat_unavailable"]["value"]

    answer = client_for(user).post(f"/api/shows/{show.pk}/book/", {"seat_numbers": [2, 3]})

    assert answer.status_code == 409
    assert set(answer.json()) == set(example)
    assert answer.json()["labels"] == ["A2", "A3"]


def test_the_show_update_conflict_example_is_the_apis_own_answer(schema, staff_client, user):
    show = make_show_on_screen()
    client_for(user).post(f"/api/shows/{show.pk}/book/", {"seat_number": 5}, format="json")
    other = staff_client.post(
        "/api/movies/", request_example(schema, "/api/movies/", "post"), format="json"
    )
    media = schema["paths"]["/api/shows/{id}/"]["patch"]["responses"]["409"]["content"]
    example = media["application/json"]["examples"]["show_has_bookings"]["value"]

    answer = staff_client.patch(
        f"/api/shows/{show.pk}/", {"movie_id": other.json()["id"]}, format="json"
    )

    assert answer.status_code == 409
    assert answer.json() == example


def test_the_filter_example_is_the_apis_own_answer(schema, api_client):
    media = schema["paths"]["/api/shows/"]["get"]["responses"]["400"]["content"]
    example = media["application/json"]["examples"]["malformed_filter"]

    answer = api_client.get("/api/shows/", {"movie": "abc"})

    assert example["summary"] == "`?movie=abc`"
    assert answer.json() == example["value"]


# --- Found by fuzzing this schema -----------------------------------------------------


def test_patching_a_screen_with_a_row_missing_its_seats_is_400_not_500(staff_client, screen):
    # Integer path ids let Schemathesis reach real screens: a PATCH makes DRF's nested
    # fields optional, and a row without `seats` crashed the layout check with a KeyError.
    response = staff_client.patch(
        f"/api/screens/{screen.pk}/", {"rows": [{"label": "A"}]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"rows": ["Row 1: seats is required."]}
