"""Transactions that lost a race: retried from scratch, then answered 503 `busy`."""

import functools
import logging

from django.db import OperationalError, transaction

from ..exceptions import Busy, is_lock_conflict

logger = logging.getLogger(__name__)

LOCK_CONFLICT_ATTEMPTS = 3
# A best-available pick loses its block when someone else claims part of it first; in a
# flash sale everyone wants the same best block, so one request may lose several rounds.
PICK_ATTEMPTS = 30


class PickLost(Exception):
    """A seat chosen inside this transaction was claimed by another one first.

    Raised inside the transaction, so that it rolls back and lets go of every row it
    locked (InnoDB keeps row locks until the transaction ends, savepoint or not); the
    retry then reads the seats afresh and picks the next best block.
    """


def retry_on_lock_conflict(func):
    """Re-run func in a fresh transaction when it lost a lock wait, a deadlock or a pick.

    Only the outermost call can retry: inside someone else's transaction the work
    done so far is already lost, so the error goes up to the caller.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if transaction.get_connection().in_atomic_block:
            return func(*args, **kwargs)
        conflicts = picks = 0
        while True:
            try:
                return func(*args, **kwargs)
            except OperationalError as exc:
                if not is_lock_conflict(exc):
                    raise
                conflicts += 1
                logger.warning(
                    "%s: lock conflict (attempt %d/%d): %s",
                    func.__name__,
                    conflicts,
                    LOCK_CONFLICT_ATTEMPTS,
                    exc,
                )
                if conflicts >= LOCK_CONFLICT_ATTEMPTS:
                    raise Busy() from None
            except PickLost:
                picks += 1
                if picks >= PICK_ATTEMPTS:
                    logger.warning(
                        "%s: lost %d best-available picks in a row", func.__name__, picks
                    )
                    raise Busy() from None

    return wrapper
