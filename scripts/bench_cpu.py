"""How much CPU the servers under scripts/bench.py's ratios use, read from /proc.

User plus system time of a gunicorn server (master, live workers, and the workers it has
reaped), of the MariaDB threads serving the servers' connections plus MariaDB's
background threads (not other connections: a test suite may be running on the same
MariaDB), and of Redis. MariaDB and Redis must run on this machine.
"""

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import harness

CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
# Indexes in the fields of /proc/<pid>/stat after the command name (man 5 proc: field 3,
# state, is index 0): parent, then user and system time of the process and of its
# children that it has waited for.
PPID, UTIME, STIME, CUTIME, CSTIME = 1, 11, 12, 13, 14
GUNICORN_READ_ATTEMPTS = 5
# Before each segment, wait until the servers, MariaDB and Redis are idle (under this
# share of one CPU, over one step), so that work left over from the previous segment
# (InnoDB purge, a worker booting after a recycle) is not charged to the next one.
SETTLE_STEP_SECONDS = 0.2
SETTLE_IDLE_CPU_SHARE = 0.05
SETTLE_MAX_SECONDS = 3.0


def proc_stat(pid: int | str) -> list[str]:
    """Return the fields of /proc/<pid>/stat (pid may be "<pid>/task/<thread>")."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text.rsplit(")", 1)[1].split()  # the command name may hold spaces and ")"


def command_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def own_ticks(fields: list[str]) -> int:
    return int(fields[UTIME]) + int(fields[STIME])


def children_of(parent: int) -> list[int]:
    children = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if int(proc_stat(int(name))[PPID]) == parent:
                    children.append(int(name))
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
    return children


def gunicorn_ticks(master: int) -> tuple[int, frozenset[int]]:
    """Return the CPU ticks a gunicorn master, its live workers and the workers it has
    reaped (recycled after GUNICORN_MAX_REQUESTS, killed, crashed) have used so far, and
    its live workers."""
    for _ in range(GUNICORN_READ_ATTEMPTS):
        before = proc_stat(master)
        workers, ticks = set(), 0
        for pid in children_of(master):
            try:
                ticks += own_ticks(proc_stat(pid))
                workers.add(pid)
            except (OSError, IndexError, ValueError):
                continue  # exited and reaped: then the master's children's time moved
        after = proc_stat(master)
        # A worker reaped while we read would be counted twice or not at all: read again.
        if before[CUTIME : CSTIME + 1] == after[CUTIME : CSTIME + 1]:
            break
    ticks += own_ticks(after) + int(after[CUTIME]) + int(after[CSTIME])
    return ticks, frozenset(workers)


def mariadb_pid() -> int:
    """Find the MariaDB server this process is connected to among this machine's processes."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT @@pid_file")
        (pid_file,) = cursor.fetchone()
    try:
        pid = int(Path(pid_file).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pid = 0
    if command_name(pid) not in ("mariadbd", "mysqld"):
        raise SystemExit(
            f"the MariaDB server's process (pid file {pid_file}) is not on this machine: its "
            "CPU cannot be measured. Run the ratios next to it, or use --only scenarios."
        )
    return pid


def redis_command(address: tuple[str, int], *commands: list[str]) -> list[bytes]:
    """Send commands to the Redis at address (RESP, one connection); return its answers."""
    payload = b""
    for command in commands:
        payload += f"*{len(command)}\r\n".encode()
        for word in command:
            payload += f"${len(word.encode())}\r\n{word}\r\n".encode()
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(payload)
        reader = sock.makefile("rb")
        answers = []
        for _ in commands:
            line = reader.readline().rstrip(b"\r\n")
            if line.startswith(b"-"):
                raise SystemExit(f"Redis: {line[1:].decode()}")
            if line.startswith(b"$"):
                size = int(line[1:])
                answers.append(reader.read(size + 2)[:-2] if size >= 0 else b"")
            else:
                answers.append(line[1:])  # +OK, :1
        return answers


def redis_pid(address: tuple[str, int]) -> int:
    """Find the Redis at address among this machine's processes."""
    (info,) = redis_command(address, ["INFO", "server"])
    for line in info.decode().splitlines():
        if line.startswith("process_id:"):
            pid = int(line.split(":", 1)[1])
            if command_name(pid).startswith("redis-server"):
                return pid
    raise SystemExit(f"the Redis at {address} is not on this machine: its CPU cannot be read")


def mariadb_threads(pid: int) -> dict[int, int]:
    """Return the CPU ticks of each thread of process pid."""
    ticks = {}
    for name in os.listdir(f"/proc/{pid}/task"):
        try:
            ticks[int(name)] = own_ticks(proc_stat(f"{pid}/task/{name}"))
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile
    return ticks


@dataclass(frozen=True)
class CpuSample:
    """CPU ticks used so far: gunicorn servers, MariaDB (per thread, and in all), Redis."""

    app: int
    workers: frozenset[int]  # gunicorn workers alive
    db_threads: dict[int, int]  # thread id -> ticks
    db_foreign: frozenset[int]  # threads serving a connection that is not the servers'
    db_process: int
    redis: int


@dataclass(frozen=True)
class CpuUsage:
    """CPU seconds used between two samples.

    db counts the MariaDB threads that served the servers' connections, and its
    background threads (purge, page cleaner...): not the threads of other connections,
    such as a test suite running on the same server meanwhile. db_process is all of it.
    """

    app: float
    db: float
    redis: float
    db_process: float
    workers_started: int = 0  # gunicorn workers booted meanwhile (their boot is in app)

    @classmethod
    def between(cls, before: CpuSample, after: CpuSample) -> "CpuUsage":
        others = before.db_foreign | after.db_foreign
        db = sum(
            ticks - before.db_threads.get(thread, 0)  # a thread started since: all its CPU
            for thread, ticks in after.db_threads.items()
            if thread not in others
        )
        return cls(
            app=(after.app - before.app) / CLOCK_TICKS_PER_SECOND,
            db=db / CLOCK_TICKS_PER_SECOND,
            redis=(after.redis - before.redis) / CLOCK_TICKS_PER_SECOND,
            db_process=(after.db_process - before.db_process) / CLOCK_TICKS_PER_SECOND,
            workers_started=len(after.workers - before.workers),
        )

    @property
    def total(self) -> float:
        return self.app + self.db + self.redis


NO_USAGE = CpuUsage(0.0, 0.0, 0.0, 0.0)


class CpuMeter:
    """Read the CPU of gunicorn servers, of MariaDB and of Redis, from /proc."""

    def __init__(self, *, db_name: str, redis_pid: int):
        self.db_name = db_name
        self.db_pid = mariadb_pid()
        self.redis_pid = redis_pid

    def sample(self, *servers: harness.Server) -> CpuSample:
        gunicorns = [gunicorn_ticks(server.proc.pid) for server in servers]
        return CpuSample(
            app=sum(ticks for ticks, _ in gunicorns),
            workers=frozenset().union(*(workers for _, workers in gunicorns)),
            db_foreign=self._foreign_threads(),
            db_threads=mariadb_threads(self.db_pid),
            db_process=own_ticks(proc_stat(self.db_pid)),
            redis=own_ticks(proc_stat(self.redis_pid)),
        )

    def _foreign_threads(self) -> frozenset[int]:
        """Return MariaDB's threads serving other connections than the servers': other
        databases, none yet, and this process's own (which asks this very question)."""
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT TID FROM information_schema.PROCESSLIST WHERE TID IS NOT NULL "
                "AND (DB IS NULL OR DB <> %s OR ID = CONNECTION_ID())",
                [self.db_name],
            )
            return frozenset(tid for (tid,) in cursor.fetchall())

    def settle(self, servers) -> float:
        """Wait until the servers, their MariaDB threads and Redis are idle (at most
        SETTLE_MAX_SECONDS); return how long that took."""
        started = time.monotonic()
        last = self.sample(*servers)
        while time.monotonic() - started < SETTLE_MAX_SECONDS:
            time.sleep(SETTLE_STEP_SECONDS)
            now = self.sample(*servers)
            if CpuUsage.between(last, now).total <= SETTLE_STEP_SECONDS * SETTLE_IDLE_CPU_SHARE:
                break
            last = now
        return time.monotonic() - started
