"""Bearer JWT authentication that answers 401 for every unusable token, never 500."""

import functools

from django.core.signals import setting_changed
from django.db import connection
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import aware_utcnow, get_md5_hash_password

from .models import MAX_ID, User
from .sql import fetch_one

# Tokens this process verified lately (per process, each about 2 KB): a client sends its
# access token with every request for its hour of life.
VERIFIED_TOKENS = 4096


class BearerJWTAuthentication(JWTAuthentication):
    def get_validated_token(self, raw_token: bytes) -> Token:
        """simplejwt's (same checks, same errors), remembering the tokens it verified.

        Decoding and checking a token's signature is a third of what authenticating
        costs (PyJWT checks every base64 character in Python), and a token's bytes verify
        the same way every time; only its expiry moves, so that is checked on every use.
        An expired or refused token goes through simplejwt, for its usual 401.
        """
        token = _verified(raw_token)  # raises simplejwt's 401 for a refused one
        try:
            token.check_exp(current_time=aware_utcnow())
        except TokenError:  # expired since: simplejwt says so as it always does
            return super().get_validated_token(raw_token)
        return token

    def get_user(self, validated_token):
        """simplejwt's get_user (same checks, same errors), with a cheaper lookup.

        Every signed-in request runs this: one plain SELECT of the whole row
        (booking.sql.fetch_one) costs a third of what `User.objects.get(id=...)` does.
        """
        user_id = validated_token.get(api_settings.USER_ID_CLAIM)
        # A validly signed token may still carry a user id that is no id ("abc", 3.5, a
        # list): simplejwt would hand it to the database and fail with a 500.
        if isinstance(user_id, bool) or not isinstance(user_id, int | str):
            raise InvalidToken("This token names no user.")
        if isinstance(user_id, str) and not (user_id.isascii() and user_id.isdecimal()):
            raise InvalidToken("This token names no user.")
        if not 0 < int(user_id) <= MAX_ID:  # the database could not even compare it
            raise InvalidToken("This token names no user.")
        user = user_by_id(int(user_id))
        if user is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        revoke_claim = validated_token.get(api_settings.REVOKE_TOKEN_CLAIM)
        if api_settings.CHECK_REVOKE_TOKEN and revoke_claim != get_md5_hash_password(user.password):
            raise AuthenticationFailed(
                _("The user's password has been changed."), code="password_changed"
            )
        return user


def user_by_id(user_id: int) -> User | None:
    found = fetch_one(User, _USER_FIELDS, _user_statement(connection.vendor), [user_id])
    return found[0] if found is not None else None


_USER_FIELDS = tuple(field.attname for field in User._meta.concrete_fields)


@functools.cache
def _user_statement(vendor: str) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in User._meta.concrete_fields)
    return f"SELECT {columns} FROM {quote(User._meta.db_table)} WHERE id = %s"  # noqa: S608


@functools.lru_cache(maxsize=VERIFIED_TOKENS)
def _verified(raw_token: bytes) -> Token:
    """The token of raw_token as simplejwt validates it (InvalidToken if it is refused).

    Only tokens signed with our key are kept (an exception is not cached), so nobody can
    fill it with garbage; a client with many valid tokens of its own pushes older ones
    out, and its requests cost what they did before.
    """
    return JWTAuthentication().get_validated_token(raw_token)


@receiver(setting_changed)
def _forget_verified_tokens(setting, **kwargs):
    if setting in {"SIMPLE_JWT", "SECRET_KEY"}:  # another key verifies otherwise
        _verified.cache_clear()
