#!/usr/bin/env bash
# Install everything rs3d needs on a Debian machine, idempotently: system packages, the virtualenv
# (from Debian's /usr/bin/python3, whose sqlite3 can load SpatiaLite), pinned Python packages,
# CesiumJS from npm, collected static files and the database schema.
#   scripts/setup.sh            what the app needs
#   scripts/setup.sh --test     plus what the tests need: Chromium, and PostgreSQL/PostGIS + Redis servers
#                               with a test role and database for the scale-mode pass (see scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

apt_packages=(python3 python3-venv python3-dev gcc gdal-bin libsqlite3-mod-spatialite)
# Node from any source will do (Debian's, or NodeSource's, which bundles npm).
command -v node >/dev/null && command -v npm >/dev/null || apt_packages+=(nodejs npm)
if [ "$want_test" = 1 ]; then
  apt_packages+=(chromium fonts-dejavu-core postgresql-15-postgis-3 redis-server nginx-light)
fi
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing system packages: ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then echo "run as root (or install: ${missing[*]})" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sqlite3; sqlite3.connect(":memory:").enable_load_extension(True)' 2>/dev/null; then
  say "creating the virtualenv from /usr/bin/python3"
  rm -rf .venv
  /usr/bin/python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
stamp=.venv/.requirements.sha256
if [ "$(sha256sum requirements.txt | cut -d' ' -f1)" != "$(cat "$stamp" 2>/dev/null)" ]; then
  say "installing Python packages (requirements.txt)"
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  sha256sum requirements.txt | cut -d' ' -f1 > "$stamp"
fi

# Make `python -m reconstruction` (and the backend) importable from any folder with this venv.
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
[ "$(cat "$site/rs3d.pth" 2>/dev/null)" = "$PWD" ] || echo "$PWD" > "$site/rs3d.pth"

# CNES CARS (satellite stereo -> DSM) in its own virtualenv: its numpy/numba/pandas pins conflict with
# requirements.txt, and reconstruction.stereo runs it as a child process (override with RS3D_CARS).
cars_version=$(sed -n 's/^cars==//p' requirements-cars.txt)
if [ "$(.venv-cars/bin/python -c 'import importlib.metadata as m; print(m.version("cars"))' 2>/dev/null)" != "$cars_version" ]; then
  say "installing CARS $cars_version into .venv-cars"
  [ -x .venv-cars/bin/python ] || /usr/bin/python3 -m venv .venv-cars
  .venv-cars/bin/pip install -q --disable-pip-version-check --upgrade pip
  .venv-cars/bin/pip install -q --disable-pip-version-check -r requirements-cars.txt
fi

stamp=frontend/node_modules/.package-lock.sha256
if [ "$(sha256sum frontend/package-lock.json | cut -d' ' -f1)" != "$(cat "$stamp" 2>/dev/null)" ]; then
  say "installing CesiumJS (npm ci)"
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
  sha256sum frontend/package-lock.json | cut -d' ' -f1 > "$stamp"
fi
# Bundle each page's own JavaScript (frontend/src) into one file under /static/rs3d-bundle/<digest>/, and each of
# Cesium's Web Workers into one file (frontend/build.mjs, esbuild, offline): the collected Workers/ under
# /static/cesium/<version>-<digest>/ are those, not Cesium's ~60 shared chunks. Rewrites only files whose bytes
# change.
say "bundling the app's pages and Cesium's workers (frontend/build.mjs)"
node frontend/build.mjs >/dev/null

if [ "$want_test" = 1 ]; then
  # Scale-mode test servers (scripts/test.sh's third pass). Start them if they are installed but down
  # (containers without systemd), then make sure the test role and database exist.
  if ! pg_isready -q -h 127.0.0.1 2>/dev/null && command -v pg_ctlcluster >/dev/null; then
    say "starting PostgreSQL"
    pg_ctlcluster 15 main start 2>/dev/null || service postgresql start >/dev/null 2>&1 || true
    for _ in $(seq 20); do pg_isready -q -h 127.0.0.1 && break; sleep 0.5; done
  fi
  if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && command -v redis-server >/dev/null; then
    say "starting Redis"
    service redis-server start >/dev/null 2>&1 || redis-server --daemonize yes >/dev/null || true
    for _ in $(seq 20); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.5; done
  fi
  if pg_isready -q -h 127.0.0.1 2>/dev/null && [ "$(id -u)" = 0 ]; then
    # Role rs3d (password rs3d, local test use only) and its database rs3d, created once.
    # SUPERUSER, because Django's test runner creates a fresh test_rs3d database on every run and then
    # runs CREATE EXTENSION postgis in it, which PostgreSQL allows only to superusers (PostGIS is not a
    # "trusted" extension). The alternative, installing PostGIS into template1, would change every
    # database later created on this server, so we keep the privilege on this one local test role.
    # A production database needs no superuser: create the extension once, then use a plain owner role.
    psql_admin() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }
    if [ "$(psql_admin -Atc "SELECT 1 FROM pg_roles WHERE rolname = 'rs3d'")" != 1 ]; then
      say "creating the PostgreSQL test role rs3d"
      psql_admin -c "CREATE ROLE rs3d LOGIN SUPERUSER CREATEDB PASSWORD 'rs3d'"
    fi
    if [ "$(psql_admin -Atc "SELECT 1 FROM pg_database WHERE datname = 'rs3d'")" != 1 ]; then
      say "creating the PostgreSQL test database rs3d"
      psql_admin -c "CREATE DATABASE rs3d OWNER rs3d"
    fi
    runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d rs3d -c "SET client_min_messages TO warning" \
      -c "CREATE EXTENSION IF NOT EXISTS postgis"
  fi
fi

say "collecting static files and migrating the database"
.venv/bin/python manage.py collectstatic --noinput -v 0
.venv/bin/python manage.py migrate --noinput -v 0
say "ready"
