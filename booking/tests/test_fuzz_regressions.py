"""Regressions for what Schemathesis (scripts/fuzz_api.sh) found against the schema."""

import pytest
from django.urls import reverse

from booking.models import Booking

pytestmark = pytest.mark.django_db


def assert_errors_are_lists_of_strings(body: dict) -> None:
    # The schema (ErrorOutput) and API.md: `errors` maps a field to a list of messages.
    assert body["code"] == "invalid"
    assert body["errors"]
    for field, messages in body["errors"].items():
        assert isinstance(messages, list), (field, messages)
        assert messages, field
        assert all(isinstance(message, str) for message in messages), (field, messages)


# Found: POST /api/shows/{id}/book/ with {"seat_numbers": [[...], ...]} answered
# {"errors": {"seat_numbers": {"0": [...], "1": [...]}}}: DRF's per-item errors of a
# ListField, an object where the schema promises an array of strings.
@pytest.mark.parametrize(
    "body",
    [
        {"seat_numbers": [[1], {"a": 1}, "x", None, True, 1.5]},
        {"seat_numbers": ["a"]},
        {"seat_numbers": [1, "b", 3]},
    ],
)
def test_errors_of_list_items_are_a_flat_list_of_messages(auth_client, show, body):
    response = auth_client.post(f"/api/shows/{show.pk}/book/", body, format="json")

    assert response.status_code == 400
    assert_errors_are_lists_of_strings(response.json())
    assert list(response.json()["errors"]) == ["seat_numbers"]
    assert not Booking.objects.exists()


def test_each_item_error_names_the_item(auth_client, show):
    response = auth_client.post(
        f"/api/shows/{show.pk}/book/", {"seat_numbers": [1, "b", "c"]}, format="json"
    )

    assert response.json()["errors"]["seat_numbers"] == [
        "Item 1: A valid integer is required.",
        "Item 2: A valid integer is required.",
    ]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/signup/", {"username": ["x"], "email": {}, "password": None}),
        ("post", "/api/login/", {"username": [], "password": {}}),
        ("post", "/api/token/refresh/", {"refresh": ["x"]}),
        ("post", "/api/logout/", {"refresh": {"a": [1]}}),
        ("post", "/api/movies/", {"title": [], "duration_minutes": [1], "release_date": {}}),
        ("post", "/api/shows/", {"movie_id": [1], "start_time": [], "price": {}}),
        ("patch", "/api/shows/{show}/", {"total_seats": [5], "screen_name": {}}),
        ("post", "/api/shows/{show}/book/", {"seat_number": [1], "seat_numbers": [[]]}),
        ("post", "/api/shows/{show}/book/", ["not", "an", "object"]),
    ],
)
def test_every_validation_error_has_the_documented_shape(staff_client, show, method, path, body):
    response = getattr(staff_client, method)(path.format(show=show.pk), body, format="json")

    assert response.status_code == 400, response.content
    assert_errors_are_lists_of_strings(response.json())


# Found: GET /api/bookings/%03%0A/ and DELETE /api/shows/%0A%C2%97/ answered Django's
# HTML 404 page: the JSON catch-all for /api/ did not match a path with a newline.
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/bookings/%03%0A/"),
        ("delete", "/api/shows/%0A%C2%97/"),
        ("get", "/api/%0A"),
        ("get", "/api/movies/1/%0A"),
        ("post", "/api/shows/1%0A/book/"),
        ("get", "/api/movies/%0D%0A/"),
    ],
)
def test_a_path_with_a_newline_under_api_is_a_json_404(auth_client, method, path):
    response = getattr(auth_client, method)(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


def test_every_url_still_reverses_with_the_catch_all_in_place(api_client):
    # The first fix, `(?s)^.*$`, broke reverse() for the whole project (Django cannot
    # reverse a pattern with inline flags): Swagger UI, ReDoc and the admin answered 500.
    assert reverse("api-not-found") == "/api/"
    assert api_client.get(reverse("swagger-ui")).status_code == 200
    assert api_client.get(reverse("redoc")).status_code == 200
