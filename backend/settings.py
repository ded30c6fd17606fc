"""Settings for both run modes, chosen from the environment.

Embedded default (nothing set): SQLite + SpatiaLite under ``RS3D_HOME`` (default ``./var``), the
database task backend with ``manage.py db_worker``, an in-process channel layer.
Scale mode: ``DATABASE_URL=postgis://...`` uses PostgreSQL/PostGIS, ``REDIS_URL=redis://...`` the
Redis channel layer.
"""

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
RS3D_HOME = Path(os.environ.get("RS3D_HOME", BASE_DIR / "var")).resolve()
RS3D_HOME.mkdir(parents=True, exist_ok=True)


def _env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in RS3D_HOME."""
    if key := os.environ.get("RS3D_SECRET_KEY"):
        return key
    path = RS3D_HOME / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("RS3D_DEBUG", False)
ALLOWED_HOSTS = os.environ.get("RS3D_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("RS3D_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "backend.areas",
    "backend.jobs",
    "backend.api",
    "backend.viewer",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backend.urls"
ASGI_APPLICATION = "backend.asgi.application"
WSGI_APPLICATION = None

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

# --- database: SpatiaLite by default, PostGIS with DATABASE_URL -------------------------------------
if database_url := os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(database_url, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.contrib.gis.db.backends.spatialite",
            "NAME": RS3D_HOME / "db.sqlite3",
            # A web process and a worker share the file: wait for the writer instead of failing at once.
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            },
            "TEST": {"NAME": RS3D_HOME / "test-db.sqlite3"},
        }
    }
SPATIALITE_LIBRARY_PATH = os.environ.get("SPATIALITE_LIBRARY_PATH", "mod_spatialite")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- background tasks and websockets ----------------------------------------------------------------
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
if redis_url := os.environ.get("REDIS_URL"):
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [redis_url]}}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- files ----------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static"
STATICFILES_DIRS = [
    ("cesium", BASE_DIR / "frontend" / "node_modules" / "cesium" / "Build" / "Cesium"),
    ("rs3d", BASE_DIR / "frontend" / "src"),
]
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = RS3D_HOME / "media"
MEDIA_URL = "/media/"  # never served directly: area data goes through backend.viewer's permission-checked view

# Uploads go to temporary files above 2.5 MB (never into memory); a request may carry at most this much.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
RS3D_MAX_UPLOAD_BYTES = int(os.environ.get("RS3D_MAX_UPLOAD_BYTES", 4 * 1024**3))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024**2
FILE_UPLOAD_PERMISSIONS = 0o640

# --- API ------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "rs3d API",
    "DESCRIPTION": "Upload areas, follow reconstruction jobs, read published 3D layers and features.",
    "VERSION": "0.1.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("RS3D_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "numba": {"level": "WARNING"}},
}

# GeoDjango warns that Debian's GDAL 3.6 cannot block file/network access from crafted spatial
# references. rs3d never hands uploaded files or user CRS strings to django.contrib.gis.gdal: uploads
# are read through rasterio's own bundled GDAL and pyproj, and GeoDjango only sees geometries we made.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]
