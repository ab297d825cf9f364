"""gunicorn settings, read from the environment (gunicorn loads this file by itself)."""

import multiprocessing as _multiprocessing

from decouple import config as _env

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
