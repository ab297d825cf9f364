"""A MariaDB and a Redis server of our own, to freeze (SIGSTOP) and kill in the CI checks.

Used by scripts/outage_check.py. Standard library only. Each server runs as a child
process on a free port with its files in a temporary directory, so that freezing it
touches nothing else: the machine's own MariaDB (3306) and Redis (6379) are never
signalled. Needs Debian's mariadb-server (mariadb-install-db, mariadbd) and redis-server.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from harness import free_port

START_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 15


class _ChildServer:
    """A server process in its own process group, which freeze() stops and thaw() resumes."""

    name = "server"

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix=f"ci_private_{self.name}_"))
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.frozen = False

    @property
    def log_path(self) -> Path:
        return self.dir / f"{self.name}.log"

    def _spawn(self, command: list[str]) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait_until(self, ready, what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                break
            if ready():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{what} did not start; see {self.log_path}:\n{self.log_tail()}")

    def freeze(self) -> None:
        """SIGSTOP the server: its port still accepts connections, nothing ever answers."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        if self.proc is not None and self.frozen:
            os.kill(self.proc.pid, signal.SIGCONT)
        self.frozen = False

    def stop(self) -> None:
        if self.proc is None:
            return
        self.thaw()
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=STOP_TIMEOUT_SECONDS)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def kill(self) -> None:
        """Stop the server for good: its port refuses connections from now on."""
        self.stop()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _answers_tcp(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


class PrivateMariaDB(_ChildServer):
    """mariadbd on 127.0.0.1:<port>, root without a password, data in a temporary directory."""

    name = "mariadb"

    def start(self) -> None:
        data = self.dir / "data"
        root_options = ["--user=root"] if os.geteuid() == 0 else []
        install = subprocess.run(
            [
                shutil.which("mariadb-install-db") or "mariadb-install-db",
                "--no-defaults",
                f"--datadir={data}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                *root_options,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if install.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed:\n{install.stdout}\n{install.stderr}")
        self.port = free_port()
        self._spawn(
            [
                shutil.which("mariadbd") or "/usr/sbin/mariadbd",
                "--no-defaults",
                f"--datadir={data}",
                f"--socket={self.dir / 'mariadb.sock'}",
                f"--pid-file={self.dir / 'mariadb.pid'}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=32M",
                *root_options,
            ]
        )
        self._wait_until(self._answers, "the private mariadbd")

    def _answers(self) -> bool:
        import MySQLdb

        try:
            MySQLdb.connect(
                host="127.0.0.1", port=self.port, user="root", passwd="", connect_timeout=1
            ).close()
        except MySQLdb.Error:
            return False
        return True

    def execute(self, sql: str) -> None:
        import MySQLdb

        conn = MySQLdb.connect(
            host="127.0.0.1", port=self.port, user="root", passwd="", connect_timeout=5
        )
        try:
            conn.cursor().execute(sql)
        finally:
            conn.close()


class PrivateRedis(_ChildServer):
    """redis-server on 127.0.0.1:<port>, no persistence."""

    name = "redis"

    def start(self) -> None:
        self.port = free_port()
        self._spawn(
            [
                shutil.which("redis-server") or "/usr/bin/redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ]
        )
        self._wait_until(lambda: _answers_tcp(self.port), "the private redis-server")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"
