"""Security: forged and stale tokens, other users' ids, mass assignment, staff-only
writes, hostile strings, the login throttle and the headers of API responses."""

import base64
import datetime
import json
from datetime import timedelta
from decimal import Decimal

import jwt
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from booking import authentication, services
from booking.models import Booking, Movie, Seat, Show, User

from .conftest import PASSWORD, client_for, make_movie, make_show, make_user

pytestmark = pytest.mark.django_db


LONG = "x" * 10_000
# Strings that break naive code: 4-byte UTF-8 (MySQL's old `utf8` cannot store them),
# right-to-left overrides, stacked combining marks, invisible characters, and NUL.
UNICODE_SAMPLES = {
    "emoji": "🎬🍿 👩‍👩‍👧‍👦 🏳️‍🌈",
    "astral": "\U0001d573\U0001d58a\U0001d591\U0001d591\U0001d594 \U0002070e\U00020731",
    "rtl": "\u202e\u05e9\u05dc\u05d5\u05dd \u0639\u0627\u0644\u0645\u202c",
    "combining": "Z\u0364\u0353a\u0308\u0316l\u036e\u0312g\u030co\u0319\u0314",
    "zero_width": "a\u200bb\u200cc\u200dd\ufeffe\u2060",
    "nul": "before\x00after",
}
HOSTILE_SAMPLES = {
    "sql": "Robert'); DROP TABLE booking_movie;--",
    "sql_union": "' OR 1=1 UNION SELECT username, password FROM booking_user --",
    "html": "<script>alert(1)</script>",
    "html_attr": '"><img src=x onerror=alert(document.cookie)>',
}


def encode_segment(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def bearer(token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str)
    assert body["detail"]


def assert_clean_4xx(response) -> dict:
    """A client error rendered the contract's way: JSON with a code, never a 500."""
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:500])
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body.get("code"), str)
    assert isinstance(body.get("detail"), str)
    return body


def book(client, show, seats):
    response = client.post(f"/api/shows/{show.pk}/book/", {"seat_numbers": seats}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def db_snapshot():
    """What staff endpoints could change: every movie and show row."""
    return (
        list(Movie.objects.order_by("pk").values()),
        list(Show.objects.order_by("pk").values()),
        Seat.objects.count(),
    )


# --- Tokens ---------------------------------------------------------------------------


def access_payload(user) -> dict:
    return dict(AccessToken.for_user(user).payload)


def test_a_valid_access_token_is_accepted(user):
    # The control for every rejection below: the same request with a good token works.
    response = bearer(AccessToken.for_user(user)).get("/api/me/")

    assert response.status_code == 200
    assert response.json()["id"] == user.pk


def test_an_access_token_with_a_forged_signature_is_401_token_not_valid(user):
    header, payload, signature = str(AccessToken.for_user(user)).split(".")
    forged = "A" * len(signature) if signature[0] != "A" else "B" * len(signature)

    assert_error(bearer(f"{header}.{payload}.{forged}").get("/api/me/"), 401, "token_not_valid")


def test_an_access_token_signed_with_another_key_is_401_token_not_valid(user):
    token = jwt.encode(access_payload(user), "an-attacker-key-" * 4, algorithm="HS256")

    assert_error(bearer(token).get("/api/me/"), 401, "token_not_valid")


def test_a_token_whose_payload_was_edited_to_another_user_is_401(user, other_user):
    # Keep the genuine signature of alice's token, swap in mallory's id.
    header, _, signature = str(AccessToken.for_user(user)).split(".")
    claims = access_payload(user) | {"user_id": str(other_user.pk)}
    tampered = f"{header}.{encode_segment(claims)}.{signature}"

    assert_error(bearer(tampered).get("/api/me/"), 401, "token_not_valid")


def test_an_alg_none_token_is_401_token_not_valid(user):
    header = encode_segment({"alg": "none", "typ": "JWT"})
    unsigned = f"{header}.{encode_segment(access_payload(user))}."

    assert_error(bearer(unsigned).get("/api/me/"), 401, "token_not_valid")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_a_token_signed_with_the_real_key_but_another_algorithm_is_401(user):
    # Algorithm confusion: only HS256 is accepted, even with the right secret.
    token = jwt.encode(access_payload(user), settings.SECRET_KEY, algorithm="HS512")

    assert_error(bearer(token).get("/api/me/"), 401, "token_not_valid")


def test_an_expired_access_token_is_401_token_not_valid(user):
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=2), lifetime=timedelta(hours=1))

    assert_error(bearer(token).get("/api/me/"), 401, "token_not_valid")


def test_an_access_token_expiring_in_the_future_still_works(user):
    # The control for the expiry test: set_exp itself does not break the token.
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(minutes=30), lifetime=timedelta(hours=1))

    assert bearer(token).get("/api/me/").status_code == 200


def test_a_token_is_verified_once_per_process_then_only_its_expiry_is_checked(user, monkeypatch):
    decoded = []
    real_decode = TokenBackend.decode
    monkeypatch.setattr(
        TokenBackend, "decode", lambda *a, **k: decoded.append(1) or real_decode(*a, **k)
    )
    authentication._verified.cache_clear()
    token = AccessToken.for_user(user)

    answers = [bearer(token).get("/api/me/").status_code for _ in range(3)]

    assert answers == [200, 200, 200]
    assert len(decoded) == 1


def test_a_remembered_token_is_refused_once_it_expires(user, monkeypatch):
    token = AccessToken.for_user(user)  # an hour to live
    assert bearer(token).get("/api/me/").status_code == 200  # verified, remembered
    later = timezone.now() + timedelta(hours=2)

    class Later(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return later

    monkeypatch.setattr(authentication, "aware_utcnow", lambda: later)  # our check
    monkeypatch.setattr("rest_framework_simplejwt.tokens.aware_utcnow", lambda: later)
    monkeypatch.setattr("jwt.api_jwt.datetime", Later)  # PyJWT's, as simplejwt decodes

    assert_error(bearer(token).get("/api/me/"), 401, "token_not_valid")


def test_refused_tokens_are_not_remembered(user):
    authentication._verified.cache_clear()
    header = encode_segment({"alg": "none", "typ": "JWT"})

    for n in range(3):
        unsigned = f"{header}.{encode_segment(access_payload(user) | {'jti': str(n)})}."
        assert_error(bearer(unsigned).get("/api/me/"), 401, "token_not_valid")

    assert authentication._verified.cache_info().currsize == 0


def test_a_refresh_token_used_as_access_is_401_token_not_valid(user):
    assert_error(bearer(RefreshToken.for_user(user)).get("/api/me/"), 401, "token_not_valid")


def test_a_blacklisted_refresh_token_is_refused_at_refresh(api_client, user):
    refresh = RefreshToken.for_user(user)
    refresh.blacklist()

    response = api_client.post("/api/token/refresh/", {"refresh": str(refresh)}, format="json")

    assert_error(response, 401, "token_not_valid")
    assert "access" not in response.json()


def test_a_refresh_token_that_was_already_rotated_is_refused(api_client, user):
    refresh = str(RefreshToken.for_user(user))
    first = api_client.post("/api/token/refresh/", {"refresh": refresh}, format="json")
    assert first.status_code == 200

    again = api_client.post("/api/token/refresh/", {"refresh": refresh}, format="json")

    assert_error(again, 401, "token_not_valid")


def test_an_expired_refresh_token_is_refused_at_refresh(api_client, user):
    refresh = RefreshToken.for_user(user)
    refresh.set_exp(from_time=timezone.now() - timedelta(days=30), lifetime=timedelta(days=7))

    response = api_client.post("/api/token/refresh/", {"refresh": str(refresh)}, format="json")

    assert_error(response, 401, "token_not_valid")


def test_the_token_of_a_deleted_user_is_401_token_not_valid():
    doomed = make_user("ghost")
    token = AccessToken.for_user(doomed)
    doomed.delete()

    assert_error(bearer(token).get("/api/me/"), 401, "token_not_valid")


def test_the_token_of_a_deactivated_user_is_401_token_not_valid(user):
    token = AccessToken.for_user(user)
    User.objects.filter(pk=user.pk).update(is_active=False)

    assert_error(bearer(token).get("/api/me/"), 401, "token_not_valid")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Bearer one two",
        "Bearer " + "A" * 10_000,
        # A WSGI server hands header bytes to Django decoded as latin-1 (PEP 3333).
        "Bearer " + "\u202e🎬.🍿.👩".encode().decode("latin-1"),
        "Bearer " + "é.ü.ß".encode("latin-1").decode("latin-1"),
    ],
)
def test_a_malformed_bearer_header_is_401_token_not_valid(api_client, user, header):
    api_client.credentials(HTTP_AUTHORIZATION=header)

    assert_error(api_client.get("/api/me/"), 401, "token_not_valid")


def test_a_bad_token_is_refused_even_on_a_public_endpoint(movie):
    # A client that sends a token expects to be that user: never silently anonymous.
    response = bearer("not-a-jwt").get("/api/movies/")

    assert_error(response, 401, "token_not_valid")


def test_basic_auth_with_the_right_password_does_not_authenticate(api_client, user):
    credentials = base64.b64encode(f"{user.username}:{PASSWORD}".encode()).decode()
    api_client.credentials(HTTP_AUTHORIZATION=f"Basic {credentials}")

    assert_error(api_client.get("/api/me/"), 401, "not_authenticated")


def test_a_session_login_does_not_authenticate_the_api(api_client, user):
    # Only Bearer JWTs count under /api/: a Django session cookie (the admin's) is not
    # a way in, so CSRF cannot be used against the API.
    api_client.force_login(user)

    assert_error(api_client.get("/api/me/"), 401, "not_authenticated")


# --- Other users' bookings ------------------------------------------------------------


@pytest.fixture
def others_booking(other_client, show):
    return Booking.objects.get(pk=book(other_client, show, [20, 21])["id"])


def booking_state(booking):
    booking.refresh_from_db()
    seats = list(Seat.objects.filter(booking=booking).order_by("number").values_list("number"))
    return booking.status, booking.cancelled_at, seats


@pytest.mark.parametrize("caller", ["auth_client", "staff_client"])
def test_reading_another_users_booking_is_404_not_found(request, caller, others_booking):
    client = request.getfixturevalue(caller)

    response = client.get(f"/api/bookings/{others_booking.pk}/")

    assert_error(response, 404, "not_found")
    assert others_booking.reference not in response.content.decode()


@pytest.mark.parametrize("caller", ["auth_client", "staff_client"])
def test_cancelling_another_users_booking_is_404_and_changes_nothing(
    request, caller, others_booking
):
    client = request.getfixturevalue(caller)
    before = booking_state(others_booking)

    response = client.post(f"/api/bookings/{others_booking.pk}/cancel/")

    assert_error(response, 404, "not_found")
    assert booking_state(others_booking) == before
    assert before[0] == Booking.Status.BOOKED
    assert before[2] == [(20,), (21,)]


def test_another_users_booking_and_an_unknown_id_answer_the_same(auth_client, others_booking):
    # Never reveal that the id exists: same status, same body as an id nobody has.
    unknown = Booking.objects.order_by("-pk").first().pk + 1000

    for path in ("/api/bookings/{}/", "/api/bookings/{}/cancel/"):
        method = auth_client.get if "cancel" not in path else auth_client.post
        theirs = method(path.format(others_booking.pk))
        nobodys = method(path.format(unknown))
        assert theirs.status_code == nobodys.status_code == 404
        assert theirs.json() == nobodys.json()


def test_another_users_booking_is_not_in_my_bookings(auth_client, others_booking):
    response = auth_client.get("/api/my-bookings/")

    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_the_seats_of_another_users_booking_stay_held(auth_client, others_booking, show):
    auth_client.post(f"/api/bookings/{others_booking.pk}/cancel/")

    response = auth_client.post(f"/api/shows/{show.pk}/book/", {"seat_number": 20}, format="json")

    assert_error(response, 409, "seat_unavailable")
    assert response.json()["seats"] == [20]


# --- Mass assignment ------------------------------------------------------------------


def test_extra_fields_in_a_booking_request_change_nothing(auth_client, user, other_user, show):
    body = {
        "seat_numbers": [5, 6],
        "user": other_user.pk,
        "user_id": other_user.pk,
        "status": "cancelled",
        "total_price": "0.01",
        "is_staff": True,
        "id": 987654,
        "reference": "AAAAAAAA",
        "cancelled_at": "2020-01-01T00:00:00Z",
        "show": 999999,
    }

    response = auth_client.post(f"/api/shows/{show.pk}/book/", body, format="json")

    assert response.status_code == 201, response.content
    booking = Booking.objects.get(pk=response.json()["id"])
    assert booking.pk != 987654
    assert booking.user_id == user.pk
    assert booking.show_id == show.pk
    assert booking.status == Booking.Status.BOOKED
    assert booking.cancelled_at is None
    assert booking.total_price == Decimal("500.00")
    assert booking.reference != "AAAAAAAA"
    assert response.json()["total_price"] == "500.00"
    assert not Booking.objects.filter(user=other_user).exists()
    user.refresh_from_db()
    assert not user.is_staff


def test_signup_cannot_make_itself_staff(api_client):
    body = {
        "username": "eve",
        "email": "eve@example.com",
        "password": "a-long-enough-passphrase-7",
        "is_staff": True,
        "is_superuser": True,
        "is_active": False,
        "id": 424242,
    }

    response = api_client.post("/api/signup/", body, format="json")

    assert response.status_code == 201, response.content
    eve = User.objects.get(username="eve")
    assert not eve.is_staff
    assert not eve.is_superuser
    assert eve.is_active
    assert eve.pk != 424242
    me = bearer(response.json()["access"]).get("/api/me/")
    assert me.json()["is_staff"] is False
    assert bearer(response.json()["access"]).post("/api/movies/", {}).status_code == 403


def test_a_movie_write_cannot_set_its_id_or_timestamps(staff_client, movie):
    body = {
        "id": movie.pk + 100,
        "title": "Renamed",
        "duration_minutes": 100,
        "created_at": "2000-01-01T00:00:00Z",
    }

    response = staff_client.patch(f"/api/movies/{movie.pk}/", body, format="json")

    assert response.status_code == 200
    assert response.json()["id"] == movie.pk
    assert Movie.objects.get(pk=movie.pk).title == "Renamed"
    assert Movie.objects.get(pk=movie.pk).created_at.year != 2000
    assert not Movie.objects.filter(pk=movie.pk + 100).exists()


def test_a_show_write_cannot_set_available_seats(staff_client, movie):
    body = {
        "movie_id": movie.pk,
        "screen_name": "Screen 9",
        "start_time": (timezone.now() + timedelta(days=3)).isoformat(),
        "total_seats": 10,
        "price": "100.00",
        "available_seats": 9999,
    }

    response = staff_client.post("/api/shows/", body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["available_seats"] == 10
    assert Seat.objects.filter(show_id=response.json()["id"]).count() == 10


# --- Staff-only endpoints -------------------------------------------------------------


def movie_body():
    return {"title": "Heist", "duration_minutes": 90, "genre": "Crime", "language": "English"}


def show_body(movie):
    return {
        "movie_id": movie.pk,
        "screen_name": "Screen 2",
        "start_time": (timezone.now() + timedelta(days=2)).isoformat(),
        "total_seats": 50,
        "price": "120.00",
    }


STAFF_WRITES = [
    ("post", "/api/movies/", "movie"),
    ("put", "/api/movies/{movie}/", "movie"),
    ("patch", "/api/movies/{movie}/", "movie"),
    ("delete", "/api/movies/{movie}/", None),
    ("post", "/api/shows/", "show"),
    ("put", "/api/shows/{show}/", "show"),
    ("patch", "/api/shows/{show}/", "show"),
    ("delete", "/api/shows/{show}/", None),
]


def staff_request(client, method, path, body_kind, movie, show):
    url = path.format(movie=movie.pk, show=show.pk)
    body = {"movie": movie_body(), "show": show_body(movie), None: None}[body_kind]
    return getattr(client, method)(url, body, format="json")


@pytest.fixture
def lone_movie(db):
    """A movie without shows: staff could delete it, so a refusal is the permission's."""
    return make_movie(title="Lonely")


@pytest.mark.parametrize(("method", "path", "body_kind"), STAFF_WRITES)
def test_a_non_staff_user_on_a_staff_endpoint_is_403_and_writes_nothing(
    auth_client, lone_movie, show, method, path, body_kind
):
    before = db_snapshot()

    response = staff_request(auth_client, method, path, body_kind, lone_movie, show)

    assert_error(response, 403, "permission_denied")
    assert db_snapshot() == before


@pytest.mark.parametrize(("method", "path", "body_kind"), STAFF_WRITES)
def test_an_anonymous_caller_on_a_staff_endpoint_is_401_and_writes_nothing(
    api_client, lone_movie, show, method, path, body_kind
):
    before = db_snapshot()

    response = staff_request(api_client, method, path, body_kind, lone_movie, show)

    assert_error(response, 401, "not_authenticated")
    assert response.has_header("WWW-Authenticate")
    assert db_snapshot() == before


@pytest.mark.parametrize(("method", "path", "body_kind"), STAFF_WRITES)
def test_staff_can_use_every_staff_endpoint(
    staff_client, lone_movie, show, method, path, body_kind
):
    # The control for the two tests above: the same requests succeed for staff.
    before = db_snapshot()

    response = staff_request(staff_client, method, path, body_kind, lone_movie, show)

    assert response.status_code in (200, 201, 204), response.content
    assert db_snapshot() != before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/me/"),
        ("get", "/api/my-bookings/"),
        ("get", "/api/bookings/1/"),
        ("post", "/api/bookings/1/cancel/"),
        ("post", "/api/shows/{show}/book/"),
        ("post", "/api/logout/"),
    ],
)
def test_an_anonymous_caller_on_a_user_endpoint_is_401_not_authenticated(
    api_client, show, method, path
):
    response = getattr(api_client, method)(
        path.format(show=show.pk), {"seat_number": 1}, format="json"
    )

    assert_error(response, 401, "not_authenticated")
    assert not Booking.objects.exists()


# --- Long and unicode-heavy strings ---------------------------------------------------


def signup_body(**overrides):
    body = {"username": "newbie", "email": "newbie@example.com", "password": "pass-phrase-2026!"}
    body.update(overrides)
    return body


@pytest.mark.parametrize("field", ["username", "email", "password"])
def test_signup_with_a_10000_character_field_is_400_on_that_field(api_client, field):
    value = LONG if field != "email" else "a" * 9_988 + "@example.com"

    response = api_client.post("/api/signup/", signup_body(**{field: value}), format="json")

    body = assert_clean_4xx(response)
    assert response.status_code == 400
    assert body["code"] == "invalid"
    assert field in body["errors"]
    assert not User.objects.filter(email="newbie@example.com").exists()


@pytest.mark.parametrize("sample", UNICODE_SAMPLES)
@pytest.mark.parametrize("field", ["username", "email", "password"])
def test_signup_with_unicode_in_a_field_is_201_or_a_clean_400(api_client, field, sample):
    value = UNICODE_SAMPLES[sample]
    if field == "email":
        value = f"{value}@example.com"
    elif field == "password":
        value = f"{value} long enough 2026"

    response = api_client.post("/api/signup/", signup_body(**{field: value}), format="json")

    if response.status_code == 201:
        assert "\x00" not in value
        created = User.objects.get(pk=response.json()["id"])
        if field == "password":
            assert created.check_password(value)
        else:
            assert response.json()[field] == getattr(created, field)
    else:
        body = assert_clean_4xx(response)
        assert response.status_code == 400
        assert field in body["errors"]
        assert not User.objects.filter(email__iexact=signup_body()["email"]).exists()


def test_a_password_with_emoji_and_a_nul_free_unicode_value_works_for_login(api_client):
    password = "🎬 שלום Zălgo\u200b 2026"
    signup = api_client.post("/api/signup/", signup_body(password=password), format="json")
    assert signup.status_code == 201, signup.content

    login = api_client.post(
        "/api/login/", {"username": "newbie", "password": password}, format="json"
    )

    assert login.status_code == 200


@pytest.mark.parametrize(
    "username", [LONG, *UNICODE_SAMPLES.values(), *HOSTILE_SAMPLES.values(), "' OR '1'='1"]
)
def test_login_with_a_hostile_username_is_a_clean_4xx(api_client, user, username):
    response = api_client.post(
        "/api/login/", {"username": username, "password": PASSWORD}, format="json"
    )

    body = assert_clean_4xx(response)
    assert body["code"] in {"no_active_account", "invalid"}
    assert "access" not in body


@pytest.mark.parametrize(
    ("field", "limit"),
    [("title", 200), ("description", 5000), ("genre", 50), ("language", 50)],
)
def test_a_movie_field_of_10000_characters_is_400_on_that_field(staff_client, field, limit):
    response = staff_client.post(
        "/api/movies/", movie_body() | {field: "y" * 10_000}, format="json"
    )

    body = assert_clean_4xx(response)
    assert body["code"] == "invalid"
    assert field in body["errors"]
    assert not Movie.objects.exists()


@pytest.mark.parametrize(
    ("field", "limit"),
    [("title", 200), ("description", 5000), ("genre", 50), ("language", 50)],
)
def test_a_movie_field_at_its_limit_in_4_byte_characters_round_trips(staff_client, field, limit):
    # 4-byte UTF-8 characters at the maximum length: the column must count characters,
    # not bytes, and store astral-plane characters (utf8mb4 on MySQL).
    value = "😀" * limit

    response = staff_client.post("/api/movies/", movie_body() | {field: value}, format="json")

    assert response.status_code == 201, response.content[:300]
    assert response.json()[field] == value
    assert getattr(Movie.objects.get(pk=response.json()["id"]), field) == value


@pytest.mark.parametrize("sample", UNICODE_SAMPLES)
@pytest.mark.parametrize("field", ["title", "description", "genre", "language"])
def test_unicode_in_a_movie_field_round_trips_or_is_a_clean_400(staff_client, field, sample):
    value = UNICODE_SAMPLES[sample]

    response = staff_client.post("/api/movies/", movie_body() | {field: value}, format="json")

    if "\x00" in value:
        body = assert_clean_4xx(response)
        assert body["code"] == "invalid"
        assert field in body["errors"]
        assert not Movie.objects.exists()
    else:
        assert response.status_code == 201, response.content
        assert response.json()[field] == value
        fetched = staff_client.get(f"/api/movies/{response.json()['id']}/")
        assert fetched.json()[field] == value


@pytest.mark.parametrize("value", [LONG, "😀" * 51, *UNICODE_SAMPLES.values()])
def test_a_show_screen_name_is_stored_verbatim_or_is_a_clean_400(staff_client, movie, value):
    response = staff_client.post(
        "/api/shows/", show_body(movie) | {"screen_name": value}, format="json"
    )

    if "\x00" in value or len(value) > 50:
        body = assert_clean_4xx(response)
        assert "screen_name" in body["errors"]
        assert not Show.objects.exists()
    else:
        assert response.status_code == 201, response.content
        assert Show.objects.get(pk=response.json()["id"]).screen_name == value


@pytest.mark.parametrize("value", [LONG, *UNICODE_SAMPLES.values()])
def test_a_hostile_patch_of_a_show_is_clean(staff_client, show, value):
    response = staff_client.patch(f"/api/shows/{show.pk}/", {"screen_name": value}, format="json")

    show.refresh_from_db()
    if response.status_code == 200:
        assert show.screen_name == value
    else:
        assert_clean_4xx(response)
        assert show.screen_name == "Screen 1"


QUERY_PARAMS = [
    ("/api/movies/", "search"),
    ("/api/movies/", "genre"),
    ("/api/movies/", "language"),
    ("/api/movies/", "ordering"),
    ("/api/movies/", "page"),
    ("/api/movies/", "page_size"),
    ("/api/shows/", "movie"),
    ("/api/shows/", "date"),
    ("/api/shows/", "ordering"),
    ("/api/movies/{movie}/shows/", "date"),
    ("/api/my-bookings/", "status"),
]
QUERY_VALUES = {
    "long": LONG,
    "huge_number": "9" * 30,
    "negative": "-1",
    **UNICODE_SAMPLES,
    **HOSTILE_SAMPLES,
}


@pytest.mark.parametrize("value", QUERY_VALUES.values(), ids=QUERY_VALUES.keys())
@pytest.mark.parametrize(("path", "param"), QUERY_PARAMS)
def test_a_hostile_query_parameter_is_200_or_a_clean_4xx(auth_client, show, path, param, value):
    response = auth_client.get(path.format(movie=show.movie_id), {param: value})

    if response.status_code == 200:
        assert "results" in response.json()
    else:
        body = assert_clean_4xx(response)
        assert (response.status_code, body["code"]) in {(400, "invalid"), (404, "not_found")}
    assert Movie.objects.filter(pk=show.movie_id).exists()


@pytest.mark.parametrize("value", ["9" * 30, "9" * 5000, "0", "00000000000000000001"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/movies/{}/"),
        ("get", "/api/movies/{}/shows/"),
        ("get", "/api/shows/{}/"),
        ("get", "/api/shows/{}/seats/"),
        ("post", "/api/shows/{}/book/"),
        ("get", "/api/bookings/{}/"),
        ("post", "/api/bookings/{}/cancel/"),
    ],
)
def test_an_out_of_range_id_in_a_path_is_404_not_found(auth_client, method, path, value):
    response = getattr(auth_client, method)(path.format(value), {"seat_number": 1}, format="json")

    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("seats", [[10**30], [2**63], [-(2**63) - 1], [1, 10**20]])
def test_huge_seat_numbers_are_a_clean_400_and_book_nothing(auth_client, show, seats):
    response = auth_client.post(
        f"/api/shows/{show.pk}/book/", {"seat_numbers": seats}, format="json"
    )

    body = assert_clean_4xx(response)
    assert body["code"] == "invalid"
    assert not Booking.objects.exists()


@pytest.mark.parametrize(
    "key",
    ["🎬" * 255, "\u202e\u05e9\u05dc\u05d5\u05dd\u200b", "Robert'); DROP TABLE booking_booking;--"],
)
def test_a_unicode_idempotency_key_books_once_and_replays(auth_client, show, key):
    path = f"/api/shows/{show.pk}/book/"
    first = auth_client.post(path, {"seat_number": 3}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    again = auth_client.post(path, {"seat_number": 3}, format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert first.status_code == again.status_code == 201, (first.content, again.content)
    assert again["Idempotent-Replayed"] == "true"
    assert first.json() == again.json()
    assert Booking.objects.count() == 1


@pytest.mark.parametrize("body", [[], "string", 12, None, {"seat_numbers": [[[[[[1]]]]]]}])
def test_a_json_body_of_the_wrong_shape_is_a_clean_400(auth_client, show, body):
    response = auth_client.post(
        f"/api/shows/{show.pk}/book/", json.dumps(body), content_type="application/json"
    )

    body = assert_clean_4xx(response)
    assert body["code"] == "invalid"
    assert not Booking.objects.exists()


def test_deeply_nested_json_is_a_clean_400(auth_client, show):
    nested = "[" * 100_000 + "]" * 100_000

    response = auth_client.post(
        f"/api/shows/{show.pk}/book/", nested, content_type="application/json"
    )

    assert_clean_4xx(response)
    assert not Booking.objects.exists()


# --- SQL- and HTML-looking strings ----------------------------------------------------


@pytest.mark.parametrize("sample", HOSTILE_SAMPLES)
def test_sql_and_html_looking_strings_are_stored_and_returned_verbatim(staff_client, sample):
    value = HOSTILE_SAMPLES[sample]
    body = movie_body() | {"title": value, "description": value, "genre": value[:50]}

    created = staff_client.post("/api/movies/", body, format="json")

    assert created.status_code == 201, created.content
    fetched = staff_client.get(f"/api/movies/{created.json()['id']}/")
    assert fetched.json()["title"] == value
    assert fetched.json()["description"] == value
    assert Movie.objects.get(title=value).description == value
    # The raw characters travel in JSON (no HTML escaping, which is the client's job)...
    assert value.replace('"', '\\"') in fetched.content.decode()
    # ...and JSON is never sniffed as HTML.
    assert fetched["Content-Type"] == "application/json"
    assert fetched["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("sample", HOSTILE_SAMPLES)
def test_sql_and_html_looking_search_terms_find_only_matching_titles(
    api_client, staff_client, sample
):
    value = HOSTILE_SAMPLES[sample]
    make_movie(title="Plain")
    target = make_movie(title=f"The {value} Story")

    response = api_client.get("/api/movies/", {"search": value})

    assert response.status_code == 200
    assert [m["id"] for m in response.json()["results"]] == [target.pk]
    # The tables are intact.
    assert Movie.objects.count() == 2
    assert User.objects.filter(username="stella").exists()


@pytest.mark.parametrize("term", ["%", "_", "\\", "%%", "_%_"])
def test_like_wildcards_in_a_search_match_only_themselves(api_client, term):
    make_movie(title="Plain")
    target = make_movie(title=f"100{term} Pure")

    response = api_client.get("/api/movies/", {"search": term})

    assert response.status_code == 200
    assert [m["id"] for m in response.json()["results"]] == [target.pk]


@pytest.mark.parametrize("value", HOSTILE_SAMPLES.values())
def test_sql_looking_filters_match_nothing_and_break_nothing(api_client, movie, value):
    for param in ("genre", "language"):
        response = api_client.get("/api/movies/", {param: value})
        assert response.status_code == 200
        assert response.json()["count"] == 0
    assert Movie.objects.count() == 1


def test_the_tables_exist_after_the_hostile_strings(staff_client):
    staff_client.post(
        "/api/movies/", movie_body() | {"title": HOSTILE_SAMPLES["sql"]}, format="json"
    )
    tables = set(connection.introspection.table_names())

    assert {"booking_movie", "booking_show", "booking_booking", "booking_user"} <= tables
    assert Movie.objects.filter(title=HOSTILE_SAMPLES["sql"]).exists()


# --- Login throttle -------------------------------------------------------------------

LOGIN_ATTEMPTS_PER_MINUTE = 10


def login(client, username, password, **extra):
    return client.post(
        "/api/login/", {"username": username, "password": password}, format="json", **extra
    )


def test_the_11th_login_attempt_in_a_minute_is_429_with_retry_after(api_client, user):
    for _ in range(LOGIN_ATTEMPTS_PER_MINUTE):
        assert_error(login(api_client, user.username, "wrong-password"), 401, "no_active_account")

    response = login(api_client, user.username, "wrong-password")

    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


def test_a_throttled_client_cannot_log_in_even_with_the_right_password(api_client, user):
    for _ in range(LOGIN_ATTEMPTS_PER_MINUTE):
        login(api_client, user.username, "wrong-password")

    response = login(api_client, user.username, PASSWORD)

    assert_error(response, 429, "throttled")
    assert "access" not in response.json()


def test_the_login_throttle_cannot_be_dodged_with_x_forwarded_for(api_client, user):
    for n in range(LOGIN_ATTEMPTS_PER_MINUTE):
        login(api_client, user.username, "wrong", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")

    response = login(api_client, user.username, PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.9")

    assert_error(response, 429, "throttled")


def test_the_login_throttle_counts_per_client_ip(api_client, user, other_user):
    for _ in range(LOGIN_ATTEMPTS_PER_MINUTE + 1):
        login(api_client, user.username, "wrong", REMOTE_ADDR="192.0.2.1")

    # Another address, another account: neither limit is reached.
    response = login(APIClient(), other_user.username, PASSWORD, REMOTE_ADDR="192.0.2.2")

    assert response.status_code == 200


# --- Response headers -----------------------------------------------------------------


def api_responses(user, show):
    """One response of each kind: success, validation error, 401, 404, 405, login."""
    client = client_for(user)
    anonymous = APIClient()
    return {
        "list": anonymous.get("/api/movies/"),
        "detail": anonymous.get(f"/api/shows/{show.pk}/"),
        "me": client.get("/api/me/"),
        "book": client.post(f"/api/shows/{show.pk}/book/", {"seat_number": 1}, format="json"),
        "invalid": client.post(f"/api/shows/{show.pk}/book/", {}, format="json"),
        "unauthenticated": anonymous.get("/api/me/"),
        "not_found": anonymous.get("/api/no-such-thing/"),
        "method_not_allowed": client.put("/api/me/"),
        "login": login(anonymous, user.username, PASSWORD),
        "signup": anonymous.post("/api/signup/", signup_body(), format="json"),
    }


@pytest.fixture
def responses(user, show):
    return api_responses(user, show)


def test_the_sample_responses_are_what_they_claim_to_be(responses):
    statuses = {name: r.status_code for name, r in responses.items()}

    assert statuses == {
        "list": 200,
        "detail": 200,
        "me": 200,
        "book": 201,
        "invalid": 400,
        "unauthenticated": 401,
        "not_found": 404,
        "method_not_allowed": 405,
        "login": 200,
        "signup": 201,
    }


def test_api_responses_forbid_content_type_sniffing(responses):
    for name, response in responses.items():
        assert response.get("X-Content-Type-Options") == "nosniff", name


def test_api_responses_set_no_cookie(responses):
    for name, response in responses.items():
        assert not response.has_header("Set-Cookie"), name
        assert not response.cookies, name


def test_api_responses_are_json_and_cannot_be_framed(responses):
    for name, response in responses.items():
        assert response["Content-Type"] == "application/json", name
        assert response.get("X-Frame-Options") == "DENY", name
        assert response.get("Referrer-Policy") == "same-origin", name


def test_django_sets_no_server_header(responses):
    # The WSGI server (gunicorn) writes `Server` itself; the test client cannot see that,
    # so this only proves the application adds no version banner of its own.
    for name, response in responses.items():
        assert not response.has_header("Server"), name
        assert not response.has_header("X-Powered-By"), name


def test_no_cors_headers_for_an_origin_that_is_not_allowed(api_client):
    response = api_client.get("/api/movies/", HTTP_ORIGIN="https://evil.example")

    assert response.status_code == 200
    assert not response.has_header("Access-Control-Allow-Origin")
    assert not response.has_header("Access-Control-Allow-Credentials")


def test_a_server_error_leaks_no_internals(auth_client, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("secret internals: /srv/app/settings.py password=hunter2")

    monkeypatch.setattr(services, "book_seats", explode)
    show = make_show()

    response = auth_client.post(f"/api/shows/{show.pk}/book/", {"seat_number": 1}, format="json")

    assert_error(response, 500, "server_error")
    assert "hunter2" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
