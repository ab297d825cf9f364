"""Self-service accounts: change password, reset it by email, delete the account.

The contract (API.md, "What an app in the stores needs besides"): a password change,
by any road, refuses every token issued before it; a reset request answers the same
whether or not the address is known; a reset link works once and for a while; deleting
an account frees its name, its upcoming seats and its holds, and keeps the past.
"""

import re
import threading
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.db import connection
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from booking import services
from booking.models import Booking, Hold, Seat, Show, User
from booking.services import accounts

from .conftest import CINEMA_STAFF, PASSWORD, client_for, make_show, make_user

pytestmark = pytest.mark.django_db

ME_URL = "/api/me/"
LOGIN_URL = "/api/login/"
REFRESH_URL = "/api/token/refresh/"
SIGNUP_URL = "/api/signup/"
PASSWORD_URL = "/api/me/password/"
RESET_URL = "/api/password-reset/"
CONFIRM_URL = "/api/password-reset/confirm/"

NEW_PASSWORD = "purple-Tractor-lantern-42"
RESET_PAGE = "https://app.example/reset?uid={uid}&token={token}"
RESET_LIMIT = 5  # THROTTLE_PASSWORD_RESET's default, 5/hour
THREAD_TIMEOUT_SECONDS = 10
REAL_IN_BACKGROUND = accounts._in_background  # before _reset_emails_inline replaces it


class _ConnectionLeftOpen:
    """Stands in for `connection` in the accounts service while the email is sent inline."""

    def close(self):
        pass


@pytest.fixture(autouse=True)
def _reset_emails_inline(monkeypatch):
    # In production the lookup and the email happen on a thread of their own, after the
    # 202; inline here, so that the email is in the outbox when the response is. That
    # thread closes its connection when done: inline, that would be the test's own
    # connection, inside the test's transaction (MariaDB and PostgreSQL then refuse every
    # later query), so the close is made harmless. test_the_reset_email_is_sent_from_a_
    # thread_of_its_own_with_its_own_connection runs the real thing.
    monkeypatch.setattr(accounts, "_in_background", lambda function, *args: function(*args))
    monkeypatch.setattr(accounts, "connection", _ConnectionLeftOpen())


@pytest.fixture
def reset_page(settings):
    settings.PASSWORD_RESET_URL = RESET_PAGE
    return RESET_PAGE


# --- Helpers --------------------------------------------------------------------------


def log_in(username, password, **extra):
    return APIClient().post(LOGIN_URL, {"username": username, "password": password}, **extra)


def token_pair(username="alice", password=PASSWORD) -> dict:
    """Log in through the API and return {"access", "refresh"}."""
    response = log_in(username, password)
    assert response.status_code == 200, response.content
    return response.json()


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def access_answer(pair: dict):
    response = bearer(pair["access"]).get(ME_URL)
    return response.status_code, response.json().get("code")


def refresh_answer(pair: dict):
    response = APIClient().post(REFRESH_URL, {"refresh": pair["refresh"]})
    return response.status_code, response.json().get("code")


def assert_refused(pair: dict) -> None:
    """Both tokens of pair are refused: the access one on /api/me/, the refresh one."""
    assert access_answer(pair) == (401, "token_not_valid")
    assert refresh_answer(pair) == (401, "token_not_valid")


def change_password(client, current=PASSWORD, new=NEW_PASSWORD):
    return client.post(PASSWORD_URL, {"current_password": current, "new_password": new})


def request_reset(email, *, ip="127.0.0.1", **extra):
    return APIClient().post(RESET_URL, {"email": email}, REMOTE_ADDR=ip, **extra)


def confirm_reset(uid, token, new_password=NEW_PASSWORD, *, ip="127.0.0.1"):
    body = {"uid": uid, "token": token, "new_password": new_password}
    return APIClient().post(CONFIRM_URL, body, REMOTE_ADDR=ip)


def link_in(message) -> tuple[str, str]:
    """Return (uid, token) of the reset page link in an email."""
    match = re.search(r"https://app\.example/reset\?\S+", message.body)
    assert match, message.body
    query = parse_qs(urlsplit(match.group()).query)
    return query["uid"][0], query["token"][0]


def emailed_link(email, mailoutbox) -> tuple[str, str]:
    """Ask for a reset link for email and return the (uid, token) it carries."""
    sent_before = len(mailoutbox)
    assert request_reset(email).status_code == 202
    assert len(mailoutbox) == sent_before + 1
    return link_in(mailoutbox[-1])


def uid_of(user) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))


def delete_account(client, password=PASSWORD):
    return client.delete(ME_URL, {"password": password})


def seat_statuses(show, numbers) -> dict:
    seat_map = APIClient().get(f"/api/shows/{show.pk}/seats/").json()
    return {
        seat["number"]: seat["status"]
        for row in seat_map["rows"]
        for seat in row["seats"]
        if seat["number"] in numbers
    }


def book(user, show, seat_numbers) -> Booking:
    return services.book_seats(user=user, show=show, seat_numbers=seat_numbers, now=timezone.now())


# --- Changing the password ------------------------------------------------------------


def test_changing_the_password_answers_204_and_only_the_new_one_logs_in(user, auth_client):
    response = change_password(auth_client)

    assert response.status_code == 204
    assert response.content == b""
    old = log_in("alice", PASSWORD)
    assert (old.status_code, old.json()["code"]) == (401, "no_active_account")
    assert log_in("alice", NEW_PASSWORD).status_code == 200


def test_changing_the_password_refuses_every_token_issued_before(user):
    phone = token_pair()
    laptop = token_pair()
    assert access_answer(phone) == (200, None)  # they worked until the change

    assert change_password(bearer(laptop["access"])).status_code == 204

    assert_refused(phone)
    assert_refused(laptop)


def test_a_token_pair_from_logging_in_right_after_the_change_works(user, auth_client):
    change_password(auth_client)

    pair = token_pair(password=NEW_PASSWORD)

    assert access_answer(pair) == (200, None)
    assert refresh_answer(pair) == (200, None)


def test_changing_the_password_with_a_wrong_current_password_is_400_and_changes_nothing(
    user,
):
    pair = token_pair()

    response = change_password(bearer(pair["access"]), current="not-my-password-1")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {"current_password"}
    assert log_in("alice", PASSWORD).status_code == 200
    assert access_answer(pair) == (200, None)  # nothing was revoked either


@pytest.mark.parametrize(
    ("new_password", "reason"),
    [
        ("Xq7#mZ2", "shorter than 8 characters"),
        ("password123", "too common"),
        ("83749261530", "entirely numeric"),
        ("alice-example", "too similar to the username and email"),
        ("Xq7#mZ2!" * 17, "longer than 128 characters"),
    ],
)
def test_changing_to_a_weak_new_password_is_400_on_new_password(
    user, auth_client, new_password, reason
):
    response = change_password(auth_client, new=new_password)

    assert response.status_code == 400, reason
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {"new_password"}
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_changing_the_password_without_the_fields_is_400_on_both(auth_client):
    response = auth_client.post(PASSWORD_URL, {})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"current_password", "new_password"}


def test_changing_the_password_anonymously_is_401_not_authenticated(api_client, user):
    response = change_password(api_client)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


# --- A password set outside the API (the admin) ---------------------------------------


def test_a_password_set_on_the_model_refuses_the_tokens_issued_before(user):
    pair = token_pair()

    user.set_password(NEW_PASSWORD)
    user.save()

    assert_refused(pair)


def test_a_password_set_with_the_admins_form_refuses_the_tokens_issued_before(user):
    pair = token_pair()
    form = AdminPasswordChangeForm(user, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert form.is_valid(), form.errors

    form.save()

    assert_refused(pair)
    assert access_answer(token_pair(password=NEW_PASSWORD)) == (200, None)


def test_saving_the_user_without_touching_the_password_keeps_its_tokens(user):
    pair = token_pair()

    user.first_name = "Alice"
    user.save()

    assert access_answer(pair) == (200, None)
    assert refresh_answer(pair) == (200, None)


# --- Asking for a reset link ----------------------------------------------------------


def test_asking_for_a_reset_answers_the_same_202_for_a_known_and_an_unknown_address(user):
    known = request_reset("alice@example.com")
    unknown = request_reset("nobody@example.com")

    assert (known.status_code, unknown.status_code) == (202, 202)
    assert known.json() == unknown.json()
    assert set(known.json()) == {"detail"}


def test_a_known_active_account_gets_exactly_one_email_with_a_working_link(
    settings, reset_page, user, mailoutbox
):
    settings.DEFAULT_FROM_EMAIL = "tickets@cinema.example"

    request_reset("alice@example.com")

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["alice@example.com"]
    assert message.from_email == "tickets@cinema.example"
    uid, token = link_in(message)
    assert confirm_reset(uid, token).status_code == 204
    assert log_in("alice", NEW_PASSWORD).status_code == 200


def test_the_address_is_matched_case_insensitively(reset_page, user, mailoutbox):
    response = request_reset("ALICE@Example.COM")

    assert response.status_code == 202
    assert [message.to for message in mailoutbox] == [["alice@example.com"]]


def test_the_link_is_built_from_the_configured_reset_page(settings, user, mailoutbox):
    settings.PASSWORD_RESET_URL = "https://tickets.example/#/new-password/{uid}/{token}"

    request_reset("alice@example.com")

    match = re.search(r"https://tickets\.example/#/new-password/(\S+)/(\S+)", mailoutbox[0].body)
    assert match, mailoutbox[0].body
    uid, token = match.groups()
    assert confirm_reset(uid, token).status_code == 204


def test_without_a_reset_page_the_email_carries_the_uid_and_token_themselves(
    settings, user, mailoutbox
):
    settings.PASSWORD_RESET_URL = ""

    request_reset("alice@example.com")

    body = mailoutbox[0].body
    uid = re.search(r"uid: (\S+)", body).group(1)
    token = re.search(r"token: (\S+)", body).group(1)
    assert confirm_reset(uid, token).status_code == 204


def test_an_unknown_address_gets_no_email(reset_page, user, mailoutbox):
    request_reset("alice@example.org")

    assert mailoutbox == []


def test_an_inactive_account_gets_no_email(reset_page, user, mailoutbox):
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = request_reset("alice@example.com")

    assert response.status_code == 202
    assert mailoutbox == []


def test_an_account_without_a_usable_password_gets_no_email(reset_page, user, mailoutbox):
    user.set_unusable_password()
    user.save()

    request_reset("alice@example.com")

    assert mailoutbox == []


@pytest.mark.parametrize(
    "body",
    [{}, {"email": ""}, {"email": "not-an-address"}, {"email": None}, {"email": ["a@b.co"]}],
    ids=["missing", "empty", "malformed", "null", "list"],
)
def test_asking_without_a_well_formed_email_is_400_on_email(body, user, mailoutbox):
    response = APIClient().post(RESET_URL, body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["errors"]) == {"email"}
    assert mailoutbox == []


@pytest.mark.parametrize(
    "header", [None, "Bearer not-a-jwt", "Basic YWxpY2U6eA=="], ids=["none", "garbage", "basic"]
)
def test_asking_for_a_reset_needs_no_authentication_and_ignores_a_bad_header(
    reset_page, user, mailoutbox, header
):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)

    response = client.post(RESET_URL, {"email": "alice@example.com"})

    assert response.status_code == 202
    assert len(mailoutbox) == 1


def test_the_reset_request_answers_before_looking_anything_up(
    monkeypatch, user, mailoutbox, django_assert_num_queries
):
    # The lookup happens after the answer, so neither the body nor the time it takes
    # tells a known address from an unknown one.
    deferred = []
    monkeypatch.setattr(accounts, "_in_background", lambda *call: deferred.append(call))

    with django_assert_num_queries(0):  # no query at all before the 202
        response = request_reset("alice@example.com")

    assert response.status_code == 202
    assert deferred == [(accounts._send_reset_email, "alice@example.com")]
    assert mailoutbox == []


def test_in_background_runs_the_function_on_another_thread():
    ran_on = []
    done = threading.Event()

    def record(tag):
        ran_on.append((tag, threading.get_ident()))
        done.set()

    REAL_IN_BACKGROUND(record, "reset")

    assert done.wait(timeout=THREAD_TIMEOUT_SECONDS)
    [(tag, thread)] = ran_on
    assert tag == "reset"
    assert thread != threading.get_ident()


# --- Using a reset link ---------------------------------------------------------------


def test_confirming_a_reset_answers_204_and_the_new_password_logs_in(reset_page, user, mailoutbox):
    uid, token = emailed_link("alice@example.com", mailoutbox)

    response = confirm_reset(uid, token)

    assert response.status_code == 204
    assert response.content == b""
    assert log_in("alice", NEW_PASSWORD).status_code == 200
    assert log_in("alice", PASSWORD).json()["code"] == "no_active_account"


def test_confirming_a_reset_refuses_every_token_issued_before(reset_page, user, mailoutbox):
    pair = token_pair()
    uid, token = emailed_link("alice@example.com", mailoutbox)

    confirm_reset(uid, token)

    assert_refused(pair)


def test_a_reset_link_works_only_once(reset_page, user, mailoutbox):
    uid, token = emailed_link("alice@example.com", mailoutbox)
    assert confirm_reset(uid, token).status_code == 204

    response = confirm_reset(uid, token, new_password="second-Attempt-orange-7")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["errors"]) == {"token"}
    assert log_in("alice", NEW_PASSWORD).status_code == 200  # the first one stands


UNKNOWN_PK = 987_654_321


@pytest.mark.parametrize(
    "forge",
    [
        lambda uid, token, other: (uid, token[:-1] + ("x" if token[-1] != "x" else "y")),
        lambda uid, token, other: (uid, "abc-0123456789abcdef"),
        lambda uid, token, other: (uid_of(other), token),  # alice's token, mallory's uid
        lambda uid, token, other: (urlsafe_base64_encode(force_bytes(UNKNOWN_PK)), token),
        lambda uid, token, other: ("!!not-base64!!", token),
        lambda uid, token, other: (urlsafe_base64_encode(b"abc"), token),  # not a number
        lambda uid, token, other: (urlsafe_base64_encode(b"\xff\xfe"), token),  # not text
        lambda uid, token, other: (urlsafe_base64_encode(b"-1"), token),
        lambda uid, token, other: (urlsafe_base64_encode(b"9" * 30), token),  # past bigint
    ],
    ids=[
        "wrong-token",
        "made-up-token",
        "another-users-uid",
        "unknown-uid",
        "garbage-uid",
        "non-numeric-uid",
        "non-utf8-uid",
        "negative-uid",
        "huge-uid",
    ],
)
def test_a_wrong_token_or_uid_is_400_on_token_and_changes_nothing(
    reset_page, user, other_user, mailoutbox, forge
):
    uid, token = forge(*emailed_link("alice@example.com", mailoutbox), other_user)

    response = confirm_reset(uid, token)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["errors"]) == {"token"}
    assert log_in("alice", PASSWORD).status_code == 200
    assert log_in("mallory", PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("minutes_later", "expected_status"), [(4, 204), (6, 400)], ids=["in-time", "expired"]
)
def test_a_reset_link_works_for_password_reset_timeout_only(
    settings, monkeypatch, reset_page, user, mailoutbox, minutes_later, expected_status
):
    settings.PASSWORD_RESET_TIMEOUT = 5 * 60  # PASSWORD_RESET_TIMEOUT_MINUTES=5
    uid, token = emailed_link("alice@example.com", mailoutbox)
    # The token generator reads a naive datetime.now(); move that clock, nothing else.
    later = datetime.now() + timedelta(minutes=minutes_later)
    monkeypatch.setattr(default_token_generator, "_now", lambda: later)

    response = confirm_reset(uid, token)

    assert response.status_code == expected_status
    if expected_status == 400:
        assert set(response.json()["errors"]) == {"token"}
        assert log_in("alice", PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("weak_password", "reason"),
    [("Xq7#mZ2", "shorter than 8 characters"), ("password123", "too common")],
)
def test_a_weak_new_password_is_400_on_new_password_and_leaves_the_link_usable(
    reset_page, user, mailoutbox, weak_password, reason
):
    uid, token = emailed_link("alice@example.com", mailoutbox)

    refused = confirm_reset(uid, token, new_password=weak_password)

    assert refused.status_code == 400, reason
    assert refused.json()["code"] == "invalid"
    assert set(refused.json()["errors"]) == {"new_password"}
    assert log_in("alice", PASSWORD).status_code == 200
    assert confirm_reset(uid, token).status_code == 204
    assert log_in("alice", NEW_PASSWORD).status_code == 200


def test_using_one_link_makes_the_other_outstanding_links_useless(
    monkeypatch, reset_page, user, mailoutbox
):
    with monkeypatch.context() as earlier:
        ten_minutes_ago = datetime.now() - timedelta(minutes=10)
        earlier.setattr(default_token_generator, "_now", lambda: ten_minutes_ago)
        first = emailed_link("alice@example.com", mailoutbox)
    second = emailed_link("alice@example.com", mailoutbox)
    assert first != second  # two different links, both good until one is used

    assert confirm_reset(*second).status_code == 204
    response = confirm_reset(*first, new_password="second-Attempt-orange-7")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"token"}
    assert log_in("alice", NEW_PASSWORD).status_code == 200


def test_changing_the_password_makes_an_outstanding_link_useless(
    reset_page, user, auth_client, mailoutbox
):
    uid, token = emailed_link("alice@example.com", mailoutbox)
    assert change_password(auth_client).status_code == 204

    response = confirm_reset(uid, token, new_password="second-Attempt-orange-7")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"token"}
    assert log_in("alice", NEW_PASSWORD).status_code == 200


def test_a_link_of_an_account_deactivated_since_is_400_on_token(reset_page, user, mailoutbox):
    uid, token = emailed_link("alice@example.com", mailoutbox)
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = confirm_reset(uid, token)

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"token"}


def test_confirming_needs_no_authentication_and_ignores_a_bad_header(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    body = {
        "uid": uid_of(user),
        "token": default_token_generator.make_token(user),
        "new_password": NEW_PASSWORD,
    }

    response = client.post(CONFIRM_URL, body)

    assert response.status_code == 204


def test_confirming_without_the_fields_is_400_on_each(user):
    response = APIClient().post(CONFIRM_URL, {})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"uid", "token", "new_password"}


# --- Rate limits ----------------------------------------------------------------------


def assert_throttled(response) -> None:
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_the_sixth_reset_request_for_one_address_is_429_whatever_the_ip(
    reset_page, user, mailoutbox
):
    for n in range(RESET_LIMIT):
        assert request_reset("alice@example.com", ip=f"10.0.0.{n + 1}").status_code == 202

    # Another IP, and the address in another case: the same address all the same.
    response = request_reset("ALICE@example.com", ip="10.0.1.1")

    assert_throttled(response)
    assert len(mailoutbox) == RESET_LIMIT  # the refused one sent nothing
    assert request_reset("mallory@example.com", ip="10.0.1.1").status_code == 202


def test_the_sixth_reset_request_from_one_ip_is_429_whatever_the_address(user):
    for n in range(RESET_LIMIT):
        assert request_reset(f"person{n}@example.com", ip="10.0.0.1").status_code == 202

    assert_throttled(request_reset("alice@example.com", ip="10.0.0.1"))
    assert request_reset("alice@example.com", ip="10.0.0.2").status_code == 202


def test_the_sixth_confirm_for_one_account_is_429_whatever_the_ip(user):
    uid = uid_of(user)
    for n in range(RESET_LIMIT):
        response = confirm_reset(uid, "abc-0123456789abcdef", ip=f"10.0.0.{n + 1}")
        assert response.status_code == 400

    response = confirm_reset(uid, default_token_generator.make_token(user), ip="10.0.1.1")

    assert_throttled(response)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_asking_for_the_link_up_to_the_limit_still_lets_it_be_used(reset_page, user, mailoutbox):
    for _ in range(RESET_LIMIT - 1):
        request_reset("mallory@example.com")  # other addresses: only the IP counter moves
    uid, token = emailed_link("alice@example.com", mailoutbox)  # the 5th request: allowed

    response = confirm_reset(uid, token)

    assert response.status_code == 204


# --- Deleting the account -------------------------------------------------------------


def test_deleting_the_account_answers_204_and_it_can_no_longer_log_in(user, auth_client):
    response = delete_account(auth_client)

    assert response.status_code == 204
    assert response.content == b""
    refused = log_in("alice", PASSWORD)
    assert (refused.status_code, refused.json()["code"]) == (401, "no_active_account")


def test_deleting_the_account_refuses_its_tokens(user):
    pair = token_pair()

    delete_account(bearer(pair["access"]))

    assert_refused(pair)


def test_deleting_the_account_scrubs_it_and_frees_its_username_and_email(user, auth_client):
    user.first_name, user.last_name = "Alice", "Liddell"
    user.save()

    delete_account(auth_client)

    scrubbed = User.objects.get(pk=user.pk)
    assert "alice" not in scrubbed.username.lower()
    assert "alice" not in scrubbed.email.lower()
    assert (scrubbed.first_name, scrubbed.last_name) == ("", "")
    assert not scrubbed.is_active
    assert not scrubbed.has_usable_password()
    again = APIClient().post(
        SIGNUP_URL, {"username": "Alice", "email": "ALICE@example.com", "password": PASSWORD}
    )
    assert again.status_code == 201, again.content


def test_deleting_the_account_cancels_its_upcoming_bookings_and_frees_their_seats(
    user, auth_client, other_client, show
):
    booking = book(user, show, [1, 2])

    delete_account(auth_client)

    booking.refresh_from_db()
    assert booking.status == Booking.Status.CANCELLED
    assert booking.cancelled_at is not None
    assert not Seat.objects.filter(booking=booking).exists()
    response = other_client.post(f"/api/shows/{show.pk}/book/", {"seat_numbers": [1, 2]})
    assert response.status_code == 201, response.content


def test_deleting_the_account_cancels_bookings_inside_the_cancellation_cutoff(
    settings, user, auth_client, show
):
    settings.CANCELLATION_CUTOFF_MINUTES = 7 * 24 * 60  # the show (tomorrow) is inside it
    kept_by_the_cutoff, other = book(user, show, [1]), book(user, show, [2])
    cancel = auth_client.post(f"/api/bookings/{kept_by_the_cutoff.pk}/cancel/")
    assert cancel.json()["code"] == "cancellation_closed"  # the cutoff is in force

    assert delete_account(auth_client).status_code == 204

    assert set(
        Booking.objects.filter(pk__in=[kept_by_the_cutoff.pk, other.pk]).values_list(
            "status", flat=True
        )
    ) == {Booking.Status.CANCELLED}
    assert seat_statuses(show, {1, 2}) == {1: "available", 2: "available"}


def test_deleting_the_account_releases_its_active_hold(user, auth_client, laid_out_show):
    hold = services.hold_seats(
        user=user, show=laid_out_show, seat_numbers=[3, 4], now=timezone.now()
    )
    assert seat_statuses(laid_out_show, {3, 4}) == {3: "held", 4: "held"}

    delete_account(auth_client)

    hold.refresh_from_db()
    assert hold.status == Hold.Status.RELEASED
    assert seat_statuses(laid_out_show, {3, 4}) == {3: "available", 4: "available"}


def test_deleting_the_account_keeps_bookings_of_shows_that_started_booked_and_anonymous(
    user, auth_client, movie
):
    started = make_show(movie, screen_name="Screen 2")
    past_booking = book(user, started, [5])
    Show.objects.filter(pk=started.pk).update(start_time=timezone.now() - timedelta(hours=1))
    upcoming = book(user, make_show(movie, screen_name="Screen 3"), [5])

    delete_account(auth_client)

    past_booking.refresh_from_db()
    assert past_booking.status == Booking.Status.BOOKED
    assert past_booking.cancelled_at is None
    assert Seat.objects.get(show=started, number=5).booking_id == past_booking.pk
    assert "alice" not in past_booking.user.username.lower()  # for the books, no name
    upcoming.refresh_from_db()
    assert upcoming.status == Booking.Status.CANCELLED  # the control: this one did go


def test_deleting_the_account_with_a_wrong_password_is_400_and_changes_nothing(
    user, auth_client, laid_out_show
):
    booking = book(user, laid_out_show, [1])
    hold = services.hold_seats(user=user, show=laid_out_show, seat_numbers=[3], now=timezone.now())

    response = delete_account(auth_client, password="not-my-password-1")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["errors"]) == {"password"}
    user.refresh_from_db()
    assert (user.username, user.email, user.is_active) == ("alice", "alice@example.com", True)
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.BOOKED
    assert Hold.objects.get(pk=hold.pk).status == Hold.Status.ACTIVE
    assert auth_client.get(ME_URL).status_code == 200


def test_deleting_the_account_without_a_password_is_400_on_password(user, auth_client):
    response = auth_client.delete(ME_URL)

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"password"}
    assert User.objects.get(pk=user.pk).is_active


def test_deleting_the_account_anonymously_is_401_not_authenticated(api_client, user):
    response = delete_account(api_client)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_staff_can_delete_their_own_account_and_lose_their_powers(staff_user, staff_client):
    response = delete_account(staff_client)

    assert response.status_code == 204
    gone = User.objects.get(pk=staff_user.pk)
    assert (gone.is_active, gone.is_staff) == (False, False)
    assert not gone.groups.exists()
    assert Group.objects.filter(name=CINEMA_STAFF).exists()  # the group itself stays
    assert log_in("stella", PASSWORD).json()["code"] == "no_active_account"


def test_a_superuser_can_delete_their_own_account(db):
    root = User.objects.create_superuser("root", "root@example.com", PASSWORD)

    response = delete_account(client_for(root))

    assert response.status_code == 204
    gone = User.objects.get(pk=root.pk)
    assert (gone.is_active, gone.is_staff, gone.is_superuser) == (False, False, False)


@pytest.mark.parametrize("method", ["put", "patch"])
def test_put_and_patch_on_me_are_405_and_delete_nothing(user, auth_client, method):
    response = getattr(auth_client, method)(ME_URL, {"password": PASSWORD})

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert User.objects.get(pk=user.pk).is_active


def test_a_deleted_account_gets_no_reset_email_and_its_old_link_is_refused(
    reset_page, user, auth_client, mailoutbox
):
    uid, token = emailed_link("alice@example.com", mailoutbox)
    delete_account(auth_client)

    assert request_reset("alice@example.com").status_code == 202
    assert len(mailoutbox) == 1  # only the one from before
    response = confirm_reset(uid, token)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"token"}


def test_the_same_name_signed_up_again_is_a_new_account_with_none_of_the_old_bookings(
    user, auth_client, show
):
    book(user, show, [1])
    delete_account(auth_client)
    APIClient().post(
        SIGNUP_URL, {"username": "alice", "email": "alice@example.com", "password": PASSWORD}
    )

    newcomer = client_for(User.objects.get(username="alice"))

    assert newcomer.get("/api/my-bookings/").json()["count"] == 0


# --- The production path: the email is sent from a thread -----------------------------


@pytest.mark.django_db(transaction=True)
def test_the_reset_email_is_sent_from_a_thread_of_its_own_with_its_own_connection(
    monkeypatch, reset_page, mailoutbox
):
    make_user("alice")
    threads = []

    def start_and_keep(function, *args):
        threads.append(threading.Thread(target=function, args=args, daemon=True))
        threads[-1].start()

    monkeypatch.setattr(accounts, "_in_background", start_and_keep)
    monkeypatch.setattr(accounts, "connection", connection)  # the real, per-thread one

    response = request_reset("alice@example.com")
    threads[0].join(timeout=THREAD_TIMEOUT_SECONDS)

    assert response.status_code == 202
    assert not threads[0].is_alive()
    assert len(mailoutbox) == 1
    uid, token = link_in(mailoutbox[0])
    # The thread closed its own connection, not this one: the confirm still works.
    assert confirm_reset(uid, token).status_code == 204
