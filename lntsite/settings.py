"""lntsite settings: one file, every knob from the environment.

With no environment at all the site runs out of the box: DEBUG on, a SQLite file
in ./var/, Celery tasks executed in-process.  Production sets DATABASE_URL,
CELERY_BROKER_URL, SECRET_KEY and DEBUG=0; a bad or missing value stops start-up
with an ImproperlyConfigured message that names the variable.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be >= {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-for-DEBUG"  # noqa: S105 - DEBUG only

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",  # login throttling
    "csp",  # Content-Security-Policy header (Django 5.2 has none of its own)
    "perf",
]

MIDDLEWARE = [
    "perf.middleware.RequestLogMiddleware",
    "perf.middleware.ServiceErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

# /metrics (H10): request latency by route; outermost, so it times everything.
MIDDLEWARE.insert(0, "perf.middleware.MetricsMiddleware")
# Who may read /metrics: a scraper with this bearer token; unset, only while DEBUG.
PERF_METRICS_TOKEN = os.environ.get("PERF_METRICS_TOKEN", "")

ROOT_URLCONF = "lntsite.urls"
WSGI_APPLICATION = "lntsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "lntsite" / "templates"],
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

# --- Database -------------------------------------------------------------------
# DATABASE_URL=postgres://user@127.0.0.1:5432/lntsite for production; the default is a
# SQLite file so that a fresh clone runs with no services.
VAR_DIR = Path(os.environ.get("PERF_VAR_DIR", BASE_DIR / "var"))
_default_db_url = f"sqlite:///{VAR_DIR / 'lntsite.sqlite3'}"
try:
    DATABASES = {
        "default": dj_database_url.parse(
            os.environ.get("DATABASE_URL") or _default_db_url,
            # Per-request connections (CONN_MAX_AGE=0 by default): nothing holds a
            # connection across requests, so a slow request cannot starve a pool.
            conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
            conn_health_checks=True,
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
DATABASE_CLIENT_TIMEOUT = 0  # PostgreSQL only (below)
DATABASE_BACKEND_NICE = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["ENGINE"] = "lntsite.db.sqlite3"  # real parameter limit
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets readers go on while a submission commits; wait instead of failing
    # at once when another writer holds the lock.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",  # take the write lock at BEGIN, no upgrade races
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
elif DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    from lntsite.db.postgresql import BoundedConnection, BoundedCursor

    # Django's backend, whose connection health check asks the socket instead of the
    # server (no SELECT 1 before each request's first query: lntsite/db/postgresql_backend).
    DATABASES["default"]["ENGINE"] = "lntsite.db.postgresql_backend"

    # A runaway query is cancelled instead of holding a connection for minutes.
    # Both well under gunicorn's worker timeout (deploy/gunicorn.conf.py, 30 s), so a
    # frozen or unreachable database ends a request with a 503, not a killed worker.
    _timeout_ms = env_int("DATABASE_STATEMENT_TIMEOUT_MS", 10_000, minimum=1)
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    # JIT off: the site's queries are short and bounded, and PostgreSQL's JIT, which
    # starts at a planner cost the run report's history read passes, spends more
    # compiling (8.8 ms on a 5,000-test report, README "Reads at scale") than it saves.
    # cursor_tuple_fraction 1: the one server-side cursor the site opens (a submission's
    # run-over-run answer, perf/selectors/lnt.py) reads its whole result, so it is planned
    # for all its rows, not the first tenth: on a new machine's tables, before autovacuum
    # has analysed them, the first-rows plan for a 1,000-test run's 2,000 points was a
    # nested loop filtering 2 M pairs, 120-330 ms instead of 7 (docs/performance.md
    # "Submissions in production shape: a cursor's plan").
    _options["options"] = (
        f"-c statement_timeout={_timeout_ms} -c jit=off -c cursor_tuple_fraction=1"
    )
    _options["connect_timeout"] = env_int("DATABASE_CONNECT_TIMEOUT", 3, minimum=1)
    # A frozen server that accepted the connection: TCP keepalives end the wait.
    _options.update({"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2})
    _options["keepalives_count"] = 2
    # ...but a server *process* that stopped answering (frozen) enforces neither, and a
    # query already sent would wait for the worker timeout: each round trip of a request
    # waits at most this many seconds, then its connection is cut (503; README "Faults",
    # lntsite/db/postgresql.py).  Above the statement timeout, so the server cancels a
    # slow statement first; lntsite/wsgi.py arms it (commands are not bounded); 0: off.
    DATABASE_CLIENT_TIMEOUT = env_int(
        "DATABASE_CLIENT_TIMEOUT", math.ceil(_timeout_ms / 1000) + 2, minimum=0
    )
    if DATABASE_CLIENT_TIMEOUT and DATABASE_CLIENT_TIMEOUT * 1000 <= _timeout_ms:
        raise ImproperlyConfigured(
            f"DATABASE_CLIENT_TIMEOUT ({DATABASE_CLIENT_TIMEOUT} s) must be above "
            f"DATABASE_STATEMENT_TIMEOUT_MS ({_timeout_ms} ms), or 0"
        )
    # This process's connections renice their server process (1-19; 0: no); set by
    # deploy/prod.sh for the write side when PostgreSQL runs on the same host.
    DATABASE_BACKEND_NICE = env_int("DATABASE_BACKEND_NICE", 0, minimum=0)
    if DATABASE_BACKEND_NICE > 19:
        raise ImproperlyConfigured(
            f"DATABASE_BACKEND_NICE must be 0-19, got {DATABASE_BACKEND_NICE}"
        )
    _options["connection_factory"] = BoundedConnection
    _options["cursor_factory"] = BoundedCursor

# A PostgreSQL streaming replica of DATABASE_URL (README "Scaling out"): page reads that
# need not see the latest write go there (lntsite/replica.py decides which); writes,
# Celery tasks, commands, the admin and logged-in users stay on the primary.  Unset:
# one database, and the router and its middleware are not installed at all.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    if DATABASES["default"]["ENGINE"] != "lntsite.db.postgresql_backend":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs DATABASE_URL on PostgreSQL")
    try:
        _replica = dj_database_url.parse(
            DATABASE_REPLICA_URL,
            conn_max_age=DATABASES["default"]["CONN_MAX_AGE"],
            conn_health_checks=True,
        )
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"DATABASE_REPLICA_URL is not a valid database URL: {exc}"
        ) from None
    if not _replica["ENGINE"].startswith("django.db.backends.postgresql"):
        raise ImproperlyConfigured("DATABASE_REPLICA_URL must be a postgres:// URL")
    _replica["ENGINE"] = DATABASES["default"]["ENGINE"]
    _replica["OPTIONS"] = {
        **DATABASES["default"]["OPTIONS"],
        # A replica that does not answer quickly is skipped for the primary
        # (lntsite/replica.py), so its connect wait is shorter than the primary's.
        "connect_timeout": env_int("DATABASE_REPLICA_CONNECT_TIMEOUT", 1, minimum=1),
    }
    _replica["TEST"] = {"MIRROR": "default"}  # tests read what they wrote
    DATABASES["replica"] = _replica
    DATABASE_ROUTERS = ["lntsite.replica.ReplicaRouter"]
    # Outside ServiceErrorMiddleware: a page whose replica read failed (503) is
    # answered again from the primary.
    MIDDLEWARE.insert(
        MIDDLEWARE.index("perf.middleware.ServiceErrorMiddleware"),
        "lntsite.replica.ReplicaMiddleware",
    )
# Reads go to the primary while the replica is further behind than this (seconds)...
PERF_REPLICA_MAX_LAG_SECONDS = env_int("PERF_REPLICA_MAX_LAG_SECONDS", 5, minimum=0)
# ... as checked by each web process at most this often (one query on the replica).
PERF_REPLICA_CHECK_SECONDS = env_int("PERF_REPLICA_CHECK_SECONDS", 5, minimum=1)
# A browser that wrote through the site (a triage form, a login) reads the primary
# for this long after, so it sees its own write.
PERF_REPLICA_STICKY_SECONDS = env_int("PERF_REPLICA_STICKY_SECONDS", 30, minimum=0)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out username/address before any password check.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Five wrong passwords for one username from one address lock that pair out for
# AXES_COOLOFF_MINUTES (the right password included); others can still log in.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15, minimum=1) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Behind deploy/nginx.conf the client address is in X-Real-IP, which nginx sets
# (overwriting whatever the client sent); directly, it is REMOTE_ADDR.
AXES_CLIENT_IP_CALLABLE = "lntsite.security.client_ip"
PERF_BEHIND_PROXY = env_bool("PERF_BEHIND_PROXY", False)
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "perf:home"
LOGOUT_REDIRECT_URL = "perf:home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
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

# SQLite has no covering indexes: there the point table's (series, position) index
# is created without its INCLUDE columns, which only spare PostgreSQL heap reads
# (perf/models.py, Point.Meta).  Intended, so not a warning.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# --- Security (check --deploy clean when DEBUG is off) -----------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "perf.api.common.csrf_failure"  # JSON under /api/
CSRF_COOKIE_HTTPONLY = False  # the triage forms are plain forms; JS reads no cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    # Sent only on HTTPS responses (SecurityMiddleware checks request.is_secure(), i.e.
    # nginx's X-Forwarded-Proto), so plain-HTTP submissions are unaffected.  One year.
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading commits the whole domain to HTTPS in browsers: the operator's call.
        SILENCED_SYSTEM_CHECKS.append("security.W021")
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Build bots on an internal network may submit over plain HTTP when the operator
    # says so: the submission URLs and the token API are then not redirected to https
    # (their token travels in clear on that network).  Pages always are.
    if env_bool("PERF_PLAIN_HTTP_SUBMISSIONS", False):
        SECURE_REDIRECT_EXEMPT = [r"(^|/)submitRun/?$", r"^api/"]

# A strict Content-Security-Policy: scripts, styles and everything else from this
# site only; no inline script or style (data goes in json_script blocks).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}

# --- Submissions -----------------------------------------------------------------
# Bodies larger than this are refused with 413 before they are read or parsed.
PERF_MAX_SUBMISSION_BYTES = env_int("PERF_MAX_SUBMISSION_BYTES", 50 * 1024 * 1024, minimum=1)
# Django's own form-field limit must not cut a report shorter than our limit does.
DATA_UPLOAD_MAX_MEMORY_SIZE = PERF_MAX_SUBMISSION_BYTES + 1024 * 1024
# How long a submission that creates a machine or an order waits for another one's
# (perf/services/ingest._lock_suite; PostgreSQL): under the submit pool's timeout.
PERF_SUITE_LOCK_WAIT_MS = env_int("PERF_SUITE_LOCK_WAIT_MS", 60_000, minimum=1)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
PERF_SLOW_REQUEST_MS = env_int("PERF_SLOW_REQUEST_MS", 1000, minimum=1)
PERF_API_PAGE_SIZE = env_int("PERF_API_PAGE_SIZE", 500, minimum=1)

# --- Celery ---------------------------------------------------------------------
# No broker configured: tasks run in-process (eager), so the embedded default needs no
# services.  With CELERY_BROKER_URL=redis://... or amqp://... they go to workers.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True  # a worker that dies mid-task leaves it for another
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("PERF_TASK_TIME_LIMIT", 600, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("PERF_TASK_SOFT_TIME_LIMIT", 540, minimum=1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker that is down must not hang a submission: publishing gives up quickly and
# the run stays "pending" for the sweep below.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2.0
# Poison runs: a run whose detection fails is retried by the sweep at most this many
# times in all, waiting PERF_DETECTION_RETRY_SECONDS x 2^(attempt - 1) after each failed
# attempt, then marked failed for good (run page, admin, /health).
PERF_DETECTION_MAX_ATTEMPTS = env_int("PERF_DETECTION_MAX_ATTEMPTS", 5, minimum=1)
PERF_DETECTION_RETRY_SECONDS = env_int("PERF_DETECTION_RETRY_SECONDS", 300, minimum=1)
# --- Detection recovery (H10): a run is detected within 60 s of a worker kill, broker
# outage or database restart, and never twice.  A worker holds a lease on the run it
# detects (renewed every third of PERF_DETECTION_LEASE_SECONDS); the sweep, every
# PERF_PENDING_SWEEP_SECONDS, re-publishes a queued run whose lease expired (its worker
# died), so recovery takes at most lease + sweep (30 + 10 s by default).  A run waiting
# in the queue has no lease and is left alone; a second copy of a message finds the
# run done or leased and does nothing.
PERF_DETECTION_LEASE_SECONDS = env_int("PERF_DETECTION_LEASE_SECONDS", 30, minimum=3)
PERF_PENDING_SWEEP_SECONDS = env_int("PERF_PENDING_SWEEP_SECONDS", 10, minimum=1)
# A lost database connection (OperationalError, InterfaceError) is retried by the task
# this many times, PERF_DETECTION_LEASE_SECONDS + 2 s apart (past its own lease, so
# the retry can take the run again): a 20 s outage uses one retry, the default covers
# five minutes; these retries do not count as poison-run attempts.
PERF_DETECTION_CONNECTION_RETRIES = env_int("PERF_DETECTION_CONNECTION_RETRIES", 10, minimum=0)
# Redis redelivers an unacknowledged message (acks_late) after this long.  Recovery
# does not wait for it (the lease and sweep above do that), so it only has to exceed
# the longest countdown a message waits in a worker (a notification retry, at most
# PERF_NOTIFY_RETRY_SECONDS x 2^(PERF_NOTIFY_MAX_ATTEMPTS - 2)) and the task time limit:
# a shorter one would run delayed and long tasks twice.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    "visibility_timeout": env_int("PERF_BROKER_VISIBILITY_TIMEOUT_SECONDS", 7200, minimum=60),
    # Redis socket timeouts bound every broker round trip, so a frozen Redis (one that
    # accepts connections and never answers) costs a submission at most a few seconds:
    # (1 + max_retries) x (connect + read timeouts) + intervals ~ 5 s worst case.
    "socket_timeout": 1.0,
    "socket_connect_timeout": 1.0,
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
# The worker logs through settings.LOGGING (token redaction included), not its own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The embedded broker of `make run`: kombu's filesystem transport, one file a message
# under var/broker/ (no service, no extra package), so detection runs in a worker
# process there too, never inside the submission request.
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        data_folder_in=str(_broker_dir / "queue"),
        data_folder_out=str(_broker_dir / "queue"),
        control_folder=str(_broker_dir / "control"),
        store_processed=False,
    )
# A run published for detection is "queued"; if no worker ever starts it (no lease),
# the sweep publishes it again only when it has been queued this long (the broker
# lost the message, e.g. a Redis restarted without persistence).
PERF_DETECTION_QUEUED_TIMEOUT_SECONDS = env_int(
    "PERF_DETECTION_QUEUED_TIMEOUT_SECONDS", 3 * CELERY_TASK_TIME_LIMIT, minimum=1
)
if PERF_DETECTION_QUEUED_TIMEOUT_SECONDS <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "PERF_DETECTION_QUEUED_TIMEOUT_SECONDS must be above PERF_TASK_TIME_LIMIT "
        f"({CELERY_TASK_TIME_LIMIT}), got {PERF_DETECTION_QUEUED_TIMEOUT_SECONDS}"
    )
# ... unless the broker says the queue is empty: then a queued run no worker started
# within this grace was lost, and the sweep publishes it again (recovery < 60 s).
PERF_DETECTION_QUEUED_GRACE_SECONDS = env_int("PERF_DETECTION_QUEUED_GRACE_SECONDS", 30, minimum=1)
# /health waits at most this long for the broker.
PERF_HEALTH_BROKER_TIMEOUT_SECONDS = env_int("PERF_HEALTH_BROKER_TIMEOUT_SECONDS", 2, minimum=1)
# A lost message never loses a detection: this sweep re-enqueues pending runs that are
# due and not queued, and notifications whose task is long overdue.
CELERY_BEAT_SCHEDULE = {
    "detect-pending-runs": {
        "task": "perf.tasks.detect_pending_task",
        "schedule": float(PERF_PENDING_SWEEP_SECONDS),
    },
}

# --- Notifications ---------------------------------------------------------------
PERF_NOTIFY_EMAILS = env_list("PERF_NOTIFY_EMAILS", [])
PERF_NOTIFY_WEBHOOK_URL = os.environ.get("PERF_NOTIFY_WEBHOOK_URL", "")
if PERF_NOTIFY_WEBHOOK_URL and not PERF_NOTIFY_WEBHOOK_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("PERF_NOTIFY_WEBHOOK_URL must be an http:// or https:// URL")
# Each channel (e-mail, webhook) of a regression's notification is tried at most this
# many times, PERF_NOTIFY_RETRY_SECONDS x 2^(attempt - 1) apart, then given up (shown in
# the admin and on the regression page).  A notification task this many seconds
# overdue is re-enqueued by the sweep (its message was lost).
PERF_NOTIFY_MAX_ATTEMPTS = env_int("PERF_NOTIFY_MAX_ATTEMPTS", 6, minimum=1)
PERF_NOTIFY_RETRY_SECONDS = env_int("PERF_NOTIFY_RETRY_SECONDS", 60, minimum=1)
PERF_NOTIFY_LOST_SECONDS = env_int("PERF_NOTIFY_LOST_SECONDS", 900, minimum=1)
PERF_NOTIFY_TIMEOUT_SECONDS = env_int("PERF_NOTIFY_TIMEOUT_SECONDS", 10, minimum=1)
# Absolute links in notifications (there is no request to build them from).
PERF_SITE_URL = os.environ.get("PERF_SITE_URL", "http://127.0.0.1:8000")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "lntsite@localhost")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = PERF_NOTIFY_TIMEOUT_SECONDS  # an SMTP server that hangs fails the attempt

# --- Logging --------------------------------------------------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL must be DEBUG/INFO/WARNING/ERROR, got {LOG_LEVEL!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Every line, whoever logs it, passes the token redaction (lntsite/logredact.py).
    "filters": {"redact_tokens": {"()": "lntsite.logredact.RedactTokens"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_tokens"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Our own request line replaces the dev server's, which has no duration or
        # query count and prints the query string (where `lnt submit` puts the token).
        "django.server": {"level": "ERROR"},
        "axes.apps": {"level": "WARNING"},  # a banner on every start-up otherwise
    },
}

# --- Debug toolbar (DEBUG only, never in tests) -----------------------------------
PERF_DEBUG_TOOLBAR = DEBUG and env_bool("PERF_DEBUG_TOOLBAR", True)
if PERF_DEBUG_TOOLBAR:
    INSTALLED_APPS.append("debug_toolbar")
    MIDDLEWARE.insert(1, "debug_toolbar.middleware.DebugToolbarMiddleware")
    INTERNAL_IPS = ["127.0.0.1", "::1"]
    # The toolbar brings inline styles: with it, the policy is reported, not enforced.
    CONTENT_SECURITY_POLICY_REPORT_ONLY = CONTENT_SECURITY_POLICY
    CONTENT_SECURITY_POLICY = None
    DEBUG_TOOLBAR_CONFIG = {
        "SHOW_COLLAPSED": True,  # a handle, not a panel over the page
        # Pages only: on machine endpoints the toolbar would read request.POST after
        # the view and turn a 413 for an oversized report into a 400 of its own.
        "SHOW_TOOLBAR_CALLBACK": "lntsite.debug.show_toolbar",
    }
