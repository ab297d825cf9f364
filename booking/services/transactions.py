"""Transactions that lost a race: retried from scratch, then answered 503 `busy`.

Two ways to lose, on one server or on a MariaDB Galera cluster alike:

* a lock wait that timed out (1205): each costs DB_LOCK_WAIT_TIMEOUT_SECONDS, so only a
  few are worth waiting out again;
* a deadlock (1213): on one server InnoDB picks a victim at once; on a Galera cluster it
  is also how a transaction learns that another node committed a write to one of its
  rows (or one of its unique keys) first — at any statement, COMMIT included. Those are
  lost in milliseconds, so they are retried more often, after a short random pause (so
  that the same racers do not meet again in step) and after this node has caught up with
  the cluster (`catch_up`): the next attempt then sees the winner's writes instead of
  conflicting with them again.

The retried function must own its transaction (`with transaction.atomic():` inside it,
or `@transaction.atomic` under this decorator): COMMIT's errors are then raised inside
the retried call.
"""

import functools
import logging
import random
import time

from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    OperationalError,
    connection,
    connections,
    transaction,
)

from ..exceptions import MYSQL_LOCK_WAIT_TIMEOUT, Busy, is_lock_conflict

logger = logging.getLogger(__name__)

# Lock waits that timed out: each already took DB_LOCK_WAIT_TIMEOUT_SECONDS.
LOCK_WAIT_ATTEMPTS = 3
# Deadlocks and Galera certification conflicts: cheap, and common across nodes when many
# clients want the same rows (one user's parallel requests, a flash sale's best block).
LOCK_CONFLICT_ATTEMPTS = 10
# Pause before retry n is random in [0, n x this]: 5, 10, 15 ms... (225 ms in all at most).
CONFLICT_BACKOFF_SECONDS = 0.005
# A claim loses when someone else takes one of its seats between its read and its write;
# in a flash sale everyone wants the same best block, so one request may lose several
# rounds (each new round reads the seats afresh: a lost seat is then a 409, or the next
# best block is picked).
CLAIM_ATTEMPTS = 30


class ClaimLost(Exception):
    """A seat read as free inside this transaction was taken by another one first (or the
    random booking reference drawn was taken).

    Raised inside the transaction, so that it rolls back and lets go of every row it
    wrote (InnoDB keeps row locks until the transaction ends, savepoint or not); the
    retry then starts over with a fresh read.
    """


def retry_on_lock_conflict(func):
    """Re-run func in a fresh transaction when it lost a lock wait, a deadlock or a claim.

    Only the outermost call can retry: inside someone else's transaction the work
    done so far is already lost, so the error goes up to the caller.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if transaction.get_connection().in_atomic_block:
            return func(*args, **kwargs)
        waits = conflicts = claims = 0
        while True:
            try:
                return func(*args, **kwargs)
            except OperationalError as exc:
                if not is_lock_conflict(exc):
                    raise
                if _is_lock_wait_timeout(exc):
                    waits += 1
                    attempt, attempts, pause = waits, LOCK_WAIT_ATTEMPTS, 0.0
                else:
                    conflicts += 1
                    attempt, attempts = conflicts, LOCK_CONFLICT_ATTEMPTS
                    pause = random.uniform(0, CONFLICT_BACKOFF_SECONDS * conflicts)  # noqa: S311
                logger.warning(
                    "%s: lock conflict (attempt %d/%d): %s",
                    func.__name__,
                    attempt,
                    attempts,
                    exc,
                )
                if attempt >= attempts:
                    raise Busy() from None
                time.sleep(pause)
                catch_up()
            except ClaimLost:
                claims += 1
                if claims >= CLAIM_ATTEMPTS:
                    logger.warning("%s: lost %d claims in a row", func.__name__, claims)
                    raise Busy() from None

    return wrapper


def _is_lock_wait_timeout(exc: OperationalError) -> bool:
    """Tell whether a lock conflict was a wait that timed out (it already cost a while)."""
    errno = exc.args[0] if exc.args else None
    return errno == MYSQL_LOCK_WAIT_TIMEOUT or "lock timeout" in str(exc).lower()


def catch_up() -> None:
    """On a Galera node, wait until it has applied everything committed anywhere before.

    Reads after this see every transaction that had committed on any node when it was
    called (Galera's causality check, wsrep_sync_wait, for one statement). A no-op on
    other databases and on a MariaDB without Galera.
    """
    if not on_galera():
        return
    with connection.cursor() as cursor:
        cursor.execute("SET STATEMENT wsrep_sync_wait=1 FOR SELECT 1")
        cursor.fetchall()


def on_galera() -> bool:
    """Tell whether this thread's connection is to a MariaDB Galera node (wsrep on)."""
    db = connections[DEFAULT_DB_ALIAS]  # once: every cached read asks (booking.readcache)
    if db.vendor != "mysql":
        return False
    if db.connection is None:
        db.ensure_connection()
    raw = db.connection
    known = getattr(raw, "booking_wsrep_on", None)  # asked once per connection
    if known is None:
        try:
            with db.cursor() as cursor:
                cursor.execute("SELECT @@wsrep_on")
                known = bool(cursor.fetchone()[0])
        except DatabaseError:  # MySQL has no such variable: no Galera
            known = False
        raw.booking_wsrep_on = known
    return known
