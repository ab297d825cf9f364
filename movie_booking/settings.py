"""Settings for the movie booking API.

Every value that differs between machines comes from the environment (or a `.env`
file) through python-decouple; `.env.example` lists them all.
"""

import re
import warnings
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

from decouple import Csv, config
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = config("DEBUG", default=False, cast=bool)

SECRET_KEY = config("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment or in .env "
            "(or set DEBUG=True for local development only)."
        )
    # Only ever used with DEBUG=True on a developer's machine.
    SECRET_KEY = "insecure-development-only-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = config("ALLOWED_HOSTS", default="localhost,127.0.0.1", cast=Csv())

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "booking",
]

MIDDLEWARE = [
    "booking.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Static files and CORS headers above it; everything below may need the database.
    "booking.middleware.DatabaseBreakerMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Failed admin logins counted per IP and per username, like the API's (THROTTLE_LOGIN).
    "booking.middleware.AdminLoginThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "movie_booking.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "movie_booking.wsgi.application"

# --- Database -----------------------------------------------------------------

_DB_ENGINES = {
    "sqlite": "django.db.backends.sqlite3",
    "sqlite3": "django.db.backends.sqlite3",
    "mysql": "django.db.backends.mysql",
    "mariadb": "django.db.backends.mysql",
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
}
_db_engine_name = config("DB_ENGINE", default="sqlite3").strip()
DB_ENGINE = _DB_ENGINES.get(_db_engine_name.rsplit(".", 1)[-1].lower())
if DB_ENGINE is None:
    raise ImproperlyConfigured(
        f"DB_ENGINE={_db_engine_name!r} is not supported; use sqlite3, mysql or postgresql."
    )

DB_CONN_MAX_AGE_SECONDS = config("DB_CONN_MAX_AGE_SECONDS", default=60, cast=int)
# How long a new connection may take, TCP and the server's greeting included: a server
# next door answers in milliseconds; a frozen one never does.
DB_CONNECT_TIMEOUT_SECONDS = config("DB_CONNECT_TIMEOUT_SECONDS", default=2, cast=int)
# How long one transaction waits for a row another holds before giving up (MySQL's
# default of 50 s would leave a client hanging; the booking service retries instead).
DB_LOCK_WAIT_TIMEOUT_SECONDS = config("DB_LOCK_WAIT_TIMEOUT_SECONDS", default=3, cast=int)
# How long to wait for the server's answer on an open connection (MySQL). Without it a
# database that goes silent (host frozen, network partition) hangs a pooled connection
# until gunicorn kills the worker. The API's longest statement is a lock wait, so this
# only has to outlast DB_LOCK_WAIT_TIMEOUT_SECONDS. 0 disables it (e.g. for a long
# migration).
DB_READ_TIMEOUT_SECONDS = config("DB_READ_TIMEOUT_SECONDS", default=5, cast=int)
if (
    DB_ENGINE == "django.db.backends.mysql"
    and 0 < DB_READ_TIMEOUT_SECONDS <= DB_LOCK_WAIT_TIMEOUT_SECONDS
):
    raise ImproperlyConfigured(
        f"DB_READ_TIMEOUT_SECONDS={DB_READ_TIMEOUT_SECONDS} must be longer than "
        f"DB_LOCK_WAIT_TIMEOUT_SECONDS={DB_LOCK_WAIT_TIMEOUT_SECONDS} (or 0): a wait for "
        "a locked seat would otherwise look like a dead database."
    )
# How long /healthz (and the breaker's probe) wait for `SELECT 1` on a fresh connection.
DB_PROBE_TIMEOUT_SECONDS = config("DB_PROBE_TIMEOUT_SECONDS", default=1, cast=float)
# Once a probe confirms the database is down, each process answers 503 at once instead
# of making every request wait out the timeouts above, and probes again in the
# background this often (booking.breakers.DatabaseBreaker). 0 disables the breaker.
DB_BREAKER_SECONDS = config("DB_BREAKER_SECONDS", default=2, cast=int)

# MariaDB Galera: wsrep_sync_wait for every session (a bitmask: 1 = reads wait until the
# node has applied every transaction committed anywhere before them). 0 (off): a read on
# one node may not yet see a write committed on another a moment before. Turn it on when
# one client's requests may land on different nodes (see README, "Scaling"). MariaDB only.
DB_WSREP_SYNC_WAIT = config("DB_WSREP_SYNC_WAIT", default=0, cast=int)
if not 0 <= DB_WSREP_SYNC_WAIT <= 15:
    raise ImproperlyConfigured(f"DB_WSREP_SYNC_WAIT={DB_WSREP_SYNC_WAIT} must be 0-15.")

if DB_ENGINE == "django.db.backends.sqlite3":
    _default_db = {
        "ENGINE": DB_ENGINE,
        "NAME": config("DB_NAME", default="") or str(BASE_DIR / "db.sqlite3"),
        # Wait for the write lock instead of failing at once with "database is locked".
        "OPTIONS": {"timeout": DB_LOCK_WAIT_TIMEOUT_SECONDS, "transaction_mode": "IMMEDIATE"},
    }
else:
    _default_db = {
        "ENGINE": DB_ENGINE,
        "NAME": config("DB_NAME", default="") or "movie_booking",
        "USER": config("DB_USER", default=""),
        "PASSWORD": config("DB_PASSWORD", default=""),
        "HOST": config("DB_HOST", default="") or "127.0.0.1",
        "PORT": config("DB_PORT", default=""),
        "CONN_MAX_AGE": DB_CONN_MAX_AGE_SECONDS,
        # A pooled connection that died while MySQL restarted is replaced, not reused.
        "CONN_HEALTH_CHECKS": True,
    }
    if DB_ENGINE == "django.db.backends.mysql":
        _default_db["OPTIONS"] = {
            "charset": "utf8mb4",
            "connect_timeout": DB_CONNECT_TIMEOUT_SECONDS,
            # Django's default; row locks on seats are what keep booking correct.
            "isolation_level": "read committed",
            "init_command": (
                "SET sql_mode='STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,"
                "ERROR_FOR_DIVISION_BY_ZERO', "
                f"innodb_lock_wait_timeout={DB_LOCK_WAIT_TIMEOUT_SECONDS}"
                + (f", wsrep_sync_wait={DB_WSREP_SYNC_WAIT}" if DB_WSREP_SYNC_WAIT else "")
            ),
        }
        if DB_READ_TIMEOUT_SECONDS:
            _default_db["OPTIONS"]["read_timeout"] = DB_READ_TIMEOUT_SECONDS
            _default_db["OPTIONS"]["write_timeout"] = DB_READ_TIMEOUT_SECONDS
        _default_db["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
    else:
        _default_db["OPTIONS"] = {
            "connect_timeout": DB_CONNECT_TIMEOUT_SECONDS,
            # PostgreSQL waits for a row lock forever unless told otherwise.
            "options": f"-c lock_timeout={DB_LOCK_WAIT_TIMEOUT_SECONDS * 1000}",
        }

# The test database's name (default: test_ + DB_NAME), so that two checkouts can run
# their suites on one server at once.
if config("DB_TEST_NAME", default=""):
    _default_db.setdefault("TEST", {})["NAME"] = config("DB_TEST_NAME")

DATABASES = {"default": _default_db}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "booking.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Time and language --------------------------------------------------------

LANGUAGE_CODE = "en-us"
# The cinema's local zone: it decides what `?date=YYYY-MM-DD` means. Data is UTC.
TIME_ZONE = config("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files (admin, Swagger UI and ReDoc assets) ------------------------

STATIC_URL = "static/"
STATIC_ROOT = config("STATIC_ROOT", default="") or str(BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Without collectstatic (development, tests) WhiteNoise serves the apps' files directly,
# and an absent STATIC_ROOT is expected rather than worth a warning.
WHITENOISE_USE_FINDERS = DEBUG
if DEBUG:
    warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)

# --- Cache (throttle counters; shared across workers when REDIS_URL is set) ---

REDIS_URL = config("REDIS_URL", default="")
# How long one Redis call may take (connecting, and each answer). Redis answers in well
# under a millisecond; a frozen one would otherwise add this to every request.
REDIS_SOCKET_TIMEOUT_SECONDS = config("REDIS_SOCKET_TIMEOUT_SECONDS", default=0.25, cast=float)
# After a Redis call fails, each process leaves Redis alone this long (rate limits are
# not enforced meanwhile) instead of paying the timeout on every request. 0 disables.
REDIS_BREAKER_SECONDS = config("REDIS_BREAKER_SECONDS", default=5, cast=int)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "booking.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": REDIS_SOCKET_TIMEOUT_SECONDS,
                "socket_timeout": REDIS_SOCKET_TIMEOUT_SECONDS,
                "breaker_seconds": REDIS_BREAKER_SECONDS,
            },
        }
    }
else:
    # Per process: fine for one process, wrong for several (see README, "Scaling").
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Read cache (booking.readcache) ------------------------------------------

# How long a rendered public read (the movie list, a movie's shows, a seat map) may be
# served from the cache. Writes retire cached reads as they commit, so this only bounds
# how stale a read can get if a retirement was lost (Redis down at that moment).
# 0 turns the cache off. It needs REDIS_URL: a local-memory cache is per process, and a
# write in one worker would not retire what another worker cached.
READ_CACHE_SECONDS = config("READ_CACHE_SECONDS", default=300 if REDIS_URL else 0, cast=int)
if READ_CACHE_SECONDS < 0:
    raise ImproperlyConfigured(f"READ_CACHE_SECONDS={READ_CACHE_SECONDS} must be 0 (off) or more.")
if READ_CACHE_SECONDS and not REDIS_URL:
    raise ImproperlyConfigured(
        f"READ_CACHE_SECONDS={READ_CACHE_SECONDS} needs REDIS_URL (a cache every process "
        "shares); set it to 0 to turn the read cache off."
    )

# --- REST framework -----------------------------------------------------------


_RATE = re.compile(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)")


def _rate(name: str, default: str) -> str | None:
    """Read a DRF rate string from the environment; `off` disables the throttle.

    A typo (`ten/min`) is refused at start-up: DRF would only fail on the first request
    the throttle sees, with a 500, on every such request.
    """
    value = config(name, default=default).strip()
    if value.lower() in {"off", "none", ""}:
        return None
    if not _RATE.fullmatch(value):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a rate: write it as 10/min, 20/hour, 5/second, 100/day, "
            "or off"
        )
    return value


REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "booking.authentication.BearerJWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["booking.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "booking.negotiation.JSONFallbackContentNegotiation",
    "DEFAULT_PAGINATION_CLASS": "booking.pagination.PageNumberPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "booking.throttles.AnonRateThrottle",
        "booking.throttles.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "login": _rate("THROTTLE_LOGIN", "10/min"),
        "signup": _rate("THROTTLE_SIGNUP", "20/hour"),
        "refresh": _rate("THROTTLE_REFRESH", "30/min"),
        "booking": _rate("THROTTLE_BOOKING", "60/min"),
        "anon": _rate("THROTTLE_ANON", "600/min"),
        "user": _rate("THROTTLE_USER", "1200/min"),
        "password_reset": _rate("THROTTLE_PASSWORD_RESET", "5/hour"),
    },
    # The client IP is REMOTE_ADDR unless this many proxies in front are trusted to
    # append to X-Forwarded-For; never the client-controlled left end of that header.
    "NUM_PROXIES": config("TRUSTED_PROXY_HOPS", default=0, cast=int),
    "EXCEPTION_HANDLER": "booking.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "booking.schema.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(
        hours=config("ACCESS_TOKEN_LIFETIME_HOURS", default=1, cast=float)
    ),
    "REFRESH_TOKEN_LIFETIME": timedelta(
        days=config("REFRESH_TOKEN_LIFETIME_DAYS", default=7, cast=float)
    ),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    # Tokens carry a digest of the password hash: a password change (API, reset link,
    # admin) or an account deletion refuses every token issued before it.
    "CHECK_REVOKE_TOKEN": True,
    "TOKEN_REFRESH_SERIALIZER": "booking.serializers.accounts.TokenRefreshInput",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Movie Booking API",
    "DESCRIPTION": (
        "Browse movies, cinemas and shows, see a show's seat map, hold seats while you "
        "pay, book one or several seats at once (or the best available), cancel, and list "
        "your bookings. Authenticate with `POST /api/login/` and put the `access` token "
        "in the Authorize button (Bearer). The sections below are the conventions every "
        "endpoint follows."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "deepLinking": True},
    "ENUM_NAME_OVERRIDES": {"BookingStatusEnum": "booking.models.Booking.Status"},
    # The guide (conventions, the error-code table) is appended by booking.schema.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "booking.schema.add_the_guide",
    ],
    "TAGS": [
        {
            "name": "accounts",
            "description": "Sign up, log in (JWT), refresh and revoke tokens, the signed-in "
            "user; change or reset the password; delete the account.",
        },
        {
            "name": "movies",
            "description": "The catalogue of movies: public reads with search, filters "
            "and ordering; staff writes.",
        },
        {
            "name": "shows",
            "description": "Screenings of a movie on a screen at a time, with prices per "
            "seat category, and each show's seat map (with an ETag). Public reads; staff "
            "writes. Shows on one screen never overlap.",
        },
        {
            "name": "cinemas",
            "description": "Cinemas and their screens: each screen's layout of rows, "
            "aisles, seat categories and wheelchair spaces. Public reads; staff writes.",
        },
        {
            "name": "bookings",
            "description": "Book seats of a show (by number, by label, or the best "
            "available), with an optional Idempotency-Key; list, read and cancel your "
            "own bookings.",
        },
        {
            "name": "checkout",
            "description": "Hold seats while you pay (SEAT_HOLD_MINUTES), then confirm the "
            "hold into a booking or release it.",
        },
    ],
}

# The largest request body accepted. The API's biggest legitimate body (a screen of 50
# rows) is a few kilobytes; 2.5 MB (Django's default) would let one request cost far more.
DATA_UPLOAD_MAX_MEMORY_SIZE = config("MAX_REQUEST_BODY_KILOBYTES", default=64, cast=int) * 1024

# --- Email (password reset) -----------------------------------------------------


def _email_settings(url: str) -> dict:
    """Turn EMAIL_URL into Django's email settings; unset prints emails to the log.

    smtp://user:pass@host:587 (STARTTLS on 587), smtps://user:pass@host:465 (TLS),
    smtp://host:25 (plain, for a local relay).
    """
    if not url:
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ImproperlyConfigured(
            "EMAIL_URL must look like smtp://user:pass@host:587 or smtps://user:pass@host:465"
        )
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_SSL": parts.scheme == "smtps",
        "EMAIL_USE_TLS": parts.scheme == "smtp" and port == 587,
        "EMAIL_TIMEOUT": 10,
    }


_email = _email_settings(config("EMAIL_URL", default=""))
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = _email.get("EMAIL_TIMEOUT")
DEFAULT_FROM_EMAIL = config("DEFAULT_FROM_EMAIL", default="no-reply@localhost")
PASSWORD_RESET_TIMEOUT = 60 * config("PASSWORD_RESET_TIMEOUT_MINUTES", default=60, cast=int)
# The frontend page a reset email links to, with {uid} and {token} in it.
PASSWORD_RESET_URL = config("PASSWORD_RESET_URL", default="")

# --- Booking rules ------------------------------------------------------------

CANCELLATION_CUTOFF_MINUTES = config("CANCELLATION_CUTOFF_MINUTES", default=0, cast=int)
IDEMPOTENCY_KEY_TTL_HOURS = config("IDEMPOTENCY_KEY_TTL_HOURS", default=24, cast=int)
# Cleaning time a screen needs after a show ends, before the next one may start.
SCREEN_TURNOVER_MINUTES = config("SCREEN_TURNOVER_MINUTES", default=15, cast=int)
# How long a hold keeps its seats for the customer while they pay.
SEAT_HOLD_MINUTES = config("SEAT_HOLD_MINUTES", default=10, cast=int)
# Seats one user may hold or own in one show (live bookings + the request); 0 = no limit.
MAX_SEATS_PER_USER_PER_SHOW = config("MAX_SEATS_PER_USER_PER_SHOW", default=10, cast=int)

# --- CORS ---------------------------------------------------------------------

CORS_ALLOWED_ORIGINS = config("CORS_ALLOWED_ORIGINS", default="", cast=Csv())
CORS_URLS_REGEX = r"^/api/.*$"
CORS_EXPOSE_HEADERS = ["Retry-After", "X-Request-ID", "Idempotent-Replayed"]
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "idempotency-key",
    "x-request-id",
)

# --- Security (production behind TLS; see README "Running in production") -----

SECURE_SSL_REDIRECT = config("SECURE_SSL_REDIRECT", default=not DEBUG, cast=bool)
SECURE_HSTS_SECONDS = config("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000, cast=int)
SECURE_HSTS_INCLUDE_SUBDOMAINS = config("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True, cast=bool)
SECURE_HSTS_PRELOAD = config("SECURE_HSTS_PRELOAD", default=False, cast=bool)
# Preloading is a one-way door for the whole domain: the operator opts in explicitly.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
if DB_ENGINE == "django.db.backends.mysql":
    # MySQL/MariaDB cannot index Lower(username)/Lower(email); their case-insensitive
    # collation already makes the plain unique indexes case-insensitive (see User).
    SILENCED_SYSTEM_CHECKS.append("models.W044")
SESSION_COOKIE_SECURE = config("SESSION_COOKIE_SECURE", default=not DEBUG, cast=bool)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_TRUSTED_ORIGINS = config("CSRF_TRUSTED_ORIGINS", default="", cast=Csv())
if config("SECURE_PROXY_SSL_HEADER", default=False, cast=bool):
    # Only behind a proxy that sets (and strips client-sent) X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The health check is probed over plain HTTP by load balancers.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
X_FRAME_OPTIONS = "DENY"

# --- Logging: one line per request to stdout ----------------------------------

LOG_LEVEL = config("LOG_LEVEL", default="INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "plain",
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # Our request log replaces Django's own per-request lines.
        "django.request": {"level": "ERROR"},
        # runserver's own access log (with query strings) would double ours.
        "django.server": {"handlers": [], "propagate": False},
    },
}
