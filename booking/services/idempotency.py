"""Idempotent booking: one answer per (user, Idempotency-Key)."""

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from ..exceptions import IdempotencyKeyReused
from ..models import Booking, IdempotencyKey, User
from .seating import lock_user
from .transactions import retry_on_lock_conflict


def request_fingerprint(*, method: str, path: str, body) -> str:
    """Hash what makes two requests "the same": method, path and JSON body."""
    canonical = json.dumps([method.upper(), path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _idempotency_keys_expire_before(now: datetime) -> datetime:
    return now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


@retry_on_lock_conflict
def book_seats_idempotently(
    *,
    user: User,
    key: str,
    fingerprint: str,
    now: datetime,
    book: Callable[[], Booking],
    render: Callable[[Booking], dict],
) -> tuple[dict, bool]:
    """Run book() once per (user, key); return (201 body, replayed?).

    Keyed bookings of one user are serialised on that user's row: a retry racing the
    original waits there, then finds the key the original stored (and replays its
    answer) or finds none because the original failed (and books afresh). Waiting on
    the key's unique index instead would deadlock the waiters whenever the original
    rolled back. A failed booking rolls its key back too: only a 201 is ever stored.
    """
    key_digest = hashlib.sha256(key.encode()).hexdigest()
    with transaction.atomic():
        lock_user(user)
        stored = IdempotencyKey.objects.filter(user=user, key_digest=key_digest).first()
        if stored is not None and stored.created_at < _idempotency_keys_expire_before(now):
            stored.delete()
            stored = None
        if stored is not None:
            if stored.fingerprint != fingerprint:
                raise IdempotencyKeyReused()
            return stored.response_body, True
        body = render(book())
        IdempotencyKey.objects.create(
            user=user,
            key_digest=key_digest,
            fingerprint=fingerprint,
            response_body=body,
            created_at=now,
        )
    return body, False


@retry_on_lock_conflict
def purge_expired_idempotency_keys(*, now: datetime) -> int:
    """Delete idempotency keys past their time to live; return how many."""
    expired = IdempotencyKey.objects.filter(created_at__lt=_idempotency_keys_expire_before(now))
    with transaction.atomic():
        deleted, _ = expired.delete()
    return deleted
