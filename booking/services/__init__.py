"""Writes: every change to users, the catalogue, venues and bookings goes through here.

One module per domain; this package re-exports their public functions, so callers
write `services.book_seats(...)` without knowing where it lives.
"""

from .accounts import (
    change_password,
    create_user,
    delete_account,
    make_cinema_staff,
    request_password_reset,
    revoke_refresh_token,
    user_of_reset_link,
)
from .bookings import book_seats, cancel_booking
from .catalogue import (
    create_movie,
    create_show,
    delete_movie,
    delete_show,
    update_movie,
    update_show,
)
from .checkout import confirm_hold, expire_holds, hold_seats, release_hold
from .idempotency import (
    book_seats_idempotently,
    purge_expired_idempotency_keys,
    request_fingerprint,
)
from .transactions import retry_on_lock_conflict
from .venues import (
    create_cinema,
    create_screen,
    delete_cinema,
    delete_screen,
    update_cinema,
    update_screen,
)

__all__ = [
    "book_seats",
    "book_seats_idempotently",
    "cancel_booking",
    "change_password",
    "confirm_hold",
    "create_cinema",
    "create_movie",
    "create_screen",
    "create_show",
    "create_user",
    "delete_account",
    "delete_cinema",
    "delete_movie",
    "delete_screen",
    "delete_show",
    "expire_holds",
    "hold_seats",
    "make_cinema_staff",
    "purge_expired_idempotency_keys",
    "release_hold",
    "request_fingerprint",
    "request_password_reset",
    "retry_on_lock_conflict",
    "revoke_refresh_token",
    "update_cinema",
    "update_movie",
    "update_screen",
    "update_show",
    "user_of_reset_link",
]
