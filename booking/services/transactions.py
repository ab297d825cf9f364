"""Transactions that lost a lock: retried from scratch, then answered 503 `busy`."""

import functools
import logging

from django.db import OperationalError, transaction

from ..exceptions import Busy, is_lock_conflict

logger = logging.getLogger(__name__)

LOCK_CONFLICT_ATTEMPTS = 3


def retry_on_lock_conflict(func):
    """Re-run func in a fresh transaction when it lost a lock wait or a deadlock.

    Only the outermost call can retry: inside someone else's transaction the work
    done so far is already lost, so the error goes up to the caller.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if transaction.get_connection().in_atomic_block:
            return func(*args, **kwargs)
        for attempt in range(1, LOCK_CONFLICT_ATTEMPTS + 1):
            try:
                return func(*args, **kwargs)
            except OperationalError as exc:
                if not is_lock_conflict(exc):
                    raise
                logger.warning(
                    "%s: lock conflict (attempt %d/%d): %s",
                    func.__name__,
                    attempt,
                    LOCK_CONFLICT_ATTEMPTS,
                    exc,
                )
        raise Busy()

    return wrapper
