"""Accounts: signup, tokens, the signed-in user."""

from django.contrib.auth import password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from ..models import User
from ..selectors import same_name
from ..services.transactions import retry_on_lock_conflict
from .common import UTCModelSerializer

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128


def password_field(**kwargs) -> serializers.CharField:
    return serializers.CharField(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        write_only=True,
        trim_whitespace=False,
        style={"input_type": "password"},
        **kwargs,
    )


def current_password_field(**kwargs) -> serializers.CharField:
    # No length rules: it only has to match, and a wrong one is just wrong.
    return serializers.CharField(
        max_length=MAX_PASSWORD_LENGTH,
        write_only=True,
        trim_whitespace=False,
        style={"input_type": "password"},
        **kwargs,
    )


def validate_new_password(password: str, user: User, field: str) -> None:
    """Run Django's password validators; a 400 on field."""
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise serializers.ValidationError({field: list(exc.messages)}) from None


class SignupInput(serializers.Serializer):
    username = serializers.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    email = serializers.EmailField(max_length=254)
    password = password_field()

    def validate_username(self, value):
        if User.objects.filter(same_name("username", value)).exists():
            raise serializers.ValidationError("A user with that username already exists.")
        return value

    def validate_email(self, value):
        if User.objects.filter(same_name("email", value)).exists():
            raise serializers.ValidationError("A user with that email already exists.")
        return value

    def validate(self, attrs):
        candidate = User(username=attrs["username"], email=attrs["email"])
        validate_new_password(attrs["password"], candidate, "password")
        return attrs


ACCESS_EXAMPLE = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0.c2lnbmF0dXJl"
REFRESH_EXAMPLE = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJl"
)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A new account",
            value={
                "id": 17,
                "username": "newfan",
                "email": "newfan@example.com",
                "access": ACCESS_EXAMPLE,
                "refresh": REFRESH_EXAMPLE,
            },
            response_only=True,
        )
    ]
)
class SignupOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.EmailField()
    access = serializers.CharField(help_text="JWT access token (Bearer).")
    refresh = serializers.CharField(help_text="JWT refresh token.")


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A token pair",
            value={"access": ACCESS_EXAMPLE, "refresh": REFRESH_EXAMPLE},
            response_only=True,
        )
    ]
)
class TokenPairOutput(serializers.Serializer):
    access = serializers.CharField(help_text="JWT access token (Bearer).")
    refresh = serializers.CharField(help_text="JWT refresh token (rotates on refresh).")


class LogoutInput(serializers.Serializer):
    refresh = serializers.CharField(help_text="The refresh token to revoke.")


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A customer",
            value={"id": 2, "username": "demo", "email": "demo@example.com", "is_staff": False},
            response_only=True,
        )
    ]
)
class MeOutput(UTCModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email", "is_staff"]


class TokenRefreshInput(TokenRefreshSerializer):
    """simplejwt's refresh, redeemable once even under parallel redemptions, and refused
    for a token issued before a password change."""

    def validate(self, attrs):
        refresh = self.token_class(attrs["refresh"])
        user = user_of_token(refresh)
        if refresh.payload.get(jwt_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(
            user.password
        ):
            raise InvalidToken("This token was issued before the password changed.")
        return self._redeem(refresh, attrs)

    @retry_on_lock_conflict  # a redemption on another Galera node may win, even at COMMIT
    def _redeem(self, refresh, attrs):
        jti = refresh.payload[jwt_settings.JTI_CLAIM]
        with transaction.atomic():
            # Redeem once: parallel redemptions of one token queue on its outstanding row,
            # and each after the first finds it blacklisted. simplejwt alone checks, then
            # blacklists with get_or_create: ten at once all pass the check. Across Galera
            # nodes the row lock queues nobody, but the blacklist row's unique key does:
            # two redemptions that both insert it cannot both commit (1213, retried), and
            # one that is applied here while we hold the lock aborts us (1213 too) rather
            # than let get_or_create find it.
            refresh.outstand()
            OutstandingToken.objects.select_for_update().filter(jti=jti).values_list("pk").get()
            if BlacklistedToken.objects.filter(token__jti=jti).exists():
                raise InvalidToken("This refresh token was already used.")
            return super().validate(attrs)


def user_of_token(token) -> User:
    """Return the active user a token names; 401 token_not_valid if there is none."""
    try:
        return User.objects.get(
            pk=int(token.payload.get(jwt_settings.USER_ID_CLAIM)), is_active=True
        )
    except (TypeError, ValueError, OverflowError, User.DoesNotExist):
        raise InvalidToken("This token names no active user.") from None


class PasswordChangeInput(serializers.Serializer):
    current_password = current_password_field()
    new_password = password_field(
        help_text=f"{MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} characters."
    )

    def validate_current_password(self, value):
        if not self.context["user"].check_password(value):
            raise serializers.ValidationError("This is not your current password.")
        return value

    def validate(self, attrs):
        validate_new_password(attrs["new_password"], self.context["user"], "new_password")
        return attrs


class PasswordResetInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmInput(serializers.Serializer):
    uid = serializers.CharField(max_length=64, help_text="`uid` from the reset link.")
    token = serializers.CharField(max_length=128, help_text="`token` from the reset link.")
    new_password = password_field()


class AccountDeleteInput(serializers.Serializer):
    password = current_password_field(help_text="Your password, to confirm.")

    def validate_password(self, value):
        if not self.context["user"].check_password(value):
            raise serializers.ValidationError("This is not your password.")
        return value


class DetailOutput(serializers.Serializer):
    detail = serializers.CharField()
