"""Helpers for races on real threads, each on its own database connection."""

import threading
from collections.abc import Callable

from django.db import connection

from booking.models import User

# Hang guards only (a broken lock would otherwise block the run); nothing asserts on time.
BARRIER_TIMEOUT_SECONDS = 30
JOIN_TIMEOUT_SECONDS = 120


def run_together(calls: list[Callable]) -> list:
    """Run each call on its own thread and connection, all released at once; return results.

    A call that raises has its exception re-raised here, so no error is lost in a thread.
    """
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)
    failures = []

    def worker(index, call):
        try:
            barrier.wait(timeout=BARRIER_TIMEOUT_SECONDS)
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - handed to the main thread below
            failures.append(exc)
        finally:
            connection.close()  # this thread's own connection

    threads = [
        threading.Thread(target=worker, args=(index, call), daemon=True)
        for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a thread never finished"
    if failures:
        raise failures[0]
    return results


def make_racers(count: int, prefix: str = "racer") -> list[User]:
    # No password: hashing one per racer would only slow the setup down.
    return [
        User.objects.create_user(username=f"{prefix}{n}", email=f"{prefix}{n}@example.com")
        for n in range(count)
    ]
