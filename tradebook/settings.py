"""tradebook settings, read from the environment (django-environ).

Defaults are safe for development: an SQLite file and an embedded Celery broker
under ./data, DEBUG off. A bad value fails at start with the variable's name.
"""

import os
import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(environ.Env().str("TRADEBOOK_DATA_DIR", default=str(BASE_DIR / "data")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()


def _typed(name: str, cast, default):
    """Read one variable; a value that does not parse names the variable."""
    try:
        return env.get_value(name, cast=cast, default=default)
    except (ValueError, TypeError, ImproperlyConfigured) as exc:
        raise ImproperlyConfigured(f"Environment variable {name} has a bad value: {exc}") from exc


def _bool(name: str, default: bool) -> bool:
    raw = env.str(name, default="")
    if raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"Environment variable {name} must be true or false, not {raw!r}")


DEBUG = _bool("DEBUG", False)

# --- Database -------------------------------------------------------------
DEFAULT_SQLITE = f"sqlite:///{DATA_DIR / 'tradebook.sqlite3'}"
_db_url = env.str("DATABASE_URL", default=DEFAULT_SQLITE)
if _db_url.split("://", 1)[0] not in {"sqlite", "postgres", "postgresql", "pgsql", "psql"}:
    raise ImproperlyConfigured(
        f"Environment variable DATABASE_URL must be a postgres:// or sqlite:/// URL, not {_db_url.split('://')[0]!r}"
    )
try:
    DATABASES = {"default": environ.Env.db_url_config(_db_url)}
except Exception as exc:  # environ raises several types for a malformed URL
    raise ImproperlyConfigured(f"Environment variable DATABASE_URL has a bad value: {exc}") from exc
DATABASES["default"]["CONN_MAX_AGE"] = _typed("CONN_MAX_AGE", int, 0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = _bool("CONN_HEALTH_CHECKS", True)
USING_DEFAULT_DATABASE = env.str("DATABASE_URL", default="") == ""
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Tests on SQLite use a file, not memory, so a real Celery worker (another process) can share the
    # test database (tests/snapshots/test_worker.py). One file per test process: runs never collide.
    import tempfile as _tempfile

    DATABASES["default"].setdefault("TEST", {}).setdefault(
        "NAME", str(Path(_tempfile.gettempdir()) / f"tradebook-test-{os.getpid()}.sqlite3")
    )
    # Writers wait for each other instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("timeout", 30)
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
elif _bool("DB_PREPARED_STATEMENTS", True):
    # The write path's hot statements ask psycopg to prepare them (trades.ingest.sql.run_prepared):
    # parsed and planned once per connection, not on every request. Django's default threshold
    # (None) would turn that off altogether; this one prepares what asks and nothing else (no
    # ORM query is run two billion times on one connection). DB_PREPARED_STATEMENTS=false behind
    # a transaction-mode pooler that cannot keep prepared statements (PgBouncer before 1.21).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 2**31 - 1)

# --- Secrets and hosts ----------------------------------------------------
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not (USING_DEFAULT_DATABASE or DEBUG or env.str("TRADEBOOK_LOCAL_SECRET", default="")):
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production (a DATABASE_URL is set) refuses to start without one: "
            "export SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))')"
        )
    # The default run makes a key once and keeps it, so sessions survive restarts.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = _typed("ALLOWED_HOSTS", list, ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = _typed("CSRF_TRUSTED_ORIGINS", list, [])

SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = _bool("CSRF_COOKIE_SECURE", False)
SECURE_HSTS_SECONDS = _typed("SECURE_HSTS_SECONDS", int, 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = _bool("SECURE_HSTS_PRELOAD", False)
_proxy_header = env.str("SECURE_PROXY_SSL_HEADER", default="")
if _proxy_header:
    # e.g. "HTTP_X_FORWARDED_PROTO,https"
    try:
        _name, _value = (part.strip() for part in _proxy_header.split(","))
    except ValueError:
        raise ImproperlyConfigured(
            "Environment variable SECURE_PROXY_SSL_HEADER must be 'HEADER,value', e.g. HTTP_X_FORWARDED_PROTO,https"
        )
    SECURE_PROXY_SSL_HEADER = (_name, _value)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Applications ---------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "trades",
    "snapshots",
]

MIDDLEWARE = [
    # First: the request id, the metrics of every answer, a 503 for a database that is away.
    "trades.api.middleware.RequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "trades.api.errors.CommonMiddleware",  # Django's, without redirecting an API write
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tradebook.urls"
WSGI_APPLICATION = "tradebook.wsgi.application"

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

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # The admin's charts: Plotly's browser bundle from the installed package (no CDN, no copy).
    "trades.admin.staticfiles.PlotlyFinder",
]
# Serve straight from the apps when collectstatic has not run (tests, first start).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # One JSON object per line, with the request id of the request it belongs to (core.logs).
    "formatters": {"json": {"()": "core.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- Metrics (GET /metrics, Prometheus' text format) ----------------------
# A scraper sends `Authorization: Bearer <METRICS_TOKEN>`; without it only a logged-in staff
# user may read /metrics. Each process's samples go to PROMETHEUS_MULTIPROC_DIR (read by
# prometheus-client itself from the environment; gunicorn.conf.py gives gunicorn one).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# A Celery worker serves its machine's metrics folder on this port (0: it does not).
CELERY_METRICS_PORT = _typed("CELERY_METRICS_PORT", int, 0)

# --- The bot API ----------------------------------------------------------
API_MAX_ITEMS = _typed("API_MAX_ITEMS", int, 10_000)
API_MAX_BYTES = _typed("API_MAX_BYTES", int, 10 * 1024 * 1024)
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="100/s")
API_PAGE_SIZE = _typed("API_PAGE_SIZE", int, 100)
API_MAX_PAGE_SIZE = _typed("API_MAX_PAGE_SIZE", int, 1000)
# Reported vs computed figures differing by more than this are flagged (base currency).
RECONCILE_TOLERANCE = env.str("RECONCILE_TOLERANCE", default="0.01")
# The body is read by our own parsers under API_MAX_BYTES; Django's own cap must not be lower.
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BYTES + 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["trades.api.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["trades.api.auth.HasApiToken"],
    "DEFAULT_THROTTLE_CLASSES": ["trades.api.auth.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": API_THROTTLE_RATE},
    "DEFAULT_PARSER_CLASSES": ["trades.api.parsers.ExactJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["trades.api.renderers.ExactJSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "trades.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "tradebook API",
    "DESCRIPTION": ("The ledger that trading bots write to. See README.md. Write bodies may be sent gzipped "
                    "(Content-Encoding: gzip); API_MAX_BYTES holds for the body as sent and as unpacked."),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name per choice set: "side" and "source" mean different sets on different models.
    "ENUM_NAME_OVERRIDES": {
        "SideEnum": "trades.models.Side",
        "TradeDirectionEnum": "trades.models.Trade.Direction",
        "PositionSideEnum": "snapshots.models.PositionSnapshot.Side",
        "FillSourceEnum": "trades.models.FillSource",
        "SnapshotSourceEnum": "snapshots.models.SnapshotSource",
    },
}

# Throttle counters are shared by all web processes when a cache URL is given.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# --- Celery ---------------------------------------------------------------
BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded broker: messages are files in ./data/broker, no server needed.
    for _sub in ("queue", "processed", "control"):
        (BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Without it kombu keeps its exchange table in ./control of the working directory.
        "control_folder": str(BROKER_DIR / "control"),
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
    }
else:
    # Redis: a message taken but not acknowledged (acks_late; its worker was killed) goes back to the
    # queue after visibility_timeout — it must exceed the longest task (the nightly time limit). RabbitMQ
    # redelivers at once when the connection drops and ignores these options.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": _typed("CELERY_VISIBILITY_TIMEOUT", int, 7200),
        "socket_connect_timeout": 5,
        "socket_timeout": 30,
    }
    if CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] < 10:
        # Tests use a few seconds to see a redelivery quickly; restore abandoned messages as often.
        CELERY_BROKER_TRANSPORT_OPTIONS.update(unacked_restore_interval=1, unacked_restore_throttle=1)
# One queue name per deployment, so several tradebooks (or test runs) can share one Redis.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# With acks_late, a task running when the broker connection drops is redelivered; stop our copy.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
if DATABASES["default"]["CONN_MAX_AGE"] != 0:
    # Celery's Django fixup closes the database connection around every task unless told to reuse it;
    # with CONN_MAX_AGE set, tradebook.celery applies Django's own rule per task instead (age, health).
    CELERY_DB_REUSE_MAX = 1_000_000
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ALWAYS_EAGER = _bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = _typed("CELERY_TASK_TIME_LIMIT", int, 300)
CELERY_TASK_SOFT_TIME_LIMIT = _typed("CELERY_TASK_SOFT_TIME_LIMIT", int, 240)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

SNAPSHOT_INTERVAL = _typed("SNAPSHOT_INTERVAL", int, 60)
SNAPSHOT_RETENTION_DAYS = _typed("SNAPSHOT_RETENTION_DAYS", int, 7)
# How often Celery syncs every enabled source (a bot's own store tradebook follows), in seconds.
SOURCE_INTERVAL = _typed("SOURCE_INTERVAL", int, 60)
# Hourly snapshots are kept this long after the raw window, then one a day.
SNAPSHOT_HOURLY_DAYS = _typed("SNAPSHOT_HOURLY_DAYS", int, 90)
# When the nightly roll-up and retention run (UTC, HH:MM).
NIGHTLY_AT = env.str("NIGHTLY_AT", default="00:15")
try:
    NIGHTLY_HOUR, NIGHTLY_MINUTE = (int(part) for part in NIGHTLY_AT.split(":"))
    if not (0 <= NIGHTLY_HOUR < 24 and 0 <= NIGHTLY_MINUTE < 60):
        raise ValueError
except ValueError:
    raise ImproperlyConfigured(f"Environment variable NIGHTLY_AT must be HH:MM (UTC), not {NIGHTLY_AT!r}")

for _name, _value in (("SNAPSHOT_INTERVAL", SNAPSHOT_INTERVAL), ("API_MAX_ITEMS", API_MAX_ITEMS),
                      ("SOURCE_INTERVAL", SOURCE_INTERVAL),
                      ("API_MAX_BYTES", API_MAX_BYTES), ("API_PAGE_SIZE", API_PAGE_SIZE)):
    if _value <= 0:
        raise ImproperlyConfigured(f"Environment variable {_name} must be a positive number, not {_value}")
