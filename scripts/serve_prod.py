"""Run the production front locally: nginx on --port in front of gunicorn on --upstream-port.

`make serve-prod` runs this after collectstatic and migrate. Both run in the foreground
with their logs in this terminal; Ctrl-C (or SIGTERM) stops both, and if either one dies
the other is stopped too. nginx's files (rendered configuration, pid, buffers, access
log) live in a temporary directory; /etc/nginx and the system's nginx are not touched.

Settings come from the environment and .env like the app's (python-decouple): nginx's
body limit follows MAX_REQUEST_BODY_KILOBYTES and its upstream timeout follows
GUNICORN_TIMEOUT_SECONDS. gunicorn gets TRUSTED_PROXY_HOPS=1 (nginx is one proxy) unless
the environment says otherwise, and listens on 127.0.0.1 only: clients reach it through
nginx, never directly.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from decouple import config
from front import NGINX, UPSTREAM_TIMEOUT_MARGIN_SECONDS, Nginx

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
POLL_SECONDS = 0.5
STOP_TIMEOUT_SECONDS = 35  # gunicorn's graceful timeout (30 s) and a little more


class Stop(Exception):
    """SIGTERM: stop both servers, as on Ctrl-C."""


def _raise_stop(signum, frame):
    raise Stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000, help="nginx's port (default 8000)")
    parser.add_argument(
        "--upstream-port", type=int, default=8001, help="gunicorn's port (default 8001)"
    )
    args = parser.parse_args()
    if not Path(NGINX).exists():
        print("nginx is not installed: sudo apt-get install -y nginx", file=sys.stderr)
        return 1

    env = dict(os.environ)
    env["GUNICORN_BIND"] = f"127.0.0.1:{args.upstream_port}"
    env.setdefault("TRUSTED_PROXY_HOPS", "1")
    nginx = Nginx(
        port=args.port,
        upstream=env["GUNICORN_BIND"],
        max_body_kilobytes=config("MAX_REQUEST_BODY_KILOBYTES", default=64, cast=int),
        upstream_timeout_seconds=config("GUNICORN_TIMEOUT_SECONDS", default=30, cast=int)
        + UPSTREAM_TIMEOUT_MARGIN_SECONDS,
    )
    signal.signal(signal.SIGTERM, _raise_stop)
    gunicorn = None
    try:
        gunicorn = subprocess.Popen(
            [str(GUNICORN), "movie_booking.wsgi:application"],
            cwd=ROOT,
            env=env,
            start_new_session=True,  # Ctrl-C reaches us only; we stop it gracefully
        )
        nginx.start(capture=False)
        print(
            f"serve-prod: nginx on http://127.0.0.1:{args.port} -> gunicorn on "
            f"{env['GUNICORN_BIND']} (nginx files in {nginx.prefix}); Ctrl-C stops both",
            flush=True,
        )
        while gunicorn.poll() is None and nginx.proc is not None and nginx.proc.poll() is None:
            time.sleep(POLL_SECONDS)
        print("serve-prod: one of the two servers exited; stopping the other", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, Stop):
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut cleanup
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        nginx.stop()
        nginx.cleanup()
        if gunicorn is not None and gunicorn.poll() is None:
            gunicorn.send_signal(signal.SIGTERM)  # graceful: finish requests in flight
            try:
                gunicorn.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(gunicorn.pid, signal.SIGKILL)  # the master and its workers
                gunicorn.wait()


if __name__ == "__main__":
    sys.exit(main())
