"""Accounts: signup, login, token refresh and rotation, logout, /api/me/."""

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken

from booking.models import User

from .conftest import PASSWORD, client_for, make_user

pytestmark = pytest.mark.django_db


SIGNUP_URL = "/api/signup/"
LOGIN_URL = "/api/login/"
REFRESH_URL = "/api/token/refresh/"
LOGOUT_URL = "/api/logout/"
ME_URL = "/api/me/"


def signup(client, **overrides):
    body = {"username": "bob", "email": "bob@example.com", "password": PASSWORD}
    body.update(overrides)
    return client.post(SIGNUP_URL, body, format="json")


def bearer(token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


# --- Signup ---------------------------------------------------------------------------


def test_signup_creates_the_user_and_returns_a_working_token_pair(api_client):
    response = signup(api_client, username="Bob", email="bob@example.com")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "username", "email", "access", "refresh"}
    created = User.objects.get(pk=body["id"])
    assert (created.username, created.email) == ("Bob", "bob@example.com")
    assert created.check_password(PASSWORD)
    assert not created.is_staff
    me = bearer(body["access"]).get(ME_URL)
    assert me.status_code == 200
    assert me.json()["id"] == body["id"]
    assert api_client.post(REFRESH_URL, {"refresh": body["refresh"]}).status_code == 200


def test_signup_never_returns_the_password(api_client):
    response = signup(api_client)

    assert response.status_code == 201
    assert "password" not in response.json()
    assert PASSWORD not in response.content.decode()


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("password123", "too common"),
        ("83749127364", "entirely numeric"),
        ("bobexample", "too similar to the username"),
    ],
)
def test_signup_runs_djangos_password_validators(api_client, password, reason):
    response = signup(api_client, username="bobexample", password=password)

    assert response.status_code == 400, reason
    body = response.json()
    assert body["code"] == "invalid"
    assert body["errors"]["password"]
    assert not User.objects.filter(username="bobexample").exists()


@pytest.mark.parametrize(
    ("length", "expected_status"),
    [(7, 400), (8, 201), (128, 201), (129, 400)],
)
def test_signup_accepts_passwords_of_8_to_128_characters(api_client, length, expected_status):
    password = ("Xq7#mZ2!" * 17)[:length]

    response = signup(api_client, password=password)

    assert response.status_code == expected_status
    if expected_status == 400:
        assert response.json()["code"] == "invalid"
        assert "password" in response.json()["errors"]
    else:
        assert User.objects.get(username="bob").check_password(password)


def test_signup_with_a_username_taken_in_another_case_is_400_on_username(api_client, user):
    response = signup(api_client, username=user.username.upper(), email="new@example.com")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["errors"]) == ["username"]
    assert User.objects.filter(username__iexact=user.username).count() == 1


def test_signup_with_an_email_taken_in_another_case_is_400_on_email(api_client, user):
    response = signup(api_client, username="newcomer", email=user.email.upper())

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["errors"]) == ["email"]
    assert not User.objects.filter(username="newcomer").exists()


@pytest.mark.parametrize("username", ["bad name", "semi;colon", "slash/user", "x" * 151, ""])
def test_signup_rejects_usernames_django_would_not_accept(api_client, username):
    response = signup(api_client, username=username)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "username" in response.json()["errors"]
    assert User.objects.count() == 0


@pytest.mark.parametrize("username", ["a.b+c-d_e@f", "x" * 150, "Zoë"])
def test_signup_accepts_the_username_characters_django_allows(api_client, username):
    response = signup(api_client, username=username)

    assert response.status_code == 201
    assert response.json()["username"] == username


@pytest.mark.parametrize("missing", ["username", "email", "password"])
def test_signup_without_a_required_field_is_400_on_that_field(api_client, missing):
    body = {"username": "bob", "email": "bob@example.com", "password": PASSWORD}
    del body[missing]

    response = api_client.post(SIGNUP_URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert missing in response.json()["errors"]


def test_signup_with_a_malformed_email_is_400_on_email(api_client):
    response = signup(api_client, email="not-an-email")

    assert response.status_code == 400
    assert "email" in response.json()["errors"]


# --- Login ----------------------------------------------------------------------------


def test_login_returns_an_access_and_a_refresh_token(api_client, user):
    response = api_client.post(LOGIN_URL, {"username": "alice", "password": PASSWORD})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert bearer(body["access"]).get(ME_URL).json()["username"] == "alice"


def test_login_matches_the_username_case_insensitively(api_client, user):
    response = api_client.post(LOGIN_URL, {"username": "ALICE", "password": PASSWORD})

    assert response.status_code == 200
    assert bearer(response.json()["access"]).get(ME_URL).json()["id"] == user.pk


def test_login_with_a_wrong_password_is_401_no_active_account(api_client, user):
    response = api_client.post(LOGIN_URL, {"username": "alice", "password": "wrong-password-1"})

    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "no_active_account"
    assert body["detail"]
    assert "access" not in body


def test_login_with_an_unknown_username_is_401_no_active_account(api_client, user):
    response = api_client.post(LOGIN_URL, {"username": "nobody", "password": PASSWORD})

    assert response.status_code == 401
    assert response.json()["code"] == "no_active_account"


def test_login_of_a_deactivated_user_is_401_no_active_account(api_client, user):
    user.is_active = False
    user.save()

    response = api_client.post(LOGIN_URL, {"username": "alice", "password": PASSWORD})

    assert response.status_code == 401
    assert response.json()["code"] == "no_active_account"


def test_login_without_a_password_is_400_on_password(api_client, user):
    response = api_client.post(LOGIN_URL, {"username": "alice"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "password" in response.json()["errors"]


# --- Token refresh --------------------------------------------------------------------


def test_refresh_returns_a_new_pair_whose_refresh_token_works(api_client, user):
    first = str(RefreshToken.for_user(user))

    response = api_client.post(REFRESH_URL, {"refresh": first})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert body["refresh"] != first
    assert bearer(body["access"]).get(ME_URL).json()["id"] == user.pk
    again = api_client.post(REFRESH_URL, {"refresh": body["refresh"]})
    assert again.status_code == 200


def test_refresh_blacklists_the_old_refresh_token(api_client, user):
    first = str(RefreshToken.for_user(user))
    assert api_client.post(REFRESH_URL, {"refresh": first}).status_code == 200

    replay = api_client.post(REFRESH_URL, {"refresh": first})

    assert replay.status_code == 401
    assert replay.json()["code"] == "token_not_valid"
    assert BlacklistedToken.objects.filter(token__jti=RefreshToken(first, verify=False)["jti"])


def test_refresh_with_an_access_token_is_401_token_not_valid(api_client, user):
    access = str(RefreshToken.for_user(user).access_token)

    response = api_client.post(REFRESH_URL, {"refresh": access})

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_refresh_with_a_tampered_token_is_401_token_not_valid(api_client, user):
    token = str(RefreshToken.for_user(user))
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    response = api_client.post(REFRESH_URL, {"refresh": tampered})

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_refresh_with_a_token_of_a_deleted_user_is_401_token_not_valid(api_client):
    ghost = make_user("ghost")
    token = str(RefreshToken.for_user(ghost))
    ghost.delete()

    response = APIClient(raise_request_exception=False).post(REFRESH_URL, {"refresh": token})

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


# --- Logout ---------------------------------------------------------------------------


def test_logout_blacklists_the_refresh_token_and_answers_205(user):
    refresh = RefreshToken.for_user(user)
    client = bearer(refresh.access_token)

    response = client.post(LOGOUT_URL, {"refresh": str(refresh)})

    assert response.status_code == 205
    assert BlacklistedToken.objects.filter(token__jti=refresh["jti"]).exists()
    replay = APIClient().post(REFRESH_URL, {"refresh": str(refresh)})
    assert replay.status_code == 401
    assert replay.json()["code"] == "token_not_valid"


def test_logout_with_another_users_refresh_token_is_401_and_blacklists_nothing(
    auth_client, other_user
):
    strangers = RefreshToken.for_user(other_user)

    response = auth_client.post(LOGOUT_URL, {"refresh": str(strangers)})

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
    assert BlacklistedToken.objects.count() == 0
    assert APIClient().post(REFRESH_URL, {"refresh": str(strangers)}).status_code == 200


def test_logout_with_a_garbage_refresh_token_is_401_token_not_valid(auth_client):
    response = auth_client.post(LOGOUT_URL, {"refresh": "not-a-jwt"})

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
    assert BlacklistedToken.objects.count() == 0


def test_logout_without_a_refresh_token_is_400_on_refresh(auth_client):
    response = auth_client.post(LOGOUT_URL, {})

    assert response.status_code == 400
    assert "refresh" in response.json()["errors"]


def test_logout_without_authentication_is_401_not_authenticated(api_client, user):
    refresh = RefreshToken.for_user(user)

    response = api_client.post(LOGOUT_URL, {"refresh": str(refresh)})

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert BlacklistedToken.objects.count() == 0


# --- /api/me/ -------------------------------------------------------------------------


def test_me_returns_the_signed_in_user(auth_client, user):
    response = auth_client.get(ME_URL)

    assert response.status_code == 200
    assert response.json() == {
        "id": user.pk,
        "username": "alice",
        "email": "alice@example.com",
        "is_staff": False,
    }


def test_me_tells_staff_that_they_are_staff(staff_client):
    assert staff_client.get(ME_URL).json()["is_staff"] is True


@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_me_is_read_only_and_other_methods_are_405(auth_client, user, method):
    response = getattr(auth_client, method)(ME_URL, {"username": "hijack", "is_staff": True})

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    user.refresh_from_db()
    assert (user.username, user.is_staff) == ("alice", False)


def test_me_without_a_header_is_401_not_authenticated(api_client):
    response = api_client.get(ME_URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_me_with_another_auth_scheme_is_401_not_authenticated(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION="Basic x")

    response = api_client.get(ME_URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer not-a-jwt", "Bearer two tokens", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x"],
)
def test_me_with_a_malformed_bearer_header_is_401_token_not_valid(api_client, header):
    api_client.credentials(HTTP_AUTHORIZATION=header)

    response = api_client.get(ME_URL)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_me_with_a_refresh_token_used_as_access_is_401_token_not_valid(user):
    client = bearer(RefreshToken.for_user(user))

    response = client.get(ME_URL)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_me_with_the_token_of_a_deactivated_user_is_401_token_not_valid(user):
    client = client_for(user)
    user.is_active = False
    user.save()

    response = client.get(ME_URL)

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_refreshing_a_deactivated_users_token_is_401_token_not_valid(api_client, user):
    refresh = str(RefreshToken.for_user(user))
    user.is_active = False
    user.save()

    response = api_client.post(REFRESH_URL, {"refresh": refresh}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
