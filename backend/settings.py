"""Settings for both run modes, chosen from the environment.

Embedded default (nothing set): SQLite + SpatiaLite under ``RS3D_HOME`` (default ``./var``), the
database task backend with ``manage.py rs3d_worker``, an in-process channel layer.
Scale mode: ``DATABASE_URL=postgis://...`` (or ``postgres://``) uses PostgreSQL/PostGIS,
``REDIS_URL=redis://...`` the Redis channel layer and cache (shared upload rate limits); the task queue
stays in the database.
"""

import os
import secrets
from pathlib import Path

import dj_database_url

from backend.serving.static_files import app_bundle_folder, cesium_folder, is_immutable

BASE_DIR = Path(__file__).resolve().parent.parent
RS3D_HOME = Path(os.environ.get("RS3D_HOME", BASE_DIR / "var")).resolve()
RS3D_HOME.mkdir(parents=True, exist_ok=True)


def _env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def _secret_key(debug: bool) -> str:
    """SECRET_KEY from the environment; only with DEBUG one generated once and kept in RS3D_HOME.

    Without DEBUG and without RS3D_SECRET_KEY it is empty: Django refuses anything that signs (sessions,
    CSRF, tokens) and backend.asgi refuses to start the web server.
    """
    if key := os.environ.get("RS3D_SECRET_KEY"):
        return key
    if not debug:
        return ""
    path = RS3D_HOME / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = _env_bool("RS3D_DEBUG", False)
SECRET_KEY = _secret_key(DEBUG)
ALLOWED_HOSTS = os.environ.get("RS3D_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("RS3D_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "backend.areas",
    "backend.jobs",
    "backend.models_registry",
    "backend.api",
    "backend.viewer",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "backend.viewer.middleware.SecurityHeadersMiddleware",  # before WhiteNoise: static files carry the CSP too
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
# Published files a viewer was already allowed are answered by backend.serving.data_gate from the view's
# remembered "yes" (at most RS3D_DATA_GATE_GRANTS per process), without Django's request cycle. Revocations
# reach every web process at once through a stamp file under MEDIA_ROOT (backend.serving.grants): on by
# default in the embedded mode; off by default with DATABASE_URL (scale mode), where web processes on
# several machines may share MEDIA_ROOT over NFS, whose attribute cache would delay a revocation. Turn it
# on there (RS3D_DATA_GATE=1) only when every web process runs on one machine or MEDIA_ROOT is mounted noac.
RS3D_DATA_GATE = _env_bool("RS3D_DATA_GATE", not os.environ.get("DATABASE_URL"))
RS3D_DATA_GATE_GRANTS = int(os.environ.get("RS3D_DATA_GATE_GRANTS", 4096))
# Behind nginx (docs/nginx.md), RS3D_X_ACCEL_REDIRECT=/_rs3d_data/ (an `internal` nginx location aliasing
# MEDIA_ROOT): a published file that passed the permission check is answered with no body and
# "X-Accel-Redirect: <prefix><its path under MEDIA_ROOT>", and nginx sends the bytes (backend.serving.delivery).
# Empty (the default): uvicorn sends them. Without that nginx location every such file would arrive empty.
RS3D_X_ACCEL_REDIRECT = os.environ.get("RS3D_X_ACCEL_REDIRECT", "")
if RS3D_X_ACCEL_REDIRECT:
    import re

    from django.core.exceptions import ImproperlyConfigured

    # One or more plain path segments between slashes: sent as is, so nothing nginx would decode or refuse.
    if not re.fullmatch(r"/(?:[A-Za-z0-9_~-][A-Za-z0-9._~-]*/)+", RS3D_X_ACCEL_REDIRECT):
        raise ImproperlyConfigured(
            f"RS3D_X_ACCEL_REDIRECT must be an nginx location prefix like /_rs3d_data/, not {RS3D_X_ACCEL_REDIRECT!r}"
        )
# The features API keeps each published version's answers, built and gzipped once, per web process
# (backend/serving/feature_answers.py; oldest out first beyond this many bytes); viewers remembered by the data gate's
# grants get them in front of Django (backend/serving/features_gate.py).
RS3D_FEATURES_CACHE_BYTES = int(os.environ.get("RS3D_FEATURES_CACHE_BYTES", 64 * 1024 * 1024))
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
                "backend.viewer.context.accounts",
                "backend.viewer.context.app_scripts",
                "backend.viewer.context.site_icon",
            ],
        },
    },
]

# --- database: SpatiaLite by default, PostGIS with DATABASE_URL -------------------------------------
# Embedded SQLite: a web process and a worker share the file, so wait for the writer instead of failing.
_SQLITE_OPTIONS = {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
if database_url := os.environ.get("DATABASE_URL"):
    # postgres://, postgresql:// and postgis:// all mean PostGIS (GeoDjango needs the spatial backend);
    # spatialite:///path is the embedded database at another place (the lost-worker tests use it).
    # No persistent connections: under ASGI, database_sync_to_async runs in pool threads whose kept-open
    # connections would leak (Django's docs advise against them with ASGI).
    DATABASES = {"default": dj_database_url.parse(database_url, conn_max_age=0, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
    if DATABASES["default"]["ENGINE"] == "django.contrib.gis.db.backends.postgis":
        # An unreachable server fails a connection attempt in 5 s instead of the kernel's minutes, so a
        # database outage stalls no web thread for long (workers retry their writes: backend.runtime.dbretry).
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    if DATABASES["default"]["ENGINE"] == "django.contrib.gis.db.backends.spatialite":
        DATABASES["default"]["OPTIONS"] = dict(_SQLITE_OPTIONS)
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.contrib.gis.db.backends.spatialite",
            "NAME": RS3D_HOME / "db.sqlite3",
            "OPTIONS": dict(_SQLITE_OPTIONS),
            "TEST": {"NAME": RS3D_HOME / "test-db.sqlite3"},
        }
    }
SPATIALITE_LIBRARY_PATH = os.environ.get("SPATIALITE_LIBRARY_PATH", "mod_spatialite")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- background tasks and websockets ----------------------------------------------------------------
# The database task backend in both modes: on PostgreSQL, workers on any number of machines poll the
# same table and claim a task with SELECT ... FOR UPDATE SKIP LOCKED, so each task runs once.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# A running job's worker stamps Job.heartbeat every few seconds; a running job silent for longer than
# this is marked failed ("the worker stopped responding") by workers and by readers of the job.
RS3D_JOB_LEASE_SECONDS = float(os.environ.get("RS3D_JOB_LEASE_SECONDS", 60))
# A job may run this long (seconds) from when a worker takes it, its chips and merge included; then its
# reconstruction child is stopped and the job fails, naming this limit. 0 sets no limit.
RS3D_MAX_JOB_SECONDS = float(os.environ.get("RS3D_MAX_JOB_SECONDS", 4 * 3600))
# Areas wider or taller than this (metres) are split into overlapping chips of this size, one background
# task each, so several workers share one area; 0 never splits. Chips overlap by the margin (metres).
RS3D_CHIP_SIZE_M = float(os.environ.get("RS3D_CHIP_SIZE_M", 1000))
RS3D_CHIP_MARGIN_M = float(os.environ.get("RS3D_CHIP_MARGIN_M", 64))
if redis_url := os.environ.get("REDIS_URL"):
    # Job changes are pushed to websocket consumers through Redis, whichever machine runs them.
    # redis-py 8 reads with a 5 s socket timeout by default, which cuts channels-redis's blocking 5 s
    # BZPOPMIN short and drops every idle websocket (channels_redis issue 422): wait longer than that.
    _redis = {"address": redis_url, "socket_timeout": 30, "socket_connect_timeout": 5}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [_redis]}}}
    # Upload rate limits (DRF throttles) count in the cache: in Redis every web process shares one count,
    # where the default per-process memory cache would give each process its own allowance. While Redis is
    # unreachable the cache misses instead of failing: uploads are accepted uncounted (backend.jobs.cache).
    CACHES = {
        "default": {
            "BACKEND": "backend.jobs.cache.FailSoftRedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": "rs3d",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- files ----------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "static"
# CesiumJS under /static/cesium/<version>-<digest>/: new URLs for another Cesium or worker build, so browsers
# keep its files for good (backend.serving.static_files.cesium_folder and is_immutable).
RS3D_CESIUM_STATIC = cesium_folder(BASE_DIR / "frontend")
# The app's pages, each bundled into one file (frontend/build.mjs) under /static/rs3d-bundle/<digest>/, named
# after frontend/src as it is now: cached for good, never a stale build (backend.serving.static_files). Pages
# load these, or with DEBUG the modules under /static/rs3d/ (backend.viewer.context.app_scripts).
RS3D_APP_BUNDLE_STATIC = app_bundle_folder(BASE_DIR / "frontend")
STATICFILES_DIRS = [
    # Cesium's Web Workers, each bundled into one file (frontend/build.mjs, run by scripts/setup.sh): listed
    # before Cesium's build, so its Workers/<name>.js is the bundled one (the first match wins).
    (RS3D_CESIUM_STATIC, BASE_DIR / "frontend" / "build" / "cesium"),
    (RS3D_CESIUM_STATIC, BASE_DIR / "frontend" / "node_modules" / "cesium" / "Build" / "Cesium"),
    ("rs3d", BASE_DIR / "frontend" / "src"),
    ("rs3d-bundle", BASE_DIR / "frontend" / "build" / "rs3d-bundle"),
]
# Each collected file gets brotli and gzip copies, written once (backend.serving.static_files): the viewer's
# first page is about a third of its size on the wire, most of it CesiumJS.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "backend.serving.static_files.OnceCompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
WHITENOISE_IMMUTABLE_FILE_TEST = is_immutable
MEDIA_ROOT = RS3D_HOME / "media"
MEDIA_URL = "/media/"  # never served directly: area data goes through backend.viewer's permission-checked view

# Uploads go to temporary files above 2.5 MB (never into memory); a request may carry at most this much.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
RS3D_MAX_UPLOAD_BYTES = int(os.environ.get("RS3D_MAX_UPLOAD_BYTES", 4 * 1024**3))
# The orthophoto, DSM and LiDAR may each be several files (tiles, an image's sidecars): at most this many each.
RS3D_MAX_FILES_PER_INPUT = int(os.environ.get("RS3D_MAX_FILES_PER_INPUT", 64))
# Each upload's files are checked in a child process (hundreds of MB each): at most this many checks run at
# once across the web processes sharing the database (backend.runtime.checkslots; 0: no cap). An upload waits
# up to RS3D_CHECK_QUEUE_WAIT_S seconds for its turn, then is refused with 503 and Retry-After.
RS3D_MAX_CONCURRENT_CHECKS = int(os.environ.get("RS3D_MAX_CONCURRENT_CHECKS", 2))
RS3D_CHECK_QUEUE_WAIT_S = float(os.environ.get("RS3D_CHECK_QUEUE_WAIT_S", 60))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024**2
FILE_UPLOAD_PERMISSIONS = 0o640

# --- API ------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    # Token first: an anonymous request is then answered 401 with "WWW-Authenticate: Token".
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_THROTTLE_RATES": {"uploads": os.environ.get("RS3D_UPLOAD_RATE", "30/hour")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "rs3d API",
    "DESCRIPTION": "Upload areas, follow reconstruction jobs, read published 3D layers and features.",
    "VERSION": "0.1.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- accounts and security ---------------------------------------------------------------------------
LOGIN_URL = "viewer:login"
LOGIN_REDIRECT_URL = "viewer:area-list"
LOGOUT_REDIRECT_URL = "viewer:area-list"
RS3D_ALLOW_SIGNUP = _env_bool("RS3D_ALLOW_SIGNUP", True)
# Failed log-ins (the site's and the admin's) count in the cache for RS3D_LOGIN_WINDOW_S seconds from the
# first one: past RS3D_LOGIN_MAX_FAILURES for one account, or RS3D_LOGIN_MAX_FAILURES_PER_ADDRESS from one
# client address, even the right password is refused until that window ends (backend.viewer.login_limits).
RS3D_LOGIN_MAX_FAILURES = int(os.environ.get("RS3D_LOGIN_MAX_FAILURES", 10))
RS3D_LOGIN_MAX_FAILURES_PER_ADDRESS = int(os.environ.get("RS3D_LOGIN_MAX_FAILURES_PER_ADDRESS", 30))
RS3D_LOGIN_WINDOW_S = int(os.environ.get("RS3D_LOGIN_WINDOW_S", 900))
# Reverse proxies in front of the web server that append the client's address to X-Forwarded-For (0: the
# client address is the connection's). Behind one proxy set 1, or every client shares the proxy's count.
RS3D_TRUSTED_PROXIES = int(os.environ.get("RS3D_TRUSTED_PROXIES", 0))
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Sent with every response (pages, API, static files: backend.viewer.middleware). No page runs inline or
# third-party script. Cesium compiles WebAssembly decoders (Draco, KTX2), starts its workers from blob: URLs
# (it carries their code), shows glTF textures from blob:/data: URLs and injects <style> elements (credits).
_CSP = {
    "default-src": "'self'",
    "script-src": "'self' 'wasm-unsafe-eval'",
    "worker-src": "'self' blob:",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data: blob:",
    "connect-src": "'self' data: blob:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
RS3D_CONTENT_SECURITY_POLICY = "; ".join(f"{name} {value}" for name, value in _CSP.items())
# With RS3D_DEBUG the 3D viewer page adds 'unsafe-eval' (backend.viewer.views.area_view): it imports Cesium's whole
# build (index.js), whose Knockout library runs (0,eval)("this") when it loads. The bundled viewer (a CesiumWidget,
# no Knockout; no eval or new Function in it) keeps the site's policy. Still no inline or third-party script.
_VIEWER_CSP = {**_CSP, "script-src": "'self' 'unsafe-eval' 'wasm-unsafe-eval'"}
RS3D_VIEWER_CONTENT_SECURITY_POLICY = "; ".join(f"{name} {value}" for name, value in _VIEWER_CSP.items())
# Browser features no rs3d page uses, denied to every page and frame.
RS3D_PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
)
# Behind an HTTPS proxy (RS3D_HTTPS=1): cookies only over HTTPS, plain HTTP redirected. Off by default so
# that a plain http://127.0.0.1 run keeps its login. The proxy must set X-Forwarded-Proto.
if _env_bool("RS3D_HTTPS", False):
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("RS3D_HSTS_SECONDS", "0"))

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
# references. rs3d hands no user CRS string to django.contrib.gis.gdal, and uploads are checked and read
# through the core's allow-listed openers (docs/security.md); GeoDjango sees geometries we made, and one
# header: the worker's look at an accepted orthophoto that starts as a TIFF (backend/jobs/chips.py).
# Every Django process also starts with GDAL off the network (backend/__init__.py).
SILENCED_SYSTEM_CHECKS = ["gis.W001"]
