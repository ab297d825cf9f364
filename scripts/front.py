"""nginx in front of gunicorn: render deploy/nginx/*.template and run nginx as a child process.

Used by scripts/serve_prod.py (`make serve-prod`) and scripts/slowloris_check.py. Standard
library only. nginx runs in the foreground (`daemon off`) with its pid file, logs and
buffers under its own temporary prefix: /etc/nginx and the system's nginx service are
never touched, and several instances can run side by side.
"""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "deploy" / "nginx"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

DEFAULT_MAX_BODY_KILOBYTES = 64  # the app's MAX_REQUEST_BODY_KILOBYTES default
# nginx waits for gunicorn a little longer than gunicorn's own worker timeout (30 s), so
# that gunicorn kills a stuck request first and nginx answers 502, not a second timeout.
UPSTREAM_TIMEOUT_MARGIN_SECONDS = 5
START_TIMEOUT_SECONDS = 10
STOP_TIMEOUT_SECONDS = 10

_PLACEHOLDER = re.compile(r"\$\{([A-Z_]+)\}")


def render(template: str, values: dict[str, object]) -> str:
    """Fill in ${NAME} placeholders as envsubst would; a name without a value is an error."""
    missing = sorted({name for name in _PLACEHOLDER.findall(template) if name not in values})
    if missing:
        raise KeyError(f"no value for {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), template)


def write_config(
    prefix: Path,
    *,
    listen: str,
    upstream: str,
    max_body_kilobytes: int = DEFAULT_MAX_BODY_KILOBYTES,
    upstream_timeout_seconds: int = 30 + UPSTREAM_TIMEOUT_MARGIN_SECONDS,
) -> Path:
    """Render nginx.conf and api.conf into prefix; return the path of nginx.conf."""
    values = {
        "NGINX_PREFIX": prefix,
        "API_LISTEN": listen,
        "API_UPSTREAM": upstream,
        "API_MAX_BODY_KILOBYTES": max_body_kilobytes,
        "API_UPSTREAM_TIMEOUT_SECONDS": upstream_timeout_seconds,
    }
    for name in ("nginx.conf", "api.conf"):
        template = (TEMPLATES / f"{name}.template").read_text()
        (prefix / name).write_text(render(template, values))
    return prefix / "nginx.conf"


class Nginx:
    """One nginx master (and its workers) in its own process group, on 127.0.0.1:port."""

    def __init__(self, *, port: int, upstream: str, log_path: Path | None = None, **options):
        self.port = port
        self.upstream = upstream
        self.options = options
        self.prefix = Path(tempfile.mkdtemp(prefix="movie_booking_nginx_"))
        # Run as root, nginx's workers drop to an unprivileged user that must reach the
        # buffer directories nginx creates in here (mkdtemp made it 0700).
        self.prefix.chmod(0o755)
        self.log_path = log_path or self.prefix / "nginx.log"
        self.proc: subprocess.Popen | None = None

    @property
    def access_log(self) -> Path:
        return self.prefix / "access.log"

    def start(self, *, capture: bool = True) -> None:
        """Check the configuration, start nginx and wait until it accepts connections.

        capture: send nginx's error log to log_path (False: to our own stderr).
        """
        conf = write_config(
            self.prefix, listen=f"127.0.0.1:{self.port}", upstream=self.upstream, **self.options
        )
        command = [NGINX, "-p", str(self.prefix), "-c", str(conf), "-e", "stderr"]
        test = subprocess.run(
            [*command, "-t", "-q"], capture_output=True, text=True, timeout=30, check=False
        )
        if test.returncode != 0:
            raise RuntimeError(f"nginx -t refused the configuration:\n{test.stderr}")
        with contextlib.ExitStack() as stack:
            log = stack.enter_context(open(self.log_path, "ab")) if capture else None
            self.proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT if capture else None,
                start_new_session=True,  # its own process group: we stop exactly that
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}: {self.log_tail()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"nginx did not start listening on {self.port}: {self.log_tail()}")

    def stop(self) -> None:
        """Stop nginx (fast shutdown) and remove its prefix unless its log is kept there."""
        if self.proc is not None:
            proc, self.proc = self.proc, None
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=STOP_TIMEOUT_SECONDS)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def cleanup(self) -> None:
        shutil.rmtree(self.prefix, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
