"""Laihua settings, read from the environment (see docs/operations.md for every variable)."""

from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from laihua.env import env_bool, env_int, env_list, env_str

PACKAGE_DIR = Path(__file__).resolve().parent
BASE_DIR = Path(env_str("LAIHUA_HOME", str(Path.cwd())))
VAR_DIR = Path(env_str("LAIHUA_VAR_DIR", str(BASE_DIR / "var")))

DEMO_MODE = env_bool("LAIHUA_DEMO", False)
# Whether load_demo also generates the demo's 18 months of history (demo/history.py); the test suite
# leaves it out of every demo load but its own test's, to stay quick.
LAIHUA_DEMO_HISTORY = env_bool("LAIHUA_DEMO_HISTORY", True)
DEBUG = env_bool("LAIHUA_DEBUG", DEMO_MODE)
TESTING = env_bool("LAIHUA_TESTING", False)
# Production is everything that is not the demo, debugging or the test suite: safe defaults apply there.
PRODUCTION = not (DEMO_MODE or DEBUG or TESTING)
_DEV_SECRET = "laihua-demo-secret-key-not-for-production"
SECRET_KEY = env_str("LAIHUA_SECRET_KEY", _DEV_SECRET)
if PRODUCTION:
    if SECRET_KEY == _DEV_SECRET:
        raise ImproperlyConfigured("Set LAIHUA_SECRET_KEY: the built-in key is for the demo and tests only.")
    # Django's own measure of a weak key (security.W009): short, few distinct characters, or a generated dev key.
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith("django-insecure-"):
        raise ImproperlyConfigured(
            "LAIHUA_SECRET_KEY is too weak: use at least 50 random characters, e.g. "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(64))'."
        )

ALLOWED_HOSTS = env_list("LAIHUA_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("LAIHUA_CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("LAIHUA_SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "axes",
    # Second factor (before laihua.accounts, whose admin takes their models out of /admin).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "laihua.kit",
    "laihua.accounts",
    "laihua.audit",
    "laihua.hospitals",
    "laihua.rates",
    "laihua.catalog",
    "django_countries",
    "laihua.patients",
    "laihua.cases",
    "laihua.quotes",
    "laihua.travel",
    "laihua.capacity",
    "laihua.interpreters",
    "laihua.planning",
    "laihua.records",
    "laihua.insurance",
    "laihua.billing",
    "laihua.fairness",
    "laihua.analytics",
    "laihua.web",
    "laihua.demo",
    "laihua.ops",
    "laihua.jobs",
    "django_celery_beat",
]

MIDDLEWARE = [
    "laihua.kit.metrics.MetricsMiddleware",  # first: it times the whole answer (docs/operations.md, "Metrics")
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "laihua.kit.requestctx.RequestContextMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "laihua.accounts.middleware.UserLanguageMiddleware",
    "laihua.kit.nul.NulCharacterMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "laihua.accounts.middleware.SessionLimitMiddleware",
    "laihua.accounts.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "laihua.kit.weberrors.DomainErrorMiddleware",
    "laihua.audit.middleware.RefusedAccessMiddleware",  # after the above: audits a refusal before it is shown
]

ROOT_URLCONF = "laihua.urls"
WSGI_APPLICATION = "laihua.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "laihua.kit.webcontext.site",
            ],
        },
    }
]

_default_db = f"sqlite:///{VAR_DIR / 'laihua.sqlite3'}"
# Connections are checked before reuse, so that the first request after a database restart does not fail.
DATABASES = {
    "default": dj_database_url.parse(env_str("DATABASE_URL", _default_db), conn_max_age=60, conn_health_checks=True)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Serialise writers instead of failing with "database is locked" under concurrent requests.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # The catalog's covering indexes (PostgreSQL) are plain partial indexes on SQLite, as intended.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
    if DATABASES["default"]["NAME"] == str(VAR_DIR / "laihua.sqlite3"):
        VAR_DIR.mkdir(parents=True, exist_ok=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The catalog search's cost estimates pass PostgreSQL's JIT threshold, and compiling took 200-800 ms
    # per query, more than running it. Parallel workers cost more to start and gather than the short
    # queries of a web request save, and they take the cores other requests wait for (bench/search.py,
    # docs/benchmarks.md). LAIHUA_DB_OPTIONS replaces both.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "options", env_str("LAIHUA_DB_OPTIONS", "-c jit=off -c max_parallel_workers_per_gather=0")
    )
    # Django's own queries bind their parameters in the client and are never prepared. The few statements
    # bound on the server (the records import's, which runs many times with large parameters) are prepared
    # on their first run on a connection, when this is on; off behind a connection pooler that cannot keep
    # prepared statements (PgBouncer before 1.21 in transaction mode). docs/operations.md.
    if env_bool("LAIHUA_DB_PREPARED_STATEMENTS", True):
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "web:home"

# Repeated failed logins lock the username + address pair for a while, and the address alone (across every
# username) after a higher number (django-axes, with accounts.throttle.LoginFailureHandler).
AXES_FAILURE_LIMIT = env_int("LAIHUA_LOGIN_FAILURE_LIMIT", 5)
LAIHUA_LOGIN_IP_FAILURE_LIMIT = env_int("LAIHUA_LOGIN_IP_FAILURE_LIMIT", 30)
AXES_COOLOFF_TIME = env_int("LAIHUA_LOGIN_COOLOFF_MINUTES", 15) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "laihua.accounts.throttle.LoginFailureHandler"
if not 1 <= AXES_FAILURE_LIMIT <= LAIHUA_LOGIN_IP_FAILURE_LIMIT:
    raise ImproperlyConfigured("LAIHUA_LOGIN_IP_FAILURE_LIMIT must be at least LAIHUA_LOGIN_FAILURE_LIMIT (1 or more).")
# Requests that send e-mail (password reset, registration) per client address and per e-mail address within a
# window, counted in the cache (accounts.throttle); past either limit the request is refused with 429.
LAIHUA_EMAIL_LIMIT_PER_ADDRESS = env_int("LAIHUA_EMAIL_LIMIT_PER_ADDRESS", 10)
LAIHUA_EMAIL_LIMIT_PER_EMAIL = env_int("LAIHUA_EMAIL_LIMIT_PER_EMAIL", 3)
LAIHUA_EMAIL_LIMIT_WINDOW_MINUTES = env_int("LAIHUA_EMAIL_LIMIT_WINDOW_MINUTES", 60)
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Second factor (accounts.mfa): the roles that must have one (an authenticator app or a passkey) and pass it at
# every sign-in; anyone else may add one and is then asked for it too. Every staff role by default, none in the
# demo (its published logins stay one click away). Comma-separated role names, or "none".
_ROLES = [
    "platform_admin",
    "hospital_admin",
    "coordinator",
    "clinician",
    "finance",
    "insurer_agent",
    "interpreter",
    "city_health_commission",
    "patient",
]
LAIHUA_MFA_REQUIRED_ROLES = env_list("LAIHUA_MFA_REQUIRED_ROLES", [] if DEMO_MODE else _ROLES[:-1])
if LAIHUA_MFA_REQUIRED_ROLES == ["none"]:
    LAIHUA_MFA_REQUIRED_ROLES = []
if set(LAIHUA_MFA_REQUIRED_ROLES) - set(_ROLES):
    raise ImproperlyConfigured(f"LAIHUA_MFA_REQUIRED_ROLES: use role names from {', '.join(_ROLES)}, or none.")
# Wrong second-factor codes a user may type before they wait LAIHUA_MFA_COOLOFF_MINUTES (each device also slows
# down after every wrong code: django-otp's throttling).
LAIHUA_MFA_FAILURE_LIMIT = env_int("LAIHUA_MFA_FAILURE_LIMIT", 5)
LAIHUA_MFA_COOLOFF_MINUTES = env_int("LAIHUA_MFA_COOLOFF_MINUTES", 15)
OTP_TOTP_ISSUER = "Laihua"
# Passkeys belong to the site's host name and origin (LAIHUA_SITE_URL); they are a second factor only. Browsers
# offer them on https:// sites and on http://localhost, never on a bare address such as the demo's 127.0.0.1.
_site = urlsplit(SITE_URL)
OTP_WEBAUTHN_RP_ID = _site.hostname
OTP_WEBAUTHN_RP_NAME = "Laihua"
OTP_WEBAUTHN_ALLOWED_ORIGINS = [f"{_site.scheme}://{_site.netloc}"]
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
LAIHUA_PASSKEYS = _site.scheme == "https" or _site.hostname == "localhost"
if not LAIHUA_PASSKEYS:
    SILENCED_SYSTEM_CHECKS = [*globals().get("SILENCED_SYSTEM_CHECKS", []), "otp_webauthn.E031"]
# Personal API tokens stop working this many days after they are made (accounts.services.create_api_token).
LAIHUA_TOKEN_DAYS = env_int("LAIHUA_TOKEN_DAYS", 90)
if LAIHUA_TOKEN_DAYS < 1:
    raise ImproperlyConfigured("LAIHUA_TOKEN_DAYS must be at least 1.")
# The audit trail's hash chain (audit.chain) is sealed after a request commits by at most one seal at a time
# (one that finds another at work leaves the events to it) and, in each process, at most once every this many
# milliseconds: events wait at most about this long in a busy process, and until the next request or the
# `laihua audit seal` run scheduled every minute otherwise (docs/operations.md, "Audit"). 0: after every commit.
AUDIT_SEAL_INTERVAL_MS = env_int("LAIHUA_AUDIT_SEAL_INTERVAL_MS", 0 if TESTING else 1000)

# A link to records shared with a doctor abroad stops opening them this many days after it is sent.
LAIHUA_TRANSFER_LINK_DAYS = env_int("LAIHUA_TRANSFER_LINK_DAYS", 14)
if LAIHUA_TRANSFER_LINK_DAYS < 1:
    raise ImproperlyConfigured("LAIHUA_TRANSFER_LINK_DAYS must be at least 1.")

# Every e-mail goes through the outbox (laihua.jobs): the request writes an OutgoingEmail row in its transaction
# and a job delivers it after the commit with LAIHUA_EMAIL_BACKEND, once (see docs/operations.md, "Jobs").
EMAIL_BACKEND = "laihua.jobs.mail.OutboxBackend"
LAIHUA_EMAIL_DELIVERY_BACKEND = env_str(
    "LAIHUA_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEMO_MODE or DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("LAIHUA_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("LAIHUA_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("LAIHUA_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = env_str("LAIHUA_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("LAIHUA_EMAIL_TLS", False)
DEFAULT_FROM_EMAIL = env_str("LAIHUA_EMAIL_FROM", "Laihua <no-reply@laihua.invalid>")

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env_str("LAIHUA_TIME_ZONE", "Asia/Shanghai")
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("LAIHUA_SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Sessions end after an idle time (staff: 30 minutes by default; patients: the longer of that and
# LAIHUA_PATIENT_IDLE_MINUTES) and at an absolute limit after sign-in (accounts.middleware.SessionLimitMiddleware).
LAIHUA_STAFF_IDLE_MINUTES = env_int("LAIHUA_STAFF_IDLE_MINUTES", 30)
LAIHUA_PATIENT_IDLE_MINUTES = env_int("LAIHUA_PATIENT_IDLE_MINUTES", 120)
LAIHUA_SESSION_MAX_HOURS = env_int("LAIHUA_SESSION_MAX_HOURS", 12)
SESSION_COOKIE_AGE = LAIHUA_SESSION_MAX_HOURS * 3600
# HTTPS: every request redirected to https and HSTS sent, outside the demo. Behind a proxy that terminates
# TLS and redirects itself, set LAIHUA_HTTPS_REDIRECT=false (and LAIHUA_BEHIND_PROXY=true).
SECURE_SSL_REDIRECT = env_bool("LAIHUA_HTTPS_REDIRECT", PRODUCTION)
# The load balancer's health check and Prometheus speak plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("LAIHUA_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("LAIHUA_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("LAIHUA_HSTS_PRELOAD", PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): scripts only from our own static files (no inline script; htmx runs
# with allowEval false, see base.html), nothing framed, forms only to ourselves. Inline style attributes
# stay allowed. The API's interactive docs load Swagger UI's own scripts, so they are left out.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/docs", "/fhir/docs"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Behind the one trusted reverse proxy: its X-Forwarded-Proto and its last X-Forwarded-For entry are believed.
BEHIND_PROXY = env_bool("LAIHUA_BEHIND_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
# Login throttling counts failures per client address: the same address the audit trail records.
AXES_CLIENT_IP_CALLABLE = "laihua.kit.requestctx.client_address"
X_FRAME_OPTIONS = "DENY"

# The cache: display rates, the search form's lists, login and e-mail throttles, sessions. With
# LAIHUA_CACHE_URL=redis://… every application server shares it (a change through one shows at once through
# all: writers invalidate, nobody waits for a time-out); without it each process keeps its own.
CACHE_URL = env_str("LAIHUA_CACHE_URL", "")
if CACHE_URL and not CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured("LAIHUA_CACHE_URL must be a redis://, rediss:// or unix:// URL.")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "laihua",
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "laihua"}}

# Prometheus metrics on /metrics (kit.metrics, web.probes): to the bearer token LAIHUA_METRICS_TOKEN, or to a
# client address in LAIHUA_METRICS_NETWORKS (comma-separated addresses or networks, e.g. 10.0.0.0/8); with
# neither, /metrics does not exist (404). With several worker processes set PROMETHEUS_MULTIPROC_DIR (read by
# prometheus_client itself too) to a folder of their own, emptied before they start.
LAIHUA_METRICS_TOKEN = env_str("LAIHUA_METRICS_TOKEN", "")
if LAIHUA_METRICS_TOKEN and len(LAIHUA_METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("LAIHUA_METRICS_TOKEN must be at least 32 characters (e.g. secrets.token_urlsafe(32)).")
try:
    import ipaddress as _ipaddress

    LAIHUA_METRICS_NETWORKS = [
        _ipaddress.ip_network(item, strict=False) for item in env_list("LAIHUA_METRICS_NETWORKS", [])
    ]
except ValueError as _exc:
    raise ImproperlyConfigured(f"LAIHUA_METRICS_NETWORKS: {_exc}") from None
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR", "")

# Background jobs (Celery, laihua.jobs.tasks): with LAIHUA_BROKER_URL=redis://… they go to the workers
# (`laihua jobs worker`); without it they run in the process that asks, at once (the demo and the tests).
BROKER_URL = env_str("LAIHUA_BROKER_URL", "")
if BROKER_URL and not BROKER_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured("LAIHUA_BROKER_URL must be a redis://, rediss:// or unix:// URL.")
CELERY_BROKER_URL = BROKER_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = TESTING
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "laihua"
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A job a worker took but never acknowledged (the worker died) goes back to the queue after this long.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("LAIHUA_JOB_VISIBILITY_SECONDS", 3600)}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Periodic jobs that need a place to work with (laihua.jobs.schedule): the nightly rate file and backups.
LAIHUA_RATES_FILE = env_str("LAIHUA_RATES_FILE", "")
LAIHUA_BACKUP_DIR = env_str("LAIHUA_BACKUP_DIR", "")

# Logs: one JSON object a line (LAIHUA_LOG_FORMAT=json, the default outside the demo and tests) or plain
# text; each line carries the request id (X-Request-ID), also in the jobs a request started.
LOG_FORMAT = env_str("LAIHUA_LOG_FORMAT", "json" if PRODUCTION else "text")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured("LAIHUA_LOG_FORMAT must be json or text.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "laihua.kit.logs.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LAIHUA_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# Currencies a visitor may choose on public pages (ISO 4217).
LAIHUA_DISPLAY_CURRENCIES = env_list(
    "LAIHUA_CURRENCIES",
    [
        "CNY",
        "USD",
        "EUR",
        "GBP",
        "JPY",
        "KRW",
        "AUD",
        "CAD",
        "CHF",
        "HKD",
        "SGD",
        "RUB",
        "AED",
        "SAR",
        "KZT",
        "MNT",
    ],
)
# A rate older than this many days before the day it is used for is refused, never silently applied.
LAIHUA_RATE_MAX_AGE_DAYS = env_int("LAIHUA_RATE_MAX_AGE_DAYS", 45)

# Keys for fields encrypted at rest (passport numbers), comma-separated Fernet keys, newest first:
# add a new key in front to rotate; old values stay readable. The demo and tests derive one from SECRET_KEY.
FIELD_ENCRYPTION_KEYS = env_list("LAIHUA_FIELD_KEYS", [])
if not FIELD_ENCRYPTION_KEYS and PRODUCTION:
    raise ImproperlyConfigured("Set LAIHUA_FIELD_KEYS: see docs/operations.md (laihua generate_field_key).")
for _position, _key in enumerate(FIELD_ENCRYPTION_KEYS, start=1):
    # A malformed key is refused now, not at the first passport read or write.
    try:
        from cryptography.fernet import Fernet as _Fernet

        _Fernet(_key)
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            f"LAIHUA_FIELD_KEYS: key {_position} is not a Fernet key (32 bytes, URL-safe base64; "
            "make one with `laihua generate_field_key`)."
        ) from None

# Uploaded files (case attachments, paper consents, letter stamps): under MEDIA_ROOT on the local disk, or in an
# S3-compatible bucket when LAIHUA_S3_BUCKET is set (django-storages), so that every application server reads
# the same files. Either way they are served only through access-checked, audited views that stream them
# (never a public or signed URL): docs/operations.md, "Object storage".
MEDIA_ROOT = Path(env_str("LAIHUA_MEDIA_ROOT", str(VAR_DIR / "media")))
LAIHUA_S3_BUCKET = env_str("LAIHUA_S3_BUCKET")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if LAIHUA_S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": LAIHUA_S3_BUCKET,
            "endpoint_url": env_str("LAIHUA_S3_ENDPOINT_URL"),  # empty: AWS itself
            "access_key": env_str("LAIHUA_S3_ACCESS_KEY_ID"),  # empty: boto3's own chain (instance role, ...)
            "secret_key": env_str("LAIHUA_S3_SECRET_ACCESS_KEY"),
            "region_name": env_str("LAIHUA_S3_REGION"),
            "location": env_str("LAIHUA_S3_PREFIX", "").strip("/"),
            "default_acl": None,  # the bucket's own (private) policy
            "querystring_auth": True,  # no object is ever readable by a bare URL
            "file_overwrite": False,  # a name taken gets a new one, as on the local disk
            "object_parameters": {"ServerSideEncryption": env_str("LAIHUA_S3_SERVER_SIDE_ENCRYPTION", "AES256")},
        },
    }
LAIHUA_UPLOAD_MAX_BYTES = env_int("LAIHUA_UPLOAD_MAX_MB", 50) * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# A case waiting this many working hours for its first answer is flagged overdue on the board.
LAIHUA_FIRST_RESPONSE_HOURS = env_int("LAIHUA_FIRST_RESPONSE_HOURS", 24)
# The coordinators are told once when this share (percent) of that time has passed without an answer, and once
# more when it has all passed (`laihua cases remind`, a periodic job); 0 turns the first notice off.
LAIHUA_FIRST_RESPONSE_WARN_PERCENT = env_int("LAIHUA_FIRST_RESPONSE_WARN_PERCENT", 80)
COUNTRIES_FIRST = []

# The platform maximum of the international share of any resource's capacity (the 10% rule).
try:
    from decimal import Decimal as _Decimal

    LAIHUA_QUOTA_MAX_SHARE = _Decimal(env_str("LAIHUA_QUOTA_MAX_SHARE", "0.10"))
except ArithmeticError:
    raise ImproperlyConfigured("LAIHUA_QUOTA_MAX_SHARE must be a decimal between 0 and 1, e.g. 0.10.") from None
if not 0 <= LAIHUA_QUOTA_MAX_SHARE <= 1:
    raise ImproperlyConfigured("LAIHUA_QUOTA_MAX_SHARE must be a decimal between 0 and 1, e.g. 0.10.")
