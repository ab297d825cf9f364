"""Circuit breakers: after a dependency fails, skip it for a while instead of making every
request wait for it; and warnings about an outage logged once per interval, not per request.

A database or a Redis server that hangs (frozen host, lost network) does not refuse
connections: every call waits for its full timeout. Without a breaker each request pays
that wait, each gunicorn worker queues behind it, and each failure logs a traceback. The
breakers here live in each process (each gunicorn worker learns of the outage on its own,
by one failed call), need no shared state, and so keep working when Redis is the thing
that is down.
"""

import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError
from django.db import connection as db_connection

logger = logging.getLogger(__name__)

# How often an ongoing outage is logged (the first failure is logged at once).
OUTAGE_LOG_INTERVAL_SECONDS = 60


class OutageLog:
    """Log a warning at most once per interval, counting the ones left out."""

    def __init__(
        self,
        log: logging.Logger,
        *,
        interval_seconds: float = OUTAGE_LOG_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.log = log
        self.interval_seconds = interval_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._last_logged: float | None = None
        self._suppressed = 0

    def warning(self, message: str, *args) -> None:
        now = self.clock()
        with self._lock:
            if self._last_logged is not None and now - self._last_logged < self.interval_seconds:
                self._suppressed += 1
                return
            suppressed, self._suppressed = self._suppressed, 0
            self._last_logged = now
        if suppressed:
            message += f" ({suppressed} more since the last report)"
        self.log.warning(message, *args)

    def reset(self) -> None:
        """Forget the last report: the next outage is logged at once."""
        with self._lock:
            self._last_logged = None
            self._suppressed = 0


class Breaker:
    """Remember that a dependency failed, and until when to leave it alone.

    Closed: calls go through. A failure opens it for open_seconds; until then callers skip
    the dependency (a fast error instead of a slow one). After that, the next call tries
    for real: its success closes the breaker, its failure opens it again.
    """

    def __init__(
        self,
        name: str,
        *,
        open_seconds: Callable[[], float],
        consequence: str = "",
        clock: Callable[[], float] = time.monotonic,
    ):
        """open_seconds: returns how long to skip the dependency after a failure (0: never).

        consequence: what the outage means for the service, for the log.
        """
        self.name = name
        self._open_seconds = open_seconds
        self.consequence = consequence
        self.clock = clock
        self.outage_log = OutageLog(logger, clock=clock)
        self._lock = threading.Lock()
        self._failed_since: float | None = None
        self._retry_at = 0.0

    @property
    def open_seconds(self) -> float:
        return self._open_seconds()

    @property
    def enabled(self) -> bool:
        return self.open_seconds > 0

    @property
    def failing(self) -> bool:
        """Whether the last call failed (open, or due for a retry)."""
        return self._failed_since is not None

    def is_open(self) -> bool:
        """Whether callers should skip the dependency now."""
        return self.enabled and self._failed_since is not None and self.clock() < self._retry_at

    def seconds_left(self) -> float:
        return max(0.0, self._retry_at - self.clock())

    def record_failure(self, error: object, *, retry_in_seconds: float | None = None) -> None:
        """Open the breaker for open_seconds (or retry_in_seconds); log once per interval."""
        if self.enabled:
            now = self.clock()
            wait = self.open_seconds if retry_in_seconds is None else retry_in_seconds
            with self._lock:
                if self._failed_since is None:
                    self._failed_since = now
                self._retry_at = now + wait
            skipped = self._while_open()
        else:
            skipped = ""
        consequence = f"; {self.consequence}" if self.consequence else ""
        self.outage_log.warning("%s unavailable (%s)%s%s", self.name, error, skipped, consequence)

    def _while_open(self) -> str:
        return f": skipped for {self.open_seconds}s at a time until it answers again"

    def record_success(self) -> None:
        with self._lock:
            failed_since, self._failed_since = self._failed_since, None
        if failed_since is not None:
            self.outage_log.reset()
            logger.warning("%s answers again after %.1fs", self.name, self.clock() - failed_since)

    def reset(self) -> None:
        """Forget every failure and report, without a word (for tests)."""
        with self._lock:
            self._failed_since = None
            self._retry_at = 0.0
        self.outage_log.reset()


# --- The database ---------------------------------------------------------------------


class DatabaseBreaker(Breaker):
    """The database's breaker, confirmed and closed by probes (database_answers).

    closed   requests go through.
    suspect  a request found the database unavailable (note_failure): a probe starts at
             once, and the next request waits for its answer, at most
             DB_PROBE_TIMEOUT_SECONDS. A one-off error (a connection cut by a restart)
             costs that probe, a few milliseconds, and no 503.
    open     the probe failed: requests are answered 503 at once, waiting for nothing,
             and a probe runs in the background every DB_BREAKER_SECONDS.
    The first probe that succeeds, whoever started it (/healthz too), closes it.
    """

    def __init__(self):
        super().__init__(
            "database",
            open_seconds=lambda: settings.DB_BREAKER_SECONDS,
            consequence="answering 503 service_unavailable",
        )
        self._confirmed = False

    def note_failure(self, error: object) -> None:
        """A request found the database unavailable: suspect it and start a probe."""
        self.record_failure(error, retry_in_seconds=0)
        if self.enabled:
            start_probe()

    def confirm(self, error: object) -> None:
        """A probe found no database: open, probing again in DB_BREAKER_SECONDS."""
        self.record_failure(error)
        self._confirmed = self.failing

    def allows_request(self) -> bool:
        """Tell whether a request may use the database now (never waits when open)."""
        if not self.failing:
            return True
        if not self._confirmed:
            if database_answers():
                return True  # the probe's success has closed the breaker
            self.confirm("no answer to a probe")
            return False
        with self._lock:
            due = self.clock() >= self._retry_at
            if due:
                self._retry_at = self.clock() + self.open_seconds
        if due:
            start_probe()  # in the background: its success closes the breaker
        return False

    def _while_open(self) -> str:
        return f": probed every {self.open_seconds}s until it answers again"

    def record_success(self) -> None:
        self._confirmed = False
        super().record_success()

    def reset(self) -> None:
        self._confirmed = False
        super().reset()


database_breaker = DatabaseBreaker()


class _Probe:
    def __init__(self):
        self.done = threading.Event()
        self.answered = False


_probe_lock = threading.Lock()
_probe_in_flight: _Probe | None = None
_last_answer: tuple[object, float] | None = None  # (connection, when) of the last success


def start_probe(*, connection=db_connection) -> _Probe:
    """Start `SELECT 1` in a thread of its own, unless one is running; return that probe.

    The thread uses its own connection (Django's `connection` is one per thread) and
    closes it. Only one probe runs at a time per process, so a frozen database never
    collects more than one waiting connection per process. A probe that succeeds closes
    the database breaker.
    """
    global _probe_in_flight
    with _probe_lock:
        probe = _probe_in_flight
        if probe is None:
            probe = _probe_in_flight = _Probe()
            threading.Thread(
                target=_run_probe, args=(probe, connection), daemon=True, name="db-probe"
            ).start()
    return probe


def database_answers(
    *,
    connection=db_connection,
    timeout_seconds: float | None = None,
    reuse_seconds: float = 0.0,
) -> bool:
    """Tell whether the database answers `SELECT 1` on a fresh connection within timeout.

    Waits for the probe (start_probe) at most timeout_seconds (DB_PROBE_TIMEOUT_SECONDS),
    whatever the driver's own timeouts are: a frozen server cannot hold the caller longer.
    reuse_seconds: a success that recent (and no failure since) is answer enough, so
    that a flood of callers costs the database at most one connection that often.
    """
    if timeout_seconds is None:
        timeout_seconds = settings.DB_PROBE_TIMEOUT_SECONDS
    last = _last_answer
    if (
        reuse_seconds
        and last is not None
        and last[0] is connection
        and time.monotonic() - last[1] < reuse_seconds
        and not database_breaker.failing
    ):
        return True
    probe = start_probe(connection=connection)
    return probe.done.wait(timeout_seconds) and probe.answered


def serves_clients(cursor, *, vendor: str) -> bool:
    """Tell whether the server behind cursor serves statements on tables.

    A MariaDB Galera node cut off from the primary component still answers `SELECT 1`
    but refuses every statement on a table (1047): not ready (wsrep_ready OFF) is no
    answer. MariaDB without Galera reports wsrep_ready OFF too, so only a node with
    wsrep on is asked; MySQL has no such variable.
    """
    if vendor != "mysql":
        return True
    try:
        cursor.execute("SELECT @@wsrep_on")
        wsrep_on = cursor.fetchone()[0]
    except DatabaseError:  # MySQL: unknown system variable, no Galera
        return True
    if not wsrep_on:
        return True
    cursor.execute("SHOW STATUS LIKE 'wsrep_ready'")
    row = cursor.fetchone()
    return row is not None and row[1] == "ON"


def _run_probe(probe: _Probe, connection) -> None:
    global _probe_in_flight, _last_answer
    try:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                probe.answered = cursor.fetchone() is not None and serves_clients(
                    cursor, vendor=connection.vendor
                )
        finally:
            connection.close()
    except Exception:  # noqa: BLE001 - whatever went wrong, the database did not answer
        probe.answered = False
    finally:
        with _probe_lock:
            _probe_in_flight = None
        probe.done.set()
    if probe.answered:
        _last_answer = (connection, time.monotonic())
        if database_breaker.failing:
            database_breaker.record_success()
