"""Run the API under gunicorn with production settings and talk to it: the checks' shared parts.

Used by scripts/outage_check.py, scripts/multiprocess_check.py and scripts/bench.py (run as
`.venv/bin/python scripts/<name>.py`, which puts this folder on sys.path) and by
browser_tests/conftest.py (through `pythonpath` in browser_tests/pytest.ini). Each of them
keeps its own scenario; this module only builds a server's environment, starts, calls and
stops gunicorn, and cleans up on Ctrl-C or SIGTERM.

Standard library only at import time: MySQLdb and Django are imported by the functions
that need them. MariaDB/MySQL is 127.0.0.1:3306, root, empty password, unless
CI_MYSQL_HOST, CI_MYSQL_PORT, CI_MYSQL_USER and CI_MYSQL_PASSWORD say otherwise.
"""

import contextlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GUNICORN = BIN / "gunicorn" if (BIN / "gunicorn").exists() else ROOT / ".venv" / "bin" / "gunicorn"

MYSQL_HOST = os.environ.get("CI_MYSQL_HOST", "127.0.0.1")
MYSQL_PORT = int(os.environ.get("CI_MYSQL_PORT", "3306"))
MYSQL_USER = os.environ.get("CI_MYSQL_USER", "root")
MYSQL_PASSWORD = os.environ.get("CI_MYSQL_PASSWORD", "")

GUNICORN_WORKERS = 2
CLIENT_TIMEOUT_SECONDS = 30
SERVER_START_ATTEMPTS = 3
SERVER_START_TIMEOUT_SECONDS = 30
SERVER_STOP_TIMEOUT_SECONDS = 10
THROTTLE_SCOPES = ("LOGIN", "SIGNUP", "REFRESH", "BOOKING", "ANON", "USER")
SECRET_KEY = secrets.token_urlsafe(50)  # one key for every server: a token from A works on B


def say(message: str = "") -> None:
    print(message, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Signals ----------------------------------------------------------------------------


class Interrupted(BaseException):
    """Raised on SIGTERM so that the `finally` blocks clean up, as on Ctrl-C."""


def _raise_interrupted(signum, frame):
    raise Interrupted(f"signal {signum}")


def hold_signals() -> None:
    """Let cleanup finish (it is bounded): a second Ctrl-C must not leave servers behind."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def run_check(main: Callable[[], int]) -> NoReturn:
    """Exit with main()'s status; Ctrl-C or SIGTERM runs its cleanup and exits 130."""
    signal.signal(signal.SIGTERM, _raise_interrupted)
    # Ctrl-C raises KeyboardInterrupt even if our parent started us with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        sys.exit(main())
    except (KeyboardInterrupt, Interrupted):
        say("\ninterrupted: servers stopped, scratch database dropped")
        sys.exit(130)


# --- HTTP -------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int | None
    headers: dict
    body: bytes
    seconds: float
    error: str = ""

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def is_json(self) -> bool:
        content_type = self.headers.get("content-type", "")
        return content_type.startswith("application/json") and self.json() is not None

    @property
    def code(self) -> str:
        data = self.json()
        return str(data.get("code", "")) if isinstance(data, dict) else ""


def call(
    port: int,
    method: str,
    path: str,
    *,
    body=None,
    token: str = "",
    timeout: float = CLIENT_TIMEOUT_SECONDS,
) -> Reply:
    """Send one request on a fresh connection; a timeout or reset is a Reply too."""
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.monotonic()
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        reply_headers = {name.lower(): value for name, value in response.getheaders()}
        return Reply(response.status, reply_headers, raw, time.monotonic() - started)
    except (OSError, http.client.HTTPException) as exc:
        return Reply(None, {}, b"", time.monotonic() - started, f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


# --- Settings and database --------------------------------------------------------------


def production_env(**settings: str) -> dict[str, str]:
    """The production settings over plain HTTP on localhost, rate limits off; settings win."""
    return {
        "DJANGO_SETTINGS_MODULE": "movie_booking.settings",
        "DEBUG": "False",
        "SECRET_KEY": SECRET_KEY,
        "SECURE_SSL_REDIRECT": "False",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": "",  # throttle counters in each process's memory
        # A rate limit would measure the throttle, not what the check is about.
        **{f"THROTTLE_{scope}": "off" for scope in THROTTLE_SCOPES},
        **settings,
    }


def mysql_env(
    db_name: str, *, db_host: str = MYSQL_HOST, db_port: int = MYSQL_PORT, **settings: str
) -> dict[str, str]:
    """production_env on MariaDB database db_name, in our environment minus its settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DB_", "THROTTLE_", "GUNICORN_", "DJANGO_", "REDIS_"))
    }
    env.update(
        production_env(
            DB_ENGINE="mysql",
            DB_NAME=db_name,
            DB_USER=MYSQL_USER,
            DB_PASSWORD=MYSQL_PASSWORD,
            DB_HOST=db_host,
            DB_PORT=str(db_port),
            **settings,
        )
    )
    return env


def mysql_admin(sql: str) -> None:
    import MySQLdb

    conn = MySQLdb.connect(
        host=MYSQL_HOST, port=MYSQL_PORT, user=MYSQL_USER, passwd=MYSQL_PASSWORD, connect_timeout=5
    )
    try:
        conn.cursor().execute(sql)
    finally:
        conn.close()


def migrate(env: dict) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"migrate failed:\n{result.stdout}\n{result.stderr}")


def setup_django(env: dict) -> None:
    """Configure Django in this process too, with the servers' settings (to seed, to check)."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- gunicorn ---------------------------------------------------------------------------


class Server:
    """One gunicorn master (and its workers) in its own process group."""

    def __init__(
        self, name: str, env: dict, log_dir: Path, *, workers: int = GUNICORN_WORKERS, port=0
    ):
        self.name = name
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.workers = workers
        self.fixed_port = port  # 0: a free port, picked again at each spawn
        self.port = port
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Start gunicorn without waiting for it, so that it boots while we do other work."""
        self.port = self.fixed_port or free_port()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(GUNICORN),
                    "movie_booking.wsgi:application",
                    "-b",
                    f"127.0.0.1:{self.port}",
                    "-w",
                    str(self.workers),
                ],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: we kill exactly that
            )

    def wait_ready(self) -> None:
        """Wait for /healthz 200; spawn again if another process took the port meanwhile."""
        for attempt in range(SERVER_START_ATTEMPTS):
            if attempt:
                self.stop()
                self.spawn()
            if self._answers_healthz():
                return
        self.stop()
        raise RuntimeError(f"gunicorn {self.name} did not start; see {self.log_path}")

    def _answers_healthz(self) -> bool:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            if call(self.port, "GET", "/healthz").status == 200:
                return True
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)  # gunicorn's quick shutdown
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=SERVER_STOP_TIMEOUT_SECONDS)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # workers left behind, if any
        proc.wait()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
