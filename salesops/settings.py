"""Salesops settings: one module, driven by environment variables with safe defaults.

Every setting that differs between a laptop and production is read from the
environment through the three helpers below (see `.env.example`).
"""

import datetime as dt
import os
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent


def envbool(s: str, default: str) -> bool:
    v = os.getenv(s, default=default)
    if v not in ("", "True", "False", "true", "false", "1", "0"):
        raise Exception(f"Unexpected value {s}={v}, use 'True' or 'False'")
    return v in ("True", "true", "1")


def envint(s: str, default: str) -> int:
    v = os.getenv(s, default)
    return int(v) if v else 0


def envlist(s: str, default: str) -> list[str]:
    return [x.strip() for x in os.getenv(s, default).split(",") if x.strip()]


_load_env = PROJECT_DIR / ".env"
if _load_env.exists():
    for _line in _load_env.read_text(encoding="utf-8").splitlines():
        _line = _line.strip()
        if _line and not _line.startswith("#") and "=" in _line:
            _k, _v = _line.split("=", 1)
            os.environ.setdefault(_k.strip(), _v.strip())

DEBUG = envbool("DEBUG", "False")
SECRET_KEY = os.getenv("SECRET_KEY", "dev-only-insecure-secret-key-change-me-in-production")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost")
SITE_ROOT = os.getenv("SITE_ROOT", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks_db",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "salesops.lib",
    "salesops.org",
    "salesops.audit",
    "salesops.users",
    "salesops.customization",
    "salesops.notifications",
    "salesops.pipeline",
    "salesops.crm",
    "salesops.activities",
    "salesops.objects",
    "salesops.demo",
    "salesops.analytics",
    "salesops.automation",
    "salesops.imports",
    "salesops.forecasting",
    "salesops.receivables",
    "ninja",
    "salesops.api",
    "salesops.workspace",
    "salesops.reports",
    "salesops.subscriptions",
    "salesops.orgtemplates",
    "salesops.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "salesops.web.middleware.PersonalSettingsMiddleware",
    "salesops.web.middleware.TwoFactorRequiredMiddleware",
    # Last: turns a sign-in refused for too many failures into the sign-in page's message.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "salesops.urls"
WSGI_APPLICATION = "salesops.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: SQLite (WAL) on a laptop, PostgreSQL through DATABASE_URL.
DATABASE_URL = os.getenv("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=600)}
    # Test runs create test_<name>; TEST_DATABASE_NAME lets runs on one server not collide.
    if os.getenv("TEST_DATABASE_NAME"):
        DATABASES["default"]["TEST"] = {"NAME": os.getenv("TEST_DATABASE_NAME")}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.getenv("SQLITE_PATH", str(PROJECT_DIR / "var" / "salesops.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA cache_size=-65536;"
                    "PRAGMA mmap_size=268435456;"
                    "PRAGMA temp_store=MEMORY;"
                ),
            },
            "TEST": {"NAME": os.getenv("SQLITE_TEST_PATH", "")}
            if os.getenv("SQLITE_TEST_PATH")
            else {},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "users.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sign-in guessing (django-axes): after LOGIN_FAILURE_LIMIT failures for one username or
# from one address, sign-in is refused for LOGIN_COOLOFF_MINUTES (a right password too).
# API tokens do not sign in and are not affected.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", "5")
AXES_COOLOFF_TIME = dt.timedelta(minutes=envint("LOGIN_COOLOFF_MINUTES", "15"))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# Before the lock, sign-in is slowed: from the LOGIN_SLOW_AFTER-th failure for an account
# or an address, the next try waits LOGIN_SLOW_SECONDS, doubling with each failure
# (0 turns the slowing off; the lock still applies).
LOGIN_SLOW_AFTER = envint("LOGIN_SLOW_AFTER", "3")
LOGIN_SLOW_SECONDS = envint("LOGIN_SLOW_SECONDS", "5")
AXES_LOCKOUT_CALLABLE = "salesops.web.views.account.locked_out"
AXES_VERBOSE = False
# Password reset and invitation links stay valid this long (seconds).
PASSWORD_RESET_TIMEOUT = envint("PASSWORD_RESET_TIMEOUT", str(3 * 24 * 3600))
# Authenticator apps show this name beside the account.
OTP_TOTP_ISSUER = os.getenv("OTP_TOTP_ISSUER", "Salesops")

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = os.getenv("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = PROJECT_DIR / "var" / "static"

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}
# A worker that has not written its heartbeat for this long is taken as dead; its
# running tasks are retried (up to WORKER_MAX_ATTEMPTS) or marked failed.
WORKER_HEARTBEAT_SECONDS = envint("WORKER_HEARTBEAT_SECONDS", "10")
WORKER_STALE_SECONDS = envint("WORKER_STALE_SECONDS", "60")
WORKER_MAX_ATTEMPTS = envint("WORKER_MAX_ATTEMPTS", "3")
# Exports: a list export of more rows than this runs on the worker instead of in the
# request; its file can be downloaded by its owner for EXPORT_KEEP_DAYS days.
EXPORT_DIRECT_ROWS = envint("EXPORT_DIRECT_ROWS", "10000")
EXPORT_KEEP_DAYS = envint("EXPORT_KEEP_DAYS", "3")

# API rate limit per token (or session user): "REQUESTS/SECONDS". The counts are kept
# in the database (shared by every worker process) unless API_RATE_LIMIT_STORE names a
# shared cache of CACHES (e.g. Redis).
API_RATE_LIMIT = os.getenv("API_RATE_LIMIT", "1200/60")
API_RATE_LIMIT_STORE = os.getenv("API_RATE_LIMIT_STORE", "database")
# Seconds each worker process remembers an API token with its user's data scope; a
# permission change made in another process is seen within this time (0: never kept).
API_AUTH_CACHE_SECONDS = envint("API_AUTH_CACHE_SECONDS", "5")

DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "salesops@localhost")
# E-mail goes over SMTP when EMAIL_HOST is set; otherwise it is printed to the console.
if os.getenv("EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.getenv("EMAIL_HOST", "127.0.0.1"),
                "port": envint("EMAIL_PORT", "25"),
                "username": os.getenv("EMAIL_HOST_USER", ""),
                "password": os.getenv("EMAIL_HOST_PASSWORD", ""),
                "use_tls": envbool("EMAIL_USE_TLS", "False"),
                "use_ssl": envbool("EMAIL_USE_SSL", "False"),
                "timeout": envint("EMAIL_TIMEOUT", "30"),
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
# Scheduled report e-mails: attempts per due slot before it is marked failed, and the
# wait before the n-th retry (n times this many minutes).
SUBSCRIPTION_SEND_ATTEMPTS = envint("SUBSCRIPTION_SEND_ATTEMPTS", "3")
SUBSCRIPTION_RETRY_MINUTES = envint("SUBSCRIPTION_RETRY_MINUTES", "10")

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", "False")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "WARNING")},
    "loggers": {
        "salesops": {"level": os.getenv("LOG_LEVEL", "INFO")},
        "django_tasks_db": {"level": os.getenv("LOG_LEVEL", "INFO")},
    },
}
