"""Bearer JWT authentication that answers 401 for every unusable token, never 500."""

from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings

MAX_ID = 2**63


class BearerJWTAuthentication(JWTAuthentication):
    def get_user(self, validated_token):
        user_id = validated_token.get(api_settings.USER_ID_CLAIM)
        # A validly signed token may still carry a user id that is no id ("abc", 3.5, a
        # list): simplejwt would hand it to the database and fail with a 500.
        if isinstance(user_id, bool) or not isinstance(user_id, int | str):
            raise InvalidToken("This token names no user.")
        if isinstance(user_id, str) and not (user_id.isascii() and user_id.isdecimal()):
            raise InvalidToken("This token names no user.")
        if not 0 < int(user_id) < MAX_ID:  # the database could not even compare it
            raise InvalidToken("This token names no user.")
        return super().get_user(validated_token)
