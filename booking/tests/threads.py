"""Helpers for races on real threads, each on its own database connection.

On a MariaDB Galera cluster, GALERA_NODES (host:port,host:port,... as `make test-galera`
sets it) spreads the threads over the nodes: thread i connects to node i mod n, so that
racing transactions meet the way they do behind a multi-writer load balancer, where
only the rows (and unique keys) they write exclude each other. The test itself stays on
its own connection (DB_HOST/DB_PORT, node 1).
"""

import os
import threading
from collections.abc import Callable

from django.db import connection

from booking.models import User
from booking.services.transactions import catch_up

# Hang guards only (a broken lock would otherwise block the run); nothing asserts on time.
BARRIER_TIMEOUT_SECONDS = 30
JOIN_TIMEOUT_SECONDS = 120


def galera_nodes() -> list[tuple[str, str]]:
    """The (host, port) of each node listed in GALERA_NODES; [] when unset or not MariaDB."""
    if connection.vendor != "mysql":
        return []
    nodes = []
    for item in os.environ.get("GALERA_NODES", "").split(","):
        host, _, port = item.strip().rpartition(":")
        if host and port:
            nodes.append((host, port))
    return nodes


def connect_to(node: tuple[str, str]) -> None:
    """Point this thread's connection (opened on first use) at node, caught up with it.

    The catch-up makes the node apply what the test wrote on its own node first, as a
    client's next request would see it with DB_WSREP_SYNC_WAIT on.
    """
    host, port = node
    connection.close()
    connection.settings_dict = {**connection.settings_dict, "HOST": host, "PORT": port}
    catch_up()


def run_together(calls: list[Callable], *, one_node: bool = False) -> list:
    """Run each call on its own thread and connection, all released at once; return results.

    A call that raises has its exception re-raised here, so no error is lost in a thread.
    With GALERA_NODES set the threads are spread over the nodes, unless one_node (for
    the controls, which show what a row lock does on one server).
    """
    nodes = [] if one_node else galera_nodes()
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)
    failures = []

    def worker(index, call):
        try:
            if nodes:
                connect_to(nodes[index % len(nodes)])
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
    if nodes:
        catch_up()  # the test's own node has applied what every thread committed
    if failures:
        raise failures[0]
    return results


def make_racers(count: int, prefix: str = "racer") -> list[User]:
    # No password: hashing one per racer would only slow the setup down.
    return [
        User.objects.create_user(username=f"{prefix}{n}", email=f"{prefix}{n}@example.com")
        for n in range(count)
    ]
