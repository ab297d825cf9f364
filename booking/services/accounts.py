"""Accounts: signup and logout."""

from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken

from ..models import User


def create_user(*, username: str, email: str, password: str) -> User:
    """Create a user; the serializer has already checked that the names are free."""
    try:
        with transaction.atomic():
            return User.objects.create_user(username=username, email=email, password=password)
    except IntegrityError:
        # Two signups raced for the same name: the unique constraints let one through.
        errors = {}
        if User.objects.filter(username__iexact=username).exists():
            errors["username"] = ["A user with that username already exists."]
        if User.objects.filter(email__iexact=email).exists():
            errors["email"] = ["A user with that email already exists."]
        raise ValidationError(errors or {"non_field_errors": ["Please try again."]}) from None


def revoke_refresh_token(*, user: User, token: str) -> None:
    """Blacklist one of user's refresh tokens (log out); someone else's is refused."""
    try:
        refresh = RefreshToken(token)
    except TokenError as exc:
        raise InvalidToken(str(exc)) from None
    if str(refresh.get(jwt_settings.USER_ID_CLAIM)) != str(user.pk):
        raise InvalidToken("This refresh token belongs to another user.")
    refresh.blacklist()
