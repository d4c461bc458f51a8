"""Configuration, read from the environment."""

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance"))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'pasar.db'}"
    # Hosting platforms hand out postgres:// URLs; psycopg 3 is the driver here.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


ENVIRONMENTS = ("development", "test", "production")
DEVELOPMENT_SECRET_KEY = "dev-only-secret-change-me"  # signs sessions outside production; refused in production


class UnsafeSettings(RuntimeError):
    """Settings the app refuses to start with (app.check_settings)."""


def under_gunicorn() -> bool:
    """Whether gunicorn serves this process: its arbiter puts SERVER_SOFTWARE=gunicorn/<version> in the
    environment before it loads the app, and its workers inherit it (with or without --preload)."""
    return os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn")


class Config:
    APP_ENV = os.environ.get("APP_ENV", "development").strip().lower()
    SECRET_KEY = os.environ.get("SECRET_KEY") or (DEVELOPMENT_SECRET_KEY if APP_ENV != "production" else None)
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL")

    # Sessions: signed cookies, so any process on any host can serve any request.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", APP_ENV != "development")
    # "Keep me logged in" (unticked unless chosen) lasts at most 30 days; logging out ends it at once.
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 24 * 30

    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", 2 * 1024 * 1024))
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", 0))

    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session; slow phones keep forms open

    # Sign-ups per address (Flask-Limiter, on the register page and API).
    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    REGISTER_RATE_LIMIT = os.environ.get(
        "REGISTER_RATE_LIMIT", os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour")
    )

    # The login throttle (accounts/throttle.py): failed attempts per account and per address, counted in Redis
    # or in the database, so every process sees them.
    LOGIN_THROTTLE_STORAGE = REDIS_URL or "database"
    LOGIN_THROTTLE_PREFIX = "pasar:login:"
    LOGIN_ACCOUNT_FREE_FAILURES = int(os.environ.get("LOGIN_ACCOUNT_FREE_FAILURES", 5))
    LOGIN_ADDRESS_FREE_FAILURES = int(os.environ.get("LOGIN_ADDRESS_FREE_FAILURES", 20))
    LOGIN_LONGEST_WAIT_SECONDS = int(os.environ.get("LOGIN_LONGEST_WAIT_SECONDS", 15 * 60))

    BABEL_DEFAULT_LOCALE = "id"
    BABEL_DEFAULT_TIMEZONE = "Asia/Jakarta"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    LANGUAGES = ("id", "en")

    INVITATION_DAYS = int(os.environ.get("INVITATION_DAYS", 7))
    MEMBER_ADD_RATE_LIMIT = os.environ.get("MEMBER_ADD_RATE_LIMIT", "30 per hour")  # per group: groups/limits.py
    MEDIA_DIR = os.environ.get("MEDIA_DIR")  # product photos; default instance/media/products
    BEST_BEFORE_WARNING_DAYS = int(os.environ.get("BEST_BEFORE_WARNING_DAYS", 3))
    CARD_PAYMENT_WINDOW_MINUTES = int(os.environ.get("CARD_PAYMENT_WINDOW_MINUTES", 30))
    CATALOG_CACHE_SECONDS = int(os.environ.get("CATALOG_CACHE_SECONDS", 5))
    # Kept catalog pages: in each process, and with Redis in one copy for every process (marketplace.catalog_cache).
    CATALOG_CACHE_STORAGE = os.environ.get("CATALOG_CACHE_STORAGE") or REDIS_URL or "process"
    CATALOG_CACHE_PREFIX = "pasar:catalog:"
    # The catalog search's spellings (marketplace/search.py); default marketplace/spelling.txt
    SEARCH_SPELLING_FILE = os.environ.get("SEARCH_SPELLING_FILE")
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")

    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY")
    STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE")
    CARD_FEE_PERCENT = os.environ.get("CARD_FEE_PERCENT", "2.9")  # the estimate when Stripe reports no fee
    CARD_FEE_FIXED = int(os.environ.get("CARD_FEE_FIXED", 2000))

    # Text responses are compressed when the client accepts it (Flask-Compress), Brotli first, then gzip.
    # Streamed responses (files) pass as they are: compressing them would read them whole into memory.
    COMPRESS_MIMETYPES = ["text/html", "application/json", "text/css", "application/javascript", "text/csv"]
    COMPRESS_ALGORITHM = ["br", "gzip"]
    COMPRESS_MIN_SIZE = 1024  # bytes; a smaller body gains less than the header costs
    COMPRESS_STREAMS = False

    API_TITLE = "Pasar Kelompok API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    OPENAPI_SWAGGER_UI_URL = "/api/v1/docs/assets/"  # served from the swagger-ui-bundle package, no CDN
    OPENAPI_SWAGGER_UI_CONFIG = {"validatorUrl": None}  # no badge from validator.swagger.io: nothing from outside


class TestConfig(Config):
    TESTING = True
    APP_ENV = "test"
    SECRET_KEY = "test-secret"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'test.db'}")
    PROPAGATE_EXCEPTIONS = False  # tests see the same 500 answer a user would
    WTF_CSRF_ENABLED = False
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    RATELIMIT_STORAGE_URI = "memory://"
    LOGIN_THROTTLE_STORAGE = "database"  # tests of the Redis store set their own, with a prefix of their own
    CATALOG_CACHE_STORAGE = "process"  # likewise
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # fast hashes keep the suite quick
    CATALOG_CACHE_SECONDS = 0  # every test sees the catalog as it is; tests of the cache turn it on
    # Card payments look set up, so card checkouts are accepted; nothing can reach Stripe (tests that pay
    # point these at localstripe).
    STRIPE_SECRET_KEY = "sk_test_unreachable"
    STRIPE_PUBLISHABLE_KEY = "pk_test_unreachable"
    STRIPE_API_BASE = "http://127.0.0.1:9"
