"""Accounts: signup, logout, password change and reset, account deletion."""

import logging
import secrets
import threading
from datetime import datetime

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework.exceptions import ValidationError
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken

from .. import readcache
from ..exceptions import Busy
from ..models import Booking, Hold, Seat, Show, User
from ..selectors import same_name
from .seating import end_hold
from .transactions import catch_up, retry_on_lock_conflict

logger = logging.getLogger(__name__)


def create_user(*, username: str, email: str, password: str) -> User:
    """Create a user; the serializer has already checked that the names are free."""
    try:
        return _insert_user(username=username, email=email, password=password)
    except (IntegrityError, Busy) as exc:
        # Two signups raced for the same name: the unique keys let one through. On one
        # server the loser gets a duplicate key (1062); across Galera nodes it may learn
        # it as a conflict at COMMIT instead (1213, retried until it sees the winner's
        # row, or Busy). Either way, read the names once this node has caught up with
        # the cluster, so that the answer is the contract's 400 on the name taken.
        catch_up()
        errors = {}
        if User.objects.filter(same_name("username", username)).exists():
            errors["username"] = ["A user with that username already exists."]
        if User.objects.filter(same_name("email", email)).exists():
            errors["email"] = ["A user with that email already exists."]
        if errors:
            raise ValidationError(errors) from None
        if isinstance(exc, Busy):
            raise
        raise ValidationError({"non_field_errors": ["Please try again."]}) from None


@retry_on_lock_conflict
def _insert_user(**fields) -> User:
    with transaction.atomic():  # COMMIT inside the retried call: its conflict is retried
        return User.objects.create_user(**fields)


@retry_on_lock_conflict
def revoke_refresh_token(*, user: User, token: str) -> None:
    """Blacklist one of user's refresh tokens (log out); someone else's is refused."""
    try:
        refresh = RefreshToken(token)
    except TokenError as exc:
        raise InvalidToken(str(exc)) from None
    if str(refresh.get(jwt_settings.USER_ID_CLAIM)) != str(user.pk):
        raise InvalidToken("This refresh token belongs to another user.")
    with transaction.atomic():  # a redemption of it on another node may conflict: retried
        refresh.blacklist()


# --- Self-service: password change and reset, account deletion -----------------------
# Every token carries a digest of the password hash it was issued under (simplejwt's
# CHECK_REVOKE_TOKEN); changing the password changes the hash, so every access and
# refresh token issued before is refused, whatever second it was issued in.


@retry_on_lock_conflict
def change_password(*, user: User, new_password: str) -> None:
    """Set user's password (already validated); every earlier token stops working."""
    user.set_password(new_password)
    with transaction.atomic():  # a write to the user's row on another node may conflict
        user.save(update_fields=["password"])


def request_password_reset(*, email: str) -> None:
    """Email a one-time reset link to the active account of email, if there is one.

    The answer must not tell whether the address is known, in its body or its timing:
    the lookup and the sending happen after the response, on a short-lived thread.
    """
    _in_background(_send_reset_email, email)


def _in_background(function, *args) -> None:
    """Run function(*args) on its own thread (the tests replace this to run it inline)."""

    def run():
        try:
            function(*args)
        finally:
            connection.close()  # the thread's own connection

    threading.Thread(target=run, daemon=True).start()


def user_of_reset_link(*, uid: str, token: str) -> User:
    """Return the user a valid reset link is for; a 400 on `token` otherwise."""
    try:
        pk = int(urlsafe_base64_decode(uid).decode())
        user = User.objects.get(pk=pk, is_active=True)
    except (ValueError, OverflowError, UnicodeDecodeError, User.DoesNotExist):
        user = None
    if user is None or not default_token_generator.check_token(user, token):
        raise ValidationError({"token": ["This reset link is invalid, used or expired."]})
    return user


@retry_on_lock_conflict
def delete_account(*, user: User, now: datetime) -> None:
    """Close user's account for good, keeping the cinema's books.

    In one transaction: every booking of a show that has not started is cancelled (its
    seats free at once, cutoff or not), every active hold released, and the account
    scrubbed: it cannot log in, its username and email are free again. Past bookings
    stay `booked`, attached to the anonymous account.
    """
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        upcoming = Booking.objects.select_for_update().filter(
            user=locked, status=Booking.Status.BOOKED, show__start_time__gt=now
        )
        changed_shows = set()
        for booking in upcoming:
            booking.status = Booking.Status.CANCELLED
            booking.cancelled_at = now
            booking.save(update_fields=["status", "cancelled_at"])
            Seat.objects.filter(booking=booking).update(booking=None)
            changed_shows.add(booking.show_id)
        for hold in Hold.objects.select_for_update().filter(user=locked, status=Hold.Status.ACTIVE):
            end_hold(hold, status=Hold.Status.RELEASED, now=now)
            changed_shows.add(hold.show_id)
        for show_id, movie_id in Show.objects.filter(pk__in=changed_shows).values_list(
            "pk", "movie_id"
        ):
            readcache.seats_changed(show_id, movie_id)
        marker = f"deleted-{locked.pk}-{secrets.token_hex(4)}"
        locked.username = marker
        locked.email = f"{marker}@deleted.invalid"
        locked.first_name = locked.last_name = ""
        locked.is_active = locked.is_staff = locked.is_superuser = False
        locked.set_unusable_password()  # and every token it had is refused
        locked.save()
        locked.groups.clear()
        locked.user_permissions.clear()


def _send_reset_email(email: str) -> None:
    try:
        user = (
            User.objects.filter(email__iexact=email, is_active=True)
            .exclude(password__startswith=UNUSABLE_PASSWORD_PREFIX)
            .first()
        )
        if user is None:
            return
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        template = settings.PASSWORD_RESET_URL
        link = template.format(uid=uid, token=token) if template else None
        minutes = settings.PASSWORD_RESET_TIMEOUT // 60
        lines = [
            f"Hello {user.username},",
            "",
            "someone (hopefully you) asked to reset the password of your account.",
        ]
        if link:
            lines += ["Choose a new password here:", "", link]
        else:
            lines += [
                "Send these to POST /api/password-reset/confirm/ with your new password:",
                f"uid: {uid}",
                f"token: {token}",
            ]
        what = "The link works" if link else "These codes work"
        lines += ["", f"{what} once, for {minutes} minutes. Ignore this mail otherwise."]
        send_mail(
            "Reset your password",
            "\n".join(lines),
            settings.DEFAULT_FROM_EMAIL,
            [user.email],
        )
    except Exception:  # a thread of its own: nobody else would see the error
        logger.exception("password reset email to a known address failed")


CINEMA_STAFF_GROUP = "Cinema staff"  # created by migration 0004


def make_cinema_staff(*, user: User) -> User:
    """Give user the admin and the staff API, without superuser powers."""
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.groups.add(Group.objects.get(name=CINEMA_STAFF_GROUP))
    return user
