"""gunicorn settings, read from the environment (gunicorn loads this file by itself)."""

import gc as _gc
import json as _json
import multiprocessing as _multiprocessing

from decouple import config as _env
from gunicorn import util as _gunicorn_util

bind = _env("GUNICORN_BIND", default="127.0.0.1:8000")
workers = int(_env("GUNICORN_WORKERS", default="") or _multiprocessing.cpu_count() * 2 + 1)
# A request that runs longer than this is killed; booking waits on locks for seconds only.
timeout = _env("GUNICORN_TIMEOUT_SECONDS", default=30, cast=int)
graceful_timeout = _env("GUNICORN_GRACEFUL_TIMEOUT_SECONDS", default=30, cast=int)
keepalive = _env("GUNICORN_KEEPALIVE_SECONDS", default=5, cast=int)
# Our middleware logs one line per request to stdout; gunicorn's access log would double it.
accesslog = None
errorlog = "-"
loglevel = _env("LOG_LEVEL", default="info").lower()
# Recycle workers now and then so that a slow leak never becomes an outage.
max_requests = _env("GUNICORN_MAX_REQUESTS", default=2000, cast=int)
max_requests_jitter = max_requests // 10
# gunicorn's control socket lives at one path per machine user: two instances (several
# services, CI checks) would fight over it, and nothing here uses it.
control_socket_disable = True


# --- One copy of the app, shared by the workers ------------------------------------------
# The master imports Django and the app once; each worker is a fork of it and shares those
# pages copy-on-write instead of importing everything again (so a worker that max_requests
# recycles starts at once; 3 workers: 53 MB private memory instead of 185 MB). Loading
# opens nothing: Django connects to the database on a request's first query, and
# booking.cache to Redis on its first call, so no connection is made in the master and
# inherited by several workers (their queries would interleave on one socket).
preload_app = True


def pre_fork(server, worker):
    """In the master, just before each fork: freeze what it holds (the loaded app)."""
    # A frozen object is never examined by a collection. A worker's collector would
    # otherwise walk the app's hundreds of thousands of objects again and again (CPU),
    # writing to each object's header as it goes, which copies every page it touches
    # into that worker (memory). Freezing is cheap (it moves lists) and is done before
    # every fork, so that a recycled worker's fork shares what the master holds then.
    # Python's recipe also turns the collector off while the parent loads, so that
    # collections leave no freed holes in the shared pages; gunicorn runs no hook before
    # preload_app loads the app, and a collector off for good in the master (which runs
    # for months) would trade those few holes for a slow leak.
    _gc.freeze()


# --- gunicorn's own error answers, in the API's error envelope ---------------------------
# gunicorn answers a request it cannot parse (400), a request line over limit_request_line
# (414), headers over the limits (431) or a crash outside Django (500) itself, with an HTML
# page that echoes part of the request. gunicorn has no setting for that page, so its one
# writer (gunicorn.util.write_error, which the workers call through the module) is replaced
# by one that writes {"code", "detail"} and echoes nothing. Behind nginx these are rare
# (nginx refuses such requests first, as JSON too: deploy/nginx/api.conf.template);
# booking/tests/test_production_front.py checks that the replacement still fits gunicorn.
_ERROR_CODES = {403: "permission_denied", 500: "server_error"}


def _write_json_error(sock, status_int, reason, mesg):
    """Write gunicorn's error answer as JSON; mesg (client input) is left out."""
    code = _ERROR_CODES.get(status_int, "server_error" if status_int >= 500 else "invalid")
    body = _json.dumps({"code": code, "detail": f"{reason}."}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    _gunicorn_util.write_nonblock(sock, head.encode("latin-1") + body)


_gunicorn_util.write_error = _write_json_error
