"""Regulars settings. Deploy-time values come from the environment (see config/env.py)."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from config.env import env_bool, env_int, env_list, env_str, parse_database_url, sqlite_database

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("REGULARS_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

TESTING = "pytest" in sys.modules or env_bool("REGULARS_TESTING", False)
DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    key = env_str("SECRET_KEY", "")
    if key:
        return key
    # A single-machine install keeps a generated key beside its data so sessions survive restarts.
    key_file = VAR_DIR / "secret.key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "django_htmx",
    "regulars.core",
    "regulars.accounts",
    "regulars.customers",
    "regulars.tickets",
    "regulars.channels",
    # The priority policy reacts first, so SLA targets and paging see the assessed priority.
    "regulars.sla.priority",
    "regulars.sla",
    "regulars.sla.oncall",
    "regulars.insights",
    "regulars.api",
    "regulars.desk",
    "regulars.portal",
    "regulars.demo",
    # After our apps, so our templates (sign-in page, layout) override allauth's own.
    "allauth",
    "allauth.account",
    "allauth.mfa",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "regulars.core.middleware.MessageMiddleware",  # Django's, skipped for /api/
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "regulars.core.middleware.SecurityHeadersMiddleware",
    "regulars.core.middleware.DomainErrorPageMiddleware",
    "regulars.accounts.middleware.AdminsUseTwoFactorMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
            ]
        },
    }
]

_database_url = env_str("DATABASE_URL", "")
DATABASES = {
    "default": (
        parse_database_url(_database_url, BASE_DIR)
        if _database_url
        else sqlite_database(VAR_DIR / "regulars.sqlite3")
    )
}

# SQLite only: seconds between WAL checkpoints run by a background thread (core/checkpoint.py),
# so commits do not copy the WAL back themselves; 0 leaves it to SQLite.
SQLITE_CHECKPOINT_SECONDS = float(env_str("SQLITE_CHECKPOINT_SECONDS", "0.25"))

# Background event handlers (core/events.py) run in the worker; tests run them after commit in
# the same process so behaviour can be asserted without a worker.
EVENT_HANDLERS_INLINE = env_bool("EVENT_HANDLERS_INLINE", TESTING)

TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "regulars.core.task_backend.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
if TESTING:
    # Hashing at full strength makes a test suite that signs in users minutes slower for no benefit.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Sign-in (django-allauth) ----------------------------------------------------------------
# Everyone signs in with an email address. Nobody signs themselves up: agents are created by an
# admin, customers get a login through the portal. Failed sign-ins are rate-limited per address
# and per client (allauth's limits, kept in the cache below).
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/accounts/login/"
ACCOUNT_ADAPTER = "regulars.accounts.adapter.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_RATE_LIMITS = {"login_failed": env_str("SIGN_IN_RATE_LIMIT", "10/m/ip,5/5m/key")}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Regulars"
# Admins may not use the desk or the Django admin until they have enrolled an authenticator app.
REQUIRE_ADMIN_TWO_FACTOR = env_bool("REQUIRE_ADMIN_TWO_FACTOR", True)
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 14 * 24 * 3600)

# The cache holds sign-in rate-limit counters. It lives in the database by default, so every web
# process on every machine shares the same counters with no other server to run; the table is
# created by a migration (core 0003) and again by `regulars run` if the setting changed since.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
        if TESTING
        else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "regulars_cache"}
    )
}

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Attachments live outside the web root, addressed by content hash, served only through a view
# that checks permission.
ATTACHMENT_ROOT = Path(env_str("ATTACHMENT_ROOT", str(VAR_DIR / "attachments")))
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 25 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("REQUEST_MAX_BYTES", 30 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# API rate limit: requests per minute per token (or per client address when anonymous).
API_RATE_LIMIT_PER_MINUTE = env_int("API_RATE_LIMIT_PER_MINUTE", 100_000 if TESTING else 600)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING" if TESTING else "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Email channel --------------------------------------------------------------------------
# The outbound relay every reply goes through; the inbound budgets keep one hostile message from
# exhausting memory or CPU (anything over them is refused at SMTP time or quarantined, never lost).
from config.env import parse_email_url  # noqa: E402

EMAIL_RELAY = parse_email_url(env_str("EMAIL_URL", "smtp://127.0.0.1:25"))
EMAIL_MAX_BYTES = env_int("EMAIL_MAX_BYTES", 35 * 1024 * 1024)
EMAIL_MAX_PARTS = env_int("EMAIL_MAX_PARTS", 500)
EMAIL_MAX_DEPTH = env_int("EMAIL_MAX_DEPTH", 10)
EMAIL_ACKS_PER_SENDER_PER_HOUR = env_int("EMAIL_ACKS_PER_SENDER_PER_HOUR", 3)
EMAIL_LOOP_ID = env_str("EMAIL_LOOP_ID", "regulars")
# Django's own mail (on-call pages, admin alerts) goes through the same relay as replies.
EMAIL_HOST = EMAIL_RELAY["HOST"]
EMAIL_PORT = EMAIL_RELAY["PORT"]
EMAIL_HOST_USER = EMAIL_RELAY["USER"]
EMAIL_HOST_PASSWORD = EMAIL_RELAY["PASSWORD"]
EMAIL_USE_SSL = EMAIL_RELAY["SECURITY"] == "ssl"
EMAIL_USE_TLS = EMAIL_RELAY["SECURITY"] == "starttls"
EMAIL_TIMEOUT = EMAIL_RELAY["TIMEOUT"]
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Regulars <regulars@localhost>")
